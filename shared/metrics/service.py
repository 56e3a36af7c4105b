"""Metrics use cases: answer a view from the snapshot, the cache or the warehouse;
recompute the default snapshot when a dataset changes; list a tenant's datasets.

Documents (all under `tenants/{tid}/`):
- `snapshots/{dataset_id}`: the default view, {dataset_id, version, view, range, grain,
  computed_at, payload}. `payload` is the view as a JSON string, served verbatim:
  the hot path neither parses nor re-serialises it, and the store never indexes it.
- `cache/metrics-{hash}`: any other view, keyed by dataset, version and the
  normalised request, same fields plus `kind: "metrics"`. A new version never
  matches an old key; the metrics task deletes the old entries.

The dataset's version is read before the warehouse is queried. Ingestion commits rows
before it bumps the version, so a result is never labelled newer than its data.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors, tenants
from shared.calendars import Calendar
from shared.metrics.view import DEFAULT_TOP, ViewRequest, default_grain

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import Transaction

log = logging.getLogger("tidemark.metrics")

MAX_CACHED_BYTES = 900_000  # below Firestore's 1 MiB document limit
CACHE_SWEEP_LIMIT = 500
_inflight: dict[str, threading.Lock] = {}
_inflight_guard = threading.Lock()


@dataclass(frozen=True)
class MetricsResult:
    payload: str  # the view as JSON, without `source`
    source: str   # "snapshot" | "cache" | "on_demand"
    version: int
    # Set while the dataset's business dates await a re-derive in a new time zone
    # (shared.auth.tenant_settings): said in every answer, never cached with it.
    dates_pending: dict[str, Any] | None = None

    def render(self) -> str:
        """The response body: the stored JSON with `source` (and `dates_pending`)
        added in front."""
        head = '{"source":' + json.dumps(self.source) + ","
        if self.dates_pending:
            head += '"dates_pending":' + json.dumps(self.dates_pending) + ","
        return head + self.payload.lstrip()[1:]

    def as_dict(self) -> dict[str, Any]:
        return {**json.loads(self.payload), "source": self.source,
                "dates_pending": self.dates_pending}


def _collections(tenant_id: str) -> tuple[str, str, str]:
    base = f"tenants/{tenant_id}"
    return f"{base}/datasets", f"{base}/snapshots", f"{base}/cache"


def dataset_version(deps: Deps, tenant_id: str, dataset_id: str) -> int:
    return int(_dataset(deps, tenant_id, dataset_id).get("version") or 0)


def _dataset(deps: Deps, tenant_id: str, dataset_id: str) -> dict[str, Any]:
    datasets, _, _ = _collections(tenant_id)
    doc = deps.docs.get(datasets, dataset_id)
    if doc is None:
        raise errors.NotFound(f"dataset '{dataset_id}' does not exist",
                              code="dataset_not_found", details={"field": "dataset"})
    return doc.data


def calendar_of(deps: Deps, tenant_id: str) -> Calendar:
    """The tenant's calendar (UTC, Monday weeks, calendar year for a tenant without
    settings)."""
    doc = deps.docs.get(tenants.TENANTS, tenant_id)
    return Calendar.of(tenants.from_document(doc.data if doc else None))


def _current(snap: dict[str, Any], version: int, calendar: Calendar) -> bool:
    """A snapshot answers for this version and calendar (one written before calendars
    were recorded follows the default calendar)."""
    return (snap.get("version") == version
            and (snap.get("calendar") or Calendar().describe()) == calendar.describe())


def get_metrics(deps: Deps, tenant_id: str, req: ViewRequest) -> MetricsResult:
    """The view a dashboard asked for, from the fastest source that is current."""
    _, snapshots, cache = _collections(tenant_id)
    try:
        dataset = _dataset(deps, tenant_id, req.dataset_id)
    except errors.NotFound:
        if req.field_filters:  # no dataset, no fields: the filter is the first fault
            name = sorted(req.field_filters)[0][:80]
            raise errors.InvalidInput(f"'{name}' is not a known parameter or field",
                                      code="unknown_filter", details={"field": name}) from None
        raise
    version = int(dataset.get("version") or 0)
    cal = calendar_of(deps, tenant_id)
    result = functools.partial(MetricsResult, version=version,
                               dates_pending=_pending(dataset))
    snap = None
    plain = not (req.filters or req.field_filters or req.measure or req.breakdown)
    if req.is_default or (plain and req.start and req.end):
        snap = deps.docs.get(snapshots, req.dataset_id)
        if snap and _current(snap.data, version, cal) and _snapshot_answers(snap.data, req):
            return result(snap.data["payload"], "snapshot")
    if req.is_default:
        with _single_flight(f"{tenant_id}/{req.dataset_id}/snapshot/{version}"):
            snap = deps.docs.get(snapshots, req.dataset_id)
            if snap and _current(snap.data, version, cal):
                return result(snap.data["payload"], "snapshot")
            payload = _compute(deps, tenant_id, req, version, cal)
            store_snapshot(deps, tenant_id, req.dataset_id, version, payload)
            return result(_dumps(payload), "on_demand")
    key = _measure_key(deps, tenant_id, req, req.cache_key(version, cal))
    hit = deps.docs.get(cache, key)
    if hit and hit.data.get("version") == version:
        return result(hit.data["payload"], "cache")
    with _single_flight(f"{tenant_id}/{key}"):
        hit = deps.docs.get(cache, key)
        if hit and hit.data.get("version") == version:
            return result(hit.data["payload"], "cache")
        payload = _compute(deps, tenant_id, req, version, cal)
        text = _dumps(payload)
        if len(text) <= MAX_CACHED_BYTES:
            deps.docs.set(cache, key, {"kind": "metrics", "dataset_id": req.dataset_id,
                                       "version": version, "view": req.canonical(),
                                       "created_at": datetime.now(UTC), "payload": text})
        return result(text, "on_demand")


def _pending(dataset: dict[str, Any]) -> dict[str, Any] | None:
    mark = dataset.get("dates_pending") or {}
    if not mark.get("time_zone"):
        return None
    return {"time_zone": mark["time_zone"], "previous": mark.get("previous")}


def _measure_key(deps: Deps, tenant_id: str, req: ViewRequest, key: str) -> str:
    """A calculated measure can be deleted or redefined under the same name within a
    dataset version: its expression is part of the cache key, so a cached view never
    outlives the definition it was computed from."""
    if req.measure is None:
        return key
    from shared.metrics import measures

    expression = next((m["expression"] for m in
                       measures.calculated(deps, tenant_id, req.dataset_id)
                       if m["name"] == req.measure), None)
    if expression is None:
        return key
    return key + "-" + hashlib.sha256(expression.encode()).hexdigest()[:16]


def recompute_snapshot(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    """The metrics task: refresh the default snapshot for this dataset version, drop
    cache entries of older versions, then enqueue the forecast task for the version.
    An older version than the dataset's is superseded (its newer task does the work);
    a newer one is not visible yet, so the task is retried."""
    current = dataset_version(deps, tenant_id, dataset_id)
    if version < current:
        return {"status": "superseded", "version": version, "current_version": current}
    if version > current:
        raise errors.Unavailable("the dataset's new version is not visible yet",
                                 code="version_not_visible",
                                 details={"version": version, "current_version": current})
    _, snapshots, _ = _collections(tenant_id)
    snap = deps.docs.get(snapshots, dataset_id)
    status = "unchanged"
    cal = calendar_of(deps, tenant_id)
    if not (snap and _current(snap.data, version, cal)):
        with _single_flight(f"{tenant_id}/{dataset_id}/snapshot/{version}"):
            payload = _compute(deps, tenant_id, ViewRequest(dataset_id), version, cal)
            store_snapshot(deps, tenant_id, dataset_id, version, payload)
        status = "computed"
    swept = sweep_cache(deps, tenant_id, dataset_id, version)
    from shared.uploads.records import TaskPayload

    task = TaskPayload(tenant_id, dataset_id, version)
    ref = deps.tasks.enqueue("forecast", task.to_dict(), name=task.task_name("forecast"))
    return {"status": status, "version": version, "cache_entries_removed": swept,
            "forecast_task": ref.name}


def store_snapshot(deps: Deps, tenant_id: str, dataset_id: str, version: int,
                   payload: dict[str, Any]) -> bool:
    """Write the snapshot unless a newer version's is already there."""
    _, snapshots, _ = _collections(tenant_id)
    doc = {"dataset_id": dataset_id, "version": version,
           "view": ViewRequest(dataset_id).canonical(), "range": payload.get("range"),
           "grain": payload.get("grain"), "top": payload.get("top"),
           "calendar": payload.get("calendar"),
           "computed_at": datetime.now(UTC), "payload": _dumps(payload)}

    def write(tx: Transaction) -> bool:
        existing = tx.get(snapshots, dataset_id)
        if existing and int(existing.data.get("version") or 0) > version:
            return False
        tx.set(snapshots, dataset_id, doc)
        return True
    return bool(deps.docs.transaction(write))


