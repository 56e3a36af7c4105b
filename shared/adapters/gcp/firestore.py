"""DocumentStore on Firestore in Native mode (google-cloud-firestore, imported on first use).

- Collection paths map one to one: `tenants/t1/uploads` is that subcollection.
- A document's version is its `update_time` (seconds and nanoseconds as one opaque
  string). Firestore leaves update_time alone when a write changes nothing, so every
  write also sets a hidden field `_tidemark_write` to a fresh random token (stripped
  from what callers see): every write then gets a new update_time, and a deleted then
  recreated document a later one, so a stale version never matches again.
- Compare-and-set (`update(if_version=...)`) is a read followed by a write carrying
  the precondition `update_time == <the time read>`: the server rejects the write if
  anything changed in between, without holding a transaction's locks.
- `transaction(fn)` is a Firestore transaction: reads take locks, writes are buffered
  and committed at once; an aborted commit is retried by the client library.
- Queries: filters, order and limit run on the server. Without an explicit order,
  results come in document id order, like the local store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared import errors
from shared.adapters.gcp._errors import translate, translated
from shared.adapters.gcp._lazy import LazyClient
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
_OPS = {"==", "!=", "<", "<=", ">", ">=", "in"}
_INEQUALITY = {"!=", "<", "<=", ">", ">="}
_WRITE_TOKEN = "_tidemark_write"  # noqa: S105 - a field name, not a secret


def _stamped(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values plus a fresh write token, so that the write changes update_time."""
    return {**_to_store(data), _WRITE_TOKEN: uuid.uuid4().hex}


def _visible(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_store(v) for k, v in data.items() if k != _WRITE_TOKEN}


# ------------------------------------------------------------------ values


