"""Warehouse contract: atomic idempotent loads and parameterized BigQuery SQL, for DuckDB
and BigQuery."""

from __future__ import annotations

import contextlib
import threading
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from shared import errors
from shared.ports import LoadResult, Warehouse
from tests.contract import backends
from tests.support.warehouse_data import (
    ARROW_SCHEMA,
    T0,
    load_concurrently,
    rows_for,
    write_parquet,
)

INJECTION = "'; DROP TABLE x; --"


@pytest.fixture(params=["local", "local-segments", "gcp"])
def wh(request) -> Warehouse:
    return backends.make("warehouse", request)


@pytest.fixture
def table(wh) -> str:
    name = f"bd_{uuid.uuid4().hex[:10]}"
    wh.ensure_table(name)
    return name


@pytest.fixture
def tenant() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def run(wh: Warehouse, table: str, sql: str, params: dict | None = None) -> list[dict]:
    """Query with `{T}` standing for the test's own table token."""
    return wh.query(sql.replace("{T}", "{" + table + "}"), params)


def count(wh: Warehouse, table: str, tenant: str, dataset: str | None = None) -> int:
    sql = "SELECT COUNT(*) AS n FROM {T} WHERE tenant_id = @tenant"
    params: dict = {"tenant": tenant}
    if dataset is not None:
        sql += " AND dataset_id = @dataset"
        params["dataset"] = dataset
    return run(wh, table, sql, params)[0]["n"]


# ------------------------------------------------------------------ tables and loads


def test_ensure_table_is_idempotent(wh, table, tenant):
    wh.ensure_table(table)
    wh.ensure_table(table)
    assert count(wh, table, tenant) == 0


def test_query_of_a_missing_table_is_not_found(wh):
    with pytest.raises(errors.NotFound):
        wh.query("SELECT COUNT(*) AS n FROM {no_such_table_here}")


def test_load_then_query_returns_python_values(wh, table, tenant, tmp_path):
    path = write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 3))
    result = wh.load_parquet(table, path, idempotency_key=f"load-{tenant}-1")
    assert result == LoadResult(rows_loaded=3, already_loaded=False)
    got = run(wh, table,
        "SELECT row_number, occurred_at, occurred_date, amount, quantity, region, "
        "JSON_VALUE(extra, '$.discount') AS discount FROM {T} "
        "WHERE tenant_id = @tenant ORDER BY row_number", {"tenant": tenant})
    assert [r["row_number"] for r in got] == [1, 2, 3]
    first = got[0]
    assert first["occurred_at"] == T0
    assert first["occurred_at"].utcoffset() == timedelta(0)
    assert first["occurred_date"] == date(2024, 1, 1)
    assert first["amount"] == Decimal("10.25")
    assert first["quantity"] == 0.0
    assert first["region"] == "north"
    assert [r["discount"] for r in got] == ["0", "1", "0"]


def test_missing_optional_columns_load_as_null(wh, table, tenant, tmp_path):
    keep = [f for f in ARROW_SCHEMA if f.name not in ("product", "extra", "quantity")]
    schema = pa.schema(keep)
    rows = [{k: v for k, v in r.items() if k in schema.names} for r in rows_for(tenant, "d", 2)]
    wh.load_parquet(table, write_parquet(tmp_path / "p.parquet", rows, schema),
                    idempotency_key=f"partial-{tenant}")
    got = run(wh, table, "SELECT product, extra, quantity, amount FROM {T} "
                         "WHERE tenant_id = @tenant", {"tenant": tenant})
    assert len(got) == 2
    assert all(r["product"] is None and r["extra"] is None and r["quantity"] is None
               for r in got)
    assert all(r["amount"] is not None for r in got)


