"""Fields of a dataset as SQL: the one place a field name turns into SQL text.

A canonical field (amount, product, ...) is a column of the canonical table, named
from the fixed table below and quoted as a BigQuery identifier (backticks; the local
transpiler turns them into DuckDB's double quotes). Any other field lives in the row's
`extra` JSON and is read as `JSON_VALUE(extra[@fk_n])`, its name travelling as a query
parameter: the JSON subscript operator takes the field name as a STRING expression
(https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#json_subscript_operator)
and JSON_VALUE without a path returns the scalar as a STRING
(https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_value).
A number field is read with SAFE_CAST, so a value that does not read as a number is
NULL rather than an error (and is counted, see shared.metrics.catalog). No name from a
request reaches this module unless the catalog knows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.metrics import expressions as ex

# name -> (type, role, unit): the canonical columns a user can measure or filter by.
CANONICAL: dict[str, tuple[str, str, str | None]] = {
    "occurred_at": ("date", "date", None),
    "amount": ("number", "measure", "currency"),
    "quantity": ("number", "measure", None),
    "product": ("text", "dimension", None),
    "category": ("text", "dimension", None),
    "region": ("text", "dimension", None),
    "customer": ("text", "dimension", None),
    "channel": ("text", "dimension", None),
    "order_id": ("text", "id", None),
}
_COLUMN = {"occurred_at": "occurred_date"}  # the date field is read as the day


@dataclass(frozen=True)
class Field:
    name: str
    type: str                 # number | text | date | boolean
    role: str                 # measure | dimension | date | id
    canonical: bool
    unit: str | None = None
    decimal: str = "."        # how the file wrote decimals, for a number in `extra`

    @property
    def column(self) -> str:
        """The canonical column (fixed names only) or "extra"."""
        return _COLUMN.get(self.name, self.name) if self.canonical else "extra"


@dataclass
class Params:
    """Query parameters of one statement; a value used twice gets one name."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, prefix: str, value: Any) -> str:
        for name, v in self.values.items():
            if name.startswith(prefix + "_") and v == value and type(v) is type(value):
                return "@" + name
        name = f"{prefix}_{sum(1 for n in self.values if n.startswith(prefix + '_'))}"
        self.values[name] = value
        return "@" + name


def ref(f: Field, params: Params, prefix: str = "") -> str:
    """The field's value as SQL text: a quoted canonical column or a JSON value."""
    if f.canonical:
        if f.name not in CANONICAL:  # the catalog only marks these canonical
            raise ValueError(f"not a canonical field: {f.name!r}")
        return f"{prefix}`{f.column}`"
    return f"JSON_VALUE({prefix}`extra`[{params.add('fk', f.name)}])"


def number(f: Field, params: Params, prefix: str = "") -> str:
    """The field as a number (NULL where a value does not read as one)."""
    raw = ref(f, params, prefix)
    if f.canonical:
        return raw
    if f.decimal == ",":  # 1.234,5 -> 1234.5
        raw = f"REPLACE(REPLACE({raw}, '.', ''), ',', '.')"
    return f"SAFE_CAST({raw} AS FLOAT64)"


_AGG_SQL = {"sum": "SUM({x})", "avg": "AVG({x})", "min": "MIN({x})", "max": "MAX({x})",
            "count": "COUNT({x})", "count_distinct": "COUNT(DISTINCT {x})"}


def check(node: ex.Node, lookup: Any) -> None:
    """Every aggregate names a known field of a type it can aggregate."""
    for agg in ex.fields_of(node):
        f = lookup(agg.field)
        if agg.fn in ex.NUMERIC_AGGS and f.type != "number":
            raise ex.invalid(f"{agg.fn}() needs a number field; '{f.name}' is {f.type}",
                             "not_a_number", name=f.name)


def aggregate(node: ex.Node, lookup: Any, params: Params, cond: str | None = None,
              prefix: str = "") -> str:
    """SQL for a measure tree; `cond` restricts every aggregate to the rows where it
    holds (a period), `lookup(name) -> Field` resolves names against the catalog.
    Division is SAFE_DIVIDE: a zero denominator gives NULL, never an error."""
    if isinstance(node, ex.Num):
        return params.add("k", node.value)
    if isinstance(node, ex.Neg):
        return f"(-{aggregate(node.operand, lookup, params, cond, prefix)})"
    if isinstance(node, ex.BinOp):
        left = aggregate(node.left, lookup, params, cond, prefix)
        right = aggregate(node.right, lookup, params, cond, prefix)
        if node.op == "/":
            return f"SAFE_DIVIDE({left}, {right})"
        return f"({left} {node.op} {right})"
    f = lookup(node.field)
    x = number(f, params, prefix) if node.fn in ex.NUMERIC_AGGS else ref(f, params, prefix)
    if cond:
        x = f"IF({cond}, {x}, NULL)"
    return _AGG_SQL[node.fn].format(x=x)


def columns_needed(node: ex.Node, lookup: Any) -> set[str]:
    """The canonical columns (and `extra`) a measure reads."""
    return {lookup(a.field).column for a in ex.fields_of(node)}
