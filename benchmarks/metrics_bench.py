"""Metrics benchmark: time to compute the full default snapshot on synthetic datasets
of N rows (local stack: DuckDB warehouse, SQLite documents), and GET /api/metrics
latency with C concurrent clients on the snapshot view.

    .venv/bin/python benchmarks/metrics_bench.py --rows 1000000 10000000 \
        --clients 50 --requests 5000

Latency is measured against the metrics function served in-process by waitress on a
free local port (real HTTP, real token verification), or against a running
`tidemark serve` with --base-url URL --token TOKEN --dataset ID.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 1_000_000
TENANT = "t_bench"


def synthetic_chunk(n: int, offset: int, seed: int, days: int, dataset: str):
    """n canonical rows: 3 years of sales with weekly seasonality and growth,
    5,000 products in 20 categories, 8 regions, 4 channels, 50,000 customers,
    about 2.5 lines per order."""
    import numpy as np
    import pyarrow as pa

    from shared.schema import BUSINESS_DATA

    rng = np.random.default_rng(seed)
    start = date(2022, 1, 1)
    weights = np.array([1.0, 0.95, 0.95, 1.0, 1.2, 1.6, 1.4])
    day_w = np.array([weights[(start + timedelta(days=i)).weekday()] * (1 + i / days)
                      for i in range(days)])
    day = rng.choice(days, size=n, p=day_w / day_w.sum())
    base = np.datetime64(start.isoformat(), "D")
    occurred_date = base + day.astype("timedelta64[D]")
    occurred_at = occurred_date.astype("datetime64[us]") + rng.integers(
        0, 86_400_000_000, n).astype("timedelta64[us]")
    product = rng.integers(0, 5000, n)
    amount = np.round(rng.lognormal(3.5, 0.8, n) * np.where(rng.random(n) < 0.02, -1, 1), 2)
    order = (offset + np.arange(n)) // 2.5
    now = datetime.now(UTC)
    cols = {
        "tenant_id": pa.array([TENANT] * n), "dataset_id": pa.array([dataset] * n),
        "upload_id": pa.array([f"up{offset // CHUNK}"] * n),
        "row_number": pa.array(np.arange(offset + 1, offset + n + 1)),
        "occurred_at": pa.array(occurred_at, pa.timestamp("us", tz="UTC")),
        "occurred_date": pa.array(occurred_date, pa.date32()),
        "amount": pa.array(amount).cast(pa.decimal128(38, 9)),
        "quantity": pa.array(rng.integers(1, 6, n).astype(float)),
        "product": pa.array(np.char.add("SKU-", product.astype(str))),
        "category": pa.array(np.char.add("Category ", (product % 20).astype(str))),
        "region": pa.array(np.char.add("Region ", rng.integers(0, 8, n).astype(str))),
        "customer": pa.array(np.char.add("C", rng.integers(0, 50_000, n).astype(str))),
        "channel": pa.array(np.array(["web", "store", "phone", "partner"])[
            rng.integers(0, 4, n)]),
        "order_id": pa.array(np.char.add("O", order.astype(np.int64).astype(str))),
        "extra": pa.nulls(n, pa.string()),
        "loaded_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    }
    arrow = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
             "NUMERIC": pa.decimal128(38, 9), "TIMESTAMP": pa.timestamp("us", tz="UTC"),
             "DATE": pa.date32(), "JSON": pa.string()}
    schema = pa.schema([pa.field(c.name, arrow[c.bq_type]) for c in BUSINESS_DATA])
    return pa.table({c.name: cols[c.name] for c in BUSINESS_DATA}).cast(schema)


def load_dataset(deps, rows: int, dataset: str, tmp: Path) -> int:
    import pyarrow.parquet as pq

    deps.warehouse.ensure_table("business_data")
    started = time.perf_counter()
    for i, offset in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - offset)
        path = tmp / f"{dataset}-{i}.parquet"
        pq.write_table(synthetic_chunk(n, offset, seed=i, days=3 * 365, dataset=dataset), path)
        deps.warehouse.load_parquet("business_data", str(path),
                                    idempotency_key=f"bench-{dataset}-{i}")
        path.unlink()
    now = datetime.now(UTC)
    deps.docs.set(f"tenants/{TENANT}/datasets", dataset,
                  {"name": dataset, "version": 1, "row_count": rows, "created_at": now,
                   "updated_at": now})
    print(f"  loaded {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return 1


def bench_snapshot(deps, rows: int, tmp: Path, repeat: int) -> dict:
    from shared.metrics import service
    from shared.metrics.compute import compute_view
    from shared.metrics.view import ViewRequest

    dataset = f"bench_{rows}"
    load_dataset(deps, rows, dataset, tmp)
    timings = []
    for _ in range(repeat):
        t = time.perf_counter()
        compute_view(deps.warehouse, TENANT, ViewRequest(dataset), version=1)
        timings.append(time.perf_counter() - t)
    t = time.perf_counter()
    service.recompute_snapshot(deps, TENANT, dataset, 1)
    task_s = time.perf_counter() - t
    year = ViewRequest(dataset, date(2023, 1, 1), date(2023, 12, 31), "month")
    t = time.perf_counter()
    compute_view(deps.warehouse, TENANT, year, version=1)
    year_s = time.perf_counter() - t
    out = {"rows": rows, "snapshot_best_s": min(timings),
           "snapshot_median_s": statistics.median(timings), "task_s": task_s,
           "year_by_month_s": year_s, "dataset": dataset}
    print(f"  snapshot: best {out['snapshot_best_s']:.2f} s, median "
          f"{out['snapshot_median_s']:.2f} s; task (compute + store + enqueue) "
          f"{task_s:.2f} s; a year by month {year_s:.2f} s", flush=True)
    return out


def serve_in_process(deps) -> tuple[str, object]:
    import socket

    from functions_framework import create_app
    from waitress.server import create_server

    app = create_app("metrics_http", str(ROOT / "functions" / "metrics" / "main.py"), "http")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = create_server(app, host="127.0.0.1", port=port, threads=16)
    threading.Thread(target=server.run, daemon=True).start()
    time.sleep(0.3)
    return f"http://127.0.0.1:{port}", server


def make_token(deps) -> str:
    from shared.auth.tokens import issue_access_token

    now = datetime.now(UTC)
    deps.docs.set("tenants", TENANT, {"name": "Bench", "created_at": now})
    deps.docs.set(f"tenants/{TENANT}/users", "u_bench",
                  {"email": "bench@example.com", "role": "viewer", "disabled": False,
                   "created_at": now})
    token, _ = issue_access_token(deps, user_id="u_bench", tenant_id=TENANT, role="viewer",
                                  email="bench@example.com")
    return token


def bench_latency(base_url: str, token: str, dataset: str, clients: int, requests_n: int,
                  think_ms: float = 0.0) -> dict:
    """Closed loop: each client sends its next request think_ms after the previous
    answer (0 = back to back, i.e. the server's saturation)."""
    import requests

    url = f"{base_url.rstrip('/')}/api/metrics"
    headers = {"Authorization": f"Bearer {token}"}
    warm = requests.get(url, params={"dataset": dataset}, headers=headers, timeout=600)
    warm.raise_for_status()
    latencies: list[float] = []
    sources: dict[str, int] = {}
    errors = 0
    lock = threading.Lock()
    per_client = max(1, requests_n // clients)
    barrier = threading.Barrier(clients)

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        mine, bad = [], 0
        barrier.wait()
        for _ in range(per_client):
            t = time.perf_counter()
            r = session.get(url, params={"dataset": dataset}, headers=headers, timeout=60)
            mine.append((time.perf_counter() - t) * 1000)
            if think_ms:
                time.sleep(think_ms / 1000)
            if r.status_code != 200:
                bad += 1
            else:
                src = r.json()["source"]
                with lock:
                    sources[src] = sources.get(src, 0) + 1
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    out = {"clients": clients, "requests": len(latencies), "errors": errors,
           "p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "rps": len(latencies) / wall,
           "sources": sources, "bytes": len(warm.content)}
    print(f"  {clients} clients, think {think_ms:g} ms, {len(latencies)} requests: "
          f"p50 {out['p50_ms']:.1f} ms, p95 {out['p95_ms']:.1f} ms, "
          f"p99 {out['p99_ms']:.1f} ms, {out['rps']:.0f} req/s, "
          f"{errors} errors, sources {sources}, body {out['bytes']:,} bytes", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="*", default=[200_000],
                    help="dataset sizes for the snapshot timing (default 200000)")
    ap.add_argument("--repeat", type=int, default=3, help="snapshot computations per size")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000, help="total GET requests")
    ap.add_argument("--think-ms", type=float, nargs="*", default=[0.0, 500.0],
                    help="pause of each client between requests; one run per value "
                         "(0 = back to back: the server's saturation)")
    ap.add_argument("--base-url", help="a running `tidemark serve` instead of in-process")
    ap.add_argument("--token", help="access token for --base-url")
    ap.add_argument("--dataset", help="dataset id for --base-url")
    args = ap.parse_args(argv)

    if args.base_url:
        if not (args.token and args.dataset):
            ap.error("--base-url needs --token and --dataset")
        print(f"GET /api/metrics against {args.base_url}", flush=True)
        for think in args.think_ms:
            bench_latency(args.base_url, args.token, args.dataset, args.clients,
                          args.requests, think)
        return 0

    from shared.bootstrap import Deps, set_deps
    from shared.settings import Settings

    with tempfile.TemporaryDirectory(prefix="tidemark-metrics-bench-") as tmpdir:
        tmp = Path(tmpdir)
        deps = Deps(Settings(backend="local", data_dir=tmp / "data",
                             public_url="http://127.0.0.1:9", log_level="WARNING"))
        set_deps(deps)
        results = []
        for rows in args.rows:
            print(f"snapshot on {rows:,} rows")
            results.append(bench_snapshot(deps, rows, tmp, args.repeat))
        import logging

        logging.getLogger("tidemark.access").setLevel(logging.WARNING)
        base_url, server = serve_in_process(deps)
        print(f"GET /api/metrics, function served in this process (waitress, 16 threads),"
              f" clients in another process; dataset {results[0]['dataset']}", flush=True)
        # Clients in their own interpreter, so they do not compete for the server's GIL.
        cmd = [sys.executable, __file__, "--base-url", base_url, "--token", make_token(deps),
               "--dataset", results[0]["dataset"], "--clients", str(args.clients),
               "--requests", str(args.requests),
               "--think-ms", *[str(t) for t in args.think_ms]]
        subprocess.run(cmd, check=True)
        server.close()
        set_deps(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