def test_reload_with_the_same_key_changes_nothing(wh, table, tenant, tmp_path):
    key = f"load-{tenant}"
    first = write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 4))
    other = write_parquet(tmp_path / "b.parquet", rows_for(tenant, "d1", 7, start=10))
    assert wh.load_parquet(table, first, idempotency_key=key).already_loaded is False
    again = wh.load_parquet(table, first, idempotency_key=key)
    assert again.already_loaded is True
    assert wh.load_parquet(table, other, idempotency_key=key).already_loaded is True
    assert count(wh, table, tenant) == 4


def test_concurrent_loads_with_one_key_load_once(wh, table, tenant, tmp_path):
    path = write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 5))
    results = load_concurrently(wh, table, path, f"same-{tenant}")
    assert sorted(r.already_loaded for r in results) == [False, True, True, True]
    assert count(wh, table, tenant) == 5


def test_replace_where_swaps_one_datasets_rows(wh, table, tenant, tmp_path):
    wh.load_parquet(table, write_parquet(tmp_path / "v1.parquet", rows_for(tenant, "d1", 5)),
                    idempotency_key=f"{tenant}-d1-v1")
    wh.load_parquet(table, write_parquet(tmp_path / "o.parquet", rows_for(tenant, "d2", 3)),
                    idempotency_key=f"{tenant}-d2-v1")
    v2 = write_parquet(tmp_path / "v2.parquet", rows_for(tenant, "d1", 2, upload="u2"))
    result = wh.load_parquet(table, v2, idempotency_key=f"{tenant}-d1-v2",
                             replace_where={"tenant_id": tenant, "dataset_id": "d1"})
    assert result == LoadResult(rows_loaded=2, already_loaded=False)
    got = run(wh, table, "SELECT DISTINCT upload_id FROM {T} WHERE tenant_id = @t "
                         "AND dataset_id = @d", {"t": tenant, "d": "d1"})
    assert got == [{"upload_id": "u2"}]
    assert count(wh, table, tenant, "d1") == 2
    assert count(wh, table, tenant, "d2") == 3


def test_failing_load_leaves_nothing_behind_and_frees_the_key(wh, table, tenant, tmp_path):
    wh.load_parquet(table, write_parquet(tmp_path / "v1.parquet", rows_for(tenant, "d1", 4)),
                    idempotency_key=f"{tenant}-v1")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    key = f"{tenant}-v2"
    with pytest.raises(errors.AppError):
        wh.load_parquet(table, str(bad), idempotency_key=key,
                        replace_where={"tenant_id": tenant, "dataset_id": "d1"})
    assert count(wh, table, tenant, "d1") == 4  # the delete was rolled back with it
    good = write_parquet(tmp_path / "v2.parquet", rows_for(tenant, "d1", 1))
    result = wh.load_parquet(table, good, idempotency_key=key,
                             replace_where={"tenant_id": tenant, "dataset_id": "d1"})
    assert result.already_loaded is False
    assert count(wh, table, tenant, "d1") == 1


def test_load_missing_a_required_column_fails_cleanly(wh, table, tenant, tmp_path):
    schema = pa.schema([f for f in ARROW_SCHEMA if f.name != "tenant_id"])
    rows = [{k: v for k, v in r.items() if k != "tenant_id"} for r in rows_for(tenant, "dx", 2)]
    with pytest.raises(errors.AppError):
        wh.load_parquet(table, write_parquet(tmp_path / "r.parquet", rows, schema),
                        idempotency_key=f"{tenant}-noreq")
    got = run(wh, table, "SELECT COUNT(*) AS n FROM {T} WHERE dataset_id = @d", {"d": "dx"})
    assert got == [{"n": 0}]


