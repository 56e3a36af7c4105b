"""Ports: the small interfaces every service talks to, in Tidemark's own types.

Two implementations of each exist: `shared.adapters.local` (the embedded default:
files, DuckDB, SQLite) and `shared.adapters.gcp` (GCS, BigQuery, Firestore, Cloud
Tasks, Secret Manager). No SDK type crosses these signatures; adapters translate SDK
exceptions into `shared.errors`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal

# --------------------------------------------------------------------------- blobs


@dataclass(frozen=True)
class BlobInfo:
    bucket: str
    name: str
    size: int
    generation: str
    content_type: str | None = None
    updated: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedUpload:
    """What a client needs to PUT one object: the URL, the exact headers, the expiry."""

    url: str
    method: str
    headers: Mapping[str, str]
    expires_at: datetime


class BlobStore(abc.ABC):
    """Object storage. Objects are addressed by (bucket, name)."""

    @abc.abstractmethod
    def put(self, bucket: str, name: str, data: bytes | BinaryIO, *,
            content_type: str | None = None, if_generation_match: str | None = None,
            metadata: Mapping[str, str] | None = None) -> BlobInfo:
        """Write an object. `if_generation_match="0"` means: only if it does not exist
        (raises errors.PreconditionFailed otherwise)."""

    @abc.abstractmethod
    def open(self, bucket: str, name: str, *, generation: str | None = None) -> BinaryIO:
        """A streaming, file-like reader; memory does not grow with the object size.
        Raises errors.NotFound."""

    @abc.abstractmethod
    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        """Metadata of the live object, or None."""

    @abc.abstractmethod
    def list(self, bucket: str, prefix: str = "") -> Iterator[BlobInfo]:
        """Objects whose names start with prefix, in name order."""

    @abc.abstractmethod
    def delete(self, bucket: str, name: str) -> bool:
        """Remove an object; False if it did not exist."""

    @abc.abstractmethod
    def signed_upload_url(self, bucket: str, name: str, *, content_type: str,
                          max_bytes: int, min_bytes: int = 1,
                          expires_in_s: int = 900) -> SignedUpload:
        """A URL that lets an unauthenticated client PUT exactly this object, with this
        content type and a body size in [min_bytes, max_bytes], until it expires."""


# ---------------------------------------------------------------------- warehouse


@dataclass(frozen=True)
class LoadResult:
    rows_loaded: int
    already_loaded: bool  # True when the idempotency key had been used: nothing changed


class Warehouse(abc.ABC):
    """The analytical store. SQL is BigQuery Standard SQL with @named parameters only;
    `{table}`-style placeholders name tables, values never go into the SQL text."""

    @abc.abstractmethod
    def ensure_table(self, table: str) -> None:
        """Create the table (schema from shared.schema) if it is missing."""

    @abc.abstractmethod
    def load_parquet(self, table: str, path: str, *, idempotency_key: str,
                     replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        """Append every row of a local Parquet file atomically, at most once per key.
        With replace_where, the rows matching those column equalities are deleted in the
        same atomic step (a dataset's rows are swapped, never half-replaced)."""

    @abc.abstractmethod
    def delete_where(self, table: str, where: Mapping[str, Any], *,
                     idempotency_key: str) -> int:
        """Delete the rows matching all column equalities; returns how many went."""

    @abc.abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float = 45.0) -> list[dict[str, Any]]:
        """Run a read query. Table names appear as `{name}` and are resolved by the
        adapter to the fully qualified table; values only as @parameters."""


# ---------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Document:
    id: str
    data: dict[str, Any]
    version: str  # opaque; changes on every write; used for compare-and-set


FilterOp = Literal["==", "!=", "<", "<=", ">", ">=", "in"]


@dataclass(frozen=True)
class Filter:
    field: str
    op: FilterOp
    value: Any


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


class Transaction(abc.ABC):
    """Reads first, then writes; the whole is retried by the store on contention."""

    @abc.abstractmethod
    def get(self, collection: str, doc_id: str) -> Document | None: ...

    @abc.abstractmethod
    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        """Fails the transaction with errors.Conflict if the document exists."""

    @abc.abstractmethod
    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any]) -> None:
        """Merge top-level fields; errors.NotFound if missing."""

    @abc.abstractmethod
    def delete(self, collection: str, doc_id: str) -> None: ...


class DocumentStore(abc.ABC):
    """Documents in collections. A collection path has an odd number of segments
    (`tenants/t1/uploads`); tenant data always lives under `tenants/<tenant_id>/...`.
    Values are JSON types plus datetime (returned timezone-aware in UTC)."""

    @abc.abstractmethod
    def get(self, collection: str, doc_id: str) -> Document | None: ...

    @abc.abstractmethod
    def set(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        """Create or overwrite."""

    @abc.abstractmethod
    def create(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> Document:
        """Create; errors.Conflict if the document exists."""

    @abc.abstractmethod
    def update(self, collection: str, doc_id: str, changes: Mapping[str, Any], *,
               if_version: str | None = None) -> Document:
        """Merge top-level fields. With if_version, only if the stored version is that
        one (errors.PreconditionFailed otherwise). errors.NotFound if missing."""

    @abc.abstractmethod
    def delete(self, collection: str, doc_id: str) -> bool: ...

    @abc.abstractmethod
    def query(self, collection: str, *, filters: Sequence[Filter] = (),
              order_by: Sequence[Order] = (), limit: int | None = None,
              offset: int = 0) -> list[Document]:
        """Documents of one collection matching every filter, ordered, limited."""

    @abc.abstractmethod
    def transaction(self, fn: Callable[[Transaction], Any], *, max_attempts: int = 5) -> Any:
        """Run fn atomically; fn may be called again on contention, so it must not have
        side effects outside the transaction."""


# -------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskRef:
    name: str
    created: bool  # False when a task of that name already existed (de-duplicated)


class TaskQueue(abc.ABC):
    """Named HTTP tasks to a function target ("metrics", "forecast", ...), delivered
    at least once with retries and backoff. A name used twice enqueues once."""

    @abc.abstractmethod
    def enqueue(self, target: str, payload: Mapping[str, Any], *, name: str | None = None,
                delay_s: float = 0.0) -> TaskRef: ...


# ------------------------------------------------------------------------ secrets


class SecretStore(abc.ABC):
    """Secret values by name. The local adapter generates known secrets on first use."""

    @abc.abstractmethod
    def get(self, name: str, version: str = "latest") -> bytes:
        """errors.NotFound if there is no such secret or version."""

    @abc.abstractmethod
    def add_version(self, name: str, value: bytes) -> str:
        """Store a new version (key rotation); returns its version id."""
