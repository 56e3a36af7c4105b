"""DocumentStore on one SQLite file: the local stand-in for Firestore.

One table `documents(collection, id, data JSON, version INTEGER)`. Connections come
from shared.adapters.local.sqlite_connections (WAL, synchronous FULL, a busy timeout,
one per thread), so the file may be shared by the threads of one process and by
several processes. Every write runs in `BEGIN IMMEDIATE`, which takes the write lock up
front: a read-modify-write (update, compare-and-set, transaction) can never interleave
with another writer, so no update is lost.

Versions come from one counter stored in the file, so a version is never reused, even
after a document is deleted and created again: a stale `if_version` always fails.

Datetimes are stored tagged (`{"$dt": "2024-01-31T12:00:00.000000Z"}`, UTC, fixed
width so text order is time order) and come back timezone-aware in UTC; naive
datetimes are taken as UTC, like Firestore does.

Query semantics follow Firestore where it matters for parity: range and equality
filters match only values of the filter value's type; `!=` and `order_by` skip
documents that lack the field; ties are broken by document id.
"""

from __future__ import annotations

import json
import math
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared import errors
from shared.adapters.local.sqlite_connections import ThreadConnections
from shared.ports import (
    Document,
    DocumentStore,
    Filter,
    Order,
    R,
    Transaction,
    check_document_path,
)

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_DT_TAG = "$dt"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS documents ("
    " collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)),"
    " version INTEGER NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO counters (name, value) VALUES ('version', 0)",
)

# All stores on the same file in this process share one write lock, so threads queue
# on a cheap mutex instead of spinning in SQLite's busy handler.
_file_locks: dict[str, threading.RLock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: str) -> threading.RLock:
    with _file_locks_guard:
        return _file_locks.setdefault(path, threading.RLock())


