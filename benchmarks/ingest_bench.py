"""Ingest throughput and memory: Tidemark's local ingest next to DuckDB's read_csv.

    python benchmarks/ingest_bench.py                 # small (20MB), quick
    python benchmarks/ingest_bench.py --size 200MB --repeat 3
    python benchmarks/ingest_bench.py --size 1GB      # the full runs: 1GB / 4GB
    python benchmarks/ingest_bench.py --size 200MB --cores 1,4 --ceiling 4GiB

With --cores, every child is pinned to that many cores (os.sched_setaffinity; fewer
when the machine has fewer, which the output says) under an address-space ceiling
(RLIMIT_AS, --ceiling), and the modeled Google Cloud time for 1, 10 and 50 GB files on
the ingest task's instance follows (benchmarks/gcp_model.py).

Generates a realistic sales CSV (Superstore-like columns, quoted names with commas,
cents-precision measures; seeded), then runs, each in a fresh subprocess so peak RSS
is its own: (1) Tidemark's ingest (two streaming passes + Parquet staging + DuckDB
load through the Warehouse port) and (2) DuckDB loading the same file with read_csv
into a table. The two alternate when repeated. Prints rows/s, MB/s, CPU seconds and
peak RSS of each, and the ratio (from the best run of each: on a machine shared with
other work, the best run is the one least disturbed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}

# Both children time only the work (imports excluded) and report the CPU seconds of
# all their threads over the same span.
CHILD_TIDEMARK = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from shared.ingest import IngestOptions, stage
from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
def rss():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 1024**2
    except OSError:
        return None
src, work, segment_rows = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[4])
c0, t0 = cpu(), time.perf_counter()
staged = stage(lambda: open(src, "rb"), IngestOptions("t", "d", "u"), work)
t1 = time.perf_counter()
stage_peak, after_stage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss()
wh = DuckDbWarehouse(work / "wh.duckdb", segment_rows=segment_rows)
wh.ensure_table("business_data")
res = wh.load_parquet("business_data", str(staged.parquet_path), idempotency_key="bench")
# Loaded means queryable: the count is part of the timed work, as on the DuckDB side.
rows = wh.query("SELECT COUNT(*) AS n FROM {business_data}")[0]["n"]
t2 = time.perf_counter()
assert rows == res.rows_loaded, (rows, res.rows_loaded)
parquet_bytes = staged.parquet_path.stat().st_size if staged.parquet_path.exists() else 0
staged.parquet_path.unlink()
print(json.dumps({"rows": res.rows_loaded, "rejected": staged.report.rows_rejected,
                  "parquet_bytes": parquet_bytes,
                  "seconds": t2 - t0, "stage_seconds": t1 - t0, "load_seconds": t2 - t1,
                  "cpu_seconds": cpu() - c0, "stage_peak_rss_mb": stage_peak,
                  "rss_after_stage_mb": after_stage,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_DUCKDB = r"""
