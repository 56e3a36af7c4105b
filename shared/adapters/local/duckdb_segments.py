"""Parquet segments of the local warehouse's tables.

A big load keeps its staged Parquet file, unchanged, as an immutable segment of the
table instead of re-encoding every row into DuckDB's native storage (the way BigQuery
load jobs, DuckLake or Iceberg data files work). The files live in
`<db dir>/<db stem>.segments/`; the `_segments` manifest in the database names them
(file name relative to that directory, so a moved data directory keeps working), and
each table `t` is queried through the view `t__all`: its native rows UNION ALL BY NAME
its live segments.

A segment is never rewritten. A delete that touches one copies the rows it keeps into
the native table and marks the segment removed; the file is unlinked after a grace
period (a query that began before the delete may still be reading it), or at the next
open. Files no manifest row names (a load that crashed between linking its file and
committing) are deleted at open: one process owns the database file, so nothing is in
flight then.

Every function taking a cursor runs inside the caller's transaction and under its
write lock.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from shared import errors

log = logging.getLogger(__name__)

VIEW_SUFFIX = "__all"
# How long a removed segment's file outlives its removal (queries still reading it).
GRACE = timedelta(minutes=10)
SEGMENTS_DDL = ("CREATE TABLE IF NOT EXISTS _segments (file VARCHAR NOT NULL, "
                '"table" VARCHAR NOT NULL, "rows" BIGINT NOT NULL, key VARCHAR NOT NULL, '
                "created_at TIMESTAMPTZ NOT NULL, removed_at TIMESTAMPTZ)")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote(name: str) -> str:
    if not _IDENT.match(name or ""):
        raise errors.InvalidInput(f"invalid table or column name {name!r}")
    return f'"{name}"'


def view_name(table: str) -> str:
    return table + VIEW_SUFFIX


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type as DESCRIBE prints it
    required: bool


def describe(cur: duckdb.DuckDBPyConnection, table: str) -> list[Column]:
    """The table's columns in order."""
    rows = cur.execute(f"DESCRIBE {quote(table)}").fetchall()
    return [Column(r[0], str(r[1]), r[2] == "NO") for r in rows]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def segment_select(files: Iterable[Path], columns: list[Column]) -> str:
    """SELECT over Parquet segment files giving the table's column types: the Parquet
    types equal them, except that JSON columns are stored as VARCHAR."""
    casts = [f"CAST({quote(c.name)} AS JSON) AS {quote(c.name)}"
             for c in columns if c.type == "JSON"]
    replace = f" REPLACE ({', '.join(casts)})" if casts else ""
    listed = ", ".join(_literal(f) for f in files)
    return f"SELECT *{replace} FROM read_parquet([{listed}])"  # noqa: S608 - our own paths


