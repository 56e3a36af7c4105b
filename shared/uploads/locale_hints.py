"""The tenant's holiday country, inferred from its first upload when it has none.

Forecasts use the public holidays of the tenant's country (shared.tenants,
`holiday_country`). An admin sets it; until then the first file a tenant loads may
say where the business is, and then it becomes the default. The inference is
conservative: it sets a country only when the file names exactly one.

Evidence, from a sample of the raw file (the start of it, as uploaded):
- a currency on the amounts (a code such as GBP or a symbol such as £ in the values
  or the amount column's header, or a `currency` column), when that currency belongs
  to one country; `$`, `€`/EUR, `¥` and `kr` belong to several and decide nothing;
- a country column (header `country`, `pays`, `land`, ...), when one recognised
  country (a name or an ISO code) holds nearly all of its values.
Both present and disagreeing: nothing is set. The decimal convention (1.234,56) is
shared by dozens of countries and is never used.

The result goes into the upload's report (`holiday_country`: country, reason,
applied) and, when a country is found, into the tenant settings through
`tenants.update`, with an audit entry naming the system as the actor.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO

from shared import errors, tenants

if TYPE_CHECKING:
    from shared.ports import Ports

log = logging.getLogger("tidemark.uploads")

SAMPLE_BYTES = 1 << 20
SAMPLE_ROWS = 5000
# Share of the marked values (or of a country column's values) the dominant one needs.
DOMINANT = 0.95
AUDIT_ACTION = "tenant.settings_changed"
SYSTEM_ACTOR = "system:first-upload"

# Currencies of one country (ISO 4217 code -> ISO 3166 country). Currencies shared by
# several countries (EUR, XOF, XAF, ...) are absent on purpose.
CURRENCY_CODES = {
    "USD": "US", "GBP": "GB", "JPY": "JP", "INR": "IN", "CAD": "CA", "AUD": "AU",
    "CHF": "CH", "NZD": "NZ", "SEK": "SE", "NOK": "NO", "DKK": "DK", "PLN": "PL",
    "CZK": "CZ", "HUF": "HU", "BRL": "BR", "MXN": "MX", "ZAR": "ZA", "KRW": "KR",
    "CNY": "CN", "SGD": "SG", "HKD": "HK", "ILS": "IL", "TRY": "TR", "RON": "RO",
}
# Symbols of one country's currency; the longer prefixed ones are matched first.
CURRENCY_SYMBOLS = {
    "US$": "US", "C$": "CA", "CA$": "CA", "A$": "AU", "AU$": "AU", "NZ$": "NZ",
    "R$": "BR", "£": "GB", "₹": "IN", "₩": "KR", "₪": "IL", "₺": "TR", "zł": "PL",
    "Kč": "CZ",
}
# Markers that name a currency of several countries: seen, they make the file ambiguous.
SHARED = ("EUR", "€", "$", "¥", "kr")
_MARKER = re.compile(
    "|".join(re.escape(s) for s in sorted([*CURRENCY_SYMBOLS, "€", "$", "¥"], key=len,
                                          reverse=True))
    + r"|\b(?:" + "|".join([*CURRENCY_CODES, "EUR"]) + r")\b|\bkr\b")
COUNTRY_HEADERS = {"country", "country code", "country_code", "countrycode", "pays",
                   "land", "país", "pais", "paese", "ship country", "ship_country",
                   "billing country", "billing_country", "customer country"}
# Common names the holidays registry does not spell (it has "united_states", "FR", ...).
COUNTRY_ALIASES = {"usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US",
                   "america": "US", "uk": "GB", "u.k.": "GB", "great britain": "GB",
                   "britain": "GB", "england": "GB", "deutschland": "DE", "españa": "ES",
                   "espana": "ES", "italia": "IT", "nederland": "NL", "holland": "NL",
                   "österreich": "AT", "schweiz": "CH", "suisse": "CH", "brasil": "BR",
                   "méxico": "MX", "polska": "PL", "sverige": "SE", "norge": "NO",
                   "danmark": "DK"}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Lower-case name / ISO alpha-2 / alpha-3 -> alpha-2, for every country the
    `holidays` package has a calendar for (imported here only, never at start-up)."""
    from holidays import registry

    names: dict[str, str] = dict(COUNTRY_ALIASES)
    for module, (_, code, alpha3, *_rest) in registry.COUNTRIES.items():
        names[module.replace("_", " ")] = code
        names[code.lower()] = code
        names[alpha3.lower()] = code
    return names


def _marker_country(marker: str) -> str | None:
    return CURRENCY_CODES.get(marker) or CURRENCY_SYMBOLS.get(marker)