import json, resource, sys, time
import duckdb
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
src, work = sys.argv[1], sys.argv[2]
con = duckdb.connect(f"{work}/plain.duckdb")
c0, t0 = cpu(), time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [src])
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
t1 = time.perf_counter()
print(json.dumps({"rows": rows, "seconds": t1 - t0, "cpu_seconds": cpu() - c0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REGIONS = ["West", "East", "Central", "South"]
CATEGORIES = {"Furniture": ["Chairs", "Tables", "Bookcases"],
              "Office Supplies": ["Paper", "Binders", "Art", "Storage"],
              "Technology": ["Phones", "Accessories", "Machines"]}
NAMES = ["Claire Gute", "Darrin Van Huff", "Sean O'Donnell", "Brosina Hoffman",
         "Andrew Allen", "Irene Maddox", "Harold Pawlan", "Pete Kriz", "Alejandro Grove"]
HEADER = ("Order ID,Order Date,Ship Mode,Customer Name,Segment,Region,Category,"
          "Sub-Category,Product Name,Quantity,Unit Price,Sales,Discount,Profit\n")
CHUNK_ROWS = 100_000


def parse_size(text: str) -> int:
    text = text.strip().upper()
    for unit, mult in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * mult)
    return int(text)


def _lines(rng, n: int):
    """n CSV lines as one Arrow string array (each value ends in a newline), built
    column-wise so that generating gigabytes takes seconds, not minutes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def pick(pool: list[str], count: int) -> pa.Array:
        return pa.array(pool).take(pa.array(rng.integers(0, len(pool), count)))

    def text(values) -> pa.Array:
        return pc.cast(pa.array(values), pa.string())

    cats = list(CATEGORIES)
    subs = [s for c in cats for s in CATEGORIES[c]]
    sizes = np.array([len(CATEGORIES[c]) for c in cats])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cat = rng.integers(0, len(cats), n)
    sub = first[cat] + rng.integers(0, 1 << 30, n) % sizes[cat]
    qty = rng.integers(1, 15, n)
    price = np.round(rng.uniform(1, 900, n), 2)
    discount = rng.choice([0, 0, 0.1, 0.2, 0.3], n)
    sales = np.round(qty * price * (1 - discount), 2)
    profit = np.round(sales * rng.uniform(-0.2, 0.4, n), 4)
    epoch = (date(2014, 1, 1) - date(1970, 1, 1)).days
    day = pa.array((epoch + rng.integers(0, 4 * 365 + 1, n)).astype("int32"), pa.date32())
    columns = [
        pc.binary_join_element_wise("CA-", text(pc.year(day)), "-",
                                    text(rng.integers(100000, 1000000, n)), ""),
        text(day),
        pick(["Second Class", "Standard Class", "First Class"], n),
        pick([f'"{x}"' for x in NAMES], n),
        pick(["Consumer", "Corporate"], n),
        pick(REGIONS, n),
        pa.array(cats).take(pa.array(cat)),
        pa.array(subs).take(pa.array(sub)),
        pc.binary_join_element_wise('"Product ', text(rng.integers(1, 1801, n)), ", ",
                                    pick(["Black", "Blue"], n), '"', ""),
        text(qty), text(price), text(sales), text(discount), text(profit),
    ]
    return pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","), "\n", "")


def generate(path: Path, size: int, seed: int = 7) -> int:
    """A seeded Superstore-like CSV of about `size` bytes; returns its data rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = 0
    with open(path, "wb") as out:
        written = out.write(HEADER.encode())
        while written < size:
            lines = _lines(rng, CHUNK_ROWS)
            offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1)
            keep = max(1, int(np.searchsorted(offsets, size - written, side="left")))
            keep = min(keep, len(lines))
            data = lines.buffers()[2].to_pybytes()[offsets[0]:offsets[keep]]
            written += out.write(data)
            rows += keep
    return rows


def _count_rows(path: Path) -> int:
    """Data rows of a generated file (no quoted newlines in it): its lines but the header."""
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(16 * 1024 * 1024):
            lines += chunk.count(b"\n")
    return lines - 1


def pinned(cores: int | None, ceiling: int | None):
    """The child's preexec: pin it to its first `cores` cores and cap its address space.
    Both are inherited by every thread Arrow and DuckDB start."""
    if cores is None and ceiling is None:
        return None
    cpus = sorted(os.sched_getaffinity(0))[:cores] if cores else None

    def setup() -> None:
        import resource

        if cpus:
            os.sched_setaffinity(0, cpus)
        if ceiling:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    return setup


def run_child(code: str, *argv: str, env: dict[str, str] | None = None,
              cores: int | None = None, ceiling: int | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})},
                          preexec_fn=pinned(cores, ceiling))
    if done.returncode:
        raise RuntimeError(f"child failed (cores={cores}, ceiling={ceiling}):\n"
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(name: str, r: dict, rows: int, mb: float) -> str:
    return (f"{name:16s} {r['seconds']:8.2f} s  {rows / r['seconds']:10,.0f} rows/s  "
            f"{mb / r['seconds']:6.1f} MB/s  cpu {r['cpu_seconds']:7.2f} s  "
            f"peak RSS {r['peak_rss_mb']:5.0f} MB")


def measure(args, src: Path, work: Path, rows: int, mb: float, segment_rows: int,
            arrow_env: dict[str, str], cores: int | None,
            ceiling: int | None) -> tuple[dict, dict]:
    """Runs of both children (alternating), printed; the best run of each."""
    ours, duck = [], []
    for i in range(args.repeat):
        ours.append(run_child(CHILD_TIDEMARK, str(src), str(work / f"stage{i}"),
                              str(ROOT), str(0 if args.insert else segment_rows),
                              env=arrow_env, cores=cores, ceiling=ceiling))
        duck.append(run_child(CHILD_DUCKDB, str(src), str(work), cores=cores,
                              ceiling=ceiling))
        (work / "plain.duckdb").unlink(missing_ok=True)
        for r in (ours[-1], duck[-1]):
            assert r["rows"] == rows, (r, rows)
        print(f"run {i + 1}: tidemark {ours[-1]['seconds']:.2f} s "
              f"(staging {ours[-1]['stage_seconds']:.2f} + load "
              f"{ours[-1]['load_seconds']:.2f}), duckdb {duck[-1]['seconds']:.2f} s",
              flush=True)
    best_ours = min(ours, key=lambda r: r["seconds"])
    best_duck = min(duck, key=lambda r: r["seconds"])
    print(_line("tidemark ingest", best_ours, rows, mb))
    print(_line("duckdb read_csv", best_duck, rows, mb))
    print(f"  (tidemark best run: staging {best_ours['stage_seconds']:.2f} s, "
          f"warehouse load {best_ours['load_seconds']:.2f} s; peak RSS over all runs "
          f"{max(r['peak_rss_mb'] for r in ours):.0f} MB, of which staging "
          f"{max(r['stage_peak_rss_mb'] for r in ours):.0f} MB; RSS when the load "
          f"starts {best_ours['rss_after_stage_mb'] or 0:.0f} MB)")
    if args.repeat > 1:
        ratios = [d["seconds"] / o["seconds"] for o, d in zip(ours, duck, strict=True)]
        print(f"  per-run ratios {', '.join(f'{x:.2f}' for x in ratios)} "
              f"(median {statistics.median(ratios):.2f})")
    print(f"throughput ratio tidemark/duckdb: "
          f"{best_duck['seconds'] / best_ours['seconds']:.2f} (target >= 0.9); "
          f"cpu ratio {best_duck['cpu_seconds'] / best_ours['cpu_seconds']:.2f}; "
          f"tidemark peak RSS target <= 400 MB")
    return best_ours, best_duck


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="20MB", help="CSV size, e.g. 20MB, 200MB, 1GB, 4GB")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (alternating)")
    ap.add_argument("--dir", default=None, help="where to write the file (default: tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument("--insert", action="store_true",
                    help="load by INSERT into DuckDB's own storage, never as a Parquet "
                         "segment (TIDEMARK_DUCKDB_SEGMENT_ROWS=0)")
    ap.add_argument("--csv", default=None,
                    help="use this CSV (made by an earlier --keep) instead of generating")
    ap.add_argument("--cores", default="",
                    help="pin the runs to these core counts, e.g. 1,4 (and model GCP)")
    ap.add_argument("--ceiling", default="4GB",
                    help="address-space ceiling of each pinned child (RLIMIT_AS)")
    args = ap.parse_args()
    size = parse_size(args.size)
    import duckdb
    import pyarrow

    print(f"python {platform.python_version()}, pyarrow {pyarrow.__version__}, "
          f"duckdb {duckdb.__version__}, {os.cpu_count()} cpus, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="tidemark-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        if args.csv:
            src = Path(args.csv)
            rows = _count_rows(src)
            print(f"using {src} ({src.stat().st_size:,} bytes, {rows:,} rows)")
        else:
            src = work / "sales.csv"
            rows = generate(src, size)
            print(f"generated {src.stat().st_size:,} bytes, {rows:,} rows")
        mb = src.stat().st_size / 1024**2
        sys.path.insert(0, str(ROOT))
        from shared.settings import Settings

        segment_rows = Settings().duckdb_segment_rows
        from shared.uploads import arrow_memory

        # The allocator the product's entry points choose for Arrow (`tidemark serve`,
        # the upload function); an explicit setting wins here as there.
        arrow_env = {arrow_memory.ENV: arrow_memory.chosen()}
        print(f"tidemark load: {'INSERT' if args.insert else 'Parquet segment'} "
              f"(segment_rows {0 if args.insert else segment_rows:,})")
        if not args.cores:
            measure(args, src, work, rows, mb, segment_rows, arrow_env, None, None)
        else:
            ceiling = parse_size(args.ceiling) if args.ceiling else None
            have = len(os.sched_getaffinity(0))
            pinned_runs = {}
            for cores in [int(c) for c in args.cores.split(",")]:
                got = min(cores, have)
                note = "" if got == cores else f" (asked {cores}, this machine has {have})"
                print(f"--- pinned to {got} core{'s' if got > 1 else ''}{note}, "
                      f"address-space ceiling {args.ceiling or 'none'}")
                pinned_runs[cores] = (got, *measure(args, src, work, rows, mb, segment_rows,
                                                    arrow_env, got, ceiling))
            print("\ncores  tidemark MB/s  duckdb MB/s  ratio  tidemark peak RSS  "
                  "duckdb peak RSS")
            for cores, (got, o, d) in pinned_runs.items():
                print(f"{cores:>2} ({got})  {mb / o['seconds']:13.1f}  {mb / d['seconds']:11.1f}  "
                      f"{d['seconds'] / o['seconds']:5.2f}  {o['peak_rss_mb']:14.0f} MB  "
                      f"{d['peak_rss_mb']:12.0f} MB")
            from benchmarks import gcp_model

            rates = {c: (g, mb / o["seconds"], mb / o["cpu_seconds"])
                     for c, (g, o, _) in pinned_runs.items()}
            gcp_model.report(mb, rates,
                             parquet_ratio=min(o["parquet_bytes"] for _, o, _ in
                                               pinned_runs.values()) / src.stat().st_size,
                             peak_rss_mb=max(o["peak_rss_mb"] for _, o, _ in
                                             pinned_runs.values()))
        if args.keep and not args.csv:
            keep = ROOT / "benchmarks" / "out"
            keep.mkdir(parents=True, exist_ok=True)
            src.replace(keep / "sales.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
