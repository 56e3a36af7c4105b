"""Rows of the canonical table for the warehouse suites (the Warehouse contract and the
DuckDB segment tests): Arrow rows with every column set, a Parquet file of them, and
n loads of one file racing with one idempotency key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shared.ports import LoadResult, Warehouse

ARROW_SCHEMA = pa.schema([
    ("tenant_id", pa.string()), ("dataset_id", pa.string()), ("upload_id", pa.string()),
    ("row_number", pa.int64()), ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("occurred_date", pa.date32()), ("amount", pa.decimal128(38, 9)),
    ("quantity", pa.float64()), ("product", pa.string()), ("category", pa.string()),
    ("region", pa.string()), ("customer", pa.string()), ("channel", pa.string()),
    ("order_id", pa.string()), ("extra", pa.string()), ("loaded_at", pa.timestamp("us", tz="UTC")),
])
T0 = datetime(2024, 1, 1, 9, 30, tzinfo=UTC)


def rows_for(tenant: str, dataset: str, n: int, *, upload: str = "u1", start: int = 0,
             region: str | None = None) -> list[dict]:
    regions = ["north", "south", "east"]
    out = []
    for i in range(start, start + n):
        at = T0 + timedelta(days=i, hours=i % 5)
        out.append({
            "tenant_id": tenant, "dataset_id": dataset, "upload_id": upload,
            "row_number": i + 1, "occurred_at": at, "occurred_date": at.date(),
            "amount": Decimal(f"{10 + i}.25"), "quantity": float(i % 4),
            "product": f"p{i % 3}", "category": "c", "region": region or regions[i % 3],
            "customer": f"cust{i % 4}", "channel": "web", "order_id": f"o{i}",
            "extra": f'{{"discount": "{i % 2}"}}', "loaded_at": T0,
        })
    return out


def write_parquet(path: Path, rows: list[dict], schema: pa.Schema = ARROW_SCHEMA) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


def load_concurrently(wh: Warehouse, table: str, path: str, key: str,
                      n: int = 4) -> list[LoadResult]:
    """n threads loading the same file with the same key at the same moment."""
    results: list[LoadResult] = []
    barrier = threading.Barrier(n)

    def load() -> None:
        barrier.wait()
        results.append(wh.load_parquet(table, path, idempotency_key=key))

    threads = [threading.Thread(target=load) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
