"""Parquet segments of the local DuckDB warehouse: big loads kept as immutable files,
read with the native rows through the table's view, removed by deletes, cleaned up."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from shared import errors
from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
from shared.ports import LoadResult
from tests.support.warehouse_data import (
    ARROW_SCHEMA,
    load_concurrently,
    rows_for,
    write_parquet,
)

TABLE = "business_data"  # written out in the SQL below
TENANT = "t1"
ALL = "SELECT * FROM {business_data} ORDER BY dataset_id, row_number"


def open_wh(path: Path, segment_rows: int = 1) -> DuckDbWarehouse:
    wh = DuckDbWarehouse(path / "warehouse.duckdb", segment_rows=segment_rows)
    wh.ensure_table(TABLE)
    return wh


@pytest.fixture
def wh(tmp_path):
    wh = open_wh(tmp_path)
    yield wh
    wh.close()


def seg_dir(wh: DuckDbWarehouse) -> Path:
    return wh.path.parent / "warehouse.segments"


def files(wh: DuckDbWarehouse) -> set[str]:
    d = seg_dir(wh)
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


def manifest(wh: DuckDbWarehouse) -> list[tuple]:
    return wh._db.execute('SELECT file, "table", "rows", key, removed_at FROM _segments '
                          "ORDER BY created_at").fetchall()


def live(wh: DuckDbWarehouse) -> list[tuple]:
    return [m for m in manifest(wh) if m[4] is None]


def native(wh: DuckDbWarehouse) -> int:
    return wh._db.execute('SELECT count(*) FROM "business_data"').fetchone()[0]


def count(wh: DuckDbWarehouse, dataset: str | None = None) -> int:
    sql = "SELECT COUNT(*) AS n FROM {business_data} WHERE tenant_id = @t"
    params = {"t": TENANT}
    if dataset:
        sql += " AND dataset_id = @d"
        params["d"] = dataset
    return wh.query(sql, params)[0]["n"]


def staged(tmp_path: Path, name: str, dataset: str, n: int, **kw) -> str:
    return write_parquet(tmp_path / name, rows_for(TENANT, dataset, n, **kw))


def age_removed(wh: DuckDbWarehouse, minutes: float) -> None:
    """Pretend the removed segments were removed `minutes` ago."""
    wh._db.execute("UPDATE _segments SET removed_at = $at WHERE removed_at IS NOT NULL",
                   {"at": datetime.now(UTC) - timedelta(minutes=minutes)})


# ------------------------------------------------------------------ loads


def test_a_matching_load_becomes_a_segment_queried_like_native_rows(wh, tmp_path):
    path = staged(tmp_path, "a.parquet", "d1", 6)
    assert wh.load_parquet(TABLE, path, idempotency_key="k1") == LoadResult(6, False)
    [(file, table, rows, key, removed)] = manifest(wh)
    assert (table, rows, key, removed) == (TABLE, 6, "k1", None)
    assert files(wh) == {file}
    assert native(wh) == 0
    os.unlink(path)  # the caller deletes its staged file; the segment keeps a link

    plain = open_wh(tmp_path / "plain", segment_rows=0)
    try:
        plain.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d1", 6), idempotency_key="k1")
        assert native(plain) == 6
        expected = plain.query(ALL)
    finally:
        plain.close()
    got = wh.query(ALL)
    assert got == expected
    first = got[0]
    assert isinstance(first["extra"], dict) and first["extra"] == {"discount": "0"}
    assert first["occurred_at"].utcoffset() == timedelta(0)
    assert type(first["amount"]).__name__ == "Decimal"


def test_a_load_below_segment_rows_is_inserted_natively(tmp_path):
    wh = open_wh(tmp_path, segment_rows=10)
    try:
        wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 9), idempotency_key="k")
        assert (native(wh), manifest(wh), files(wh)) == (9, [], set())
        wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d2", 10), idempotency_key="k2")
        assert native(wh) == 9 and len(live(wh)) == 1
        assert count(wh) == 19
    finally:
        wh.close()


def test_files_not_shaped_like_the_table_are_inserted(wh, tmp_path):
    missing = pa.schema([f for f in ARROW_SCHEMA if f.name != "product"])
    rows = [{k: v for k, v in r.items() if k != "product"} for r in rows_for(TENANT, "d1", 3)]
    wh.load_parquet(TABLE, write_parquet(tmp_path / "m.parquet", rows, missing),
                    idempotency_key="missing")
    wrong = pa.schema([f if f.name != "row_number" else pa.field("row_number", pa.int32())
                       for f in ARROW_SCHEMA])
    wh.load_parquet(TABLE, write_parquet(tmp_path / "w.parquet", rows_for(TENANT, "d2", 2),
                                         wrong), idempotency_key="wrong")
    reordered = pa.schema(list(reversed(ARROW_SCHEMA)))
    wh.load_parquet(TABLE, write_parquet(tmp_path / "r.parquet", rows_for(TENANT, "d3", 4),
                                         reordered), idempotency_key="reordered")
    assert (native(wh), manifest(wh), files(wh)) == (9, [], set())
    assert count(wh, "d1") == 3 and count(wh, "d2") == 2 and count(wh, "d3") == 4


def test_the_same_key_twice_keeps_one_segment_and_no_stray_file(wh, tmp_path):
    path = staged(tmp_path, "a.parquet", "d1", 4)
    assert wh.load_parquet(TABLE, path, idempotency_key="k").already_loaded is False
    again = wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d1", 7), idempotency_key="k")
    assert again == LoadResult(rows_loaded=4, already_loaded=True)
    assert len(manifest(wh)) == 1 and len(files(wh)) == 1
    assert count(wh) == 4


def test_concurrent_loads_with_one_key_leave_one_file(wh, tmp_path):
    path = staged(tmp_path, "a.parquet", "d1", 5)
    results = load_concurrently(wh, TABLE, path, "same")
    assert sorted(r.already_loaded for r in results) == [False, True, True, True]
    assert len(manifest(wh)) == 1 and files(wh) == {manifest(wh)[0][0]}


def bad_rows(kind: str) -> list[dict]:
    rows = rows_for(TENANT, "bad", 3)
    if kind == "null":
        rows[1]["upload_id"] = None
    else:
        rows[2]["extra"] = '{"discount": '
    return rows


@pytest.mark.parametrize(("kind", "code"), [("null", "constraint_violation"),
                                            ("json", "bad_values")])
def test_invalid_rows_are_refused_like_an_insert_and_leave_nothing(wh, tmp_path, kind, code):
    wh.load_parquet(TABLE, staged(tmp_path, "ok.parquet", "bad", 2), idempotency_key="v1")
    before = manifest(wh)
    path = write_parquet(tmp_path / "bad.parquet", bad_rows(kind))
    with pytest.raises(errors.InvalidInput) as refused:
        wh.load_parquet(TABLE, path, idempotency_key="v2",
                        replace_where={"tenant_id": TENANT, "dataset_id": "bad"})
    assert refused.value.code == code
    assert manifest(wh) == before and files(wh) == {before[0][0]}
    assert count(wh, "bad") == 2

    plain = open_wh(tmp_path / "plain", segment_rows=0)  # the INSERT path agrees
    try:
        with pytest.raises(errors.InvalidInput) as inserted:
            plain.load_parquet(TABLE, path, idempotency_key="v2")
        assert inserted.value.code == code
    finally:
        plain.close()

    good = staged(tmp_path, "good.parquet", "bad", 1)
    assert wh.load_parquet(TABLE, good, idempotency_key="v2").already_loaded is False


def test_a_failed_commit_unlinks_the_new_file(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 3), idempotency_key="k1")
    kept = files(wh)
    with pytest.raises(errors.InvalidInput):
        wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d1", 3), idempotency_key="k2",
                        replace_where={"no_such_column": 1})
    assert files(wh) == kept and len(manifest(wh)) == 1


# ------------------------------------------------------------------ deletes


def test_delete_where_removes_whole_segments_and_keeps_untouched_ones(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 6), idempotency_key="a")
    wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d2", 4), idempotency_key="b")
    d1, d2 = (m[0] for m in manifest(wh))
    assert wh.delete_where(TABLE, {"tenant_id": TENANT, "dataset_id": "d1"},
                           idempotency_key="del") == 6
    assert [m[0] for m in live(wh)] == [d2]
    assert {m[0] for m in manifest(wh) if m[4] is not None} == {d1}
    assert files(wh) == {d1, d2}  # the removed file waits out the grace period
    assert native(wh) == 0
    assert (count(wh, "d1"), count(wh, "d2")) == (0, 4)


def test_delete_where_part_of_a_segment_moves_the_rest_to_native_rows(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 9), idempotency_key="a")
    before = {r["row_number"]: r for r in wh.query(ALL)}
    # regions cycle north, south, east: three of nine rows are east
    assert wh.delete_where(TABLE, {"tenant_id": TENANT, "region": "east"},
                           idempotency_key="del-east") == 3
    assert live(wh) == [] and native(wh) == 6
    got = wh.query(ALL)
    assert [r["row_number"] for r in got] == [1, 2, 4, 5, 7, 8]
    assert all(r == before[r["row_number"]] for r in got)  # same values and types
    assert wh.delete_where(TABLE, {"tenant_id": TENANT, "region": "east"},
                           idempotency_key="del-east") == 3  # recorded, nothing changed
    assert count(wh) == 6


def test_delete_where_matching_no_segment_row_changes_nothing(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 5), idempotency_key="a")
    segment = manifest(wh)
    assert wh.delete_where(TABLE, {"tenant_id": TENANT, "dataset_id": "d9"},
                           idempotency_key="none") == 0
    assert manifest(wh) == segment and native(wh) == 0 and count(wh) == 5


def test_delete_where_on_a_null_condition_matches_segment_nulls(wh, tmp_path):
    rows = rows_for(TENANT, "d1", 4)
    rows[0]["product"] = rows[3]["product"] = None
    wh.load_parquet(TABLE, write_parquet(tmp_path / "a.parquet", rows), idempotency_key="a")
    assert wh.delete_where(TABLE, {"product": None}, idempotency_key="nulls") == 2
    assert [r["row_number"] for r in wh.query(ALL)] == [2, 3]


def test_replace_where_with_segments_and_native_rows(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "v1.parquet", "d1", 5), idempotency_key="v1")
    wh.load_parquet(TABLE, staged(tmp_path, "o.parquet", "d2", 3), idempotency_key="o")
    # a mixed segment: replacing d1 keeps its d2 rows, now natively
    mixed = rows_for(TENANT, "d1", 2, start=20) + rows_for(TENANT, "d2", 2, start=30)
    wh.load_parquet(TABLE, write_parquet(tmp_path / "m.parquet", mixed), idempotency_key="m")
    v2 = staged(tmp_path, "v2.parquet", "d1", 2, upload="u2")
    result = wh.load_parquet(TABLE, v2, idempotency_key="v2",
                             replace_where={"tenant_id": TENANT, "dataset_id": "d1"})
    assert result == LoadResult(rows_loaded=2, already_loaded=False)
    assert native(wh) == 2  # the mixed segment's d2 rows
    assert len(live(wh)) == 2  # d2's own segment and the new d1 one
    got = wh.query("SELECT DISTINCT upload_id FROM {business_data} WHERE dataset_id = 'd1'")
    assert got == [{"upload_id": "u2"}]
    assert (count(wh, "d1"), count(wh, "d2")) == (2, 5)


# ------------------------------------------------------------------ cleanup and open


def test_removed_files_outlive_the_grace_period_then_go_on_the_next_write(wh, tmp_path):
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 3), idempotency_key="a")
    [(old, *_)] = manifest(wh)
    wh.delete_where(TABLE, {"dataset_id": "d1"}, idempotency_key="del")
    age_removed(wh, 9)
    wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d2", 2), idempotency_key="b")
    assert old in files(wh)
    age_removed(wh, 11)
    wh.load_parquet(TABLE, staged(tmp_path, "c.parquet", "d3", 2), idempotency_key="c")
    assert old not in files(wh) and old not in [m[0] for m in manifest(wh)]
    assert len(files(wh)) == 2 and count(wh) == 4


def test_removed_files_are_deleted_at_open(tmp_path):
    wh = open_wh(tmp_path)
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 3), idempotency_key="a")
    wh.load_parquet(TABLE, staged(tmp_path, "b.parquet", "d2", 2), idempotency_key="b")
    wh.delete_where(TABLE, {"dataset_id": "d1"}, idempotency_key="del")
    assert len(files(wh)) == 2
    wh.close()
    wh = open_wh(tmp_path)
    try:
        assert [m[4] for m in manifest(wh)] == [None]
        assert files(wh) == {manifest(wh)[0][0]}
        assert (count(wh, "d1"), count(wh, "d2")) == (0, 2)
    finally:
        wh.close()


def test_an_unregistered_file_left_by_a_crash_is_deleted_at_open(tmp_path):
    wh = open_wh(tmp_path)
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 3), idempotency_key="a")
    registered = files(wh)
    # a load that linked its file and died before its transaction committed
    os.link(staged(tmp_path, "b.parquet", "d2", 5), seg_dir(wh) / "0123abcd.parquet")
    wh.close()
    wh = open_wh(tmp_path)
    try:
        assert files(wh) == registered
        assert count(wh) == 3 and count(wh, "d2") == 0
    finally:
        wh.close()


def test_a_moved_data_directory_still_reads_its_segments(tmp_path):
    first = tmp_path / "first"
    wh = open_wh(first)
    wh.load_parquet(TABLE, staged(tmp_path, "a.parquet", "d1", 4), idempotency_key="a")
    expected = wh.query(ALL)
    wh.close()
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    wh = DuckDbWarehouse(moved / "warehouse.duckdb", segment_rows=1)  # no ensure_table
    try:
        assert wh.query(ALL) == expected
        assert len(live(wh)) == 1
    finally:
        wh.close()


def test_a_database_without_views_gets_them_at_open(tmp_path):
    from shared.schema import duckdb_ddl

    db = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    db.execute(duckdb_ddl(f'"{TABLE}"'))
    db.execute('INSERT INTO "business_data" (tenant_id, dataset_id, upload_id, row_number, '
               "occurred_at, occurred_date, loaded_at) VALUES ('t1', 'd1', 'u', 1, "
               "TIMESTAMPTZ '2024-01-01 00:00:00+00', DATE '2024-01-01', now())")
    db.close()
    wh = DuckDbWarehouse(tmp_path / "warehouse.duckdb", segment_rows=1)
    try:
        assert count(wh) == 1
    finally:
        wh.close()


def test_table_names_may_not_take_a_view_name(wh):
    with pytest.raises(errors.InvalidInput):
        wh.ensure_table(f"{TABLE}__all")
    with pytest.raises(errors.NotFound):
        wh.query("SELECT COUNT(*) AS n FROM {business_data__all}")
