"""Workbook ingest: time and peak memory of staging an .xlsx (and .ods) of N order lines,
next to the CSV of the same rows staged in the same run (the reference).

Each staging runs in a fresh interpreter, so its peak RSS is its own (ru_maxrss of
that process); the interpreter's RSS after importing the ingest is printed too, so
the memory the file itself costs reads as the difference.

    .venv/bin/python benchmarks/workbook_bench.py --rows 200000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["Order ID", "Order Date", "Product", "Category", "Region", "Customer", "Sales",
          "Quantity", "Discount", "Profit"]

_CHILD = r"""
import io, json, resource, sys, time
from pathlib import Path
from shared.ingest import IngestOptions, stage
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
staged = stage(lambda: open(sys.argv[1], "rb"), IngestOptions("t", "d", "u"),
               Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started,
                  "rows": staged.report.rows_loaded,
                  "import_rss_kib": base,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def rows(n: int):
    start = dt.date(2021, 1, 1)
    for i in range(n):
        yield [f"CA-{i:07d}", start + dt.timedelta(days=i % 1461), f"Product {i % 1800}",
               ("Furniture", "Office Supplies", "Technology")[i % 3],
               ("East", "West", "Central", "South")[i % 4], f"Customer {i % 793}",
               round(3.5 + (i * 37 % 5000) / 7, 2), i % 9 + 1, (i % 5) / 10,
               round(-40 + (i * 13 % 900) / 3, 2)]


def write_xlsx(path: Path, n: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    sheet.append(HEADER)
    for row in rows(n):
        sheet.append(row)
    book.save(path)


def write_ods(path: Path, n: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.workbooks import ods

    path.write_bytes(ods({"Orders": [HEADER, *rows(n)]}))


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for row in rows(n):
            writer.writerow([v.isoformat() if isinstance(v, dt.date) else v for v in row])


def write(kind: str, path: Path, n: int) -> float:
    """Write the file in a child process: a process started from this one would take
    this one's peak RSS as its own starting point (Linux keeps it across exec)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--write", kind, str(path), str(n)],
                   check=True, cwd=ROOT)
    return time.perf_counter() - started


def run(path: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(work)], check=True,
                         capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "ods": write_ods}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--ods-rows", type=int, default=20_000,
                        help="rows of the .ods case (odfpy writes slowly; 0 skips it)")
    parser.add_argument("--write", nargs=3, metavar=("KIND", "PATH", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        kind, path, n = args.write
        WRITERS[kind](Path(path), int(n))
        return
    with tempfile.TemporaryDirectory(prefix="tidemark-wb-bench-") as tmp:
        base = Path(tmp)
        cases = [("csv (reference)", "orders.csv", "csv", args.rows),
                 ("xlsx", "orders.xlsx", "xlsx", args.rows)]
        if args.ods_rows:
            cases += [("csv (reference)", "small.csv", "csv", args.ods_rows),
                      ("ods", "orders.ods", "ods", args.ods_rows)]
        print(f"{'file':<16} {'rows':>8} {'MiB':>7} {'stage s':>8} {'peak RSS MiB':>13} "
              f"{'after import MiB':>17}")
        for label, name, kind, n in cases:
            path = base / name
            written = write(kind, path, n)
            got = run(path, base / "work")
            assert got["rows"] == n, got
            print(f"{label:<16} {n:>8} {path.stat().st_size / 2**20:>7.1f} "
                  f"{got['seconds']:>8.2f} {got['peak_rss_kib'] / 1024:>13.1f} "
                  f"{got['import_rss_kib'] / 1024:>17.1f}   (written in {written:.1f} s)")


if __name__ == "__main__":
    main()
