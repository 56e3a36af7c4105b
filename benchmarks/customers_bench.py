"""Customer analysis budget: 100,000 customers / 1 M order lines analysed by the
forecast task's customer step in <= 30 s on the local stack, and the Customers page's
reads in <= 100 ms p95 from the stored result.

    python benchmarks/customers_bench.py                  # 100,000 / 1,000,000
    python benchmarks/customers_bench.py --customers 10000 --lines 100000

Synthetic lines over two years: each customer's purchase rate is gamma-distributed
(most buy once or twice, a few often), 2% of lines have no customer id, 1% are
refunds. Printed beside each figure, as a reference measured in the same run: the
warehouse query alone (the floor of the analysis) and a plain document read (the
floor of a page read).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.bootstrap import Deps
from shared.customers import history, models, service, task
from shared.ingest.options import STAGING_SCHEMA
from shared.settings import Settings

TENANT, DATASET = "t_bench", "ds_bench"


def synthetic(n_customers: int, n_lines: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.6, 1.0, n_customers)
    who = rng.choice(n_customers, n_lines, p=rate / rate.sum())
    start = np.datetime64("2023-01-01")
    days = start + rng.integers(0, 730, n_lines).astype("timedelta64[D]")
    amounts = np.round(rng.gamma(2.0, 30.0, n_lines), 2)
    amounts[rng.random(n_lines) < 0.01] *= -1
    customer = np.char.add("c", who.astype(str)).astype(object)
    customer[rng.random(n_lines) < 0.02] = None
    dates = days.astype(object)
    now = datetime.now(UTC)
    occurred = [datetime(d.year, d.month, d.day, 12, tzinfo=UTC) for d in dates]
    cols = {
        "tenant_id": [TENANT] * n_lines, "dataset_id": [DATASET] * n_lines,
        "upload_id": ["up_bench"] * n_lines, "row_number": np.arange(1, n_lines + 1),
        "occurred_at": occurred, "occurred_date": dates,
        "amount": [Decimal(str(a)) for a in amounts], "quantity": np.ones(n_lines),
        "product": ["p"] * n_lines, "category": ["c"] * n_lines, "region": ["r"] * n_lines,
        "customer": customer, "channel": ["web"] * n_lines,
        "order_id": [f"o{i}" for i in range(n_lines)], "extra": [None] * n_lines,
        "loaded_at": [now] * n_lines,
    }
    return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in STAGING_SCHEMA},
                     schema=STAGING_SCHEMA)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--reads", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="customers-bench-"))
    deps = Deps(Settings(backend="local", data_dir=tmp / "data"))
    t0 = time.perf_counter()
    table = synthetic(args.customers, args.lines)
    path = tmp / "lines.parquet"
    pq.write_table(table, path)
    deps.warehouse.ensure_table("business_data")
    deps.warehouse.load_parquet("business_data", str(path), idempotency_key=uuid.uuid4().hex)
    deps.docs.set(f"tenants/{TENANT}/datasets", DATASET, {"name": "Bench", "version": 1,
                                                          "created_at": date.today().isoformat()})
    print(f"setup: {args.lines:,} lines, {args.customers:,} customers "
          f"({time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    loaded = history.load(deps, TENANT, DATASET)
    query_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = task.refresh(deps, TENANT, DATASET, 1)
    task_s = time.perf_counter() - t0
    print(f"customer step of the forecast task: {task_s:.1f} s (budget 30 s) for "
          f"{done['customers']:,} customers, {done['at_risk']:,} at risk; reference: the "
          f"warehouse query alone {query_s:.1f} s ({len(loaded.days):,} customer-days)")

    def timed(fn) -> list[float]:
        out = []
        for _ in range(args.reads):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        return out

    rng = np.random.default_rng(1)
    total = done["customers"]
    reads = {
        "summary": lambda: service.get(deps, TENANT, models.CustomersRequest(DATASET)),
        "cohorts": lambda: service.get(deps, TENANT, models.CustomersRequest(
            DATASET, part="cohorts")),
        "segments": lambda: service.get(deps, TENANT, models.CustomersRequest(
            DATASET, part="segments")),
        "predictions page (50 rows, any offset)": lambda: service.get(
            deps, TENANT, models.CustomersRequest(DATASET, part="predictions", offset=int(
                rng.integers(0, max(total - 50, 1))), limit=50)),
        "at_risk page": lambda: service.get(deps, TENANT, models.CustomersRequest(
            DATASET, part="at_risk", limit=50)),
    }
    ref = timed(lambda: deps.docs.get(f"tenants/{TENANT}/datasets", DATASET))
    print(f"reference: one document read p95 {p95(ref):.2f} ms")
    for name, fn in reads.items():
        print(f"read {name}: p95 {p95(timed(fn)):.2f} ms (budget 100 ms)")


if __name__ == "__main__":
    main()
