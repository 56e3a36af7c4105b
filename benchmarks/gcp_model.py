"""Modeled Google Cloud ingest time for large files, from the pinned local runs.

The instance comes from terraform (the ingest task's vCPU and memory in functions.tf,
its timeout in locals.tf, the ingest queue's max concurrent dispatches in tasks.tf), so
the model follows the deployment. The conversion rate is measured here (MB/s per core,
and the parallel efficiency of the largest pinned run); what cannot be measured on this
machine is an assumption, stated beside its figure:

- Cloud Storage: one streaming read of the upload and the shard writes at
  GCS_STREAM_MBPS each. Google documents no per-stream figure; its guidance is that
  throughput scales with parallel requests
  (https://cloud.google.com/storage/docs/request-rate). 100 MB/s is a conservative figure
  for one connection from Cloud Run in the bucket's region.
- BigQuery: a load job from Cloud Storage is queued and run on the shared slot pool;
  Google documents limits (15 TB per job, https://cloud.google.com/bigquery/quotas#load_jobs)
  but no throughput, so the model takes LOAD_JOB_OVERHEAD_S of scheduling plus the
  Parquet bytes at BQ_LOAD_MBPS.
- The hand-off: the finalize event returns in seconds and Cloud Tasks dispatches the
  named task (HANDOFF_S for both).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GCS_STREAM_MBPS = 100.0
BQ_LOAD_MBPS = 100.0
LOAD_JOB_OVERHEAD_S = 30.0
HANDOFF_S = 10.0
TARGET_S = 15 * 60  # the target: a 10 GB file loaded within 15 minutes
SIZES_GB = (1, 10, 50)


def instance() -> dict[str, float]:
    """The ingest task's vCPU, memory (MiB), timeout (s) and the queue's max concurrent
    dispatches, as terraform declares them."""
    tf = ROOT / "terraform"
    functions = (tf / "functions.tf").read_text()
    block = functions[functions.index("local.ingest_task_timeout_seconds") - 400:]
    cpu = float(re.search(r'cpu\s*=\s*"(\d+)"', block).group(1))
    mem = re.search(r'memory\s*=\s*"(\d+)(Gi|Mi)"', block)
    memory = float(mem.group(1)) * (1024 if mem.group(2) == "Gi" else 1)
    locals_tf = (tf / "locals.tf").read_text()
    timeout = float(re.search(r"ingest_task_timeout_seconds\s*=\s*(\d+)", locals_tf).group(1))
    tasks = (tf / "tasks.tf").read_text()
    queue = tasks[tasks.index('resource "google_cloud_tasks_queue" "ingest"'):]
    dispatches = float(re.search(r"max_concurrent_dispatches\s*=\s*(\d+)", queue).group(1))
    return {"vcpu": cpu, "memory_mib": memory, "timeout_s": timeout,
            "max_dispatches": dispatches}


def convert_rate(runs: dict[int, tuple[int, float, float]],
                 vcpu: float) -> tuple[float, str]:
    """MB/s of one task on `vcpu` cores. The per-core rate is the one-core run's MB per
    CPU second: on a machine shared with other work, wall time measures the neighbours
    as much as the code, CPU time does not. Parallel gain is taken from the widest run's
    wall-clock efficiency only when it shows one (>1 core's worth); otherwise the model
    stays at one core's rate, the conservative figure."""
    one = next(cpu_rate for got, _, cpu_rate in runs.values() if got == 1)
    got, wall, _ = max(runs.values())
    efficiency = wall / (got * one)
    cores = min(vcpu, max(1.0, vcpu * efficiency)) if got > 1 else 1.0
    return one * cores, (f"{one:.1f} MB per CPU second x {cores:.2f} effective cores "
                         f"(wall-clock parallel efficiency {efficiency:.2f} on {got} cores)")


def report(mb: float, runs: dict[int, tuple[int, float, float]], *, parquet_ratio: float,
           peak_rss_mb: float) -> None:
    rate, how = convert_rate(runs, instance()["vcpu"])
    table(rate, how, parquet_ratio, peak_rss_mb)
    wall = next(w for got, w, _ in runs.values() if got == 1)
    print("\n  the same with the one-core run's wall-clock rate (this machine's other work "
          "included, the pessimistic bound):")
    table(wall, "one-core wall clock", parquet_ratio, peak_rss_mb)


def table(rate: float, how: str, parquet_ratio: float, peak_rss_mb: float) -> None:
    inst = instance()
    stream = min(rate, GCS_STREAM_MBPS)
    print(f"\nmodeled on Google Cloud: ingest task {inst['vcpu']:.0f} vCPU, "
          f"{inst['memory_mib']:.0f} MiB, timeout {inst['timeout_s']:.0f} s, "
          f"queue max {inst['max_dispatches']:.0f} concurrent dispatches")
    print(f"  conversion {rate:.1f} MB/s ({how}); Cloud Storage stream "
          f"{GCS_STREAM_MBPS:.0f} MB/s (assumed) -> {stream:.1f} MB/s per task; Parquet "
          f"{parquet_ratio:.2f} x CSV; BigQuery load {LOAD_JOB_OVERHEAD_S:.0f} s + "
          f"{BQ_LOAD_MBPS:.0f} MB/s (assumed); hand-off {HANDOFF_S:.0f} s")
    load_fixed = HANDOFF_S + LOAD_JOB_OVERHEAD_S
    largest = (inst["timeout_s"] - load_fixed) / (1 / stream + parquet_ratio / BQ_LOAD_MBPS)
    print(f"  largest file one task ingests within its {inst['timeout_s']:.0f} s deadline: "
          f"{largest / 1024:.1f} GB")
    print(f"  {'size':>6}  {'one task':>9}  {'ranges':>6}  {'modeled':>8}  target 15 min")
    for gb in SIZES_GB:
        size = gb * 1024.0
        stage = size / stream
        load = LOAD_JOB_OVERHEAD_S + size * parquet_ratio / BQ_LOAD_MBPS
        single = HANDOFF_S + stage + load
        # Split into byte ranges, one task each, when one task misses the target; the
        # queue runs at most max_dispatches of them at once.
        budget = TARGET_S - HANDOFF_S - load
        ranges = 1 if single <= TARGET_S else (
            min(int(inst["max_dispatches"]), math.ceil(stage / budget)) if budget > 0
            else int(inst["max_dispatches"]))
        modeled = HANDOFF_S + stage / ranges + load
        verdict = "met" if modeled <= TARGET_S else "MISSED"
        print(f"  {gb:>4} GB  {single / 60:7.1f} m  {ranges:>6}  {modeled / 60:6.1f} m  {verdict}")
    print(f"  worker peak RSS {peak_rss_mb:.0f} MB of {inst['memory_mib']:.0f} MiB "
          f"(streamed: flat with size, see the 200 MB and 1 GB runs)")
