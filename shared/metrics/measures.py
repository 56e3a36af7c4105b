"""Which measure a view adds up, and the calculated measures analysts define.

`measure=` names a field (with `agg=`), a business measure (profit, margin, ...) or a
calculated measure of the dataset, in that order. Calculated measures are stored per
dataset at `tenants/{tid}/measures/{dataset}` as `{"items": [{name, expression,
label}]}`: the expression is stored in its canonical form (shared.metrics.expressions
.render) after being parsed and checked against the catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.metrics import expressions as ex
from shared.metrics.catalog import Catalog
from shared.metrics.fields import check

if TYPE_CHECKING:
    from shared.bootstrap import Deps

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_MEASURES = 50
MAX_LABEL = 120


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str | None
    label: str
    unit: str | None
    tree: ex.Node
    non_numeric: int = 0  # values of the field left out because they are not numbers

    def echo(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "agg": self.agg, "label": self.label,
                               "unit": self.unit}
        if self.non_numeric:
            out["non_numeric_count"] = self.non_numeric
        return out


def _path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/measures"


def calculated(deps: Deps, tenant_id: str, dataset_id: str) -> list[dict[str, Any]]:
    doc = deps.docs.get(_path(tenant_id), dataset_id)
    return list((doc.data if doc else {}).get("items") or [])


def resolve(cat: Catalog, items: list[dict[str, Any]], name: str | None,
            agg: str | None) -> Measure | None:
    """The measure a request names; None for the default view's (amount, summed)."""
    if name is None:
        if agg is not None:
            raise errors.InvalidInput("'agg' needs a 'measure'", code="missing_parameter",
                                      details={"field": "measure"})
        return None
    if agg is not None and agg not in ex.AGGS:
        raise errors.InvalidInput(f"'agg' must be one of {', '.join(ex.AGGS)}",
                                  code="invalid_parameter",
                                  details={"field": "agg", "allowed": list(ex.AGGS)})
    fields = cat.fields
    if name in fields or name in cat.doc.get("aliases", {}):
        f = cat.field(name)
        fn = agg or ("sum" if f.type == "number" else "count")
        tree: ex.Node = ex.Agg(fn, f.name)
        check(tree, cat.field)
        unit = f.unit if fn in ex.NUMERIC_AGGS else None
        skipped = 0
        if fn in ex.NUMERIC_AGGS:
            entry = next(e for e in cat.doc["fields"] if e["name"] == f.name)
            skipped = int(entry.get("non_numeric_count") or 0)
        return Measure(f.name, fn, f"{fn.replace('_', ' ')} of {f.name}", unit, tree,
                       skipped)
    business = cat.business()
    calc = {m["name"]: m for m in items}
    if agg is not None and (name in business or name in calc):
        raise errors.InvalidInput(f"'{name}' is a computed measure: it takes no 'agg'",
                                  code="invalid_parameter", details={"field": "agg"})
    if name in business:
        tree, label, unit = business[name]
        return Measure(name, None, label, unit, tree)
    if name in calc:
        tree = ex.parse(calc[name]["expression"])
        check(tree, cat.field)
        return Measure(name, None, calc[name].get("label") or name, None, tree)
    raise errors.InvalidInput(f"'{name[:80]}' is not a field or a measure of this dataset",
                              code="unknown_measure",
                              details={"field": "measure", "name": name[:80]})


def define(deps: Deps, tenant_id: str, cat: Catalog, body: dict[str, Any]
           ) -> dict[str, Any]:
    """Add a calculated measure; 409 when the name is taken."""
    name = str(body.get("name") or "")
    if not NAME.match(name):
        raise errors.InvalidInput("a measure name is a letter then up to 63 letters, "
                                  "digits or underscores", code="invalid_name",
                                  details={"field": "name"})
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        raise errors.InvalidInput(f"'label' is text of at most {MAX_LABEL} characters",
                                  code="invalid_parameter", details={"field": "label"})
    tree = ex.parse(body.get("expression"))  # type: ignore[arg-type]
    try:
        check(tree, cat.field)
    except errors.InvalidInput as exc:  # the fault is in the expression, say so
        raise errors.InvalidInput(exc.message, code=exc.code,
                                  details={**(exc.details or {}), "field": "expression"}
                                  ) from None
    if name in cat.fields or name in cat.business():
        raise errors.Conflict(f"'{name}' is already a field or a business measure",
                              code="measure_exists", details={"field": "name"})
    item = {"name": name, "expression": ex.render(tree), **({"label": label} if label else {})}

    def write(tx: Any) -> None:
        doc = tx.get(_path(tenant_id), cat.dataset_id)
        items = list((doc.data if doc else {}).get("items") or [])
        if any(m["name"] == name for m in items):
            raise errors.Conflict(f"a measure named '{name}' exists", code="measure_exists",
                                  details={"field": "name"})
        if len(items) >= MAX_MEASURES:
            raise errors.InvalidInput(f"at most {MAX_MEASURES} measures per dataset",
                                      code="too_many_measures", details={"field": "name"})
        tx.set(_path(tenant_id), cat.dataset_id,
               {"items": [*items, item], "updated_at": datetime.now(UTC)})
    deps.docs.transaction(write)
    return item


def remove(deps: Deps, tenant_id: str, dataset_id: str, name: str) -> None:
    def write(tx: Any) -> None:
        doc = tx.get(_path(tenant_id), dataset_id)
        items = list((doc.data if doc else {}).get("items") or [])
        kept = [m for m in items if m["name"] != name]
        if len(kept) == len(items):
            raise errors.NotFound(f"no measure named '{name[:80]}'",
                                  code="measure_not_found", details={"field": "name"})
        tx.set(_path(tenant_id), dataset_id, {"items": kept,
                                              "updated_at": datetime.now(UTC)})
    deps.docs.transaction(write)