def _to_store(value: Any) -> Any:
    """Our values as Firestore stores them: naive datetimes are taken as UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise errors.InvalidInput("document keys must be strings")
        return {k: _to_store(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_store(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise errors.InvalidInput(f"unsupported document value of type {type(value).__name__}")


def _from_store(value: Any) -> Any:
    """Firestore's values as ours: datetimes become plain timezone-aware UTC datetimes."""
    if isinstance(value, datetime):
        v = value.astimezone(UTC)
        return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond,
                        tzinfo=UTC)
    if isinstance(value, dict):
        return {k: _from_store(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_store(v) for v in value]
    return value


def _field_key(field: str) -> Callable[[Document], tuple[int, Any]]:
    """A sort key on one field of a document, in Firestore's order."""
    return lambda d: _sort_key(d.data.get(field))


def _sort_key(value: Any) -> tuple[int, Any]:
    """Firestore's order across types: null, bool, number, timestamp, string, array, map."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, str):
        return (4, value.encode())
    if isinstance(value, list):
        return (8, repr(value))
    return (9, repr(value))


def _version(ts: Any) -> str:
    """An update_time (DatetimeWithNanoseconds or Timestamp) as an opaque string."""
    pb = ts.timestamp_pb() if hasattr(ts, "timestamp_pb") else ts
    return f"{pb.seconds}{pb.nanos:09d}"


def _timestamp(version: str) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    if not isinstance(version, str) or not version.isdigit() or len(version) < 10:
        raise errors.PreconditionFailed("unknown document version",
                                        details={"expected_version": str(version)})
    return Timestamp(seconds=int(version[:-9]), nanos=int(version[-9:]))


def _field_paths(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level keys as literal field paths: `update` would read "a.b" as a nested
    path, so such keys are quoted."""
    from google.cloud.firestore_v1.field_path import FieldPath

    return {FieldPath(k).to_api_repr(): v for k, v in _stamped(changes).items()}


def _doc(snapshot: Any) -> Document:
    return Document(snapshot.id, _visible(snapshot.to_dict() or {}),
                    _version(snapshot.update_time))


# ------------------------------------------------------------------ the store


class FirestoreDocumentStore(DocumentStore):
    def __init__(self, project: str | None = None, database: str = "(default)", *,
                 client: Any = None) -> None:
        """`client` (a firestore.Client) is injectable for emulators and tests."""
        self.project = project
        self.database = database

        def build() -> Any:
            from google.cloud import firestore

            return firestore.Client(project=self.project, database=self.database)

        self._client = LazyClient(build, client)

    @property
    def client(self) -> Any:
        return self._client.get()

    def _ref(self, collection: str, doc_id: str) -> Any:
        check_document_path(collection, doc_id)
        return self.client.collection(collection).document(doc_id)

    # -- DocumentStore -------------------------------------------------------------------

    def get(self, collection: str, doc_id: str) -> Document | None:
        ref = self._ref(collection, doc_id)
        with translated(f"read {collection}/{doc_id}"):
            snap = ref.get()
        return _doc(snap) if snap.exists else None

    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        ref, stored = self._ref(collection, doc_id), _stamped(_mapping(data))
        with translated(f"write {collection}/{doc_id}"):
            result = ref.set(stored)
        return Document(doc_id, _visible(stored), _version(result.update_time))

    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        ref, stored = self._ref(collection, doc_id), _stamped(_mapping(data))
        with translated(f"create {collection}/{doc_id}"):
            result = ref.create(stored)
        return Document(doc_id, _visible(stored), _version(result.update_time))

    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any], *,
               if_version: str | None = None, max_attempts: int = 10) -> Document:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        ref, paths = self._ref(collection, doc_id), _field_paths(_mapping(changes))
        what = f"update {collection}/{doc_id}"
        expected = _timestamp(if_version) if if_version is not None else None
        for _ in range(max(1, max_attempts)):
            with translated(what):
                snap = ref.get()
            if not snap.exists:
                raise errors.NotFound(f"document {collection}/{doc_id} does not exist")
            current = _version(snap.update_time)
            if expected is not None and current != if_version:
                raise errors.PreconditionFailed(
                    f"document {collection}/{doc_id} changed since it was read",
                    details={"expected_version": str(if_version), "version": current})
            option = self.client.write_option(last_update_time=snap.update_time)
            try:
                result = ref.update(paths, option=option)
            except (FailedPrecondition, NotFound) as exc:
                if expected is not None:  # it changed (or went) after our read: lost
                    raise errors.PreconditionFailed(
                        f"document {collection}/{doc_id} changed since it was read",
                        details={"expected_version": str(if_version)}) from exc
                continue  # a plain merge raced another writer: read again
            except Exception as exc:
                raise translate(exc, what) from exc
            merged = {**(snap.to_dict() or {}), **_to_store(changes)}
            return Document(doc_id, _visible(merged), _version(result.update_time))
        raise errors.Unavailable(f"{what}: too much contention, try again")

    def delete(self, collection: str, doc_id: str) -> bool:
        ref = self._ref(collection, doc_id)
        try:
            with translated(f"delete {collection}/{doc_id}"):
                ref.delete(option=self.client.write_option(exists=True))
        except errors.NotFound:
            return False
        return True

    def query(self, collection: str, *, filters: Sequence[Filter] = (),
              order_by: Sequence[Order] = (), limit: int | None = None,
              offset: int = 0) -> list[Document]:
        from google.cloud.firestore_v1 import FieldFilter, Query

        check_document_path(collection)
        if (limit is not None and limit < 0) or offset < 0:
            raise errors.InvalidInput("limit and offset must not be negative")
        q = self.client.collection(collection)
        for f in filters:
            if not _FIELD.match(f.field or ""):
                raise errors.InvalidInput(f"invalid field name {f.field!r}")
            if f.op not in _OPS:
                raise errors.InvalidInput(f"unsupported filter operator {f.op!r}")
            value = f.value
            if f.op == "in":
                if not isinstance(value, list | tuple | set):
                    raise errors.InvalidInput(f"filter 'in' on {f.field!r} needs a list")
                if not value:
                    return []  # Firestore rejects an empty 'in'; it matches nothing
                value = [_to_store(v) for v in value]
            else:
                value = _to_store(value)
            q = q.where(filter=FieldFilter(f.field, f.op, value))
        for o in order_by:
            if not _FIELD.match(o.field or ""):
                raise errors.InvalidInput(f"invalid field name {o.field!r}")
            q = q.order_by(o.field, direction=Query.DESCENDING if o.descending
                           else Query.ASCENDING)
        # Firestore orders by any inequality field not ordered explicitly before the
        # document id, and allows nothing after the id. When that happens the id
        # tie-break (and with it limit/offset) has to be applied here.
        unordered = {f.field for f in filters if f.op in _INEQUALITY} - {
            o.field for o in order_by}
        if not unordered:
            # Ties (and an unordered query) go by document id, ascending, as locally.
            q = q.order_by("__name__", direction=Query.ASCENDING)
            if offset:
                q = q.offset(offset)
            if limit is not None:
                if limit == 0:
                    return []
                q = q.limit(limit)
        with translated(f"query {collection}"):
            docs = [_doc(s) for s in q.stream()]
        if unordered:
            docs.sort(key=lambda d: d.id)
            for o in reversed(order_by):  # stable sorts, last key first
                docs.sort(key=_field_key(o.field), reverse=o.descending)
            docs = docs[offset:] if limit is None else docs[offset:offset + limit]
        return docs

    def transaction(self, fn: Callable[[Transaction], R], *, max_attempts: int = 5) -> R:
        from google.cloud import firestore

        txn = self.client.transaction(max_attempts=max(1, max_attempts))

        @firestore.transactional
        def run(t: Any) -> R:
            return fn(_FirestoreTransaction(self, t))

        with translated("transaction"):
            try:
                return run(txn)
            except ValueError as exc:
                if "attempts" in str(exc):  # the library's "failed after N attempts"
                    raise errors.Unavailable("transaction: too much contention, "
                                             "try again") from exc
                raise


def _mapping(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise errors.InvalidInput("document data must be a mapping")
    return data


class _FirestoreTransaction(Transaction):
    """Reads go through the transaction (and lock); writes are buffered until commit,
    where a failed create (ALREADY_EXISTS) or update (NOT_FOUND) aborts them all."""

    def __init__(self, store: FirestoreDocumentStore, txn: Any) -> None:
        self._store, self._txn = store, txn

    def get(self, collection: str, doc_id: str) -> Document | None:
        ref = self._store._ref(collection, doc_id)
        with translated(f"read {collection}/{doc_id}"):
            snap = ref.get(transaction=self._txn)
        return _doc(snap) if snap.exists else None

    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        self._txn.set(self._store._ref(collection, doc_id), _stamped(_mapping(data)))

    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        self._txn.create(self._store._ref(collection, doc_id), _stamped(_mapping(data)))

    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any]) -> None:
        self._txn.update(self._store._ref(collection, doc_id),
                         _field_paths(_mapping(changes)))

    def delete(self, collection: str, doc_id: str) -> None:
        self._txn.delete(self._store._ref(collection, doc_id))
