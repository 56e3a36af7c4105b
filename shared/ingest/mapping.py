"""Mapping the file's columns to the canonical roles: by header synonyms first (exact,
then as whole words inside the header), then by content (a date column, a numeric
column). The user's mapping overrides both; unmapped columns go to `extra`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.ingest.report import IngestFailed
from shared.ingest.settle import ColumnType
from shared.schema import ROLES

# unit_price is not stored: with quantity it derives the amount when none is given.
MAPPABLE = (*ROLES, "unit_price")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "occurred_at": ("order date", "date", "transaction date", "sale date", "sales date",
                    "invoice date", "occurred at", "timestamp", "datetime", "date time",
                    "order datetime", "purchase date", "created at", "posting date",
                    "booking date", "orderdate", "txn date", "day", "time", "datum",
                    "fecha", "order time", "period"),
    "amount": ("amount", "sales", "revenue", "net sales", "gross sales", "sales amount",
               "total amount", "line total", "order total", "sale amount", "total sales",
               "total", "turnover", "net amount", "total price", "extended price",
               "subtotal", "value", "umsatz", "betrag", "montant", "importe"),
    "quantity": ("quantity", "qty", "units", "units sold", "quantity sold", "unit count",
                 "pieces", "pcs", "menge", "anzahl", "cantidad", "count", "volume"),
    "unit_price": ("unit price", "price", "price each", "price per unit", "unitprice",
                   "unit cost", "each", "rate"),
    "order_id": ("order id", "order number", "order no", "orderid", "invoice id",
                 "invoice number", "invoice no", "invoice", "transaction id", "receipt",
                 "order ref", "order"),
    "product": ("product name", "product", "item", "item name", "product title", "sku",
                "product id", "article", "description", "produkt", "producto"),
    "customer": ("customer name", "customer", "client", "client name", "buyer",
                 "customer id", "account name", "account", "kunde", "cliente"),
    "category": ("category", "product category", "sub category", "subcategory",
                 "department", "product type", "family", "kategorie", "categoria"),
    "region": ("region", "sales region", "area", "territory", "market", "country", "state",
               "province", "city", "zone", "location"),
    "channel": ("channel", "sales channel", "source", "platform", "marketplace", "store",
                "storefront"),
}
NEEDS = {"occurred_at": "date", "amount": "number", "quantity": "number",
         "unit_price": "number"}
_DATE_WORDS = re.compile(r"\b(date|day|time|timestamp|datetime|datum|fecha|period)\b")
_ID_LIKE = re.compile(r"\b(id|code|zip|postal|year|month|no|number|phone|row|index|discount|"
                      r"rate|percent|pct|tax)\b")


def normalize(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


def date_like(header: str) -> bool:
    return bool(_DATE_WORDS.search(normalize(header).replace("_", " ")))


@dataclass
class ColumnMapping:
    roles: dict[str, str]                        # role -> header
    how: dict[str, str] = field(default_factory=dict)  # role -> header|content|user|derived

    @property
    def mapped_columns(self) -> set[str]:
        return set(self.roles.values())

    def describe(self) -> dict[str, Any]:
        return {role: {"column": col, "by": self.how.get(role, "header")}
                for role, col in self.roles.items()}


def _fits(role: str, ctype: ColumnType) -> bool:
    need = NEEDS.get(role)
    return need is None or ctype.kind == need


# Roles a header alone settles: once a column's header IS one of their synonyms, its
# values never demote it (issue 16). Unreadable values are rejected row by row instead.
HEADER_DECIDES = ("occurred_at", "amount", "quantity")
# (header, "number" | "date") -> the column's type read as that kind, whatever share
# of its values reads so (settle.ColumnProfile.settle_as).
ReadAs = Callable[[str, str], ColumnType]


def infer(headers: list[str], types: dict[str, ColumnType],
          user: Mapping[str, str | None] | None = None,
          loose: Mapping[str, ColumnType] | None = None,
          read_as: ReadAs | None = None) -> ColumnMapping:
    """Choose a column per role; raises IngestFailed when the user mapping names a column
    the file does not have or a date/measure role gets a column of the wrong type.
    A column chosen by name or by the user may be typed by `loose` (fewer values need
    to read as the type); `types` is updated for the columns so chosen.

    With `read_as`, a date or measure role that no column's values fit still goes to a
    column whose header is exactly one of its synonyms, typed by `read_as`: that
    column's bad values become row errors rather than the role silently vanishing."""
    loose = loose or types

    def fits(role: str, h: str) -> bool:
        if _fits(role, types[h]):
            return True
        if _fits(role, loose[h]):
            types[h] = loose[h]
            return True
        return False

    by_lower = {h.lower(): h for h in headers}
    roles: dict[str, str] = {}
    how: dict[str, str] = {}
    blocked: set[str] = set()
    for role, col in (user or {}).items():
        if role not in MAPPABLE:
            raise IngestFailed(f"unknown role {role!r} in the mapping", code="invalid_mapping",
                               details={"roles": list(MAPPABLE)})
        if col is None:
            blocked.add(role)
            continue
        header = by_lower.get(str(col).strip().lower())
        if header is None:
            raise IngestFailed(f"the mapping names column {col!r}, which the file does not have",
                               code="mapping_column_missing",
                               details={"column": col, "columns_seen": headers})
        if not fits(role, header):
            raise IngestFailed(f"column {header!r} cannot be the {role}: it holds "
                               f"{types[header].kind} values, not {NEEDS[role]}s",
                               code="mapping_type_mismatch",
                               details={"column": header, "role": role,
                                        "type": types[header].kind})
        roles[role], how[role] = header, "user"
    used = set(roles.values())
    norm = {h: normalize(h) for h in headers}
    reserved: dict[str, str] = {}  # header -> the date/measure role it exactly names
    for contains in (False, True):
        if contains and read_as is not None:
            # A column exactly named for an unfilled date or measure role is kept for
            # it: "Order Date" full of placeholders must not become the order id.
            reserved = {h: role for role in HEADER_DECIDES
                        if role not in roles and role not in blocked
                        for h in headers if h not in used and norm[h] in SYNONYMS[role]}
        for role in MAPPABLE:
            if role in roles or role in blocked:
                continue
            for syn in SYNONYMS[role]:
                match = next((h for h in headers if h not in used
                              and types[h].kind != "empty"
                              and reserved.get(h, role) == role
                              and (f" {syn} " in f" {norm[h]} " if contains
                                   else norm[h] == syn) and fits(role, h)), None)
                if match:
                    roles[role], how[role] = match, "header"
                    used.add(match)
                    break
    if read_as is not None:
        for role in HEADER_DECIDES:
            if role in roles or role in blocked:
                continue
            named = next((h for syn in SYNONYMS[role] for h in headers
                          if h not in used and types[h].kind != "empty" and norm[h] == syn),
                         None)
            if named is not None:
                types[named] = read_as(named, NEEDS[role])
                roles[role], how[role] = named, "header"
                used.add(named)
    if "occurred_at" not in roles and "occurred_at" not in blocked:
        dated = [h for h in headers if h not in used and types[h].kind == "date"]
        if dated:
            roles["occurred_at"], how["occurred_at"] = dated[0], "content"
            used.add(dated[0])
    measures = ("amount", "quantity")
    if not any(r in roles for r in measures) and "amount" not in blocked:
        numeric = [h for h in headers if h not in used and types[h].kind == "number"
                   and not _ID_LIKE.search(norm[h])]
        if numeric:
            roles["amount"], how["amount"] = numeric[0], "content"
            used.add(numeric[0])
    if "amount" not in roles and "quantity" in roles and "unit_price" in roles:
        how["amount"] = "derived"
    return ColumnMapping(roles=roles, how=how)


def require_usable(m: ColumnMapping, headers: list[str], types: Mapping[str, ColumnType]) -> None:
    """A file with no usable date or no measure fails, naming what it saw and needs."""
    seen = [{"column": h, **types[h].describe()} for h in headers]
    date_col = m.roles.get("occurred_at")
    if date_col is None:
        raise IngestFailed(
            "no usable date column: expected a column of dates such as 'order date' or "
            "'date'; columns seen: " + ", ".join(headers),
            code="no_date_column", details={"columns_seen": seen, "needs": "occurred_at"})
    if types[date_col].ambiguous:
        raise IngestFailed(
            f"the dates in column {date_col!r} could be day/month/year or month/day/year "
            "(no value above 12 on either side); set date_order to DMY or MDY",
            code="ambiguous_date_format",
            details={"column": date_col, "options": ["DMY", "MDY"]})
    if not any(r in m.roles for r in ("amount", "quantity")):
        raise IngestFailed(
            "no measure column: expected an amount (e.g. 'sales', 'amount', 'revenue') or "
            "a quantity, with numbers; columns seen: " + ", ".join(headers),
            code="no_measure_column",
            details={"columns_seen": seen, "needs": ["amount", "quantity"]})
