"""Forecast use cases: answer a predictions request from the precomputed forecasts,
the per-version cache or a fresh fit; precompute the defaults for a dataset version.

Documents (under `tenants/{tid}/forecasts/`), each {dataset_id, version, kind,
computed_at, payload} with `payload` the response as a JSON string (served as is,
never indexed):
- `default-{hash}`: a default view (no filters, default horizon), written by the
  forecast task; it answers only while its version is the dataset's current one.
- `view-{hash}`: any other view; the version is part of the key, so a new version
  never matches an old entry.
- `bydim-{hash}` / `bydimview-{hash}`: forecasts per value of a dimension, the same
  way (default views stored by the task, others cached per version); one entry holds
  the top values it was computed for and answers any smaller `top`.
Every key includes the tenant's holiday country, read from the tenant settings on
each request, so a change of country is never answered from a stale forecast.
The dataset version is read before the warehouse, so a forecast is never labelled
newer than its data.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from shared import errors, tenants
from shared.calendars import Calendar
from shared.forecast import history
from shared.forecast.request import (
    SEASON,
    BreakdownRequest,
    PredictionRequest,
    breakdown_defaults,
    defaults,
)

if TYPE_CHECKING:
    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.forecast")
NONNEGATIVE = ("orders", "units", "customers")


def _collection(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/forecasts"


def dataset_version(deps: Deps, tenant_id: str, dataset_id: str) -> int:
    doc = deps.docs.get(f"tenants/{tenant_id}/datasets", dataset_id)
    if doc is None:
        raise errors.NotFound(f"dataset '{dataset_id}' does not exist",
                              code="dataset_not_found", details={"field": "dataset"})
    return int(doc.data.get("version") or 0)


def holiday_country(deps: Deps, tenant_id: str) -> str | None:
    """The tenant's holiday country; None when it has none (or no tenant document,
    as for data loaded outside registration)."""
    doc = deps.docs.get(tenants.TENANTS, tenant_id)
    return tenants.from_document(doc.data if doc is not None else None).holiday_country


def get_prediction(deps: Deps, tenant_id: str,
                   req: PredictionRequest | BreakdownRequest) -> dict[str, Any]:
    """The forecast a dashboard asked for, from the fastest current source."""
    version = dataset_version(deps, tenant_id, req.base.dataset_id
                              if isinstance(req, BreakdownRequest) else req.dataset_id)
    req = req.with_country(holiday_country(deps, tenant_id))
    if isinstance(req, BreakdownRequest):
        return _get_breakdown(deps, tenant_id, req, version)
    coll = _collection(tenant_id)
    key = req.key() if req.is_default else req.key(version)
    doc = deps.docs.get(coll, key)
    if doc is not None and doc.data.get("version") == version:
        stored = json.loads(doc.data["payload"])
        # A new week start or fiscal year changes the periods, not the data's version.
        if stored.get("calendar", Calendar().describe()) == _calendar(deps, tenant_id).describe():
            return {**stored, "source": "snapshot" if req.is_default else "cache"}
    payload = compute(deps, tenant_id, req, version)
    _store(deps, coll, key, req, version, payload)
    return {**payload, "source": "on_demand"}


def _get_breakdown(deps: Deps, tenant_id: str, req: BreakdownRequest,
                   version: int) -> dict[str, Any]:
    """A stored entry answers when it holds at least `top` series, or every value the
    dimension has (fewer than asked); otherwise the `top` are fitted now."""
    coll = _collection(tenant_id)
    key = req.key() if req.is_default else req.key(version)
    doc = deps.docs.get(coll, key)
    if doc is not None and doc.data.get("version") == version:
        stored = json.loads(doc.data["payload"])
        current = stored.get("calendar", Calendar().describe()) == \
            _calendar(deps, tenant_id).describe()
        if current and (stored["top"] >= req.top or len(stored["series"]) < stored["top"]):
            source = "snapshot" if req.is_default else "cache"
            return {**stored, "top": req.top, "series": stored["series"][:req.top],
                    "source": source}
    payload = compute_breakdown(deps, tenant_id, req, version)
    _store(deps, coll, key, req.base, version, payload)
    return {**payload, "source": "on_demand"}


def precompute(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    """The forecast task: fit and store every default view of this dataset version,
    totals and per-dimension. A task for a version that is no longer current does
    nothing."""
    current = dataset_version(deps, tenant_id, dataset_id)
    if current != version:
        return {"skipped": "superseded", "current_version": current}
    coll, done = _collection(tenant_id), []
    country = holiday_country(deps, tenant_id)
    for req in defaults(dataset_id):
        req = req.with_country(country)
        payload = compute(deps, tenant_id, req, version)
        # strict: a lost write must fail the task, so the queue retries it
        _store(deps, coll, req.key(), req, version, payload, strict=True)
        done.append(f"{req.measure}/{req.grain}")
    known = None  # the dataset's bounds, read once for every breakdown of this version
    for breakdown in breakdown_defaults(dataset_id):
        breakdown = breakdown.with_country(country)
        known = known or history.bounds(deps, tenant_id, breakdown.base)
        payload = compute_breakdown(deps, tenant_id, breakdown, version, known)
        _store(deps, coll, breakdown.key(), breakdown.base, version, payload, strict=True)
        done.append(f"{breakdown.base.measure}/{breakdown.base.grain}/by-{breakdown.dimension}")
    return {"version": version, "forecasts": done}


def compute(deps: Deps, tenant_id: str, req: PredictionRequest, version: int) -> dict[str, Any]:
    cal = _calendar(deps, tenant_id)
    points = history.load(deps, tenant_id, req, cal)
    return {
        "dataset": req.dataset_id, "version": version, "measure": req.measure,
        "grain": req.grain, "horizon": req.horizon,
        "holiday_country": req.holiday_country, **_fit(req, points, cal),
        "computed_at": datetime.now(UTC).isoformat(),
    }


def compute_breakdown(deps: Deps, tenant_id: str, req: BreakdownRequest, version: int,
                      known: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """One fit per top value, each with its own backtest accuracy and intervals."""
    base = req.base
    cal = _calendar(deps, tenant_id)
    series = []
    for value, revenue, points in history.load_top(deps, tenant_id, base, req.dimension,
                                                   req.top, known, calendar=cal):
        fitted = _fit(base, points, cal)
        fitted.pop("calendar")  # the breakdown's, once
        series.append({"value": value, "revenue": _r(revenue), **fitted})
    return {
        "dataset": base.dataset_id, "version": version, "measure": base.measure,
        "grain": base.grain, "horizon": base.horizon, "dimension": req.dimension,
        "top": req.top, "holiday_country": base.holiday_country,
        "calendar": cal.describe(), "series": series,
        "computed_at": datetime.now(UTC).isoformat(),
    }


def _fit(req: PredictionRequest, points: list[tuple[Any, float]],
         cal: Calendar) -> dict[str, Any]:
    from shared.forecast import calendar
    from shared.forecast.engine import forecast

    periods = [p for p, _ in points]
    values = np.array([v for _, v in points], dtype=float)
    future = history.next_periods(periods[-1], req.grain, req.horizon)
    nonneg = req.measure in NONNEGATIVE or bool(np.all(values >= 0))
    result = forecast(values, req.horizon, SEASON[req.grain], nonnegative=nonneg,
                      calendar=calendar.features(periods[0], req.grain,
                                                 req.holiday_country))
    return {
        "model": {"name": result.model,
                  "components": [{"name": n, "weight": w} for n, w in result.components]},
        "accuracy": result.accuracy,
        "calendar": cal.describe(),
        "history": [{"period": p.isoformat(), "label": cal.label(p, req.grain),
                     "value": _r(v)} for p, v in points],
        "forecast": [{"period": p.isoformat(), "label": cal.label(p, req.grain),
                      "value": _r(result.point[i]),
                      "lo80": _r(result.lo80[i]), "hi80": _r(result.hi80[i]),
                      "lo95": _r(result.lo95[i]), "hi95": _r(result.hi95[i])}
                     for i, p in enumerate(future)],
    }


def _calendar(deps: Deps, tenant_id: str) -> Calendar:
    doc = deps.docs.get(tenants.TENANTS, tenant_id)
    return Calendar.of(tenants.from_document(doc.data if doc else None))


def _store(deps: Deps, coll: str, key: str, req: PredictionRequest, version: int,
           payload: dict[str, Any], *, strict: bool = False) -> None:
    try:
        deps.docs.set(coll, key, {"dataset_id": req.dataset_id, "version": version,
                                  "kind": "default" if req.is_default else "view",
                                  "computed_at": datetime.now(UTC),
                                  "payload": json.dumps(payload, separators=(",", ":"))})
    except errors.AppError as exc:  # a cache write failing must not fail the answer
        if strict:
            raise
        log.warning("forecast not cached: %s", exc.message)


def _r(value: float) -> float:
    return round(float(value), 4)
