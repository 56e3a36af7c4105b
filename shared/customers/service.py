"""Customer reads: answer the Customers page from the analysis the forecast task
stored (shared.customers.task writes it; this module imports no data science library,
so the metrics function that serves the page carries none of the fitting code).

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
from typing import TYPE_CHECKING, Any

from shared import errors

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.customers.models import CustomersRequest

PAGE_ROWS = 500
DOC_LIMIT = 1_048_576
# Room for the field names and metadata beside the payload.
PAYLOAD_LIMIT = DOC_LIMIT - 16_384


def collection(tenant_id: str) -> str:
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


def _stored(deps: Deps, tenant_id: str, dataset_id: str) -> tuple[int, dict[str, Any]]:
    version = dataset_version(deps, tenant_id, dataset_id)
    pointer = deps.docs.get(collection(tenant_id), dataset_id)
    if pointer is None or pointer.data.get("version") != version:
        raise errors.NotFound(
            f"the customer analysis of dataset '{dataset_id}' version {version} is not "
            "ready yet; it is computed after each load", code="customers_not_ready",
            details={"field": "dataset", "version": version})
    return version, pointer.data


def get(deps: Deps, tenant_id: str, req: CustomersRequest) -> dict[str, Any]:
    """The part of the stored analysis the page asked for."""
    version, _ = _stored(deps, tenant_id, req.dataset)
    coll, base = collection(tenant_id), f"{req.dataset}-v{version}"
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