def test_delete_where_is_idempotent_by_key(wh, table, tenant, tmp_path):
    wh.load_parquet(table, write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 3)),
                    idempotency_key=f"{tenant}-a")
    wh.load_parquet(table, write_parquet(tmp_path / "b.parquet", rows_for(tenant, "d2", 2)),
                    idempotency_key=f"{tenant}-b")
    where = {"tenant_id": tenant, "dataset_id": "d1"}
    assert wh.delete_where(table, where, idempotency_key=f"{tenant}-del") == 3
    assert count(wh, table, tenant, "d1") == 0
    assert count(wh, table, tenant, "d2") == 2
    # Rows loaded after the delete survive a re-delivered delete with the same key.
    wh.load_parquet(table, write_parquet(tmp_path / "c.parquet", rows_for(tenant, "d1", 2)),
                    idempotency_key=f"{tenant}-c")
    wh.delete_where(table, where, idempotency_key=f"{tenant}-del")
    assert count(wh, table, tenant, "d1") == 2


def test_delete_where_removes_only_the_matching_rows_of_a_load(wh, table, tenant, tmp_path):
    wh.load_parquet(table, write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 9)),
                    idempotency_key=f"{tenant}-a")
    # regions cycle north, south, east: rows 3, 6 and 9 are east
    assert wh.delete_where(table, {"tenant_id": tenant, "region": "east"},
                           idempotency_key=f"{tenant}-del-east") == 3
    got = run(wh, table, "SELECT row_number, amount, JSON_VALUE(extra, '$.discount') AS d "
                         "FROM {T} WHERE tenant_id = @t ORDER BY row_number", {"t": tenant})
    assert [r["row_number"] for r in got] == [1, 2, 4, 5, 7, 8]
    assert got[2]["amount"] == Decimal("13.25") and got[2]["d"] == "1"
    assert wh.delete_where(table, {"tenant_id": tenant, "region": "north"},
                           idempotency_key=f"{tenant}-del-north") == 3
    assert count(wh, table, tenant) == 3


@pytest.mark.parametrize("where", [{}, {"no_such_column": "x"},
                                   {"tenant_id": "t", f"region{INJECTION}": "east"}],
                         ids=["empty", "unknown-column", "injected-column"])
def test_delete_where_refuses_a_condition_it_cannot_build(wh, table, tenant, tmp_path, where):
    wh.load_parquet(table, write_parquet(tmp_path / "a.parquet", rows_for(tenant, "d1", 3)),
                    idempotency_key=f"{tenant}-a")
    with pytest.raises(errors.InvalidInput):
        wh.delete_where(table, where, idempotency_key=f"{tenant}-bad")
    assert count(wh, table, tenant, "d1") == 3


def test_delete_where_with_a_null_value_matches_only_null_cells(wh, table, tenant, tmp_path):
    rows = rows_for(tenant, "d1", 4)
    rows[1]["product"] = rows[3]["product"] = None
    wh.load_parquet(table, write_parquet(tmp_path / "a.parquet", rows),
                    idempotency_key=f"{tenant}-a")
    assert wh.delete_where(table, {"tenant_id": tenant, "product": None},
                           idempotency_key=f"{tenant}-del-null") == 2
    got = run(wh, table, "SELECT row_number FROM {T} WHERE tenant_id = @t "
                         "ORDER BY row_number", {"t": tenant})
    assert [r["row_number"] for r in got] == [1, 3]


# ------------------------------------------------------------------ queries and parameters


@pytest.fixture
def loaded(wh, table, tenant, tmp_path):
    rows = rows_for(tenant, "d1", 12)
    wh.load_parquet(table, write_parquet(tmp_path / "q.parquet", rows),
                    idempotency_key=f"{tenant}-q")
    return table


def test_query_with_typed_parameters(wh, loaded, tenant):
    got = run(wh, loaded,
        "SELECT row_number FROM {T} WHERE tenant_id = @tenant AND dataset_id = @ds "
        "AND row_number > @min_row AND occurred_date BETWEEN @start AND @end "
        "AND occurred_at < @before AND region IN UNNEST(@regions) ORDER BY row_number",
        {"tenant": tenant, "ds": "d1", "min_row": 1, "start": date(2024, 1, 2),
         "end": date(2024, 1, 10), "before": T0 + timedelta(days=8),
         "regions": ["north", "south"]})
    # rows 2..8 fall in the window (row 9 occurs after `before`); east is rows 3 and 6
    assert [r["row_number"] for r in got] == [2, 4, 5, 7, 8]


