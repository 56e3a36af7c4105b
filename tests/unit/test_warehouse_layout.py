"""The warehouse layout for many tenants: each tenant's rows in a table of its own, so
a replace (a DELETE + INSERT transaction) never meets another tenant's.

BigQuery cancels one of two concurrent transactions that update or delete rows of the
same table (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency);
the emulator runs statements one at a time and cannot show it, so
tests/support/bq_conflicts.py models the rule on the SQL the adapter builds."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from shared import errors, schema
from shared.adapters.gcp.bigquery import BigQueryWarehouse
from tests.support.bq_conflicts import cancelled, mutated_tables
from tests.support.warehouse_data import rows_for, write_parquet

COND = "`dataset_id` = @w0 AND `tenant_id` = @w1"


@pytest.fixture
def wh() -> BigQueryWarehouse:
    # Naming and SQL need only the project of a client; no call reaches BigQuery.
    return BigQueryWarehouse(project="p", client=SimpleNamespace(project="p"),
                             backoff_initial_s=0.001, retry_deadline_s=1.0)


def swap(wh: BigQueryWarehouse, table: str) -> str:
    return wh.swap_sql(table, f"_staging_{table}_x_0", COND)


def test_the_swap_mutates_only_its_target_table(wh):
    assert mutated_tables(swap(wh, "business_data_t_a")) == {"p.tidemark.business_data_t_a"}


def test_replaces_of_two_tenants_on_the_shared_table_would_be_cancelled(wh):
    # The former layout: every tenant's replace mutated the one business_data table.
    assert cancelled(swap(wh, schema.TABLE), swap(wh, schema.TABLE))


def test_replaces_of_two_tenants_on_their_own_tables_do_not_conflict(wh):
    a = wh.physical_table(schema.TABLE, "t_0123456789abcdef")
    b = wh.physical_table(schema.TABLE, "t_fedcba9876543210")
    assert not cancelled(swap(wh, a), swap(wh, b))


def test_two_replaces_of_one_tenant_still_conflict_and_are_retried(wh):
    table = wh.physical_table(schema.TABLE, "t_0123456789abcdef")
    assert cancelled(swap(wh, table), swap(wh, table))
    failure = RuntimeError("Transaction is aborted due to concurrent update against "
                           "table p:tidemark.business_data_t_0123456789abcdef")
    assert wh._retry_swap(failure, started=time.monotonic(), attempt=0)


def test_a_swap_refused_for_another_reason_is_not_retried(wh):
    failure = RuntimeError("Syntax error: Unexpected keyword")
    assert not wh._retry_swap(failure, started=time.monotonic(), attempt=0)


@pytest.mark.parametrize("tenant, table", [
    ("t_0123456789abcdef", "business_data_t_0123456789abcdef"),
    ("Acme_2", "business_data_Acme_2"),
])
def test_tenant_ids_of_name_characters_name_their_table(tenant, table):
    assert schema.tenant_table(schema.TABLE, tenant) == table


def test_other_tenant_ids_map_to_distinct_valid_names():
    a = schema.tenant_table(schema.TABLE, "a-b")
    b = schema.tenant_table(schema.TABLE, "a.b")
    assert a != b
    for name in (a, b):
        assert name.startswith("business_data_h_") and name.replace("_", "").isalnum()


def test_only_the_tenant_tables_are_split(wh):
    assert wh.physical_table("bd_other", "t_1") == "bd_other"


def test_a_query_of_the_tenant_table_must_carry_its_tenant(wh):
    with pytest.raises(errors.InvalidInput) as err:
        wh._resolve("SELECT COUNT(*) FROM {business_data} WHERE dataset_id = @d", {"d": "x"})
    assert err.value.code == "tenant_required"


def test_a_load_names_its_tenant_through_its_rows(tmp_path):
    from shared.adapters.gcp.bigquery_inputs import parquet_tenant

    one = write_parquet(tmp_path / "one.parquet", rows_for("t_a", "d1", 3))
    assert parquet_tenant(one) == "t_a"
    empty = write_parquet(tmp_path / "empty.parquet", [])
    assert parquet_tenant(empty) is None
    mixed = write_parquet(tmp_path / "mixed.parquet",
                          rows_for("t_a", "d1", 2) + rows_for("t_b", "d1", 2))
    with pytest.raises(errors.InvalidInput) as err:
        parquet_tenant(mixed)
    assert err.value.code == "tenant_mismatch"


def test_a_query_reads_the_table_of_the_tenant_its_predicate_names(wh):
    wh._exists_cache.add("business_data_t_a")  # as if seen to exist
    sql = wh._resolve("SELECT 1 FROM {business_data} WHERE tenant_id = @t", {"t": "t_a"})
    assert "`p.tidemark.business_data_t_a`" in sql and "tenant_id = @t" in sql


def test_a_query_naming_two_tenants_is_refused(wh):
    with pytest.raises(errors.InvalidInput) as err:
        wh._resolve("SELECT 1 FROM {business_data} WHERE tenant_id = @a OR tenant_id = @b",
                    {"a": "t_a", "b": "t_b"})
    assert err.value.code == "tenant_mismatch"
