"""A tenant's business settings: its time zone, calendar and holiday country.

They live in the tenant's document (`tenants/{tenant_id}`, field `settings`), written
at registration and changed by an admin. Every reader goes through `load`, which
fills the defaults for a tenant created before a setting existed, so no caller has to
guess what a missing field means.

Which code uses which setting:
- `time_zone` (IANA name): the business date of a timestamp (ingest) and "today".
- `week_start`, `fiscal_year_start_month`, `retail_calendar`: the grains and
  comparisons of metrics, forecast horizon labels and exports.
- `holiday_country` (ISO 3166-1 alpha-2 code known to the `holidays` package, or
  None): the holiday features of forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import errors

if TYPE_CHECKING:
    from shared.ports import DocumentStore, Transaction

TENANTS = "tenants"
WeekStart = Literal["monday", "sunday"]
RetailCalendar = Literal["none", "4-4-5", "4-5-4", "5-4-4"]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def holiday_countries() -> frozenset[str]:
    """The country codes the `holidays` package has calendars for (imported only when a
    country is validated, so reading settings never pays for it)."""
    import holidays

    return frozenset(holidays.list_supported_countries())


class TenantSettings(BaseModel):
    """The settings as stored and as answered. Unknown fields are refused, so a typo in
    an admin's request is a 400 rather than a setting that silently does nothing."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field("UTC", description="IANA time zone of the business, "
                           "e.g. America/Los_Angeles")
    week_start: WeekStart = Field("monday", description="First day of a week")
    fiscal_year_start_month: int = Field(1, ge=1, le=12, description="Month (1-12) the "
                                         "fiscal year starts in; 1 is the calendar year")
    retail_calendar: RetailCalendar = Field("none", description="A 4-4-5 style retail "
                                            "calendar for fiscal periods, or none")
    holiday_country: str | None = Field(None, description="ISO 3166-1 alpha-2 country "
                                        "whose public holidays forecasts use; none for "
                                        "no holiday effects")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as "
                             "Europe/Paris")
        return value

    @field_validator("holiday_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in holiday_countries():
            raise ValueError(f"no holiday calendar for country {value!r}: use an ISO "
                             "3166-1 alpha-2 code such as US or FR")
        return code


class TenantSettingsUpdate(BaseModel):
    """A partial change: only the fields given are changed (and validated as a whole
    with the stored ones)."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = None
    week_start: WeekStart | None = None
    fiscal_year_start_month: int | None = Field(None, ge=1, le=12)
    retail_calendar: RetailCalendar | None = None
    holiday_country: str | None = None


def from_document(data: Mapping[str, Any] | None) -> TenantSettings:
    """The settings of a tenant document's data; defaults for what it lacks. Stored
    values were validated on write, so a value that no longer validates (a zone removed
    from the tz database) falls back to the default rather than failing every read."""
    stored = dict((data or {}).get("settings") or {})
    try:
        return TenantSettings.model_validate(stored)
    except ValueError:
        kept: dict[str, Any] = {}
        for key, value in stored.items():
            if key not in TenantSettings.model_fields:
                continue
            try:
                TenantSettings.model_validate({key: value})
            except ValueError:
                continue
            kept[key] = value
        return TenantSettings.model_validate(kept)


def load(docs: DocumentStore, tenant_id: str) -> TenantSettings:
    doc = docs.get(TENANTS, tenant_id)
    if doc is None:
        raise errors.NotFound("no such tenant", code="tenant_not_found")
    return from_document(doc.data)


def update(docs: DocumentStore, tenant_id: str,
           changes: TenantSettingsUpdate | Mapping[str, Any]) -> tuple[TenantSettings,
                                                                         TenantSettings]:
    """Apply a partial change in one transaction; returns (before, after). Changing the
    time zone changes how dates are derived: the caller decides what to re-derive."""
    if not isinstance(changes, TenantSettingsUpdate):
        try:
            changes = TenantSettingsUpdate.model_validate(dict(changes))
        except ValueError as exc:
            raise errors.InvalidInput(str(exc), code="invalid_settings") from None
    given = changes.model_dump(exclude_unset=True)

    def step(tx: Transaction) -> tuple[TenantSettings, TenantSettings]:
        doc = tx.get(TENANTS, tenant_id)
        if doc is None:
            raise errors.NotFound("no such tenant", code="tenant_not_found")
        before = from_document(doc.data)
        try:
            after = TenantSettings.model_validate({**before.model_dump(), **given})
        except ValueError as exc:
            raise errors.InvalidInput(_message(exc), code="invalid_settings") from None
        tx.update(TENANTS, tenant_id, {"settings": after.model_dump()})
        return before, after

    return docs.transaction(step)


def _message(exc: ValueError) -> str:
    errs = getattr(exc, "errors", None)
    if callable(errs):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                 for e in errs()]
        return "; ".join(parts)
    return str(exc)
