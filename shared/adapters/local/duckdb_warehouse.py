"""Warehouse on one DuckDB file: the local stand-in for BigQuery.

Queries are written in BigQuery Standard SQL and transpiled by `shared.adapters.local.sql` (cached);
`{table}` tokens are resolved to the view `table__all` of this file, `@name`
parameters become DuckDB `$name` parameters, and values never enter the SQL text.

Loads are atomic and idempotent: one DuckDB transaction records the idempotency key
in `_loads`, deletes the `replace_where` rows, and adds the Parquet file's rows; a key
seen before changes nothing. Writes are serialized by a lock (DuckDB would otherwise
abort one of two transactions that touch the same rows).

Segments (duckdb_segments): a file of at least `segment_rows` rows whose columns are
exactly the table's is not inserted but kept, hard-linked, as an immutable Parquet
segment of the table, and the view reads native rows and segments together. Staging
already wrote a clean, compressed, columnar file in the table's schema; inserting it
would re-encode every row, costing about as much CPU as reading the CSV. The price is
paid by queries: aggregates over a segment run 1.3-2.3x slower than over the same rows
stored natively (still tens of ms for 1.5 M rows). Smaller or differently shaped
files are inserted (cast, missing optional columns NULL).

Threads: one database instance per file, and a fresh `cursor()` (a DuckDB connection
to the same instance, microseconds to make) per call, so each thread has its own and
a timed-out query can be interrupted without touching anyone else's. Processes: a
DuckDB file can be opened read-write by ONE process at a time; the local stack's
server owns it, other processes go through its HTTP functions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shared import errors
from shared.adapters.local.duckdb_segments import (
    GRACE,
    SEGMENTS_DDL,
    VIEW_SUFFIX,
    Column,
    Segments,
    describe,
    view_name,
)
from shared.adapters.local.duckdb_segments import quote as _quote
from shared.adapters.local.sql import duckdb_params, substitute_tables, transpile
from shared.ports import LoadResult, Warehouse, where_equal
from shared.schema import duckdb_ddl

log = logging.getLogger(__name__)

_SIZE = re.compile(r"^\d+(?:\.\d+)?\s*[KMGT]?i?B$", re.IGNORECASE)
_LOAD_MEMORY_DEFAULT = "96MB"
_SEGMENT_ROWS_DEFAULT = 500_000
_LOADS_DDL = ("CREATE TABLE IF NOT EXISTS _loads (key VARCHAR PRIMARY KEY, "
              '"table" VARCHAR NOT NULL, kind VARCHAR NOT NULL, "rows" BIGINT NOT NULL, '
              "loaded_at TIMESTAMPTZ NOT NULL)")


class DuckDbWarehouse(Warehouse):
    def __init__(self, path: str | Path, *, threads: int | None = None,
                 load_memory: str = _LOAD_MEMORY_DEFAULT,
                 segment_rows: int = _SEGMENT_ROWS_DEFAULT,
                 blob_root: str | Path | None = None) -> None:
        """`blob_root` is the local blob store's root, where staged shards are read
        from; by default `blobs/` beside the database file, as the local stack lays
        out its data directory (shared.bootstrap)."""
        self.path = Path(path)
        self.blob_root: Path = Path(blob_root) if blob_root is not None \
            else self.path.parent / "blobs"
        self.load_memory = load_memory.strip()
        self.segment_rows = max(0, int(segment_rows))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._segments = Segments(self.path.parent / f"{self.path.stem}.segments")
        config: dict[str, str | bool | int | float | list[str]] = (
            {"threads": threads} if threads else {})
        try:
            self._db = duckdb.connect(str(self.path), config=config)
        except duckdb.IOException as exc:  # held by another process
            raise errors.Unavailable(f"warehouse file is in use: {exc}") from exc
        self._write_lock = threading.Lock()
        self._tables: set[str] = set()
        try:
            self._db.execute("SET GLOBAL TimeZone = 'UTC'")
            self._db.execute(_LOADS_DDL)
            self._db.execute(SEGMENTS_DDL)
            self._open_segments()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def _open_segments(self) -> None:
        """Nothing is in flight at open: delete unregistered and removed segment
        files, then (re)build every table's view from the manifest, with paths from
        where the database is now."""
        with self._db.cursor() as cur, _transaction(cur):
            expired = self._segments.recover(cur)
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
                "AND NOT starts_with(table_name, '_')").fetchall()]
            for table in tables:
                self._segments.rebuild_view(cur, table, describe(cur, table))
        self._segments.unlink(expired)

    # -- tables ------------------------------------------------------------------------

    def ensure_table(self, table: str) -> None:
        quoted = _quote(table)
        if table.endswith(VIEW_SUFFIX):
            raise errors.InvalidInput(f"table names may not end in {VIEW_SUFFIX!r}")
        if table in self._tables:
            return  # made or found since open; its view is rebuilt by every change to it
        with self._write_lock, self._db.cursor() as cur, _transaction(cur):
            cur.execute(duckdb_ddl(quoted))
            self._segments.rebuild_view(cur, table, describe(cur, table))
        self._tables.add(table)

    def _exists(self, table: str) -> bool:
        if table in self._tables:
            return True
        with self._db.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $t "
                "AND table_schema = 'main' AND table_type = 'BASE TABLE'",
                {"t": table}).fetchone()
        if row and row[0]:
            self._tables.add(table)
            return True
        return False

    def _table(self, table: str) -> str:
        """The quoted native table, for writes."""
        quoted = _quote(table)
        if not table.startswith("_") and self._exists(table):
            return quoted
        raise errors.NotFound(f"table {table!r} does not exist", code="table_not_found")

    def _resolve(self, table: str) -> str:
        """The quoted view queries read: native rows and segments together."""
        self._table(table)
        return _quote(view_name(table))

    # -- loads ---------------------------------------------------------------------------

    def load_parquet(self, table: str, path: str, *, idempotency_key: str,
                     replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        return self._load_files(table, [str(path)], idempotency_key, replace_where)

    def load_staged(self, table: str, uris: Sequence[str], *, idempotency_key: str,
                    replace_where: Mapping[str, Any] | None = None,
                    tenant_id: str | None = None) -> LoadResult:
        """The shards' `gs://bucket/name` URIs name objects of the local blob store
        (FileBlobStore keeps `<root>/<bucket>/objects/<name>`), which DuckDB reads in
        place, as BigQuery reads them from Cloud Storage."""
        if not uris:
            raise errors.InvalidInput("no staged files to load", code="no_staged_files")
        return self._load_files(table, [self._staged_path(u) for u in uris],
                                idempotency_key, replace_where)

    def _staged_path(self, uri: str) -> str:
        if uri.startswith("file://"):
            return uri.removeprefix("file://")
        # Exact objects only: DuckDB would expand a glob, and a wildcard could pick up
        # a stray shard (BigQueryWarehouse refuses them too).
        if not uri.startswith("gs://") or any(c in uri for c in "*?[{"):
            raise errors.InvalidInput(f"not a staged object URI: {uri!r}", code="bad_uri")
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        path = (self.blob_root / bucket / "objects" / name).resolve()
        if not bucket or not name or not path.is_relative_to(self.blob_root.resolve()):
            raise errors.InvalidInput(f"not a staged object URI: {uri!r}", code="bad_uri")
        return str(path)

    def _load_files(self, table: str, paths: list[str], idempotency_key: str,
                    replace_where: Mapping[str, Any] | None) -> LoadResult:
        quoted = self._table(table)
        if not idempotency_key:
            raise errors.InvalidInput("an idempotency key is required")
        segment = self._load_segments(table, paths, idempotency_key, replace_where)
        if segment is not None:
            return segment

        def load(cur: duckdb.DuckDBPyConnection) -> int:
            with _load_memory_limit(self._db, self.load_memory):
                return insert(cur)

        def insert(cur: duckdb.DuckDBPyConnection) -> int:
            columns = describe(cur, table)
            if replace_where:
                self._delete(cur, table, columns, replace_where)
            try:
                described = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)",
                                        {"p": paths}).fetchall()
            except (duckdb.IOException, duckdb.InvalidInputException) as exc:
                raise errors.InvalidInput(f"not a readable Parquet file: {exc}",
                                          code="bad_parquet") from exc
            in_file = [r[0] for r in described]
            unknown = sorted(set(in_file) - {c.name for c in columns})
            if unknown:
                raise errors.InvalidInput(f"columns not in {table}: {', '.join(unknown)}",
                                          code="unknown_columns", details={"columns": unknown})
            # By name; the table's columns the file lacks stay NULL (or fail NOT NULL).
            names = ", ".join(_quote(c.name) for c in columns if c.name in in_file)
            sql = (f"INSERT INTO {quoted} ({names}) "  # noqa: S608 - validated identifiers
                   f"SELECT {names} FROM read_parquet($p, union_by_name = true)")
            row = cur.execute(sql, {"p": paths}).fetchone()
            return int(row[0]) if row else 0

        rows, already = self._once(table, "load", idempotency_key, load)
        self._sweep()
        return LoadResult(rows_loaded=rows, already_loaded=already)

    def _load_segments(self, table: str, paths: list[str], key: str,
                       replace_where: Mapping[str, Any] | None) -> LoadResult | None:
        """Keep the files as segments of the table when every one qualifies (see
        duckdb_segments); None: one does not, take the INSERT path."""
        if self.segment_rows <= 0:
            return None
        with self._db.cursor() as cur:
            seen = cur.execute('SELECT "rows" FROM _loads WHERE key = $k',
                               {"k": key}).fetchone()
            if seen is not None:
                return LoadResult(rows_loaded=int(seen[0]), already_loaded=True)
            columns = describe(cur, table)
            counts = [self._segments.qualifies(cur, path, columns, self.segment_rows)
                      for path in paths]
        if any(rows is None for rows in counts):
            return None
        files: list[Path] = []
        try:
            for path in paths:  # before the lock: the caller may delete its files
                files.append(self._segments.adopt(path))

            def register(cur: duckdb.DuckDBPyConnection) -> int:
                with _load_memory_limit(self._db, self.load_memory):
                    if replace_where:
                        self._delete(cur, table, columns, replace_where)
                    for file, rows in zip(files, counts, strict=True):
                        self._segments.register(cur, file, table, rows or 0, key)
                    self._segments.rebuild_view(cur, table, columns)
                return sum(rows or 0 for rows in counts)

            with self._db.cursor() as cur:
                for file in files:
                    self._segments.validate(cur, file, table, columns)
            loaded, already = self._once(table, "load", key, register)
        except BaseException:
            for file in files:
                file.unlink(missing_ok=True)
            raise
        if already:
            for file in files:
                file.unlink(missing_ok=True)
        else:
            log.info("%s: %d rows kept as %d segment(s)", table, loaded, len(files))
        self._sweep()
        return LoadResult(rows_loaded=loaded, already_loaded=already)

    def delete_where(self, table: str, where: Mapping[str, Any], *,
                     idempotency_key: str) -> int:
        self._table(table)

        def delete(cur: duckdb.DuckDBPyConnection) -> int:
            # Bounded like a load: a partly deleted segment's other rows are inserted.
            with _load_memory_limit(self._db, self.load_memory):
                return self._delete(cur, table, describe(cur, table), where)

        rows, _ = self._once(table, "delete", idempotency_key, delete)
        self._sweep()
        return rows

    def _delete(self, cur: duckdb.DuckDBPyConnection, table: str, columns: list[Column],
                where: Mapping[str, Any]) -> int:
        """Delete the matching rows, native and in segments; returns how many."""
        cond, params = where_equal(where, (c.name for c in columns), quote=_quote,
                                   placeholder=lambda n: f"${n}")
        row = cur.execute(f"DELETE FROM {_quote(table)} WHERE {cond}",  # noqa: S608
                          params).fetchone()
        native = int(row[0]) if row else 0
        return native + self._segments.delete(cur, table, columns, cond, params)

    def _sweep(self) -> None:
        """Unlink the files of segments removed more than GRACE ago."""
        try:
            with self._write_lock, self._db.cursor() as cur:
                names = self._segments.expire(cur, datetime.now(UTC) - GRACE)
        except duckdb.Error:
            log.warning("removed segments not swept", exc_info=True)
            return
        self._segments.unlink(names)

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
              timeout_s: float = 45.0) -> list[dict[str, Any]]:
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
def _transaction(cur: duckdb.DuckDBPyConnection):
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT already rolled back
            cur.execute("ROLLBACK")
        raise


def _memory_limit(cur: duckdb.DuckDBPyConnection) -> str:
    row = cur.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None  # a SELECT without FROM returns exactly one row
    return str(row[0])


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
        previous = _memory_limit(own)
        own.execute(f"SET GLOBAL memory_limit = '{_size(limit)}'")
        try:
            yield
        finally:
            # RESET gives back the exact default; a limit set otherwise is written back
            # from its (rounded) display.
            own.execute("RESET GLOBAL memory_limit")
            now = _memory_limit(own)
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
