"""Per-tenant tables on the BigQuery emulator: loads, replaces, deletes and queries of
`business_data` go to the tenant's own table, and two tenants replacing at the same
moment both succeed (BigQuery would cancel one of two transactions on one shared table:
tests/unit/test_warehouse_layout.py models that rule)."""

from __future__ import annotations

import threading
import uuid

import pytest

from shared import schema
from tests.support import emulators
from tests.support.warehouse_data import rows_for, write_parquet

pytestmark = pytest.mark.emulator
SQL_COUNT = "SELECT COUNT(*) AS n FROM {business_data} WHERE tenant_id = @tenant_id"


@pytest.fixture
def make(request):
    from shared.adapters.gcp.bigquery import BigQueryWarehouse

    emu = emulators.shared_emulator(request, "bigquery")
    client = emulators.bigquery_client(emu)
    dataset = f"tenants_{uuid.uuid4().hex[:8]}"
    emulators.bigquery_dataset(client, dataset)

    def build() -> BigQueryWarehouse:
        # One instance per ingest task, as on Cloud Run (concurrency 1).
        return BigQueryWarehouse(project=emulators.PROJECT, dataset=dataset, location="EU",
                                 client=emulators.bigquery_client(emu), backoff_initial_s=0.01)
    return build, client, dataset


def count(wh, tenant: str) -> int:
    return int(wh.query(SQL_COUNT, {"tenant_id": tenant})[0]["n"])


def test_two_tenants_replacing_at_once_both_succeed_in_their_own_tables(make, tmp_path):
    build, client, dataset = make
    tenants = [f"t_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    wh = build()
    wh.ensure_table(schema.TABLE)
    for t in tenants:
        old = write_parquet(tmp_path / f"{t}-old.parquet", rows_for(t, "d1", 4, upload="u0"))
        wh.load_parquet(schema.TABLE, old, idempotency_key=f"{t}-old")

    results, failures = {}, []
    barrier = threading.Barrier(len(tenants))

    def replace(t: str, n: int) -> None:
        path = write_parquet(tmp_path / f"{t}-new.parquet", rows_for(t, "d1", n, upload="u1"))
        barrier.wait()
        try:
            results[t] = build().load_parquet(
                schema.TABLE, path, idempotency_key=f"{t}-new",
                replace_where={"tenant_id": t, "dataset_id": "d1"})
        except Exception as exc:
            failures.append((t, exc))

    threads = [threading.Thread(target=replace, args=(t, 6 + i))
               for i, t in enumerate(tenants)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert failures == []
    assert [results[t].rows_loaded for t in tenants] == [6, 7]
    assert [count(wh, t) for t in tenants] == [6, 7]  # the old rows went, per tenant
    tables = {t.table_id for t in client.list_tables(f"{emulators.PROJECT}.{dataset}")}
    assert {schema.tenant_table(schema.TABLE, t) for t in tenants} <= tables
    # Nothing was written to the shared template.
    [template] = client.query(
        f"SELECT COUNT(*) AS n FROM `{emulators.PROJECT}.{dataset}.{schema.TABLE}`"  # noqa: S608
    ).result()
    assert template["n"] == 0


def test_deletes_address_the_tenants_table_only(make, tmp_path):
    build, _, _ = make
    a, b = (f"t_{uuid.uuid4().hex[:16]}" for _ in range(2))
    wh = build()
    wh.ensure_table(schema.TABLE)
    for t in (a, b):
        path = write_parquet(tmp_path / f"{t}.parquet", rows_for(t, "d1", 5, upload="u1"))
        wh.load_parquet(schema.TABLE, path, idempotency_key=f"{t}-load")
    removed = wh.delete_where(schema.TABLE, {"tenant_id": a, "dataset_id": "d1",
                                             "upload_id": "u1"}, idempotency_key=f"{a}-del")
    assert removed == 5
    assert (count(wh, a), count(wh, b)) == (0, 5)


def test_a_tenant_without_loads_reads_nothing_and_deletes_nothing(make):
    build, _, _ = make
    wh = build()
    wh.ensure_table(schema.TABLE)
    fresh = f"t_{uuid.uuid4().hex[:16]}"
    assert count(wh, fresh) == 0
    assert wh.delete_where(schema.TABLE, {"tenant_id": fresh, "dataset_id": "d1"},
                           idempotency_key=f"{fresh}-del") == 0
