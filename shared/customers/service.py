"""Customer use cases: analyse a dataset version in the forecast task and store the
result; answer the Customers page from what was stored.

Documents under `tenants/{tid}/customers/`:
- `{dataset}`: the pointer {version, pages} to the stored analysis, written last, so a
  reader never finds a version whose pages are still being written.
- `{dataset}-v{version}`: the summary (KPIs, cohorts, segments, model, insight) as a
  JSON string `payload` (served, never indexed).
- `{dataset}-v{version}-{list}-{n}`: page n of a list (`all`, `at_risk`, one per
  segment) of PAGE_ROWS customer rows.
A Firestore document holds at most 1 MiB (https://cloud.google.com/firestore/quotas#limits);
per-customer predictions for 100,000 customers are ~20 MB, so they are paged: a row
is at most ~600 bytes (ids cut at 200 characters), 500 rows stay under 300 KB, and
check_size refuses anything near the limit rather than letting a write fail half-way.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.customers.models import SEGMENTS

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.customers.models import CustomersRequest

log = logging.getLogger("tidemark.customers")
PAGE_ROWS = 500
DOC_LIMIT = 1_048_576
# Room for the field names and metadata beside the payload.
PAYLOAD_LIMIT = DOC_LIMIT - 16_384


def _coll(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/customers"


def dataset_version(deps: Deps, tenant_id: str, dataset_id: str) -> int:
    doc = deps.docs.get(f"tenants/{tenant_id}/datasets", dataset_id)
    if doc is None:
        raise errors.NotFound(f"dataset '{dataset_id}' does not exist",
                              code="dataset_not_found", details={"field": "dataset"})
    return int(doc.data.get("version") or 0)


def check_size(payload: str) -> str:
    if len(payload.encode()) > PAYLOAD_LIMIT:
        raise errors.TooLarge("a customers document would exceed Firestore's 1 MiB "
                              "limit", code="document_too_large")
    return payload


def refresh(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    """The forecast task's customer step: analyse and store this dataset version. A
    version that is no longer current is skipped; a dataset with no customer ids
    stores a summary that says so (the page explains instead of failing)."""
    from shared.customers import analysis, history

    if dataset_version(deps, tenant_id, dataset_id) != version:
        return {"skipped": "superseded"}
    result = analysis.analyse(history.load(deps, tenant_id, dataset_id))
    coll, now = _coll(tenant_id), datetime.now(UTC)
    base = f"{dataset_id}-v{version}"
    lists: dict[str, list[dict[str, Any]]] = {"all": result.customers,
                                              "at_risk": result.at_risk}
    for seg in SEGMENTS:
        lists[seg] = [r for r in result.customers if r.get("segment") == seg]
    pages: dict[str, int] = {}
    for name, rows in lists.items():
        pages[name] = max(1, -(-len(rows) // PAGE_ROWS))
        for n in range(pages[name]):
            chunk = rows[n * PAGE_ROWS:(n + 1) * PAGE_ROWS]
            deps.docs.set(coll, f"{base}-{name}-{n}", {
                "dataset_id": dataset_id, "version": version, "computed_at": now,
                "payload": check_size(json.dumps(chunk, separators=(",", ":")))})
    summary = {**result.summary, "dataset": dataset_id, "version": version,
               "computed_at": now.isoformat(),
               "counts": {k: len(v) for k, v in lists.items()}}
    deps.docs.set(coll, base, {"dataset_id": dataset_id, "version": version,
                               "computed_at": now,
                               "payload": check_size(json.dumps(summary,
                                                                separators=(",", ":")))})
    previous = deps.docs.get(coll, dataset_id)
    deps.docs.set(coll, dataset_id, {"version": version, "pages": pages,
                                     "computed_at": now})
    if previous is not None and previous.data.get("version") != version:
        _drop(deps, coll, dataset_id, previous.data)
    return {"version": version, "customers": len(result.customers),
            "at_risk": len(result.at_risk)}


def _drop(deps: Deps, coll: str, dataset_id: str, pointer: dict[str, Any]) -> None:
    """Delete a superseded version's documents; a failure leaves garbage, not errors."""
    base = f"{dataset_id}-v{pointer.get('version')}"
    try:
        for name, count in (pointer.get("pages") or {}).items():
            for n in range(int(count)):
                deps.docs.delete(coll, f"{base}-{name}-{n}")
        deps.docs.delete(coll, base)
    except errors.AppError as exc:
        log.warning("old customer pages not deleted: %s", exc.message)


