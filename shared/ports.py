"""Ports: the small interfaces every service talks to, in Tidemark's own types.

Two implementations of each exist: `shared.adapters.local` (the embedded default:
files, DuckDB, SQLite) and `shared.adapters.gcp` (GCS, BigQuery, Firestore, Cloud
Tasks, Secret Manager). No SDK type crosses these signatures; adapters translate SDK
exceptions into `shared.errors`.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, TypeVar

from shared import errors

if TYPE_CHECKING:
    from shared.settings import Settings

R = TypeVar("R")  # what a transaction's function returns, handed back by the store

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
    def load_staged(self, table: str, uris: Sequence[str], *, idempotency_key: str,
                    replace_where: Mapping[str, Any] | None = None,
                    tenant_id: str | None = None) -> LoadResult:
        """As load_parquet, for Parquet shards already in the staging bucket
        (`gs://bucket/name` URIs): every shard goes in as one atomic load, at most once
        per key, read by the warehouse itself so no byte passes through the caller.
        `tenant_id` names the tenant whose rows they are (the caller reads no shard),
        which a layout with a table per tenant needs."""

    @abc.abstractmethod
    def delete_where(self, table: str, where: Mapping[str, Any], *,
                     idempotency_key: str) -> int:
        """Delete the rows matching all column equalities; returns how many went."""

    @abc.abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float = 45.0) -> list[dict[str, Any]]:
        """Run a read query. Table names appear as `{name}` and are resolved by the
        adapter to the fully qualified table; values only as @parameters."""


def where_equal(where: Mapping[str, Any], columns: Iterable[str], *,
                quote: Callable[[str], str],
                placeholder: Callable[[str], str]) -> tuple[str, dict[str, Any]]:
    """The condition of `delete_where` / `replace_where` for both warehouses:
    `col = <param> AND ...` (`col IS NULL` for None), with its parameters.

    Column names must be among `columns` and are quoted by the warehouse's own rule
    (`quote`); values only ever travel as named parameters (`placeholder` spells one
    in the warehouse's SQL), so nothing a caller passes is spliced into the text.
    Columns are taken in name order, so the same mapping always gives the same SQL."""
    if not where:
        raise errors.InvalidInput("a where clause needs at least one column")
    known = set(columns)
    conds: list[str] = []
    params: dict[str, Any] = {}
    for i, (col, value) in enumerate(sorted(where.items())):
        if col not in known:
            raise errors.InvalidInput(f"unknown column {col!r}")
        if value is None:
            conds.append(f"{quote(col)} IS NULL")
        else:
            conds.append(f"{quote(col)} = {placeholder(f'w{i}')}")
            params[f"w{i}"] = value
    return " AND ".join(conds), params


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


# Firestore's constraints on collection ids and document ids, which are the same list:
# valid UTF-8, at most 1,500 bytes, no "/", not "." or "..", not matching __.*__
# (https://cloud.google.com/firestore/quotas#collections_documents_and_fields). Both
# document stores apply them, so an id the local stack accepts is one Firestore accepts.
# The pattern is matched whole and, like RE2's default, "." does not cross a newline.
MAX_ID_BYTES = 1500
_RESERVED_ID = re.compile(r"__.*__")


def _id_problem(value: Any) -> str | None:
    """Why Firestore would refuse this collection or document id, or None."""
    if not isinstance(value, str) or not value:
        return "is empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: not valid UTF-8
        return "is not valid UTF-8"
    if size > MAX_ID_BYTES:
        return f"is longer than {MAX_ID_BYTES} bytes"
    if "/" in value:
        return "contains '/'"
    if value in (".", ".."):
        return "is '.' or '..'"
    if _RESERVED_ID.fullmatch(value):
        return "matches __.*__ (reserved)"
    return None


def _shown(value: Any) -> str:
    """A value for an error message, cut short: an id may be kilobytes long."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_document_path(collection: str, doc_id: str | None = None) -> None:
    """Refuse (errors.InvalidInput) a collection path or document id Firestore rejects.

    A collection path alternates collection ids and document ids and ends with a
    collection id (`tenants/t1/uploads`), so it has an odd number of segments; every
    segment, and doc_id when given, must be a valid id. Checked before any I/O, so a bad
    path changes nothing in either store and both refuse it the same way."""
    parts = collection.split("/") if isinstance(collection, str) else []
    if not parts or len(parts) % 2 == 0:
        raise errors.InvalidInput(f"invalid collection path {_shown(collection)}: it "
                                  "needs an odd number of segments")
    for part in parts:
        problem = _id_problem(part)
        if problem:
            raise errors.InvalidInput(
                f"invalid collection path {_shown(collection)}: a segment {problem}")
    if doc_id is not None:
        problem = _id_problem(doc_id)
        if problem:
            raise errors.InvalidInput(f"invalid document id {_shown(doc_id)}: it {problem}")


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
    Paths and ids follow Firestore's rules on both stores (check_document_path).
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
    def transaction(self, fn: Callable[[Transaction], R], *, max_attempts: int = 5) -> R:
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


# ---------------------------------------------------------------------------- mail


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows with `<img src="cid:{cid}">` (mail clients block
    remote images by default; an inline part is shown)."""

    cid: str
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class MailMessage:
    """One message to one or more recipients. `text` is always sent; `html`, when given,
    is the alternative clients prefer. `headers` adds e.g. List-Unsubscribe."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    images: tuple[InlineImage, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


class Mailer(abc.ABC):
    """Outgoing mail. Returns the Message-ID it sent. A failure the server may not give
    again (connection refused, a 4xx reply) raises errors.Unavailable so a task retries
    it; a refusal it will give again (a 5xx reply: no such mailbox) raises
    errors.InvalidInput with code `mail_rejected`."""

    @abc.abstractmethod
    def send(self, message: MailMessage) -> str: ...


# -------------------------------------------------------------------- all of them


class Ports(Protocol):
    """The settings and the ports a use case is handed; `shared.bootstrap.Deps` is the
    one implementation. Services name `Deps` itself. The few modules the composition
    root reaches through its own imports (the local finalize delivery, and the upload
    claims it marks objects received with) name this instead: naming `Deps` would make
    them and `bootstrap` import each other."""

    @property
    def settings(self) -> Settings: ...

    @property
    def local(self) -> bool: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def warehouse(self) -> Warehouse: ...

    @property
    def docs(self) -> DocumentStore: ...

    @property
    def tasks(self) -> TaskQueue: ...

    @property
    def secrets(self) -> SecretStore: ...

    @property
    def mailer(self) -> Mailer: ...
