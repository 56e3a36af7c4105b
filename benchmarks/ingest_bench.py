"""Ingest throughput and memory: Tidemark's local ingest next to DuckDB's read_csv.

    python benchmarks/ingest_bench.py                 # small (20MB), quick
    python benchmarks/ingest_bench.py --size 200MB
    python benchmarks/ingest_bench.py --size 1GB      # the full runs: 1GB / 4GB

Generates a realistic sales CSV (Superstore-like columns, quoted names with commas,
a few cents-precision measures), then runs, each in a fresh subprocess so peak RSS is
its own: (1) Tidemark's ingest (two streaming passes + Parquet staging + DuckDB load
through the Warehouse port) and (2) DuckDB loading the same file with read_csv into
a table. Prints rows/s, MB/s and peak RSS of each, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}

CHILD_TIDEMARK = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from shared.ingest import IngestOptions, stage
from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
src, work = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
staged = stage(lambda: open(src, "rb"), IngestOptions("t", "d", "u"), work)
t1 = time.perf_counter()
wh = DuckDbWarehouse(work / "wh.duckdb")
wh.ensure_table("business_data")
res = wh.load_parquet("business_data", str(staged.parquet_path), idempotency_key="bench")
t2 = time.perf_counter()
print(json.dumps({"rows": res.rows_loaded, "rejected": staged.report.rows_rejected,
                  "seconds": t2 - t0, "stage_seconds": t1 - t0, "load_seconds": t2 - t1,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_DUCKDB = r"""
import json, resource, sys, time
import duckdb
src, work = sys.argv[1], sys.argv[2]
con = duckdb.connect(f"{work}/plain.duckdb")
t0 = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [src])
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
t1 = time.perf_counter()
print(json.dumps({"rows": rows, "seconds": t1 - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REGIONS = ["West", "East", "Central", "South"]
CATEGORIES = {"Furniture": ["Chairs", "Tables", "Bookcases"],
              "Office Supplies": ["Paper", "Binders", "Art", "Storage"],
              "Technology": ["Phones", "Accessories", "Machines"]}
NAMES = ["Claire Gute", "Darrin Van Huff", "Sean O'Donnell", "Brosina Hoffman",
         "Andrew Allen", "Irene Maddox", "Harold Pawlan", "Pete Kriz", "Alejandro Grove"]


def parse_size(text: str) -> int:
    text = text.strip().upper()
    for unit, mult in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * mult)
    return int(text)


def generate(path: Path, size: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    start = date(2014, 1, 1)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Order ID,Order Date,Ship Mode,Customer Name,Segment,Region,Category,"
                  "Sub-Category,Product Name,Quantity,Unit Price,Sales,Discount,Profit\n")
        buf: list[str] = []
        written = 0
        while written < size:
            cat = rng.choice(list(CATEGORIES))
            qty = rng.randint(1, 14)
            price = round(rng.uniform(1, 900), 2)
            discount = rng.choice([0, 0, 0.1, 0.2, 0.3])
            sales = round(qty * price * (1 - discount), 2)
            day = start + timedelta(days=rng.randint(0, 4 * 365))
            line = (f"CA-{day.year}-{rng.randint(100000, 999999)},{day.isoformat()},"
                    f"{rng.choice(['Second Class', 'Standard Class', 'First Class'])},"
                    f"\"{rng.choice(NAMES)}\",{rng.choice(['Consumer', 'Corporate'])},"
                    f"{rng.choice(REGIONS)},{cat},{rng.choice(CATEGORIES[cat])},"
                    f"\"Product {rng.randint(1, 1800)}, {rng.choice(['Black', 'Blue'])}\","
                    f"{qty},{price},{sales},{discount},{round(sales * rng.uniform(-.2, .4), 4)}\n")
            buf.append(line)
            written += len(line)
            rows += 1
            if len(buf) >= 10_000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))
    return rows


def run_child(code: str, *argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="20MB", help="CSV size, e.g. 20MB, 200MB, 1GB, 4GB")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    args = ap.parse_args()
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="tidemark-bench-") as tmp:
        work = Path(tmp)
        src = work / "sales.csv"
        rows = generate(src, size)
        mb = src.stat().st_size / 1024**2
        print(f"generated {src.stat().st_size:,} bytes, {rows:,} rows")
        ours = run_child(CHILD_TIDEMARK, str(src), str(work / "stage"), str(ROOT))
        duck = run_child(CHILD_DUCKDB, str(src), str(work))
        assert ours["rows"] == rows == duck["rows"], (ours, duck, rows)
        for name, r in (("tidemark ingest", ours), ("duckdb read_csv", duck)):
            print(f"{name:16s} {r['seconds']:8.2f} s  {rows / r['seconds']:12,.0f} rows/s  "
                  f"{mb / r['seconds']:8.1f} MB/s  peak RSS {r['peak_rss_mb']:7.0f} MB")
        print(f"  (tidemark: staging {ours['stage_seconds']:.2f} s, "
              f"warehouse load {ours['load_seconds']:.2f} s)")
        print(f"throughput ratio tidemark/duckdb: {duck['seconds'] / ours['seconds']:.2f} "
              f"(target >= 0.7); tidemark peak RSS target <= 400 MB")
        if args.keep:
            keep = ROOT / "benchmarks" / "out"
            keep.mkdir(parents=True, exist_ok=True)
            src.replace(keep / "sales.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
