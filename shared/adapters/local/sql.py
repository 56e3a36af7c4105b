"""BigQuery Standard SQL -> DuckDB, for the local warehouse.

Tidemark writes its analytical SQL once, in BigQuery's dialect, with `@name`
parameters and `{table}` tokens. The local warehouse runs it on DuckDB after
transpiling it with sqlglot. sqlglot gets most constructs right; the few it gets
wrong for our purposes are fixed here, each with a test in tests/unit/test_sql.py:

- `DATE_TRUNC(date, part)` becomes DuckDB `date_trunc`, which returns a TIMESTAMP;
  BigQuery returns a DATE, so the result is cast back to DATE. (Use TIMESTAMP_TRUNC
  for timestamps, as BigQuery code should anyway.)
- `DATE_ADD` / `DATE_SUB` become `date +/- INTERVAL`, a TIMESTAMP in DuckDB; BigQuery
  returns a DATE, so the result is cast back to DATE.
- `EXTRACT(DAYOFWEEK ...)` is passed through, but DuckDB numbers Sunday..Saturday
  0..6 and BigQuery 1..7: one is added.
- `EXTRACT(ISOWEEK ...)` is passed through, but DuckDB calls it WEEK (ISO weeks).
- `EXTRACT(WEEK ...)` / `EXTRACT(WEEK(<day>) ...)` are passed through as ISO weeks;
  BigQuery counts weeks starting on Sunday (or <day>), with days before the first
  such day in week 0: rewritten with strftime('%U') / ('%W') where DuckDB has it.

- `JSON_VALUE(json[@key])` (a field of a JSON column named by a parameter) would
  become DuckDB's `json[$key]`, which reads the key as a JSON path: a key holding a
  double quote or a backslash fails to bind. It becomes `json_extract_string(json,
  <JSON Pointer of $key>)`, the pointer built in SQL with RFC 6901 escapes (`~` ->
  `~0`, `/` -> `~1`), which addresses any key whatever its characters.

The DuckDB session must run in UTC (`SET TimeZone = 'UTC'`), because BigQuery's
DATE(ts), EXTRACT and TIMESTAMP_TRUNC work in UTC unless told otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

_TABLE_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Transpiled:
    sql: str                  # DuckDB SQL with $name parameters
    params: tuple[str, ...]   # the parameter names it uses, in first-use order
    read_only: bool = True    # a SELECT (or WITH/UNION of them), nothing that writes


# ------------------------------------------------------------------ table tokens


def table_tokens(sql: str) -> set[str]:
    """The `{name}` table tokens in a query."""
    return set(_TABLE_TOKEN.findall(sql))


def substitute_tables(sql: str, resolve: Callable[[str], str]) -> str:
    """Replace each `{name}` token by resolve(name), which returns the table as SQL
    text (already quoted) or raises for a table it does not know. Only tokens shaped
    like identifiers are touched; values never reach this function."""
    return _TABLE_TOKEN.sub(lambda m: resolve(m.group(1)), sql)


# ------------------------------------------------------------------ rewrites


def _as_date(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("DATE"))


def _week_number(expr: exp.Expression, start: str) -> exp.Expression:
    """BigQuery EXTRACT(WEEK(start) FROM d): weeks start on `start`, days before the
    year's first `start` are week 0."""
    if start == "SUNDAY":
        fmt = "%U"
    elif start == "MONDAY":
        fmt = "%W"
    else:
        raise ValueError(f"EXTRACT(WEEK({start})) is not supported by the local warehouse")
    strftime = exp.Anonymous(this="strftime", expressions=[expr.copy(), exp.Literal.string(fmt)])
    return exp.Cast(this=strftime, to=exp.DataType.build("BIGINT"))


def _json_key(node: exp.JSONExtractScalar) -> exp.Expression | None:
    """JSON_VALUE(col[@key]) -> json_extract_string(col, '/' || escaped key)."""
    target, path = node.this, node.expression
    if not (isinstance(target, exp.Bracket) and len(target.expressions) == 1
            and isinstance(target.expressions[0], exp.Parameter)):
        return None
    if path is not None and not (isinstance(path, exp.JSONPath)
                                 and all(isinstance(p, exp.JSONPathRoot)
                                         for p in path.expressions)):
        return None
    key: exp.Expression = target.expressions[0].copy()
    for old, new in (("~", "~0"), ("/", "~1")):
        key = exp.Anonymous(this="replace", expressions=[
            key, exp.Literal.string(old), exp.Literal.string(new)])
    pointer = exp.DPipe(this=exp.Literal.string("/"), expression=key)
    return exp.Anonymous(this="json_extract_string",
                         expressions=[target.this.copy(), pointer])


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.JSONExtractScalar):
        return _json_key(node) or node
    if isinstance(node, exp.DateTrunc | exp.DateAdd | exp.DateSub):
        return _as_date(node)
    if isinstance(node, exp.Extract):
        part, expr = node.this, node.expression
        name = part.name.upper() if isinstance(part, exp.Var) else ""
        if name == "DAYOFWEEK":
            return exp.Paren(this=exp.Add(this=node, expression=exp.Literal.number(1)))
        if name == "ISOWEEK":
            return exp.Extract(this=exp.Var(this="WEEK"), expression=expr)
        if name == "WEEK":
            return _week_number(expr, "SUNDAY")
        if isinstance(part, exp.WeekStart):
            return _week_number(expr, part.name.upper())
    return node


# ------------------------------------------------------------------ transpile


@lru_cache(maxsize=1024)
def transpile(sql: str) -> Transpiled:
    """Transpile one BigQuery statement (table tokens already substituted) to DuckDB.
    Cached: the metric queries are a small fixed set."""
    try:
        statements = sqlglot.parse(sql, read="bigquery")
    except SqlglotError as exc:
        raise ValueError(f"not valid BigQuery SQL: {exc}") from exc
    trees = [s for s in statements if s is not None]
    if len(trees) != 1:
        raise ValueError("exactly one SQL statement is allowed per query")
    tree = trees[0]
    names: list[str] = []
    for param in tree.find_all(exp.Parameter):
        if param.name not in names:
            names.append(param.name)
    tree = tree.transform(_rewrite, copy=True)
    try:
        out = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise ValueError(f"query cannot run on the local warehouse: {exc}") from exc
    return Transpiled(out, tuple(names), isinstance(tree, exp.Query))


def to_duckdb(sql: str) -> str:
    """The DuckDB text of one BigQuery statement; `@name` becomes `$name`."""
    return transpile(sql).sql


# ------------------------------------------------------------------ parameters


def _value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # BigQuery TIMESTAMPs are UTC
    if isinstance(value, tuple | set | frozenset):
        return [_value(v) for v in (sorted(value) if isinstance(value, set | frozenset)
                                    else value)]
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def duckdb_params(names: Iterable[str], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values for the parameters a statement uses, converted for DuckDB (naive
    datetimes taken as UTC, tuples and sets as lists). Extra parameters are ignored,
    as BigQuery does; a missing one is an error."""
    params = params or {}
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"query parameters not supplied: {', '.join(missing)}")
    return {n: _value(params[n]) for n in names}
