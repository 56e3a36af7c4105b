"""The forecast task's customer step: analyse a dataset version and store the result
in the documents shared.customers.service reads (layout and size limits there)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.customers.models import SEGMENTS
from shared.customers.service import PAGE_ROWS, check_size, collection, dataset_version

if TYPE_CHECKING:
    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.customers")


def refresh(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    """The forecast task's customer step: analyse and store this dataset version. A
    version that is no longer current is skipped; a dataset with no customer ids
    stores a summary that says so (the page explains instead of failing)."""
    from shared.customers import analysis, history

    if dataset_version(deps, tenant_id, dataset_id) != version:
        return {"skipped": "superseded"}
    result = analysis.analyse(history.load(deps, tenant_id, dataset_id))
    coll, now = collection(tenant_id), datetime.now(UTC)
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


def refresh_quietly(deps: Deps, tenant_id: str, dataset_id: str,
                    version: int) -> dict[str, Any]:
    """The forecast task's call: a dataset without rows answers the page's 404 rather
    than failing the task (its forecasts are already stored); other errors propagate
    so the queue retries."""
    try:
        return refresh(deps, tenant_id, dataset_id, version)
    except errors.NotFound as exc:
        return {"skipped": exc.code}