def _stored(deps: Deps, tenant_id: str, dataset_id: str) -> tuple[int, dict[str, Any]]:
    version = dataset_version(deps, tenant_id, dataset_id)
    pointer = deps.docs.get(_coll(tenant_id), dataset_id)
    if pointer is None or pointer.data.get("version") != version:
        raise errors.NotFound(
            f"the customer analysis of dataset '{dataset_id}' version {version} is not "
            "ready yet; it is computed after each load", code="customers_not_ready",
            details={"field": "dataset", "version": version})
    return version, pointer.data


def get(deps: Deps, tenant_id: str, req: CustomersRequest) -> dict[str, Any]:
    """The part of the stored analysis the page asked for."""
    version, _ = _stored(deps, tenant_id, req.dataset)
    coll, base = _coll(tenant_id), f"{req.dataset}-v{version}"
    doc = deps.docs.get(coll, base)
    if doc is None:
        raise errors.NotFound("the customer analysis is not stored",
                              code="customers_not_ready", details={"field": "dataset"})
    summary = json.loads(doc.data["payload"])
    head = {k: summary[k] for k in ("dataset", "version", "computed_at", "as_of")}
    if req.part == "summary":
        return {**head, **{k: summary[k] for k in (
            "lines", "kpis", "model", "model_unavailable", "insight", "at_risk_share",
            "previous_at_risk_share", "at_risk_count", "previous_as_of")}}
    if req.part == "cohorts":
        return {**head, "grain": req.grain, "cohorts": summary["cohorts"][req.grain],
                "kpis": summary["kpis"]}
    if req.part == "segments":
        return {**head, "previous_as_of": summary["previous_as_of"],
                "segments": summary["segments"]}
    name = "at_risk" if req.part == "at_risk" else (req.segment or "all")
    if req.part == "at_risk" and req.segment:
        raise errors.InvalidInput("segment filters part=predictions only",
                                  code="invalid_parameter", details={"field": "segment"})
    rows, total = _page(deps, coll, base, name, summary["counts"].get(name, 0),
                        req.offset, req.limit)
    nxt = req.offset + len(rows)
    return {**head, "part": req.part, "segment": req.segment, "total": total,
            "customers": rows,
            "next_page_token": str(nxt) if nxt < total else None,
            "insight": summary.get("insight")}


def _page(deps: Deps, coll: str, base: str, name: str, total: int, offset: int,
          limit: int) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    first, last = offset // PAGE_ROWS, (offset + limit - 1) // PAGE_ROWS
    for n in range(first, last + 1):
        if n * PAGE_ROWS >= total:
            break
        doc = deps.docs.get(coll, f"{base}-{name}-{n}")
        if doc is None:
            raise errors.NotFound("a page of the customer analysis is missing",
                                  code="customers_not_ready", details={"field": "dataset"})
        chunk = json.loads(doc.data["payload"])
        start = offset - n * PAGE_ROWS if n == first else 0
        rows.extend(chunk[start:start + limit - len(rows)])
    return rows, total


def refresh_quietly(deps: Deps, tenant_id: str, dataset_id: str,
                    version: int) -> dict[str, Any]:
    """The forecast task's call: a dataset without rows answers the page's 404 rather
    than failing the task (its forecasts are already stored); other errors propagate
    so the queue retries."""
    try:
        return refresh(deps, tenant_id, dataset_id, version)
    except errors.NotFound as exc:
        return {"skipped": exc.code}
