"""What a predictions request asks for: validation of the query string and defaults.

Names are checked against fixed lists (measures, grains, the schema's dimensions)
before any SQL is built; filter values only ever travel as query parameters.

`dimension` (with `top`) asks for one forecast per value of a dimension instead of the
total: a `BreakdownRequest`. Each value's series is fitted on its own, so `top` is
bounded (MAX_TOP) to bound the cost of one request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared.schema import DIMENSIONS
from shared.web import query_params as qp

MEASURES = ("revenue", "orders", "units", "customers")
GRAINS = ("day", "week", "month")
DEFAULT_MEASURE = "revenue"
DEFAULT_GRAIN = "week"
DEFAULT_HORIZON = {"day": 28, "week": 12, "month": 6}
MAX_HORIZON = {"day": 90, "week": 52, "month": 24}
SEASON = {"day": 7, "week": 52, "month": 12}
_CONTROL = ("dataset", "measure", "grain", "horizon", "dimension", "top")
# Per-dimension forecasts: values per request (each one a full fit with its backtest),
# and how many the forecast task stores per dimension after a load.
DEFAULT_TOP = 5
MAX_TOP = 10


@dataclass(frozen=True)
class PredictionRequest:
    dataset_id: str
    measure: str = DEFAULT_MEASURE
    grain: str = DEFAULT_GRAIN
    horizon: int = DEFAULT_HORIZON[DEFAULT_GRAIN]
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The tenant's holiday country (tenant settings, not the query string): part of
    # the key, so a change of country is never answered from a forecast fitted with
    # the other country's holiday features.
    holiday_country: str | None = None

    @property
    def is_default(self) -> bool:
        """One of the forecasts the forecast task precomputes for a dataset version."""
        return not self.filters and self.horizon == DEFAULT_HORIZON[self.grain]

    def with_country(self, country: str | None) -> PredictionRequest:
        return replace(self, holiday_country=country)

    def canonical(self) -> dict[str, Any]:
        return {"dataset": self.dataset_id, "measure": self.measure, "grain": self.grain,
                "horizon": self.horizon,
                "filters": {k: sorted(v) for k, v in sorted(self.filters.items())},
                "holidays": self.holiday_country}

    def key(self, version: int | None = None) -> str:
        """Document id: defaults are keyed without the version (the task overwrites
        them), any other view with it (a new version never matches an old entry)."""
        body = self.canonical() if version is None else {**self.canonical(), "v": version}
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
        prefix = "default-" if version is None else "view-"
        return prefix + hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class BreakdownRequest:
    """Forecasts of the `top` values of `dimension` (by revenue over the history
    window), each fitted like `base` with the value added to its filters."""

    base: PredictionRequest
    dimension: str
    top: int = DEFAULT_TOP

    @property
    def is_default(self) -> bool:
        return self.base.is_default

    def with_country(self, country: str | None) -> BreakdownRequest:
        return replace(self, base=self.base.with_country(country))

    def key(self, version: int | None = None) -> str:
        """Like PredictionRequest.key, without `top`: one stored entry per dimension
        answers every `top` up to the number of series it holds."""
        body = {**self.base.canonical(), "dimension": self.dimension}
        if version is not None:
            body["v"] = version
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
        prefix = "bydim-" if version is None else "bydimview-"
        return prefix + hashlib.sha256(raw.encode()).hexdigest()[:40]


def defaults(dataset_id: str) -> list[PredictionRequest]:
    """Every measure at every grain, default horizon, no filters."""
    return [PredictionRequest(dataset_id, m, g, DEFAULT_HORIZON[g])
            for g in GRAINS for m in MEASURES]


def breakdown_defaults(dataset_id: str) -> list[BreakdownRequest]:
    """What the forecast task stores per dimension: the default measure and grain (the
    dashboard's first view), the default number of values."""
    base = PredictionRequest(dataset_id, DEFAULT_MEASURE, DEFAULT_GRAIN,
                             DEFAULT_HORIZON[DEFAULT_GRAIN])
    return [BreakdownRequest(base, dim, DEFAULT_TOP) for dim in DIMENSIONS]


def parse(args: Any) -> PredictionRequest | BreakdownRequest:
    """Validate a query string (a werkzeug MultiDict or a mapping of lists): a
    breakdown when it names a `dimension`, the total otherwise."""
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
    base = PredictionRequest(dataset, measure, grain, horizon,
                             qp.dimension_filters(multi, _CONTROL))
    dimension, top = qp.one(multi, "dimension"), qp.one(multi, "top")
    if dimension is None:
        if top is not None:
            raise qp.bad("top", "'top' needs a 'dimension'", "invalid_parameter")
        return base
    if dimension not in DIMENSIONS:
        raise qp.bad("dimension", f"'dimension' must be one of {', '.join(DIMENSIONS)}",
                     "invalid_parameter", allowed=list(DIMENSIONS))
    return BreakdownRequest(base, dimension, _top(top))


def _top(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_TOP
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise qp.bad("top", f"'top' must be an integer from 1 to {MAX_TOP}",
                     "invalid_parameter", min=1, max=MAX_TOP)
    return int(raw)


def _horizon(raw: str | None, grain: str) -> int:
    limit = MAX_HORIZON[grain]
    if raw is None:
        return DEFAULT_HORIZON[grain]
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise qp.bad("horizon", f"'horizon' must be an integer from 1 to {limit} for grain "
                     f"'{grain}'", "invalid_parameter", min=1, max=limit)
    return int(raw)