# ------------------------------------------------------------------ encoding


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DT_TAG: _iso(value)}
    raise TypeError(f"unsupported document value of type {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DT_TAG in obj and isinstance(obj[_DT_TAG], str):
        return datetime.fromisoformat(obj[_DT_TAG].replace("Z", "+00:00"))
    return obj


def _encode(data: Mapping[str, Any]) -> str:
    if not isinstance(data, Mapping):
        raise errors.InvalidInput("document data must be a mapping")
    try:
        return json.dumps(dict(data), default=_default, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise errors.InvalidInput(f"document cannot be stored: {exc}") from exc


def _decode(text: str) -> dict[str, Any]:
    return json.loads(text, object_hook=_hook)


def _param(value: Any) -> Any:
    """A filter value as SQLite sees the stored JSON value."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise errors.InvalidInput("filter values must be finite numbers")
    if value is None or isinstance(value, str | int | float):
        return value
    raise errors.InvalidInput(f"cannot filter on a value of type {type(value).__name__}")


def _json_types(value: Any) -> tuple[str, ...] | None:
    """The json_type() results a value of this Python type is stored as."""
    if isinstance(value, bool):
        return ("true", "false")
    if isinstance(value, int | float):
        return ("integer", "real")
    if isinstance(value, str | datetime):
        return ("text",)
    return None


# ------------------------------------------------------------------ validation


def _paths(field: str) -> tuple[str, str]:
    """(path of the field, path of its datetime tag); names are validated, never quoted
    from input, and bound as parameters."""
    if not _FIELD.match(field or ""):
        raise errors.InvalidInput(f"invalid field name {field!r}")
    return f'$."{field}"', f'$."{field}"."{_DT_TAG}"'


# ------------------------------------------------------------------ the store


class _Aborted(Exception):
    """Rolls a transaction back and re-raises the error that doomed it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class SqliteDocumentStore(DocumentStore):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = str(self.path.resolve())
        self._write_lock = _file_lock(self._key)
        self._connections = ThreadConnections(self._key)
        self._init_schema()

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _init_schema(self) -> None:
        def init(con: sqlite3.Connection) -> None:
            for stmt in _SCHEMA:
                con.execute(stmt)

        self._write(init)

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        self._connections.close()

    # -- write transactions ----------------------------------------------------------

    def _write(self, fn: Callable[[sqlite3.Connection], Any], max_attempts: int = 5) -> Any:
        """Run fn inside BEGIN IMMEDIATE ... COMMIT, retrying when the file stays locked
        past the busy timeout (another process holding the write lock)."""
        con = self._conn()
        for attempt in range(1, max(1, max_attempts) + 1):
            with self._write_lock:
                try:
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if attempt == max_attempts or "locked" not in str(exc):
                        raise errors.Unavailable("document store is busy") from exc
                    busy = True
                else:
                    busy = False
                    try:
                        result = fn(con)
                        con.execute("COMMIT")
                        return result
                    except _Aborted as exc:
                        con.execute("ROLLBACK")
                        raise exc.error from None
                    except BaseException:
                        if con.in_transaction:
                            con.execute("ROLLBACK")
                        raise
            if busy:
                time.sleep(min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.0))
        raise errors.Unavailable("document store is busy")  # pragma: no cover

    @staticmethod
    def _next_version(con: sqlite3.Connection) -> int:
        row = con.execute("UPDATE counters SET value = value + 1 WHERE name = 'version' "
                          "RETURNING value").fetchone()
        return int(row[0])

    @staticmethod
    def _read(con: sqlite3.Connection, collection: str, doc_id: str) -> Document | None:
        row = con.execute("SELECT data, version FROM documents WHERE collection = ? AND id = ?",
                          (collection, doc_id)).fetchone()
        return None if row is None else Document(doc_id, _decode(row[0]), str(row[1]))

    @classmethod
    def _store(cls, con: sqlite3.Connection, collection: str, doc_id: str,
               text: str) -> Document:
        version = cls._next_version(con)
        con.execute("INSERT INTO documents (collection, id, data, version) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data, "
                    "version = excluded.version", (collection, doc_id, text, version))
        return Document(doc_id, _decode(text), str(version))

    @classmethod
    def _do_create(cls, con: sqlite3.Connection, collection: str, doc_id: str,
                   text: str) -> Document:
        if con.execute("SELECT 1 FROM documents WHERE collection = ? AND id = ?",
                       (collection, doc_id)).fetchone():
            raise errors.Conflict(f"document {collection}/{doc_id} already exists",
                                  code="already_exists")
        return cls._store(con, collection, doc_id, text)

    @classmethod
    def _do_update(cls, con: sqlite3.Connection, collection: str, doc_id: str,
                   changes: Mapping[str, Any], if_version: str | None) -> Document:
        current = cls._read(con, collection, doc_id)
        if current is None:
            raise errors.NotFound(f"document {collection}/{doc_id} does not exist")
        if if_version is not None and str(if_version) != current.version:
            raise errors.PreconditionFailed(
                f"document {collection}/{doc_id} changed since it was read",
                details={"expected_version": str(if_version), "version": current.version})
        merged = {**current.data, **dict(changes)}
        return cls._store(con, collection, doc_id, _encode(merged))

    @staticmethod
    def _do_delete(con: sqlite3.Connection, collection: str, doc_id: str) -> bool:
        cur = con.execute("DELETE FROM documents WHERE collection = ? AND id = ?",
                          (collection, doc_id))
        return cur.rowcount > 0

    # -- DocumentStore -------------------------------------------------------------------

    def get(self, collection: str, doc_id: str) -> Document | None:
        check_document_path(collection, doc_id)
        return self._read(self._conn(), collection, doc_id)

    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        check_document_path(collection, doc_id)
        text = _encode(data)
        return self._write(lambda con: self._store(con, collection, doc_id, text))

    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        check_document_path(collection, doc_id)
        text = _encode(data)
        return self._write(lambda con: self._do_create(con, collection, doc_id, text))

    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any], *,
               if_version: str | None = None) -> Document:
        check_document_path(collection, doc_id)
        _encode(changes)  # reject bad values before taking the lock
        return self._write(
            lambda con: self._do_update(con, collection, doc_id, changes, if_version))

    def delete(self, collection: str, doc_id: str) -> bool:
        check_document_path(collection, doc_id)
        return self._write(lambda con: self._do_delete(con, collection, doc_id))

    def query(self, collection: str, *, filters: Sequence[Filter] = (),
              order_by: Sequence[Order] = (), limit: int | None = None,
              offset: int = 0) -> list[Document]:
        check_document_path(collection)
        where, params = ["collection = ?"], [collection]
        for f in filters:
            path, dt_path = _paths(f.field)
            expr = "COALESCE(json_extract(data, ?), json_extract(data, ?))"
            if f.op == "in":
                values = list(f.value) if isinstance(f.value, list | tuple | set) else None
                if values is None:
                    raise errors.InvalidInput(f"filter 'in' on {f.field!r} needs a list")
                if not values:
                    where.append("0")
                    continue
                where.append(f"{expr} IN ({', '.join('?' * len(values))})")
                params += [dt_path, path, *(_param(v) for v in values)]
            elif f.op in _OPS:
                if f.value is None and f.op in ("==", "!="):
                    where.append("json_type(data, ?) " + ("= 'null'" if f.op == "==" else
                                                          "NOT IN ('null')"))
                    params.append(path)
                    continue
                where.append(f"{expr} {_OPS[f.op]} ?")
                params += [dt_path, path, _param(f.value)]
                types = _json_types(f.value)
                if f.op != "!=" and types:
                    tpath = dt_path if isinstance(f.value, datetime) else path
                    where.append(f"json_type(data, ?) IN ({', '.join('?' * len(types))})")
                    params += [tpath, *types]
            else:
                raise errors.InvalidInput(f"unsupported filter operator {f.op!r}")
        order_sql = []
        for o in order_by:
            path, dt_path = _paths(o.field)
            where.append("json_type(data, ?) IS NOT NULL")
            params.append(path)
            order_sql.append("COALESCE(json_extract(data, ?), json_extract(data, ?))"
                             + (" DESC" if o.descending else ""))
        order_params = [p for o in order_by for p in reversed(_paths(o.field))]
        # Only fixed fragments and `?` placeholders are joined here; values are bound.
        sql = (f"SELECT id, data, version FROM documents WHERE {' AND '.join(where)} "  # noqa: S608
               f"ORDER BY {', '.join([*order_sql, 'id'])} LIMIT ? OFFSET ?")
        if (limit is not None and limit < 0) or offset < 0:
            raise errors.InvalidInput("limit and offset must not be negative")
        rows = self._conn().execute(
            sql, [*params, *order_params, -1 if limit is None else limit, offset]).fetchall()
        return [Document(r[0], _decode(r[1]), str(r[2])) for r in rows]

    def transaction(self, fn: Callable[[Transaction], R], *, max_attempts: int = 5) -> R:
        def run(con: sqlite3.Connection) -> R:
            txn = _SqliteTransaction(self, con)
            result = fn(txn)
            if txn.failure is not None:  # fn swallowed an error that dooms the transaction
                raise _Aborted(txn.failure)
            return result

        return self._write(run, max_attempts=max_attempts)


class _SqliteTransaction(Transaction):
    """Writes go straight into the open `BEGIN IMMEDIATE` transaction: it holds the
    write lock, so nothing can change between this transaction's reads and writes."""

    def __init__(self, store: SqliteDocumentStore, con: sqlite3.Connection) -> None:
        self._store, self._con = store, con
        self.failure: errors.AppError | None = None

    def _fail(self, error: errors.AppError) -> None:
        self.failure = error
        raise error

    def get(self, collection: str, doc_id: str) -> Document | None:
        check_document_path(collection, doc_id)
        return self._store._read(self._con, collection, doc_id)

    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        check_document_path(collection, doc_id)
        self._store._store(self._con, collection, doc_id, _encode(data))

    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        check_document_path(collection, doc_id)
        try:
            self._store._do_create(self._con, collection, doc_id, _encode(data))
        except errors.Conflict as exc:
            self._fail(exc)

    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any]) -> None:
        check_document_path(collection, doc_id)
        try:
            self._store._do_update(self._con, collection, doc_id, changes, None)
        except errors.NotFound as exc:
            self._fail(exc)

    def delete(self, collection: str, doc_id: str) -> None:
        check_document_path(collection, doc_id)
        self._store._do_delete(self._con, collection, doc_id)
