"""Forecast use cases: answer a predictions request from the precomputed forecasts,
the per-version cache or a fresh fit; precompute the defaults for a dataset version.

Documents (under `tenants/{tid}/forecasts/`), each {dataset_id, version, kind,
computed_at, payload} with `payload` the response as a JSON string (served as is,
never indexed):
- `default-{hash}`: a default view (no filters, default horizon), written by the
  forecast task; it answers only while its version is the dataset's current one.
- `view-{hash}`: any other view; the version is part of the key, so a new version
  never matches an old entry.
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
from shared.forecast.request import SEASON, PredictionRequest, defaults

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


def get_prediction(deps: Deps, tenant_id: str, req: PredictionRequest) -> dict[str, Any]:
    """The forecast a dashboard asked for, from the fastest current source."""
    version = dataset_version(deps, tenant_id, req.dataset_id)
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


def precompute(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    """The forecast task: fit and store every default view of this dataset version.
    A task for a version that is no longer current does nothing."""
    current = dataset_version(deps, tenant_id, dataset_id)
    if current != version:
        return {"skipped": "superseded", "current_version": current}
    coll, done = _collection(tenant_id), []
    for req in defaults(dataset_id):
        payload = compute(deps, tenant_id, req, version)
        # strict: a lost write must fail the task, so the queue retries it
        _store(deps, coll, req.key(), req, version, payload, strict=True)
        done.append(f"{req.measure}/{req.grain}")
    return {"version": version, "forecasts": done}


def compute(deps: Deps, tenant_id: str, req: PredictionRequest, version: int) -> dict[str, Any]:
    from shared.forecast import calendar
    from shared.forecast.engine import forecast

    cal = _calendar(deps, tenant_id)
    points = history.load(deps, tenant_id, req, cal)
    periods = [p for p, _ in points]
    values = np.array([v for _, v in points], dtype=float)
    future = history.next_periods(periods[-1], req.grain, req.horizon)
    nonneg = req.measure in NONNEGATIVE or bool(np.all(values >= 0))
    result = forecast(values, req.horizon, SEASON[req.grain], nonnegative=nonneg,
                      calendar=calendar.features(periods[0], req.grain))
    return {
        "dataset": req.dataset_id, "version": version, "measure": req.measure,
        "grain": req.grain, "horizon": req.horizon,
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
        "computed_at": datetime.now(UTC).isoformat(),
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