def test_empty_array_parameter_matches_nothing(wh, loaded, tenant):
    got = run(wh, loaded, "SELECT COUNT(*) AS n FROM {T} WHERE tenant_id = @tenant "
                          "AND region IN UNNEST(@regions)",
                          {"tenant": tenant, "regions": []})
    assert got == [{"n": 0}]


def test_parameters_containing_sql_are_values(wh, loaded, tenant, tmp_path):
    got = run(wh, loaded, "SELECT COUNT(*) AS n FROM {T} WHERE tenant_id = @tenant "
                          "AND (region = @region OR customer IN UNNEST(@customers))",
                          {"tenant": tenant, "region": INJECTION, "customers": [INJECTION]})
    assert got == [{"n": 0}]
    wh.load_parquet(loaded, write_parquet(tmp_path / "i.parquet",
                                          rows_for(tenant, "d1", 1, start=50, region=INJECTION)),
                    idempotency_key=f"{tenant}-inj")
    got = run(wh, loaded, "SELECT region FROM {T} WHERE tenant_id = @tenant "
                          "AND region = @region", {"tenant": tenant, "region": INJECTION})
    assert got == [{"region": INJECTION}]
    assert count(wh, loaded, tenant) == 13


def test_metric_style_query_runs_as_bigquery_would(wh, loaded, tenant):
    got = run(wh, loaded,
        """SELECT DATE_TRUNC(occurred_date, WEEK(MONDAY)) AS week,
                   SUM(amount) AS revenue, COUNT(DISTINCT customer) AS customers,
                   SAFE_DIVIDE(SUM(amount), COUNT(DISTINCT order_id)) AS aov
            FROM {T} WHERE tenant_id = @tenant
            GROUP BY week ORDER BY week""", {"tenant": tenant})
    # Jan 1 2024 is a Monday: days 1-7 are week one, 8-12 week two.
    assert [r["week"] for r in got] == [date(2024, 1, 1), date(2024, 1, 8)]
    assert got[0]["revenue"] == sum(Decimal(f"{10 + i}.25") for i in range(7))
    assert got[1]["revenue"] == sum(Decimal(f"{10 + i}.25") for i in range(7, 12))
    assert [r["customers"] for r in got] == [4, 4]
    assert float(got[1]["aov"]) == pytest.approx(float(got[1]["revenue"]) / 5)


def test_concurrent_queries_from_threads(wh, loaded, tenant):
    errors_seen: list[BaseException] = []
    counts: list[int] = []

    def run() -> None:
        try:
            for _ in range(5):
                counts.append(count(wh, loaded, tenant))
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == []
    assert counts == [12] * 20


# ------------------------------------------------------------------ local only


def test_local_query_timeout_interrupts_and_raises_unavailable(tmp_path):
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    try:
        with pytest.raises(errors.Unavailable):
            wh.query("SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 100000)) AS a "
                     "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 100000)) AS b "
                     "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 100000)) AS c", timeout_s=0.2)
        assert wh.query("SELECT 1 AS one") == [{"one": 1}]  # the connection still works
    finally:
        wh.close()


def test_local_query_refuses_statements_that_write(tmp_path):
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    try:
        wh.ensure_table("business_data")
        with pytest.raises(ValueError):
            wh.query("DELETE FROM {business_data} WHERE TRUE")
        with pytest.raises(ValueError):
            wh.query("DROP TABLE {business_data}")
        assert wh.query("SELECT COUNT(*) AS n FROM {business_data}") == [{"n": 0}]
    finally:
        wh.close()


# ------------------------------------------------------------------ staged shards


STAGING_BUCKET = "tidemark-contract-staging"


