"""What a predictions request asks for: validation of the query string and defaults.

Names are checked against fixed lists (measures, grains, the schema's dimensions)
before any SQL is built; filter values only ever travel as query parameters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.web import query_params as qp

MEASURES = ("revenue", "orders", "units", "customers")
GRAINS = ("day", "week", "month")
DEFAULT_MEASURE = "revenue"
DEFAULT_GRAIN = "week"
DEFAULT_HORIZON = {"day": 28, "week": 12, "month": 6}
MAX_HORIZON = {"day": 90, "week": 52, "month": 24}
SEASON = {"day": 7, "week": 52, "month": 12}
_CONTROL = ("dataset", "measure", "grain", "horizon")


@dataclass(frozen=True)
class PredictionRequest:
    dataset_id: str
    measure: str = DEFAULT_MEASURE
    grain: str = DEFAULT_GRAIN
    horizon: int = DEFAULT_HORIZON[DEFAULT_GRAIN]
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        """One of the forecasts the forecast task precomputes for a dataset version."""
        return not self.filters and self.horizon == DEFAULT_HORIZON[self.grain]

    def canonical(self) -> dict[str, Any]:
        return {"dataset": self.dataset_id, "measure": self.measure, "grain": self.grain,
                "horizon": self.horizon,
                "filters": {k: sorted(v) for k, v in sorted(self.filters.items())}}

    def key(self, version: int | None = None) -> str:
        """Document id: defaults are keyed without the version (the task overwrites
        them), any other view with it (a new version never matches an old entry)."""
        body = self.canonical() if version is None else {**self.canonical(), "v": version}
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
        prefix = "default-" if version is None else "view-"
        return prefix + hashlib.sha256(raw.encode()).hexdigest()[:40]


def defaults(dataset_id: str) -> list[PredictionRequest]:
    """Every measure at every grain, default horizon, no filters."""
    return [PredictionRequest(dataset_id, m, g, DEFAULT_HORIZON[g])
            for g in GRAINS for m in MEASURES]


def parse(args: Any) -> PredictionRequest:
    """Validate a query string (a werkzeug MultiDict or a mapping of lists)."""
    multi = qp.as_lists(args)
    qp.single_controls(multi, _CONTROL)
    dataset = qp.dataset_id(multi)
    measure = qp.one(multi, "measure") or DEFAULT_MEASURE
    if measure not in MEASURES:
        raise qp.bad("measure", f"'measure' must be one of {', '.join(MEASURES)}",
                     "invalid_parameter", allowed=list(MEASURES))
    grain = qp.one(multi, "grain") or DEFAULT_GRAIN
    if grain not in GRAINS:
        raise qp.bad("grain", f"'grain' must be one of {', '.join(GRAINS)}",
                     "invalid_parameter", allowed=list(GRAINS))
    horizon = _horizon(qp.one(multi, "horizon"), grain)
    return PredictionRequest(dataset, measure, grain, horizon,
                             qp.dimension_filters(multi, _CONTROL))


def _horizon(raw: str | None, grain: str) -> int:
    limit = MAX_HORIZON[grain]
    if raw is None:
        return DEFAULT_HORIZON[grain]
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise qp.bad("horizon", f"'horizon' must be an integer from 1 to {limit} for grain "
                     f"'{grain}'", "invalid_parameter", min=1, max=limit)
    return int(raw)
