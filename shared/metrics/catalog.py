"""The field catalog of a dataset version: every column with its type, role, null
share, distinct-count estimate and examples; the business measures its columns allow;
the calculated measures analysts defined.

Types come from the ingest's whole-column typing (each upload's report lists its
columns with the type they settled on, `shared.ingest.accounting.columns`); the
catalog of a version merges the reports of the uploads whose rows the version holds.
A column settled as a number in one upload and as text in another is a number field
marked `mixed_types`, and `non_numeric_count` says how many of its values do not read
as numbers (measures skip them, visibly). Distinct counts (APPROX_COUNT_DISTINCT,
https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions#approx_count_distinct)
and examples are read from the warehouse once per version. The result is stored at
`tenants/{tid}/catalogs/{dataset}-v{version}`.
"""
# The f-strings below join fixed fragments and aliases made from indexes, never names:
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.metrics import expressions as ex
from shared.metrics.fields import CANONICAL, Field, Params, number, ref

if TYPE_CHECKING:
    from shared.bootstrap import Deps

MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 80
_PROFIT = {"profit", "net profit", "gross profit", "profit amount"}
_DISCOUNT = {"discount", "discount rate", "discount pct", "discount percent"}
_CURRENCY_WORDS = {"profit", "sales", "revenue", "cost", "price", "amount", "total"}
_PERCENT_WORDS = {"discount", "margin", "rate", "pct", "percent"}
_BOOLEAN = {"true", "false", "yes", "no", "y", "n", "t", "f"}