@pytest.fixture
def stage(wh, request, tmp_path):
    """Puts local Parquet files into the staging bucket of the warehouse's own backend
    (the local blob store under the warehouse's blob root; fake-gcs-server, whose
    objects the BigQuery emulator reads by gs:// URI) and returns their URIs."""
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    if isinstance(wh, DuckDbWarehouse):
        from shared.adapters.local.blobs import FileBlobStore

        assert wh.blob_root is not None
        blobs = FileBlobStore(wh.blob_root, base_url="http://127.0.0.1:8080",
                              signing_key=b"k" * 32, on_finalized=lambda event: None)
    else:
        from tests.support import emulators

        client = emulators.storage_client(emulators.shared_emulator(request, "gcs"))
        if client.lookup_bucket(STAGING_BUCKET) is None:
            from google.api_core.exceptions import Conflict

            with contextlib.suppress(Conflict):
                client.create_bucket(STAGING_BUCKET)
        blobs = backends.gcp_blobstore(request)

    def put(paths, prefix: str) -> list[str]:
        uris = []
        for i, path in enumerate(paths):
            name = f"staging/{prefix}/shard-{i:05d}.parquet"
            with open(path, "rb") as fh:
                blobs.put(STAGING_BUCKET, name, fh, content_type="application/octet-stream")
            uris.append(f"gs://{STAGING_BUCKET}/{name}")
        return uris
    return put


def test_staged_shards_load_as_one_load_at_most_once(wh, table, tenant, tmp_path, stage):
    shards = [write_parquet(tmp_path / f"s{i}.parquet",
                            rows_for(tenant, "d1", n, start=100 * i))
              for i, n in enumerate((3, 4, 2))]
    uris = stage(shards, tenant)
    key = f"staged-{tenant}"

    def load(some):
        return wh.load_staged(table, some, idempotency_key=key, tenant_id=tenant)
    assert load(uris) == LoadResult(9, False)
    assert load(uris) == LoadResult(9, True)
    assert load(uris[:1]).already_loaded is True
    got = run(wh, table, "SELECT row_number FROM {T} WHERE tenant_id = @t "
                         "ORDER BY row_number", {"t": tenant})
    assert [r["row_number"] for r in got] == [1, 2, 3, 101, 102, 103, 104, 201, 202]


def test_staged_shards_replace_one_datasets_rows(wh, table, tenant, tmp_path, stage):
    wh.load_parquet(table, write_parquet(tmp_path / "v1.parquet", rows_for(tenant, "d1", 5)),
                    idempotency_key=f"{tenant}-d1-v1")
    wh.load_parquet(table, write_parquet(tmp_path / "o.parquet", rows_for(tenant, "d2", 3)),
                    idempotency_key=f"{tenant}-d2-v1")
    shards = [write_parquet(tmp_path / f"v2-{i}.parquet",
                            rows_for(tenant, "d1", 2, start=10 * i, upload="u2"))
              for i in range(2)]
    result = wh.load_staged(table, stage(shards, tenant), idempotency_key=f"{tenant}-d1-v2",
                            replace_where={"tenant_id": tenant, "dataset_id": "d1"})
    assert result == LoadResult(rows_loaded=4, already_loaded=False)
    got = run(wh, table, "SELECT upload_id, COUNT(*) AS n FROM {T} WHERE tenant_id = @t "
                         "AND dataset_id = @d GROUP BY upload_id", {"t": tenant, "d": "d1"})
    assert got == [{"upload_id": "u2", "n": 4}]
    assert count(wh, table, tenant, "d2") == 3


@pytest.mark.parametrize("uris", [[], ["/etc/passwd"], ["gs://bucket-only"],
                                  ["gs://tidemark-contract-staging/staging/*.parquet"]],
                         ids=["none", "not_gs", "no_object", "wildcard"])
def test_staged_load_refuses_what_is_not_a_shard_uri(wh, table, tenant, uris):
    with pytest.raises(errors.InvalidInput):
        wh.load_staged(table, uris, idempotency_key=f"bad-{tenant}")
    assert count(wh, table, tenant) == 0
