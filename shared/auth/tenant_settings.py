"""An admin reads and changes the tenant's settings (time zone, week start, fiscal
year, retail calendar, holiday country); every change is audited.

A new time zone changes the business date of the sales already loaded, which were
derived in the old one (shared.ingest.business_time). They are never re-dated in
place and never mixed silently with dates of the new rule: each dataset holding rows
is marked `dates_pending` with the new zone, the metrics answer says so while it is
set, and the upload that replaces the dataset's rows in the new zone clears it
(shared.uploads.claims.commit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import tenants
from shared.auth import audit

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.web.authz import Principal

SETTINGS_CHANGED = "tenant.settings_changed"


def _datasets(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/datasets"


def pending(deps: Deps, tenant_id: str) -> list[str]:
    """The datasets whose dates still await a re-derive in the tenant's zone."""
    return sorted(d.id for d in deps.docs.query(_datasets(tenant_id), limit=1000)
                  if (d.data.get("dates_pending") or {}).get("time_zone"))


def read(deps: Deps, principal: Principal) -> dict[str, Any]:
    return {"settings": tenants.load(deps.docs, principal.tenant_id).model_dump(),
            "rederive": pending(deps, principal.tenant_id)}


def change(deps: Deps, principal: Principal, body: tenants.TenantSettingsUpdate, *,
           ip: str) -> dict[str, Any]:
    before, after = tenants.update(deps.docs, principal.tenant_id, body)
    changed = {k: {"from": v, "to": after.model_dump()[k]}
               for k, v in before.model_dump().items() if after.model_dump()[k] != v}
    if changed:
        audit.record(deps.docs, principal.tenant_id, SETTINGS_CHANGED,
                     actor_id=principal.user_id, target_id=principal.tenant_id, ip=ip,
                     details={"changed": changed})
    if "time_zone" in changed:
        now = datetime.now(UTC)
        for doc in deps.docs.query(_datasets(principal.tenant_id), limit=1000):
            if int(doc.data.get("row_count") or 0) == 0:
                continue
            # The zone its rows were derived in: the one before any change still pending.
            loaded = (doc.data.get("dates_pending") or {}).get("previous") or before.time_zone
            mark = None if loaded == after.time_zone else {
                "time_zone": after.time_zone, "previous": loaded, "since": now}
            deps.docs.update(_datasets(principal.tenant_id), doc.id, {"dates_pending": mark})
    return read(deps, principal)
