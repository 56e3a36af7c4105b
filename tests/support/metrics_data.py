"""Test data for the metrics and predict suites: canonical rows from pandas frames,
loaded through the Warehouse port exactly as ingestion loads them, the Superstore
sample, and a synthetic daily sales history with a weekly pattern."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[1] / "data" / "metrics"
SUPERSTORE = DATA / "superstore.parquet"

_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
          "NUMERIC": pa.decimal128(38, 9), "TIMESTAMP": pa.timestamp("us", tz="UTC"),
          "DATE": pa.date32(), "JSON": pa.string()}


def superstore_frame() -> pd.DataFrame:
    """The Superstore orders under canonical names (Ship Mode stands for channel)."""
    raw = pd.read_parquet(SUPERSTORE)
    return pd.DataFrame({
        "occurred_date": pd.to_datetime(raw["Order Date"]).dt.date,
        "amount": raw["Sales"].astype(float),
        "quantity": raw["Quantity"].astype(float),
        "product": raw["Product Name"], "category": raw["Category"],
        "region": raw["Region"], "customer": raw["Customer ID"],
        "channel": raw["Ship Mode"], "order_id": raw["Order ID"],
    })


def canonical_table(frame: pd.DataFrame, tenant_id: str, dataset_id: str,
                    upload_id: str = "up_test", extra: tuple[str, ...] = ()) -> pa.Table:
    """Rows of the canonical table; `frame` needs occurred_date (dates) and any of the
    measures and dimensions (missing ones are NULL). The `extra` columns of the frame
    go into the `extra` JSON as the ingest writes it: each value as its text."""
    from shared.schema import BUSINESS_DATA

    n = len(frame)
    days = [d if isinstance(d, date) else pd.Timestamp(d).date() for d in frame["occurred_date"]]
    now = datetime.now(UTC)
    cols: dict[str, list] = {
        "tenant_id": [tenant_id] * n, "dataset_id": [dataset_id] * n,
        "upload_id": [upload_id] * n, "row_number": list(range(1, n + 1)),
        "occurred_at": [datetime(d.year, d.month, d.day, 12, tzinfo=UTC) for d in days],
        "occurred_date": days, "loaded_at": [now] * n, "extra": [None] * n,
    }
    if extra:
        import json

        cols["extra"] = [json.dumps({c: None if pd.isna(v) else str(v)
                                     for c, v in zip(extra, values, strict=True)})
                         for values in zip(*(frame[c] for c in extra), strict=True)]
    for name in ("amount", "quantity", "product", "category", "region", "customer",
                 "channel", "order_id"):
        if name not in frame:
            cols[name] = [None] * n
            continue
        values = [None if pd.isna(v) else v for v in frame[name]]
        if name == "amount":
            values = [None if v is None else Decimal(str(round(float(v), 9))) for v in values]
        elif name == "quantity":
            values = [None if v is None else float(v) for v in values]
        else:
            values = [None if v is None else str(v) for v in values]
        cols[name] = values
    schema = pa.schema([pa.field(c.name, _ARROW[c.bq_type], c.mode != "REQUIRED")
                        for c in BUSINESS_DATA])
    return pa.table({c.name: cols[c.name] for c in BUSINESS_DATA}, schema=schema)


def load_frame(deps, frame: pd.DataFrame, tmp_path: Path, *, tenant_id: str,
               dataset_id: str = "ds_sales", name: str = "Sales") -> int:
    """Load the rows and bump the dataset document's version, as ingestion does.
    Returns the new version."""
    deps.warehouse.ensure_table("business_data")
    path = tmp_path / f"load-{uuid.uuid4().hex}.parquet"
    pq.write_table(canonical_table(frame, tenant_id, dataset_id), path)
    deps.warehouse.load_parquet("business_data", str(path),
                                idempotency_key=f"test-{uuid.uuid4().hex}")
    collection = f"tenants/{tenant_id}/datasets"
    now = datetime.now(UTC)
    current = deps.docs.get(collection, dataset_id)
    version = (current.data.get("version", 0) if current else 0) + 1
    deps.docs.set(collection, dataset_id, {
        "name": name, "version": version, "row_count": len(frame),
        "created_at": current.data["created_at"] if current else now, "updated_at": now})
    return version


def sales(tenant_id, deps, tmp_path, dataset_id="ds_sales", days=140):
    """Daily lines with a weekly pattern: a line per day, more on weekends."""
    rows = []
    for i in range(days):
        d = date(2024, 1, 1) + timedelta(days=i)
        amount = 100.0 + 2 * i + (60.0 if d.weekday() >= 5 else 0.0)
        rows.append((d, amount, 1.0 + (i % 3), "p", "cat", "north" if i % 2 else "south",
                     f"c{i % 5}", "web", f"o{i}"))
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    return load_frame(deps, frame, tmp_path, tenant_id=tenant_id, dataset_id=dataset_id)