def from_currency(values: Iterable[str]) -> tuple[str | None, str]:
    """(country, reason) from the currency markers in `values`."""
    seen: Counter[str] = Counter()
    for value in values:
        for marker in set(_MARKER.findall(value)):
            seen[marker] += 1
    if not seen:
        return None, ""
    marker, count = seen.most_common(1)[0]
    total = sum(seen.values())
    country = _marker_country(marker)
    if country is None:
        return None, f"the currency {marker!r} is used in several countries"
    if count < DOMINANT * total:
        return None, f"several currencies in the amounts ({', '.join(sorted(seen))})"
    return country, f"amounts in {marker}"


def from_country_column(header: str, values: list[str]) -> tuple[str | None, str]:
    """(country, reason) from a country column's dominant country (names and codes of
    one country count together: "UK" and "United Kingdom")."""
    filled = [v.strip().lower() for v in values if v.strip()]
    if not filled:
        return None, ""
    names = _country_names()
    counts = Counter(names.get(v, "?" + v) for v in filled)
    code, count = counts.most_common(1)[0]
    if count < DOMINANT * len(filled):
        return None, f"column {header!r} holds several countries"
    if code.startswith("?"):
        return None, f"column {header!r} holds {code[1:]!r}, not a known country"
    return code, f"column {header!r} names {code} in {count} of {len(filled)} rows"


def infer(headers: list[str], rows: list[list[str]],
          amount_column: str | None) -> tuple[str | None, str]:
    """(country or None, reason) for a file's header and sample rows."""
    found: list[tuple[str | None, str]] = []
    index = {h: i for i, h in enumerate(headers)}
    currency_values: list[str] = []
    if amount_column in index:
        i = index[amount_column]
        currency_values += [amount_column] + [r[i] for r in rows if i < len(r)]
    for name, i in index.items():
        key = name.strip().lower()
        column = [r[i] for r in rows if i < len(r)]
        if key in ("currency", "currency code", "currency_code", "devise", "währung"):
            currency_values += [v.strip().upper() for v in column if v.strip()]
        elif key in COUNTRY_HEADERS:
            found.append(from_country_column(name, column))
    if currency_values:
        found.append(from_currency(currency_values))
    found = [f for f in found if f[1]]
    countries = {c for c, _ in found if c is not None}
    if not found:
        return None, "nothing in the file names a country"
    if any(c is None for c, _ in found):
        return None, "; ".join(r for c, r in found if c is None)
    if len(countries) > 1:
        return None, "the file names several countries: " + "; ".join(r for _, r in found)
    return countries.pop(), "; ".join(r for _, r in found)


def _sample(open_stream: Callable[[], BinaryIO], encoding: str | None,
            delimiter: str | None) -> tuple[list[str], list[list[str]]]:
    with open_stream() as fh:
        raw = fh.read(SAMPLE_BYTES)
    text = raw.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")
    if len(raw) == SAMPLE_BYTES:  # the last line may be cut
        text = text[:text.rfind("\n") + 1] if "\n" in text else text
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or ",")
    headers = next(reader, [])
    rows = [row for _, row in zip(range(SAMPLE_ROWS), reader, strict=False)]
    return headers, rows


def apply_first_upload(deps: Ports, tenant_id: str, report: dict[str, Any],
                       open_stream: Callable[[], BinaryIO]) -> None:
    """On a tenant's first load, when it has no holiday country: infer one from the
    file, record it in the tenant settings (audited as a system change) and say so in
    `report["holiday_country"]`. Never fails the load: a problem is logged."""
    try:
        doc = deps.docs.get(tenants.TENANTS, tenant_id)
        if doc is None or tenants.from_document(doc.data).holiday_country is not None:
            return
        from shared.ports import Filter

        # Datasets are created (version 0) when an upload is created; one with a
        # version has been loaded before: this is not the first upload, and the
        # tenant's choice (or None) stands.
        if deps.docs.query(f"tenants/{tenant_id}/datasets",
                           filters=[Filter("version", ">", 0)], limit=1):
            return
        headers, rows = _sample(open_stream, report.get("encoding"), report.get("delimiter"))
        amount = (report.get("mapping") or {}).get("amount") or {}
        country, reason = infer(headers, rows, amount.get("column"))
        applied = False
        if country is not None:
            before, after = tenants.update(deps.docs, tenant_id, {"holiday_country": country})
            applied = before.holiday_country is None and after.holiday_country == country
            if applied:
                from shared.auth import audit

                audit.record(deps.docs, tenant_id, AUDIT_ACTION, actor_id=SYSTEM_ACTOR,
                             target_id=tenant_id, details={
                                 "setting": "holiday_country", "before": None,
                                 "after": country, "reason": reason})
        report["holiday_country"] = {"country": country, "reason": reason,
                                     "applied": applied}
    except (errors.AppError, OSError, csv.Error, UnicodeError, LookupError) as exc:
        log.warning("holiday country not inferred: %s", exc,
                    extra={"tenant_id": tenant_id})

