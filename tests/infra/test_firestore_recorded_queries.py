"""The index model the emulator end-to-end tests check recorded queries with
(tests/infra/firestore_queries.py): Firestore's implicit orderings, what its automatic
single-field indexes serve, and matching against terraform's composite indexes."""

from __future__ import annotations

from types import SimpleNamespace

from tests.infra.firestore_queries import (
    ASC,
    DESC,
    QueryRecorder,
    RecordedQuery,
    effective_order,
    served_by_composite,
    served_by_single_field_indexes,
    unserved,
)
from tests.infra.terraform_config import load

# What FirestoreDocumentStore.query sends for GET /api/uploads: newest first, ties by
# document id ascending.
LIST_UPLOADS = RecordedQuery("uploads", (), (("created_at", DESC), ("__name__", ASC)))


def test_implicit_orderings_follow_the_structured_query_rules():
    # The examples of StructuredQuery.order_by in Firestore's reference.
    assert effective_order(RecordedQuery("c", (), (("a", ASC),))) == (
        ("a", ASC), ("__name__", ASC))
    assert effective_order(RecordedQuery("c", (), (("a", DESC),))) == (
        ("a", DESC), ("__name__", DESC))
    assert effective_order(RecordedQuery("c", (("a", ">"),))) == (
        ("a", ASC), ("__name__", ASC))
    # Unordered inequality fields come after the explicit orders, by name.
    assert effective_order(RecordedQuery("c", (("z", "<"), ("b", ">")), (("a", DESC),))) == (
        ("a", DESC), ("b", DESC), ("z", DESC), ("__name__", DESC))


def test_single_field_indexes_serve_one_field_or_merged_equalities():
    assert served_by_single_field_indexes(RecordedQuery("c"))
    assert served_by_single_field_indexes(RecordedQuery("c", (("a", "=="), ("b", "=="))))
    assert served_by_single_field_indexes(RecordedQuery("c", (("a", ">"),), (("a", DESC),)))
    assert served_by_single_field_indexes(RecordedQuery("c", (), (("a", DESC),)))
    # A range or order on one field with a filter on another needs a composite index.
    assert not served_by_single_field_indexes(
        RecordedQuery("c", (("a", "=="),), (("b", ASC),)))
    assert not served_by_single_field_indexes(RecordedQuery("c", (("a", ">"), ("b", "<"))))
    # The document name against the field's direction: not the single-field index order.
    assert not served_by_single_field_indexes(LIST_UPLOADS)


def test_composite_indexes_match_equalities_then_orders_then_the_name():
    query = RecordedQuery("c", (("tenant", "=="),), (("at", DESC),))
    assert served_by_composite(query, [["tenant", ASC], ["at", DESC]])
    assert not served_by_composite(query, [["tenant", ASC], ["at", ASC]])
    assert not served_by_composite(query, [["at", DESC], ["tenant", ASC]])
    assert served_by_composite(LIST_UPLOADS, [["created_at", DESC], ["__name__", ASC]])
    # Implicitly the index ends in __name__ DESCENDING: not the order the query asks for.
    assert not served_by_composite(LIST_UPLOADS, [["created_at", DESC], ["other", ASC]])
    assert unserved([LIST_UPLOADS], [{"collection": "other",
                                      "fields": [["created_at", DESC], ["__name__", ASC]]}])


def test_terraform_declares_the_index_the_uploads_list_needs():
    assert unserved([LIST_UPLOADS], load().locals["firestore_indexes"].values()) == []


class _FakeQuery:
    """Stands in for a firestore Query: records nothing itself, returns itself."""

    def __init__(self) -> None:
        self.streamed = 0

    def where(self, *args, **kwargs):
        return self

    def order_by(self, *args, **kwargs):
        return self

    def limit(self, _):
        return self

    def stream(self):
        self.streamed += 1
        return iter(())


def test_the_recorder_notes_filters_and_orders_and_passes_the_query_on():
    fake = _FakeQuery()
    recorder = QueryRecorder()
    client = recorder.client(SimpleNamespace(collection=lambda *p: fake, project="p"))
    flt = SimpleNamespace(field_path="status", op_string="==")
    q = client.collection("tenants/t1/uploads").where(filter=flt).order_by(
        "created_at", direction="DESCENDING").limit(3)
    assert list(q.stream()) == [] and fake.streamed == 1
    assert client.project == "p"
    assert recorder.queries == [RecordedQuery("uploads", (("status", "=="),),
                                              (("created_at", DESC),))]
