"""Warehouse on one DuckDB file: the local stand-in for BigQuery.

Queries are written in BigQuery Standard SQL and transpiled by `shared.sql` (cached);
`{table}` tokens are resolved to the tables of this file, `@name` parameters become
DuckDB `$name` parameters, and values never enter the SQL text.

Loads are atomic and idempotent: one DuckDB transaction records the idempotency key
in `_loads`, deletes the `replace_where` rows, and inserts the Parquet file; a key seen
before changes nothing. Writes are serialized by a lock (DuckDB would otherwise abort
one of two transactions that touch the same rows).

Threads: one database instance per file, and a fresh `cursor()` (a DuckDB connection
to the same instance, microseconds to make) per call, so each thread has its own and
a timed-out query can be interrupted without touching anyone else's. Processes: a
DuckDB file can be opened read-write by ONE process at a time; the local stack's
server owns it, other processes go through its HTTP functions.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shared import errors
from shared.ports import LoadResult, Warehouse
from shared.schema import duckdb_ddl
from shared.sql import duckdb_params, substitute_tables, transpile

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIZE = re.compile(r"^\d+(?:\.\d+)?\s*[KMGT]?i?B$", re.IGNORECASE)
_LOAD_MEMORY_DEFAULT = "96MB"
_LOADS_DDL = ("CREATE TABLE IF NOT EXISTS _loads (key VARCHAR PRIMARY KEY, "
              '"table" VARCHAR NOT NULL, kind VARCHAR NOT NULL, "rows" BIGINT NOT NULL, '
              "loaded_at TIMESTAMPTZ NOT NULL)")


def _quote(name: str) -> str:
    if not _IDENT.match(name or ""):
        raise errors.InvalidInput(f"invalid table or column name {name!r}")
    return f'"{name}"'


class DuckDbWarehouse(Warehouse):
    def __init__(self, path: str | Path, *, threads: int | None = None,
                 load_memory: str = _LOAD_MEMORY_DEFAULT) -> None:
        self.path = Path(path)
        self.load_memory = load_memory.strip()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"threads": threads} if threads else {}
        try:
            self._db = duckdb.connect(str(self.path), config=config)
        except duckdb.IOException as exc:  # held by another process
            raise errors.Unavailable(f"warehouse file is in use: {exc}") from exc
        self._db.execute("SET GLOBAL TimeZone = 'UTC'")
        self._db.execute(_LOADS_DDL)
        self._write_lock = threading.Lock()
        self._tables: set[str] = set()

    def close(self) -> None:
        self._db.close()

    # -- tables ------------------------------------------------------------------------

    def ensure_table(self, table: str) -> None:
        quoted = _quote(table)
        with self._write_lock, self._db.cursor() as cur:
            cur.execute(duckdb_ddl(quoted))
        self._tables.add(table)

    def _exists(self, table: str) -> bool:
        if table in self._tables:
            return True
        with self._db.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $t "
                "AND table_schema = 'main'", {"t": table}).fetchone()
        if row and row[0]:
            self._tables.add(table)
            return True
        return False

    def _resolve(self, table: str) -> str:
        quoted = _quote(table)
        if not table.startswith("_") and self._exists(table):
            return quoted
        raise errors.NotFound(f"table {table!r} does not exist", code="table_not_found")

    def _columns(self, cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
        rows = cur.execute("SELECT column_name FROM information_schema.columns "
                           "WHERE table_name = $t AND table_schema = 'main' "
                           "ORDER BY ordinal_position", {"t": table}).fetchall()
        return [r[0] for r in rows]

    # -- loads ---------------------------------------------------------------------------

    def load_parquet(self, table: str, path: str, *, idempotency_key: str,
                     replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        quoted = self._resolve(table)

        def load(cur: duckdb.DuckDBPyConnection) -> int:
            with _load_memory_limit(self._db, self.load_memory):
                return insert(cur)

        def insert(cur: duckdb.DuckDBPyConnection) -> int:
            columns = self._columns(cur, table)
            if replace_where:
                self._delete(cur, table, quoted, columns, replace_where)
            try:
                described = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)",
                                        {"p": str(path)}).fetchall()
            except (duckdb.IOException, duckdb.InvalidInputException) as exc:
                raise errors.InvalidInput(f"not a readable Parquet file: {exc}",
                                          code="bad_parquet") from exc
            in_file = [r[0] for r in described]
            unknown = sorted(set(in_file) - set(columns))
            if unknown:
                raise errors.InvalidInput(f"columns not in {table}: {', '.join(unknown)}",
                                          code="unknown_columns", details={"columns": unknown})
            # By name; the table's columns the file lacks stay NULL (or fail NOT NULL).
            names = ", ".join(_quote(c) for c in columns if c in in_file)
            sql = (f"INSERT INTO {quoted} ({names}) "  # noqa: S608 - validated identifiers
                   f"SELECT {names} FROM read_parquet($p)")
            row = cur.execute(sql, {"p": str(path)}).fetchone()
            return int(row[0]) if row else 0

        rows, already = self._once(table, "load", idempotency_key, load)
        return LoadResult(rows_loaded=rows, already_loaded=already)

    def delete_where(self, table: str, where: Mapping[str, Any], *,
                     idempotency_key: str) -> int:
        quoted = self._resolve(table)
        if not where:
            raise errors.InvalidInput("delete_where needs at least one condition")

        def delete(cur: duckdb.DuckDBPyConnection) -> int:
            return self._delete(cur, table, quoted, self._columns(cur, table), where)

        rows, _ = self._once(table, "delete", idempotency_key, delete)
        return rows

    @staticmethod
    def _delete(cur: duckdb.DuckDBPyConnection, table: str, quoted: str, columns: list[str],
                where: Mapping[str, Any]) -> int:
        conds, params = [], {}
        for i, (col, value) in enumerate(sorted(where.items())):
            if col not in columns:
                raise errors.InvalidInput(f"no column {col!r} in {table}")
            if value is None:
                conds.append(f"{_quote(col)} IS NULL")
            else:
                conds.append(f"{_quote(col)} = $w{i}")
                params[f"w{i}"] = value
        row = cur.execute(f"DELETE FROM {quoted} WHERE {' AND '.join(conds)}",  # noqa: S608
                          params).fetchone()
        return int(row[0]) if row else 0

    def _once(self, table: str, kind: str, key: str, fn) -> tuple[int, bool]:
        """Run fn(cursor) in one transaction with the key recorded, unless the key was
        used before: then return the rows recorded for it, changing nothing."""
        if not key:
            raise errors.InvalidInput("an idempotency key is required")
        with self._write_lock:
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                seen = cur.execute('SELECT "rows" FROM _loads WHERE key = $k',
                                   {"k": key}).fetchone()
                if seen is not None:
                    cur.execute("ROLLBACK")
                    return int(seen[0]), True
                rows = fn(cur)
                cur.execute("INSERT INTO _loads VALUES ($k, $t, $kind, $r, $at)",
                            {"k": key, "t": table, "kind": kind, "r": rows,
                             "at": datetime.now(UTC)})
                cur.execute("COMMIT")
                return rows, False
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT already rolled back
                    cur.execute("ROLLBACK")
                if isinstance(exc, duckdb.ConstraintException):
                    raise errors.InvalidInput(f"rows violate the table's constraints: {exc}",
                                              code="constraint_violation") from exc
                if isinstance(exc, duckdb.ConversionException):
                    raise errors.InvalidInput(f"values do not fit the table: {exc}",
                                              code="bad_values") from exc
                if isinstance(exc, duckdb.Error) and not isinstance(exc, errors.AppError):
                    raise errors.Unavailable("warehouse write failed") from exc
                raise
            finally:
                cur.close()

    # -- queries ---------------------------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float = 60.0) -> list[dict[str, Any]]:
        text = substitute_tables(sql, self._resolve)
        compiled = transpile(text)
        if not compiled.read_only:
            raise ValueError("Warehouse.query runs read queries only")
        values = duckdb_params(compiled.params, params)
        cur = self._db.cursor()
        done = threading.Event()
        guard = threading.Lock()

        def interrupt() -> None:
            with guard:
                if not done.is_set():
                    cur.interrupt()

        timer = threading.Timer(timeout_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            result = cur.execute(compiled.sql, values)
            names = [d[0] for d in result.description or ()]
            kinds = [str(d[1]) for d in result.description or ()]
            rows = result.fetchall()
        except duckdb.InterruptException as exc:
            raise errors.Unavailable(f"query exceeded its {timeout_s:g} s timeout",
                                     code="query_timeout") from exc
        except duckdb.CatalogException as exc:
            raise errors.NotFound(f"query refers to something that does not exist: {exc}"
                                  ) from exc
        finally:
            with guard:
                done.set()
            timer.cancel()
            cur.close()
        converters = [_converter(k) for k in kinds]
        return [{n: (c(v) if c and v is not None else v)
                 for n, c, v in zip(names, converters, row, strict=True)} for row in rows]


@contextlib.contextmanager
def _load_memory_limit(db: duckdb.DuckDBPyConnection, limit: str):
    """Bound DuckDB's memory while a load runs (held under the write lock). Without a
    limit DuckDB keeps every block of a big insert cached (its default limit is 80% of
    RAM), so a load's peak memory would grow with the file; with one it writes them
    out and evicts. `limit`: a DuckDB size ("96MB"), or "" to leave the instance's
    limit alone (TIDEMARK_DUCKDB_LOAD_MEMORY)."""
    if not limit:
        yield
        return
    # A cursor of its own: the setting is global, and the load's transaction may have
    # failed (then it accepts nothing but ROLLBACK) when the limit must be restored.
    with db.cursor() as own:
        previous = own.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        own.execute(f"SET GLOBAL memory_limit = '{_size(limit)}'")
        try:
            yield
        finally:
            # RESET gives back the exact default; a limit set otherwise is written back
            # from its (rounded) display.
            own.execute("RESET GLOBAL memory_limit")
            now = own.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            if now != previous and _SIZE.match(str(previous)):
                own.execute(f"SET GLOBAL memory_limit = '{previous}'")


def _size(text: str) -> str:
    if not _SIZE.match(text):
        raise errors.InvalidInput(f"invalid DuckDB memory size {text!r}")
    return text


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _converter(kind: str):
    """Per-column conversion to the Python values the BigQuery client returns."""
    if kind == "JSON":
        return json.loads
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return _utc
    return None
