"""DocumentStore contract: the semantics every service relies on, for SQLite and Firestore."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import errors
from shared.ports import Document, DocumentStore, Filter, Order
from tests.contract import backends


@pytest.fixture(params=["local", "gcp"])
def store(request) -> DocumentStore:
    return backends.make("documentstore", request)


@pytest.fixture
def coll() -> str:
    """A collection no other test touches (the emulator is shared between tests)."""
    return f"tenants/t_{uuid.uuid4().hex[:12]}/things"


T0 = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


# ------------------------------------------------------------------ get / set / create


def test_get_missing_returns_none(store, coll):
    assert store.get(coll, "nope") is None


def test_set_then_get_round_trips_json_values_and_datetimes(store, coll):
    plus2 = timezone(timedelta(hours=2))
    data = {"s": "héllo ✓", "i": 42, "f": 2.5, "b": True, "n": None, "neg": -7,
            "list": [1, "two", {"three": 3}], "nested": {"a": {"b": [True, False]}},
            "at": T0, "local_at": datetime(2024, 3, 1, 14, 0, tzinfo=plus2),
            "times": [T0, {"when": T0 + timedelta(days=1)}]}
    written = store.set(coll, "d1", data)
    got = store.get(coll, "d1")
    assert isinstance(got, Document)
    assert got.id == "d1"
    assert got.data == data
    assert got.version == written.version
    assert got.data["at"].tzinfo is not None
    assert got.data["at"].utcoffset() == timedelta(0)
    assert got.data["local_at"] == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert got.data["local_at"].utcoffset() == timedelta(0)
    assert got.data["times"][1]["when"] == T0 + timedelta(days=1)


def test_set_overwrites_the_whole_document(store, coll):
    store.set(coll, "d", {"a": 1, "b": 2})
    store.set(coll, "d", {"c": 3})
    assert store.get(coll, "d").data == {"c": 3}


def test_every_write_changes_the_version(store, coll):
    v1 = store.set(coll, "d", {"a": 1}).version
    v2 = store.set(coll, "d", {"a": 1}).version
    v3 = store.update(coll, "d", {"a": 2}).version
    assert all(isinstance(v, str) for v in (v1, v2, v3))
    assert len({v1, v2, v3}) == 3
    assert store.get(coll, "d").version == v3


def test_create_conflicts_when_the_document_exists(store, coll):
    created = store.create(coll, "d", {"a": 1})
    assert created.data == {"a": 1}
    with pytest.raises(errors.Conflict):
        store.create(coll, "d", {"a": 2})
    assert store.get(coll, "d").data == {"a": 1}


def test_documents_are_isolated_by_collection(store, coll):
    other = coll.replace("/things", "/others")
    store.set(coll, "d", {"where": "things"})
    store.set(other, "d", {"where": "others"})
    store.set(f"{coll}/d/children", "c", {"where": "child"})
    assert store.get(coll, "d").data == {"where": "things"}
    assert store.get(other, "d").data == {"where": "others"}
    assert [d.id for d in store.query(coll)] == ["d"]


@pytest.mark.parametrize("collection", ["", "tenants/t1", "a//b", "/tenants"])
def test_invalid_collection_paths_are_rejected(store, collection):
    with pytest.raises(errors.InvalidInput):
        store.set(collection, "d", {"a": 1})


@pytest.mark.parametrize("doc_id", ["", "a/b"])
def test_invalid_document_ids_are_rejected(store, coll, doc_id):
    with pytest.raises(errors.InvalidInput):
        store.set(coll, doc_id, {"a": 1})


# Every id Firestore's "Constraints on document IDs" rules out
# (https://cloud.google.com/firestore/quotas#collections_documents_and_fields).
REJECTED_IDS = {
    "empty": "", "slash": "a/b", "dot": ".", "dot-dot": "..", "reserved": "__x__",
    "reserved-empty": "____", "reserved-long": "__" + "y" * 40 + "__",
    "too-long": "x" * 2000, "one-byte-over": "x" * 1501, "multibyte-over": "é" * 751,
    "lone-surrogate": "a\ud800b",
}
# Next to the limits, and still valid: a store must not refuse them either.
ACCEPTED_IDS = {
    "dots-inside": "a.b", "three-dots": "...", "leading-dot": ".x",
    "one-underscore-pair": "__x", "trailing-pair": "x__", "short-underscores": "___",
    "at-limit": "x" * 1500, "multibyte-at-limit": "é" * 750,
}


def _every_operation(store, coll, doc_id):
    """Each way a caller can name a document, run on doc_id."""
    return {
        "get": lambda: store.get(coll, doc_id),
        "set": lambda: store.set(coll, doc_id, {"a": 1}),
        "create": lambda: store.create(coll, doc_id, {"a": 1}),
        "update": lambda: store.update(coll, doc_id, {"a": 1}),
        "delete": lambda: store.delete(coll, doc_id),
        "txn.get": lambda: store.transaction(lambda t: t.get(coll, doc_id)),
        "txn.set": lambda: store.transaction(lambda t: t.set(coll, doc_id, {"a": 1})),
        "txn.create": lambda: store.transaction(lambda t: t.create(coll, doc_id, {"a": 1})),
        "txn.delete": lambda: store.transaction(lambda t: t.delete(coll, doc_id)),
    }


@pytest.mark.parametrize("doc_id", REJECTED_IDS.values(), ids=REJECTED_IDS.keys())
def test_document_ids_firestore_rejects_are_refused_by_every_operation(store, coll, doc_id):
    for op, call in _every_operation(store, coll, doc_id).items():
        with pytest.raises(errors.InvalidInput) as exc:
            call()
        assert exc.value.code == "invalid_input", op
        assert exc.value.status == 400, op
        assert "invalid document id" in exc.value.message, op
    assert store.query(coll) == []  # refused before anything was written


@pytest.mark.parametrize("doc_id", ACCEPTED_IDS.values(), ids=ACCEPTED_IDS.keys())
def test_document_ids_at_the_edge_of_the_rules_are_accepted(store, coll, doc_id):
    written = store.set(coll, doc_id, {"id": doc_id})
    assert written.id == doc_id
    assert store.get(coll, doc_id).data == {"id": doc_id}
    assert [d.id for d in store.query(coll)] == [doc_id]
    assert store.delete(coll, doc_id) is True


# A slash inside a segment makes two segments: the segment-count cases above cover it.
REJECTED_SEGMENTS = {k: v for k, v in REJECTED_IDS.items() if "/" not in v}


@pytest.mark.parametrize("segment", REJECTED_SEGMENTS.values(), ids=REJECTED_SEGMENTS.keys())
@pytest.mark.parametrize("position", ["root", "document", "subcollection"])
def test_collection_paths_with_a_segment_firestore_rejects_are_refused(store, coll, segment,
                                                                      position):
    parts = coll.split("/")
    parts[{"root": 0, "document": 1, "subcollection": 2}[position]] = segment
    bad = "/".join(parts)
    for call in (lambda: store.set(bad, "d", {"a": 1}), lambda: store.get(bad, "d"),
                 lambda: store.query(bad),
                 lambda: store.transaction(lambda t: t.get(bad, "d"))):
        with pytest.raises(errors.InvalidInput) as exc:
            call()
        assert exc.value.code == "invalid_input"
        assert "invalid collection path" in exc.value.message


# ------------------------------------------------------------------ update / delete


def test_update_merges_top_level_fields(store, coll):
    store.set(coll, "d", {"a": 1, "b": {"x": 1}, "c": "keep"})
    out = store.update(coll, "d", {"a": 2, "b": {"y": 2}, "new": T0})
    expected = {"a": 2, "b": {"y": 2}, "c": "keep", "new": T0}
    assert out.data == expected
    assert store.get(coll, "d").data == expected


def test_update_of_a_missing_document_is_not_found(store, coll):
    with pytest.raises(errors.NotFound):
        store.update(coll, "ghost", {"a": 1})
    assert store.get(coll, "ghost") is None


def test_update_if_version_matches(store, coll):
    v = store.set(coll, "d", {"n": 1}).version
    out = store.update(coll, "d", {"n": 2}, if_version=v)
    assert out.data == {"n": 2}
    assert out.version != v


def test_update_if_stale_version_fails_and_changes_nothing(store, coll):
    v1 = store.set(coll, "d", {"n": 1}).version
    v2 = store.update(coll, "d", {"n": 2}).version
    with pytest.raises(errors.PreconditionFailed) as exc:
        store.update(coll, "d", {"n": 99}, if_version=v1)
    assert isinstance(exc.value, errors.Conflict)
    doc = store.get(coll, "d")
    assert doc.data == {"n": 2}
    assert doc.version == v2


def test_version_of_a_deleted_and_recreated_document_is_not_reused(store, coll):
    old = store.set(coll, "d", {"n": 1}).version
    assert store.delete(coll, "d") is True
    store.set(coll, "d", {"n": 1})
    with pytest.raises(errors.PreconditionFailed):
        store.update(coll, "d", {"n": 2}, if_version=old)


def test_delete_reports_whether_the_document_existed(store, coll):
    store.set(coll, "d", {"a": 1})
    assert store.delete(coll, "d") is True
    assert store.get(coll, "d") is None
    assert store.delete(coll, "d") is False


def test_concurrent_compare_and_set_has_exactly_one_winner(store, coll):
    version = store.set(coll, "d", {"owner": None}).version
    n = 8
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contender(i: int) -> None:
        barrier.wait()
        try:
            store.update(coll, "d", {"owner": i}, if_version=version)
            result = f"won:{i}"
        except errors.PreconditionFailed:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(outcomes) == n
    assert len(winners) == 1
    assert store.get(coll, "d").data == {"owner": int(winners[0].split(":")[1])}


# ------------------------------------------------------------------ query


@pytest.fixture
def people(store, coll):
    rows = [("a", "ann", 31, "x", True, T0), ("b", "bob", 25, "y", False, T0 + timedelta(1)),
            ("c", "cat", 31, "y", True, T0 + timedelta(2)),
            ("d", "dan", 40, "x", False, T0 + timedelta(3)),
            ("e", "eve", 25, "z", True, T0 + timedelta(4))]
    for doc_id, name, age, team, active, joined in rows:
        store.set(coll, doc_id, {"name": name, "age": age, "team": team, "active": active,
                                 "joined": joined})
    store.set(coll, "f", {"name": "fay"})  # lacks most fields
    return coll


def ids(docs):
    return [d.id for d in docs]


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("==", 31, ["a", "c"]), ("!=", 31, ["b", "d", "e"]), ("<", 31, ["b", "e"]),
    ("<=", 31, ["a", "b", "c", "e"]), (">", 31, ["d"]), (">=", 31, ["a", "c", "d"]),
    ("in", [25, 40], ["b", "d", "e"]), ("in", [], []),
])
def test_query_filter_operators(store, people, op, value, expected):
    assert ids(store.query(people, filters=[Filter("age", op, value)])) == expected


def test_query_filters_on_strings_booleans_and_datetimes(store, people):
    assert ids(store.query(people, filters=[Filter("team", "==", "y")])) == ["b", "c"]
    assert ids(store.query(people, filters=[Filter("name", ">=", "dan")])) == ["d", "e", "f"]
    assert ids(store.query(people, filters=[Filter("active", "==", True)])) == ["a", "c", "e"]
    since = T0 + timedelta(days=2)
    assert ids(store.query(people, filters=[Filter("joined", ">=", since)])) == ["c", "d", "e"]
    assert ids(store.query(people, filters=[Filter("joined", "==", T0)])) == ["a"]


def test_query_equality_does_not_coerce_types(store, people):
    assert store.query(people, filters=[Filter("age", "==", "31")]) == []
    assert store.query(people, filters=[Filter("active", "==", 1)]) == []


def test_query_combines_filters(store, people):
    got = store.query(people, filters=[Filter("age", "<", 35), Filter("team", "in", ["y", "z"])])
    assert ids(got) == ["b", "c", "e"]


def test_query_orders_by_several_fields(store, people):
    got = store.query(people, order_by=[Order("age", descending=True), Order("name")])
    assert ids(got) == ["d", "a", "c", "b", "e"]
    got = store.query(people, order_by=[Order("joined", descending=True)])
    assert ids(got) == ["e", "d", "c", "b", "a"]


def test_query_limit_and_offset(store, people):
    order = [Order("name")]
    assert ids(store.query(people, order_by=order, limit=2)) == ["a", "b"]
    assert ids(store.query(people, order_by=order, limit=2, offset=2)) == ["c", "d"]
    assert ids(store.query(people, order_by=order, offset=5)) == ["f"]
    assert store.query(people, order_by=order, limit=0) == []


def test_query_returns_full_documents(store, people):
    (doc,) = store.query(people, filters=[Filter("name", "==", "ann")])
    assert doc == store.get(people, "a")
    assert doc.data["joined"] == T0


def test_query_rejects_unknown_operators(store, people):
    with pytest.raises(errors.InvalidInput):
        store.query(people, filters=[Filter("age", "like", 3)])  # type: ignore[arg-type]


# ------------------------------------------------------------------ transactions


def test_transaction_reads_then_writes_and_returns_the_result(store, coll):
    store.set(coll, "src", {"n": 5})

    def move(txn):
        src = txn.get(coll, "src")
        txn.set(coll, "dst", {"n": src.data["n"]})
        txn.update(coll, "src", {"n": 0})
        txn.delete(coll, "gone")
        return src.data["n"]

    store.set(coll, "gone", {})
    assert store.transaction(move) == 5
    assert store.get(coll, "dst").data == {"n": 5}
    assert store.get(coll, "src").data == {"n": 0}
    assert store.get(coll, "gone") is None


def test_transaction_rolls_back_when_fn_raises(store, coll):
    store.set(coll, "a", {"n": 1})

    def failing(txn):
        txn.get(coll, "a")
        txn.set(coll, "a", {"n": 2})
        txn.set(coll, "b", {"n": 2})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.transaction(failing)
    assert store.get(coll, "a").data == {"n": 1}
    assert store.get(coll, "b") is None


def test_transaction_create_of_existing_document_aborts_everything(store, coll):
    store.set(coll, "taken", {"owner": "first"})

    def claim(txn):
        txn.get(coll, "taken")
        txn.set(coll, "side", {"written": True})
        # Swallowing the conflict must not let the transaction commit.
        with contextlib.suppress(errors.Conflict):
            txn.create(coll, "taken", {"owner": "second"})

    with pytest.raises(errors.Conflict):
        store.transaction(claim)
    assert store.get(coll, "taken").data == {"owner": "first"}
    assert store.get(coll, "side") is None


def test_transaction_update_of_missing_document_is_not_found(store, coll):
    def fn(txn):
        txn.get(coll, "ghost")
        txn.set(coll, "other", {"a": 1})
        txn.update(coll, "ghost", {"a": 1})

    with pytest.raises(errors.NotFound):
        store.transaction(fn)
    assert store.get(coll, "other") is None


def _increment(txn, coll: str) -> None:
    doc = txn.get(coll, "counter")
    n = doc.data["n"] if doc else 0
    txn.set(coll, "counter", {"n": n + 1})


def test_concurrent_transactional_counter_is_exact(store, coll, request):
    # Firestore's emulator charges ~2 s per contended transaction: keep that case small.
    gcp = "gcp" in request.node.callspec.id
    threads_n, per_thread = (2, 3) if gcp else (4, 5)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(per_thread):
                store.transaction(lambda txn: _increment(txn, coll), max_attempts=50)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert store.get(coll, "counter").data == {"n": threads_n * per_thread}


# ------------------------------------------------------------------ local only: processes


def _count_in_process(path: str, coll: str, times: int) -> None:
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    store = SqliteDocumentStore(path)
    for _ in range(times):
        store.transaction(lambda txn: _increment(txn, coll))
    store.close()


def test_local_store_file_is_shared_safely_by_several_processes(tmp_path, coll):
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    path = str(tmp_path / "shared.sqlite")
    SqliteDocumentStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_count_in_process, args=(path, coll, 15)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    store = SqliteDocumentStore(path)
    assert store.get(coll, "counter").data == {"n": 45}
    store.close()


def test_local_store_closes_connections_of_threads_that_ended(tmp_path):
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    store = SqliteDocumentStore(tmp_path / "docs.sqlite")

    def touch(i: int) -> None:
        store.set("things", f"d{i}", {"i": i})

    for i in range(50):
        t = threading.Thread(target=touch, args=(i,))
        t.start()
        t.join()
    touch(50)  # opening from a live thread sweeps the ended ones
    assert store._connections.open_count() <= 3
    assert store.get("things", "d49").data == {"i": 49}
    store.close()
