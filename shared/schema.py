"""The canonical warehouse schema: the one source of truth for the code, the local
DuckDB table, the BigQuery table and terraform (which reads schema/business_data.json,
generated from this module and checked by a test)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    bq_type: str  # BigQuery type name
    mode: str = "NULLABLE"
    description: str = ""


BUSINESS_DATA: tuple[Column, ...] = (
    Column("tenant_id", "STRING", "REQUIRED", "Owning tenant"),
    Column("dataset_id", "STRING", "REQUIRED", "Dataset within the tenant"),
    Column("upload_id", "STRING", "REQUIRED", "Upload the row came from"),
    Column("row_number", "INT64", "REQUIRED", "1-based data row number in the file"),
    Column("occurred_at", "TIMESTAMP", "REQUIRED", "When the sale happened (UTC)"),
    Column("occurred_date", "DATE", "REQUIRED", "Partitioning date of occurred_at"),
    Column("amount", "NUMERIC", "NULLABLE", "Revenue of the line, in the file's currency"),
    Column("quantity", "FLOAT64", "NULLABLE", "Units"),
    Column("product", "STRING"),
    Column("category", "STRING"),
    Column("region", "STRING"),
    Column("customer", "STRING"),
    Column("channel", "STRING"),
    Column("order_id", "STRING"),
    Column("extra", "JSON", "NULLABLE", "The unmapped columns of the row"),
    Column("loaded_at", "TIMESTAMP", "REQUIRED", "When the load committed"),
)

DIMENSIONS: tuple[str, ...] = ("product", "category", "region", "customer", "channel")
MEASURES: tuple[str, ...] = ("amount", "quantity")
ROLES: tuple[str, ...] = ("occurred_at", "amount", "quantity", "product", "category",
                          "region", "customer", "channel", "order_id")
TABLE = "business_data"
PARTITION_FIELD = "occurred_date"
# Monthly, not daily: the ingest accepts dates from 1980 to 2099 (shared/ingest/values.py),
# 1,440 months; one load may touch at most 4,000 partitions, a table hold at most 10,000
# and take 30,000 partition modifications a day
# (https://cloud.google.com/bigquery/quotas#partitioned_tables). 43,800 days would fit
# none of them (a file of more than eleven years of daily data would fail).
PARTITION_TYPE = "MONTH"
CLUSTER_FIELDS: tuple[str, ...] = ("tenant_id", "dataset_id")
# On BigQuery each tenant has a table of its own, `business_data_<tenant key>` (the
# quota model in docs/gcp.md): the tenant is the table, so its rows cluster by dataset
# then date. `business_data` itself stays, empty, as the template a tenant without
# loads is read from.
TENANT_CLUSTER_FIELDS: tuple[str, ...] = ("dataset_id", "occurred_date")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_]{1,128}$")


def tenant_table(table: str, tenant_id: str) -> str:
    """The physical table of one tenant: `<table>_<tenant id>` for ids made of letters,
    digits and underscores (every id the sign-up issues, `t_<16 hex>`), otherwise
    `<table>_h_<sha256 prefix>`, so any id maps to a valid table name and two ids never
    to the same one."""
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError("a tenant table needs a tenant id")
    if _PLAIN_KEY.match(tenant_id):
        return f"{table}_{tenant_id}"
    return f"{table}_h_{hashlib.sha256(tenant_id.encode()).hexdigest()[:40]}"

_DUCKDB_TYPES = {
    "STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "NUMERIC": "DECIMAL(38,9)",
    "TIMESTAMP": "TIMESTAMPTZ", "DATE": "DATE", "JSON": "JSON", "BOOL": "BOOLEAN",
}


def duckdb_ddl(table: str) -> str:
    """CREATE TABLE for the local warehouse. JSON columns are zstd-compressed: for
    1.49 M rows of `extra` that is 24 MB instead of 40 MB, and less CPU to insert."""
    def column(c: Column) -> str:
        text = f'"{c.name}" {_DUCKDB_TYPES[c.bq_type]}'
        if c.bq_type == "JSON":
            text += " USING COMPRESSION zstd"
        return text + (" NOT NULL" if c.mode == "REQUIRED" else "")

    cols = ",\n  ".join(column(c) for c in BUSINESS_DATA)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


def bigquery_schema_json() -> list[dict[str, str]]:
    return [{"name": c.name, "type": c.bq_type, "mode": c.mode, "description": c.description}
            for c in BUSINESS_DATA]