class Segments:
    """The segment files of one database and their manifest."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, name: str) -> Path:
        return self.dir / name

    # -- loading -----------------------------------------------------------------------

    def qualifies(self, cur: duckdb.DuckDBPyConnection, path: str | Path,
                  columns: list[Column], min_rows: int) -> int | None:
        """The file's row count when it can become a segment as it is: at least
        `min_rows` rows and exactly the table's columns, in order, with the table's
        types (VARCHAR for JSON). None sends the load down the INSERT path."""
        if min_rows <= 0:
            return None
        try:
            described = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)",
                                    {"p": str(path)}).fetchall()
            row = cur.execute("SELECT sum(num_rows) FROM parquet_file_metadata($p)",
                              {"p": str(path)}).fetchone()
        except duckdb.Error:
            return None  # the INSERT path reports the unreadable file
        rows = int(row[0]) if row and row[0] is not None else 0
        if rows < min_rows or len(described) != len(columns):
            return None
        for (name, kind, *_), col in zip(described, columns, strict=True):
            if name != col.name:
                return None
            if str(kind) != col.type and not (col.type == "JSON" and kind == "VARCHAR"):
                return None
        return rows

    def adopt(self, path: str | Path) -> Path:
        """Hard-link (or, across filesystems, copy) the file into the segments
        directory under a fresh name: the caller may delete its own file afterwards."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / f"{uuid.uuid4().hex}.parquet"
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        return target

    @staticmethod
    def validate(cur: duckdb.DuckDBPyConnection, file: Path, table: str,
                 columns: list[Column]) -> None:
        """One scan for what the table's INSERT would refuse: NULLs in NOT NULL
        columns and text that is not JSON in JSON columns; same errors as the INSERT.
        Every string column is measured too, so the scan decodes it: the Parquet
        reader refuses invalid UTF-8, and a segment queries cannot read must not land."""
        required = [c for c in columns if c.required]
        json_cols = [c for c in columns if c.type == "JSON"]
        strings = [c for c in columns if c.type == "VARCHAR"]
        exprs = ([f"count(*) - count({quote(c.name)})" for c in required]
                 + [f"count(*) FILTER (WHERE NOT json_valid({quote(c.name)}))"
                    for c in json_cols]
                 + [f"max(strlen({quote(c.name)}))" for c in strings])
        if not exprs:
            return
        try:
            row = cur.execute(f"SELECT {', '.join(exprs)} FROM read_parquet($p)",  # noqa: S608
                              {"p": str(file)}).fetchone()
        except duckdb.Error as exc:
            raise errors.InvalidInput(f"not a readable Parquet file: {exc}",
                                      code="bad_parquet") from exc
        assert row is not None  # an aggregate without GROUP BY always returns one row
        for col, nulls in zip(required, row, strict=False):
            if nulls:
                raise errors.InvalidInput(
                    f"rows violate the table's constraints: NOT NULL constraint failed: "
                    f"{table}.{col.name}", code="constraint_violation",
                    details={"column": col.name, "rows": int(nulls)})
        for col, bad in zip(json_cols, row[len(required):], strict=False):
            if bad:
                raise errors.InvalidInput(
                    f"values do not fit the table: {int(bad)} values of {col.name} "
                    "are not valid JSON", code="bad_values",
                    details={"column": col.name, "rows": int(bad)})

    @staticmethod
    def register(cur: duckdb.DuckDBPyConnection, file: Path, table: str, rows: int,
                 key: str) -> None:
        cur.execute("INSERT INTO _segments VALUES ($f, $t, $r, $k, $at, NULL)",
                    {"f": file.name, "t": table, "r": rows, "k": key,
                     "at": datetime.now(UTC)})

    # -- views -------------------------------------------------------------------------

    def live(self, cur: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, int]]:
        return [(r[0], int(r[1])) for r in cur.execute(
            'SELECT file, "rows" FROM _segments WHERE "table" = $t AND removed_at IS NULL '
            "ORDER BY created_at, file", {"t": table}).fetchall()]

    def rebuild_view(self, cur: duckdb.DuckDBPyConnection, table: str,
                     columns: list[Column]) -> None:
        """(Re)create `table__all`: the native rows plus every live segment, by
        absolute path computed from where the database is now."""
        files = [self.path(name) for name, _ in self.live(cur, table)]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise errors.Unavailable(f"segment files of {table} are missing: "
                                     f"{', '.join(missing)} in {self.dir}")
        sql = f"SELECT * FROM {quote(table)}"  # noqa: S608 - validated identifier
        if files:
            sql += " UNION ALL BY NAME " + segment_select(files, columns)
        cur.execute(f"CREATE OR REPLACE VIEW {quote(view_name(table))} AS {sql}")

    # -- deletes -----------------------------------------------------------------------

    def delete(self, cur: duckdb.DuckDBPyConnection, table: str, columns: list[Column],
               cond: str, params: Mapping[str, Any]) -> int:
        """Remove the rows matching `cond` from the table's live segments: a segment
        with no match stays; one with matches is marked removed, after its other rows
        are copied into the native table. Returns the segment rows removed."""
        removed = 0
        now = datetime.now(UTC)
        for name, rows in self.live(cur, table):
            source = segment_select([self.path(name)], columns)
            row = cur.execute(f"SELECT count(*) FROM ({source}) WHERE {cond}",  # noqa: S608
                              dict(params)).fetchone()
            matched = int(row[0]) if row else 0
            if not matched:
                continue
            if matched < rows:
                cur.execute(f"INSERT INTO {quote(table)} BY NAME SELECT * "  # noqa: S608
                            f"FROM ({source}) WHERE ({cond}) IS NOT TRUE", dict(params))
            cur.execute("UPDATE _segments SET removed_at = $now WHERE file = $f",
                        {"now": now, "f": name})
            log.info("segment %s of %s removed: %d of its %d rows deleted",
                     name, table, matched, rows)
            removed += matched
        if removed:
            self.rebuild_view(cur, table, columns)
        return removed

    # -- cleanup -----------------------------------------------------------------------

    @staticmethod
    def expire(cur: duckdb.DuckDBPyConnection, removed_before: datetime) -> list[str]:
        """Drop the manifest rows of segments removed before the given time; returns
        their file names, to unlink once this transaction has committed."""
        names = [r[0] for r in cur.execute(
            "SELECT file FROM _segments WHERE removed_at IS NOT NULL "
            "AND removed_at <= $before", {"before": removed_before}).fetchall()]
        if names:
            cur.execute("DELETE FROM _segments WHERE removed_at IS NOT NULL "
                        "AND removed_at <= $before", {"before": removed_before})
        return names

    def unlink(self, names: Iterable[str]) -> None:
        for name in names:
            self.path(name).unlink(missing_ok=True)
            log.info("segment file %s deleted", name)

    def recover(self, cur: duckdb.DuckDBPyConnection) -> list[str]:
        """At open: delete the files no manifest row names, drop the removed segments
        (nothing can be reading them yet); returns the file names to unlink after
        the caller commits."""
        if self.dir.is_dir():
            known = {r[0] for r in cur.execute("SELECT file FROM _segments").fetchall()}
            for entry in self.dir.iterdir():
                if entry.is_file() and entry.name not in known:
                    entry.unlink(missing_ok=True)
                    log.warning("unregistered segment file %s deleted (a load that did "
                                "not commit)", entry.name)
        return self.expire(cur, datetime.now(UTC) + timedelta(days=1))