def sweep_cache(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> int:
    from shared.ports import Filter

    _, _, cache = _collections(tenant_id)
    removed = 0
    for doc in deps.docs.query(cache, filters=[Filter("dataset_id", "==", dataset_id)],
                               limit=CACHE_SWEEP_LIMIT):
        if doc.data.get("kind") == "metrics" and doc.data.get("version") != version:
            removed += bool(deps.docs.delete(cache, doc.id))
    return removed


def list_datasets(deps: Deps, tenant_id: str) -> list[dict[str, Any]]:
    datasets, _, _ = _collections(tenant_id)
    quality = data_quality(deps, tenant_id)
    out = [{"id": d.id, "name": d.data.get("name") or d.id,
            "version": int(d.data.get("version") or 0),
            "row_count": int(d.data.get("row_count") or 0),
            "created_at": d.data.get("created_at"), "updated_at": d.data.get("updated_at"),
            "data_quality": quality.get(d.id, _no_warnings())}
           for d in deps.docs.query(datasets, limit=1000)]
    return sorted(out, key=lambda d: (str(d["name"]).lower(), d["id"]))


DATA_QUALITY_MESSAGES = 5


def _no_warnings() -> dict[str, Any]:
    return {"warning_count": 0, "uploads_with_warnings": 0, "warnings": [],
            "upload_ids": []}


def data_quality(deps: Deps, tenant_id: str) -> dict[str, dict[str, Any]]:
    """Per dataset: the warnings of the loads whose rows it holds, so the dashboard can
    say its figures carry a doubt. One equality filter on status, no ordering: Firestore
    answers it from its automatic single-field index, with no composite index to deploy
    (https://cloud.google.com/firestore/docs/query-data/indexing)."""
    from shared.ports import Filter
    from shared.uploads.records import uploads_path

    out: dict[str, dict[str, Any]] = {}
    loaded = deps.docs.query(uploads_path(tenant_id),
                             filters=[Filter("status", "==", "loaded")], limit=1000)
    for doc in sorted(loaded, key=lambda d: str(d.data.get("created_at") or ""),
                      reverse=True):
        warnings = ((doc.data.get("report") or {}).get("warnings")) or []
        if not warnings:
            continue
        q = out.setdefault(str(doc.data.get("dataset_id")), _no_warnings())
        q["warning_count"] += len(warnings)
        q["uploads_with_warnings"] += 1
        q["upload_ids"].append(doc.id)
        room = DATA_QUALITY_MESSAGES - len(q["warnings"])
        q["warnings"] += [w for w in warnings if w not in q["warnings"]][:max(0, room)]
    return out


def _snapshot_answers(snap: dict[str, Any], req: ViewRequest) -> bool:
    """Does the stored default view answer this request exactly?"""
    if req.is_default:
        return True
    rng = snap.get("range") or {}
    if not (req.start and req.end and rng.get("start") == req.start.isoformat()
            and rng.get("end") == req.end.isoformat()):
        return False
    days = (req.end - req.start).days + 1
    return ((req.grain or default_grain(days)) == snap.get("grain")
            and (req.top or DEFAULT_TOP) == snap.get("top"))


def _compute(deps: Deps, tenant_id: str, req: ViewRequest, version: int,
             calendar: Calendar) -> dict[str, Any]:
    from shared.metrics import catalog, measures, selection
    from shared.metrics.compute import compute_view

    cat = catalog.get(deps, tenant_id, req.dataset_id, version)
    sel = selection.build(cat, measures.calculated(deps, tenant_id, req.dataset_id),
                          req.measure, req.agg, req.breakdown, req.field_filters)
    return compute_view(deps.warehouse, tenant_id, req, version=version,
                        parallel=not deps.local, sel=sel, calendar=calendar)


def fields(deps: Deps, tenant_id: str, dataset_id: str) -> dict[str, Any]:
    """The dataset's field catalog at its current version, with its measures."""
    from shared.metrics import catalog, measures

    version = dataset_version(deps, tenant_id, dataset_id)
    cat = catalog.get(deps, tenant_id, dataset_id, version)
    return catalog.public(cat, measures.calculated(deps, tenant_id, dataset_id))


def define_measure(deps: Deps, tenant_id: str, dataset_id: str, body: dict[str, Any]
                   ) -> dict[str, Any]:
    from shared.metrics import catalog, measures

    version = dataset_version(deps, tenant_id, dataset_id)
    return measures.define(deps, tenant_id, catalog.get(deps, tenant_id, dataset_id, version),
                           body)


def delete_measure(deps: Deps, tenant_id: str, dataset_id: str, name: str) -> None:
    """Views cached with the measure stay until the next version; a deleted name
    no longer resolves for any new view."""
    from shared.metrics import measures

    dataset_version(deps, tenant_id, dataset_id)
    measures.remove(deps, tenant_id, dataset_id, name)


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


@contextmanager
def _single_flight(key: str) -> Iterator[None]:
    """One computation per key at a time in this instance; the others wait and then
    find the stored result."""
    with _inflight_guard:
        lock = _inflight.setdefault(key, threading.Lock())
    with lock:
        yield
    with _inflight_guard:
        if _inflight.get(key) is lock and not lock.locked():
            del _inflight[key]
