"""What a predictions request asks for: validation of the query string and defaults.

Names are checked against fixed lists (measures, grains, the schema's dimensions)
before any SQL is built; filter values only ever travel as query parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import errors
from shared.schema import DIMENSIONS

MEASURES = ("revenue", "orders", "units", "customers")
GRAINS = ("day", "week", "month")
DEFAULT_MEASURE = "revenue"
DEFAULT_GRAIN = "week"
DEFAULT_HORIZON = {"day": 28, "week": 12, "month": 6}
MAX_HORIZON = {"day": 90, "week": 52, "month": 24}
SEASON = {"day": 7, "week": 52, "month": 12}
MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 256
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
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
    multi = _lists(args)
    for key in _CONTROL:
        if len(multi.get(key, [])) > 1:
            raise _bad(key, f"'{key}' may be given only once", "repeated_parameter")
    dataset = _one(multi, "dataset")
    if not dataset:
        raise _bad("dataset", "the 'dataset' parameter is required", "missing_parameter")
    if not _DATASET_ID.match(dataset):
        raise _bad("dataset", "'dataset' is not a valid dataset id", "invalid_parameter")
    measure = _one(multi, "measure") or DEFAULT_MEASURE
    if measure not in MEASURES:
        raise _bad("measure", f"'measure' must be one of {', '.join(MEASURES)}",
                   "invalid_parameter", allowed=list(MEASURES))
    grain = _one(multi, "grain") or DEFAULT_GRAIN
    if grain not in GRAINS:
        raise _bad("grain", f"'grain' must be one of {', '.join(GRAINS)}",
                   "invalid_parameter", allowed=list(GRAINS))
    horizon = _horizon(_one(multi, "horizon"), grain)
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in multi.items():
        if key in _CONTROL:
            continue
        if key not in DIMENSIONS:
            raise _bad(key, f"'{key}' is not a known parameter or dimension",
                       "unknown_filter", allowed=list(DIMENSIONS))
        for v in values:
            if v == "" or len(v) > MAX_VALUE_LENGTH:
                raise _bad(key, f"values of '{key}' must be 1 to {MAX_VALUE_LENGTH} "
                           "characters", "invalid_filter_value")
        clean = tuple(sorted(set(values)))
        if len(clean) > MAX_FILTER_VALUES:
            raise _bad(key, f"at most {MAX_FILTER_VALUES} values per dimension",
                       "too_many_values", limit=MAX_FILTER_VALUES)
        filters[key] = clean
    return PredictionRequest(dataset, measure, grain, horizon, filters)


def _horizon(raw: str | None, grain: str) -> int:
    limit = MAX_HORIZON[grain]
    if raw is None:
        return DEFAULT_HORIZON[grain]
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise _bad("horizon", f"'horizon' must be an integer from 1 to {limit} for grain "
                   f"'{grain}'", "invalid_parameter", min=1, max=limit)
    return int(raw)


def _lists(args: Any) -> dict[str, list[str]]:
    if hasattr(args, "lists"):
        return {k: list(v) for k, v in args.lists()}
    return {k: [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]
            for k, v in dict(args).items()}


def _one(multi: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = multi.get(key)
    return (values[0].strip() or None) if values else None


def _bad(field_name: str, message: str, code: str, **details: Any) -> errors.InvalidInput:
    return errors.InvalidInput(message, code=code, details={"field": field_name, **details})