def normalize(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


@dataclass(frozen=True)
class Catalog:
    dataset_id: str
    version: int
    doc: dict[str, Any]

    @property
    def fields(self) -> dict[str, Field]:
        return {f["name"]: Field(f["name"], f["type"], f["role"], f["canonical"],
                                 f.get("unit"), f.get("decimal_separator") or ".")
                for f in self.doc["fields"]}

    def field(self, name: str) -> Field:
        """The field a name means (a canonical field also answers to its file
        header), or a 400 that names it."""
        fields = self.fields
        if name in fields:
            return fields[name]
        alias = self.doc.get("aliases", {}).get(name)
        if alias in fields:
            return fields[alias]
        raise errors.InvalidInput(f"'{name[:80]}' is not a field of this dataset",
                                  code="unknown_field",
                                  details={"field": "measure", "name": name[:80]})

    def business(self) -> dict[str, tuple[ex.Node, str, str | None]]:
        """name -> (tree, label, unit) for the business measures the columns allow."""
        fields = self.fields
        out: dict[str, tuple[ex.Node, str, str | None]] = {}
        profit = self.doc.get("profit_field")
        discount = self.doc.get("discount_field")
        if profit in fields:
            out["profit"] = (ex.Agg("sum", profit), "Profit", "currency")
            out["margin"] = (ex.BinOp("/", ex.Agg("sum", profit), ex.Agg("sum", "amount")),
                             "Margin", "percent")
        if discount in fields:
            out["discount_rate"] = (ex.Agg("avg", discount), "Discount rate", "percent")
        if self.doc.get("has_quantity") and self.doc.get("has_orders"):
            out["units_per_order"] = (ex.BinOp("/", ex.Agg("sum", "quantity"),
                                               ex.Agg("count_distinct", "order_id")),
                                      "Units per order", None)
        return out


# ------------------------------------------------------------------ building


def _collection(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/catalogs"


def _key(dataset_id: str, version: int) -> str:
    return f"{dataset_id}-v{version}"


def get(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> Catalog:
    """The stored catalog of the version, built and stored on first use."""
    doc = deps.docs.get(_collection(tenant_id), _key(dataset_id, version))
    if doc is not None and doc.data.get("version") == version:
        return Catalog(dataset_id, version, doc.data)
    built = build(deps, tenant_id, dataset_id, version)
    deps.docs.set(_collection(tenant_id), _key(dataset_id, version), built)
    return Catalog(dataset_id, version, built)


def _reports(deps: Deps, tenant_id: str, dataset_id: str, version: int
             ) -> list[dict[str, Any]]:
    """Reports of the loaded uploads whose rows this version holds (after the last
    replace, up to this version), oldest first."""
    from shared.ports import Filter
    from shared.uploads.records import datasets_path, uploads_path

    ds = deps.docs.get(datasets_path(tenant_id), dataset_id)
    since = int((ds.data if ds else {}).get("replaced_version") or 0)
    docs = deps.docs.query(uploads_path(tenant_id),
                           filters=[Filter("dataset_id", "==", dataset_id)], limit=1000)
    out = []
    for d in docs:
        v = int(d.data.get("dataset_version") or 0)
        if d.data.get("status") == "loaded" and since <= v <= version and v > 0:
            out.append((v, d.data.get("report") or {}))
    return [r for _, r in sorted(out, key=lambda t: t[0])]


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Fields from the uploads' column accounting, merged (no warehouse figures)."""
    fields: dict[str, dict[str, Any]] = {}
    aliases: dict[str, str] = {}
    rows = 0
    for report in reports:
        n = int(report.get("rows_loaded") or report.get("rows_read") or 0)
        rows += n
        for col in report.get("columns") or []:
            role, header = col.get("role"), str(col.get("column"))
            if role in CANONICAL:
                name, canonical = role, True
                aliases.setdefault(header, role)
                kind = CANONICAL[role][0]
            elif role is not None:
                continue  # unit_price and the like feed a canonical column
            else:
                name, canonical, kind = header, False, col.get("type") or "text"
            f = fields.setdefault(name, {"name": name, "canonical": canonical,
                                         "types": [], "nulls": 0, "rows": 0})
            kind = "text" if kind == "empty" else kind
            if kind not in f["types"]:
                f["types"].append(kind)
            if col.get("decimal_separator"):
                f["decimal_separator"] = col["decimal_separator"]
            f["nulls"] += int(col.get("null_count") or 0)
            f["rows"] += n
    for f in fields.values():  # a field absent from an upload is null in its rows
        f["nulls"] += rows - f["rows"]
    for role, (kind, _, _) in CANONICAL.items():  # every canonical column exists
        fields.setdefault(role, {"name": role, "canonical": True, "types": [kind],
                                 "nulls": rows, "rows": rows})
    return {"fields": fields, "aliases": aliases, "rows": rows}


def build(deps: Deps, tenant_id: str, dataset_id: str, version: int) -> dict[str, Any]:
    merged = merge(_reports(deps, tenant_id, dataset_id, version))
    rows = merged["rows"]
    out: list[dict[str, Any]] = []
    for f in merged["fields"].values():
        types = f["types"]
        kind = CANONICAL[f["name"]][0] if f["canonical"] else (
            "number" if "number" in types else types[0] if types else "text")
        role = CANONICAL[f["name"]][1] if f["canonical"] else {
            "number": "measure", "date": "date"}.get(kind, "dimension")
        entry: dict[str, Any] = {
            "name": f["name"], "type": kind, "role": role, "canonical": f["canonical"],
            "null_share": round(f["nulls"] / rows, 6) if rows else 0.0,
            "distinct_estimate": 0, "examples": [], "unit": _unit(f["name"], kind,
                                                                  f["canonical"])}
        if len(types) > 1:
            entry["mixed_types"] = sorted(types)
        if f.get("decimal_separator") and not f["canonical"]:
            entry["decimal_separator"] = f["decimal_separator"]
        out.append(entry)
    out.sort(key=lambda e: (not e["canonical"], e["name"].lower(), e["name"]))
    _warehouse_figures(deps, tenant_id, dataset_id, out)
    names = {e["name"]: e for e in out}
    profit = next((e["name"] for e in out if not e["canonical"] and e["type"] == "number"
                   and normalize(e["name"]) in _PROFIT), None)
    discount = next((e["name"] for e in out if not e["canonical"] and e["type"] == "number"
                     and normalize(e["name"]) in _DISCOUNT), None)
    return {"dataset_id": dataset_id, "version": version, "fields": out,
            "aliases": {k: v for k, v in merged["aliases"].items() if k not in names},
            "profit_field": profit, "discount_field": discount,
            "has_quantity": names["quantity"]["null_share"] < 1 if rows else False,
            "has_orders": names["order_id"]["null_share"] < 1 if rows else False,
            "built_at": datetime.now(UTC)}


def _unit(name: str, kind: str, canonical: bool) -> str | None:
    if canonical:
        return CANONICAL[name][2]
    if kind != "number":
        return None
    words = set(normalize(name).split())
    if words & _PERCENT_WORDS:
        return "percent"
    return "currency" if words & _CURRENCY_WORDS else None


def _warehouse_figures(deps: Deps, tenant_id: str, dataset_id: str,
                       entries: list[dict[str, Any]]) -> None:
    """Distinct estimates, examples and non-numeric counts, one scan for the counts
    and one for the examples. Aliases are f<index>, never a name."""
    params = Params({"tenant_id": tenant_id, "dataset_id": dataset_id})
    fields = [Field(e["name"], e["type"], e["role"], e["canonical"], None,
                    e.get("decimal_separator") or ".") for e in entries]
    cols = []
    for i, f in enumerate(fields):
        cols.append(f"APPROX_COUNT_DISTINCT({ref(f, params)}) AS d{i}")
        if not f.canonical and f.type == "number":
            cols.append(f"COUNTIF({ref(f, params)} IS NOT NULL AND "
                        f"{number(f, params)} IS NULL) AS x{i}")
    scope = "tenant_id = @tenant_id AND dataset_id = @dataset_id"
    sql = f"SELECT {', '.join(cols)} FROM {{business_data}} WHERE {scope}"
    row = (deps.warehouse.query(sql, params.values, timeout_s=45.0) or [{}])[0]
    samples = " UNION ALL ".join(
        f"(SELECT {i} AS f, v FROM (SELECT DISTINCT CAST({ref(f, params)} AS STRING) AS v "
        f"FROM {{business_data}} WHERE {scope} AND {ref(f, params)} IS NOT NULL "
        f"ORDER BY v LIMIT {MAX_EXAMPLES}))"
        for i, f in enumerate(fields))
    examples: dict[int, list[str]] = {}
    for r in deps.warehouse.query(samples, params.values, timeout_s=45.0):
        examples.setdefault(int(r["f"]), []).append(str(r["v"])[:MAX_EXAMPLE_CHARS])
    for i, e in enumerate(entries):
        e["distinct_estimate"] = int(row.get(f"d{i}") or 0)
        e["examples"] = sorted(examples.get(i, []))[:MAX_EXAMPLES]
        if f"x{i}" in row:
            e["non_numeric_count"] = int(row[f"x{i}"] or 0)
        if (e["type"] == "text" and not e["canonical"] and e["examples"]
                and e["distinct_estimate"] <= 2
                and all(v.lower() in _BOOLEAN for v in e["examples"])):
            e["type"] = "boolean"


def public(cat: Catalog, measures: list[dict[str, Any]]) -> dict[str, Any]:
    """The catalog as GET .../fields answers it."""
    keep = ("name", "type", "role", "canonical", "null_share", "distinct_estimate",
            "examples", "unit", "mixed_types", "non_numeric_count")
    return {"dataset_id": cat.dataset_id, "version": cat.version,
            "fields": [{k: f[k] for k in keep if k in f} for f in cat.doc["fields"]],
            "measures": measures, "business": list(cat.business())}
