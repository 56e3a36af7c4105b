"""What a view measures, breaks down and filters by beyond the canonical defaults,
resolved against the dataset's catalog before any SQL is built.

The queries add, for each measure of the selection, columns `m_<key>...` (keys are
fixed: `m` for the requested measure, `margin` for the business margin), a breakdown
by one field under the fixed dimension label `_field`, and `AND` clauses for filters
on non-canonical fields, their names as @fk_ parameters and their values as @fv_.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared import errors
from shared.metrics import expressions as ex
from shared.metrics.catalog import Catalog
from shared.metrics.fields import Field, Params, aggregate, columns_needed, ref
from shared.metrics.measures import Measure, resolve
from shared.schema import BUSINESS_DATA
from shared.web import query_params as qp

FIELD_DIMENSION = "_field"
_COLUMNS = {c.name for c in BUSINESS_DATA}


def split_filters(multi: Mapping[str, Sequence[str]], controls: Sequence[str]
                  ) -> tuple[dict[str, list[str]], dict[str, tuple[str, ...]]]:
    """(canonical parameters, filters on other fields). Names of the latter are checked
    against the catalog later; their values are checked here as the dimensions' are."""
    canonical: dict[str, list[str]] = {}
    others: dict[str, tuple[str, ...]] = {}
    for key, values in multi.items():
        if key in controls or key in _COLUMNS:
            canonical[key] = list(values)
            continue
        if not key or len(key) > 200:
            raise qp.bad(key[:40], "a filter names a field of at most 200 characters",
                         "unknown_filter")
        for v in values:
            if v == "" or len(v) > qp.MAX_VALUE_LENGTH:
                raise qp.bad(key[:80], f"values of '{key[:80]}' must be 1 to "
                             f"{qp.MAX_VALUE_LENGTH} characters", "invalid_filter_value")
        clean = tuple(sorted(set(values)))
        if len(clean) > qp.MAX_FILTER_VALUES:
            raise qp.bad(key[:80], f"at most {qp.MAX_FILTER_VALUES} values per field",
                         "too_many_values", limit=qp.MAX_FILTER_VALUES)
        others[key] = clean
    return canonical, others


@dataclass(frozen=True)
class Selection:
    catalog: Catalog
    measure: Measure | None = None
    margin: ex.Node | None = None
    breakdown: Field | None = None
    filters: tuple[tuple[Field, tuple[str, ...]], ...] = ()

    @property
    def keys(self) -> list[tuple[str, ex.Node]]:
        out: list[tuple[str, ex.Node]] = []
        if self.measure is not None:
            out.append(("m", self.measure.tree))
        if self.margin is not None:
            out.append(("margin", self.margin))
        return out

    def columns(self) -> list[str]:
        """Columns the CTEs must carry beyond their own (fixed names only)."""
        need: set[str] = set()
        for _, tree in self.keys:
            need |= columns_needed(tree, self.catalog.field)
        if self.breakdown is not None:
            need.add(self.breakdown.column)
        return sorted(need)

    def aggregates(self, params: Params, cond: str | None, suffix: str,
                   prefix: str = "") -> list[str]:
        return [f"{aggregate(tree, self.catalog.field, params, cond, prefix)} AS m_{k}{suffix}"
                for k, tree in self.keys]

    def where(self, params: Params) -> str:
        parts = []
        for f, values in self.filters:
            names = ", ".join(params.add("fv", v) for v in values)
            parts.append(f"AND {ref(f, params)} IN ({names})")
        return "\n  ".join(parts)

    def breakdown_ref(self, params: Params) -> str | None:
        return None if self.breakdown is None else ref(self.breakdown, params)


def build(cat: Catalog, items: list[dict[str, Any]], measure: str | None, agg: str | None,
          breakdown: str | None, field_filters: Mapping[str, tuple[str, ...]]) -> Selection:
    m = resolve(cat, items, measure, agg)
    business = cat.business()
    margin = business["margin"][0] if "margin" in business else None
    brk = None
    if breakdown is not None:
        brk = _text_field(cat, breakdown, "breakdown")
    filters = tuple((_text_field(cat, name, name), values)
                    for name, values in sorted(field_filters.items()))
    return Selection(cat, m, margin, brk, filters)


def _text_field(cat: Catalog, name: str, param: str) -> Field:
    fields = cat.fields
    f = fields.get(name) or fields.get(cat.doc.get("aliases", {}).get(name, ""))
    if f is None:
        raise errors.InvalidInput(f"'{name[:80]}' is not a field of this dataset",
                                  code="unknown_filter" if param != "breakdown"
                                  else "unknown_field",
                                  details={"field": param[:80], "name": name[:80]})
    if f.type not in ("text", "boolean") or (f.role == "id" and param == "breakdown"):
        raise errors.InvalidInput(f"'{name[:80]}' is a {f.type} field: breakdowns and "
                                  "filters take text fields", code="not_a_text_field",
                                  details={"field": param[:80], "name": name[:80]})
    return f
