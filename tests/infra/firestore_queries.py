"""Firestore queries as the server sees them, and the indexes that serve them.

The emulator answers every query, indexed or not; Firestore in production refuses one
that no index serves with FAILED_PRECONDITION. So the emulator end-to-end tests hand the
adapter a `QueryRecorder.client(...)`: a thin wrapper of the real client that notes the
filters and orders each query is built with (through the SDK's public `where` /
`order_by`) before it runs, and passes everything else through untouched. Each recorded
query is then completed with the orderings Firestore adds on its own and checked
against what the automatic single-field indexes serve; any other query must match a
composite index declared in terraform/firestore.tf.

The rules, from Google's documentation:
- Implicit orderings (StructuredQuery.order_by,
  https://cloud.google.com/firestore/docs/reference/rest/v1/StructuredQuery): every
  inequality field must be ordered; those not ordered explicitly are appended in
  lexicographic order of the field name; then `__name__` is appended unless ordered;
  appended fields take the direction of the last order given, ASCENDING if none.
- Automatic indexes (https://firebase.google.com/docs/firestore/query-data/index-overview,
  "Single-field indexes" and "Index merging"; and
  https://firebase.google.com/docs/firestore/query-data/indexing): each field has an
  ascending and a descending single-field index, ordered by the field and then by the
  document name in the same direction. They serve a query that filters and orders on
  one field only, and any number of equality filters (merged) ordered by document name
  ascending. A query that orders or range-filters on a field and also filters or orders
  on another one, or orders a field one way and the document name the other, needs a
  composite index.
- A composite index is equality fields first (any order), then the ordered fields in
  the query's order and directions; it ends implicitly with `__name__` in the direction
  of its last field, or explicitly with `__name__` in either direction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ASC, DESC = "ASCENDING", "DESCENDING"
NAME = "__name__"
EQUALITY = frozenset({"==", "in", "array_contains", "array-contains", "array_contains_any",
                      "array-contains-any"})


@dataclass(frozen=True)
class RecordedQuery:
    collection: str                                  # collection id: last path segment
    filters: tuple[tuple[str, str], ...] = ()        # (field, op)
    orders: tuple[tuple[str, str], ...] = ()         # (field, ASC|DESC), as sent

    def __str__(self) -> str:
        return (f"{self.collection} where {list(self.filters)} "
                f"order by {list(effective_order(self))}")


def _direction(direction: Any) -> str:
    text = str(getattr(direction, "name", direction)).upper()
    return DESC if text.startswith("DESC") else ASC


def effective_order(q: RecordedQuery) -> tuple[tuple[str, str], ...]:
    """The query's orderings with the ones Firestore adds itself (see the module doc)."""
    orders = list(q.orders)
    ordered = {f for f, _ in orders}
    last = orders[-1][1] if orders else ASC
    ranged = sorted({f for f, op in q.filters if op not in EQUALITY} - ordered - {NAME})
    orders += [(f, last) for f in ranged]
    if NAME not in {f for f, _ in orders}:
        orders.append((NAME, last))
    return tuple(orders)


def served_by_single_field_indexes(q: RecordedQuery) -> bool:
    order = effective_order(q)
    fields = [(f, d) for f, d in order if f != NAME]
    name_dir = dict(order)[NAME]
    filtered = {f for f, _ in q.filters}
    if not fields:
        # Document-name order only: no filter (the built-in name index), or equality
        # filters merged from single-field indexes, which come in ascending name order.
        return not q.filters or (name_dir == ASC
                                 and all(op in EQUALITY for _, op in q.filters))
    if len(fields) == 1:
        only, direction = fields[0]
        return filtered <= {only} and name_dir == direction
    return False


def _expanded(index_fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    fields = [(f, _direction(d)) for f, d in index_fields]
    if fields and fields[-1][0] != NAME:
        fields.append((NAME, fields[-1][1]))
    return fields


def served_by_composite(q: RecordedQuery, index_fields: list[tuple[str, str]]) -> bool:
    order = list(effective_order(q))
    ordered = {f for f, _ in order}
    equality = {f for f, op in q.filters if op in EQUALITY} - ordered
    fields = _expanded(index_fields)
    head, tail = fields[:len(equality)], fields[len(equality):]
    return {f for f, _ in head} == equality and tail == order


def unserved(queries: Iterable[RecordedQuery],
             composites: Iterable[dict]) -> list[RecordedQuery]:
    """The queries no automatic index and no declared composite index serves.
    `composites` are terraform's firestore_indexes entries ({collection, fields})."""
    declared = list(composites)
    missing = []
    for q in dict.fromkeys(queries):
        if served_by_single_field_indexes(q):
            continue
        if any(spec["collection"] == q.collection and served_by_composite(q, spec["fields"])
               for spec in declared):
            continue
        missing.append(q)
    return missing


# ------------------------------------------------------------------ the recorder


@dataclass
class QueryRecorder:
    """Collects the queries run through the clients it wraps."""

    queries: list[RecordedQuery] = field(default_factory=list)

    def client(self, client: Any) -> _RecordingClient:
        return _RecordingClient(self, client)


class _Passthrough:
    def __init__(self, recorder: QueryRecorder, wrapped: Any) -> None:
        self._recorder = recorder
        self._wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _RecordingClient(_Passthrough):
    def collection(self, *path: str) -> _RecordingQuery:
        ref = self._wrapped.collection(*path)
        return _RecordingQuery(self._recorder, ref, "/".join(path).rsplit("/", 1)[-1])


class _RecordingQuery(_Passthrough):
    def __init__(self, recorder: QueryRecorder, wrapped: Any, collection: str,
                 filters: tuple = (), orders: tuple = ()) -> None:
        super().__init__(recorder, wrapped)
        self._collection, self._filters, self._orders = collection, filters, orders

    def _next(self, wrapped: Any, filters: tuple = (), orders: tuple = ()) -> _RecordingQuery:
        return _RecordingQuery(self._recorder, wrapped, self._collection,
                               self._filters + filters, self._orders + orders)

    def where(self, *args: Any, **kwargs: Any) -> _RecordingQuery:
        flt = kwargs.get("filter")
        if flt is not None:
            added = ((flt.field_path, str(flt.op_string)),)
        else:
            added = ((args[0], str(args[1])),)
        return self._next(self._wrapped.where(*args, **kwargs), filters=added)

    def order_by(self, field_path: str, direction: Any = ASC, **kwargs: Any) -> _RecordingQuery:
        return self._next(self._wrapped.order_by(field_path, direction=direction, **kwargs),
                          orders=((field_path, _direction(direction)),))

    def limit(self, count: int) -> _RecordingQuery:
        return self._next(self._wrapped.limit(count))

    def offset(self, count: int) -> _RecordingQuery:
        return self._next(self._wrapped.offset(count))

    def _record(self) -> None:
        self._recorder.queries.append(RecordedQuery(self._collection, self._filters,
                                                    self._orders))

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        self._record()
        return self._wrapped.stream(*args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._record()
        return self._wrapped.get(*args, **kwargs)


def assert_indexed(recorder: QueryRecorder) -> None:
    """Fail on any recorded query that Firestore would refuse for want of an index."""
    from tests.infra.terraform_config import load

    assert recorder.queries, "no Firestore query was recorded: is the client wrapped?"
    missing = unserved(recorder.queries, load().locals["firestore_indexes"].values())
    assert not missing, ("queries with no index (add to firestore_indexes in "
                         "terraform/firestore.tf): " + "; ".join(map(str, missing)))
