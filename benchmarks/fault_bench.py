"""Fault benchmark: kill -9 `tidemark serve` at random moments while uploads ingest and
tasks are queued, restart it on the same data directory, and check the end state.

One trial: start the server as a subprocess (its own session, so SIGKILL takes the
whole process group), register a user through the API, create uploads of generated
CSVs (a few thousand rows each; some with bad rows, one with no date column, one with
too many bad rows), PUT them all at once, SIGKILL the server after a random delay
(seeded: a trial is reproduced by its seed), restart it on the same port and data
directory, PUT again any file whose upload is still `pending` (a client retrying),
wait until every upload is settled and the task queue is quiet, stop the server and
check, reading the stores directly:

- every upload is `loaded` or `failed` with an error code and message, the one the
  file calls for;
- the warehouse holds, per upload, exactly the rows its report says were loaded, each
  (upload, row number) once, and nothing for a failed upload;
- the dataset's version counts the loads, its row count their rows, and the metrics
  snapshot and every default forecast are of that version;
- no task is pending or running, the dead letters are empty, every ingest event is done.

    .venv/bin/python benchmarks/fault_bench.py                  # 20 trials
    .venv/bin/python benchmarks/fault_bench.py --short          # 3 trials (CI)
    .venv/bin/python benchmarks/fault_bench.py --trials 5 --seed 7 --uploads 6

Exit status 1 when any trial finds a problem.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Fault-trial-password-1"  # a throwaway account on a throwaway server
SETTLED = ("loaded", "failed")
# kind -> the upload's expected end: status and, for a failure, its error code
EXPECTED = {"good": ("loaded", None), "no_date": ("failed", "no_date_column"),
            "rejects": ("failed", "too_many_rejects")}


# ----------------------------------------------------------------------------- files

@dataclass
class FileSpec:
    kind: str
    rows: int
    bad: int
    data: bytes = field(repr=False)

    @property
    def good_rows(self) -> int:
        return self.rows - self.bad if self.kind == "good" else 0


def make_csv(rnd: random.Random, kind: str, rows: int) -> FileSpec:
    """Order lines over two years. `good` files carry a few rows with an unreadable
    amount (rejected, the rest loads); in `rejects` files half the rows have a cell
    too many (far over the 20 % limit: nothing loads); `no_date` files have no date
    column at all."""
    header = ["Order Date", "Order ID", "Product", "Region", "Sales", "Quantity"]
    bad_share = {"good": rnd.uniform(0.0, 0.05), "rejects": 0.5, "no_date": 0.0}[kind]
    bad_rows = set(rnd.sample(range(rows), int(rows * bad_share)))
    lines = [",".join(header if kind != "no_date" else header[1:])]
    for i in range(rows):
        day = rnd.randrange(730)
        date = time.strftime("%Y-%m-%d", time.gmtime(1672531200 + day * 86400))
        amount = "oops" if i in bad_rows else f"{rnd.uniform(5, 900):.2f}"  # unreadable
        cells = [date, f"O-{rnd.getrandbits(48):012x}", f"Item {rnd.randint(1, 40)}",
                 rnd.choice(["North", "South", "East", "West"]), amount,
                 str(rnd.randint(1, 9))]
        if kind == "rejects" and i in bad_rows:
            cells[4] = f"{rnd.uniform(5, 900):.2f}"
            cells.append("stray cell")  # a column too many: the row is rejected whole
        lines.append(",".join(cells if kind != "no_date" else cells[1:]))
    return FileSpec(kind, rows, len(bad_rows), ("\n".join(lines) + "\n").encode())


def plan_files(rnd: random.Random, count: int, rows: tuple[int, int]) -> list[FileSpec]:
    kinds = ["no_date", "rejects"] + ["good"] * max(1, count - 2)
    rnd.shuffle(kinds)
    return [make_csv(rnd, k, rnd.randint(*rows)) for k in kinds[:max(count, 3)]]


# ---------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`tidemark serve` in a session of its own, so SIGKILL reaches every thread."""

    def __init__(self, data_dir: Path, port: int, log_path: Path) -> None:
        self.data_dir, self.port, self.log_path = data_dir, port, log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        env = {**os.environ, "TIDEMARK_BACKEND": "local",
               "TIDEMARK_TASK_BACKOFF_BASE_S": "0.2", "TIDEMARK_TASK_BACKOFF_MAX_S": "5"}
        exe = Path(sys.executable).with_name("tidemark")
        cmd = [str(exe), "serve", "--port", str(self.port), "--host", "127.0.0.1",
               "--data-dir", str(self.data_dir), "--no-demo"]
        deadline = time.time() + timeout_s
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=ROOT, start_new_session=True)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tidemark serve exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + "/api/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"tidemark serve did not come up in {timeout_s:g} s")

    def kill(self) -> None:
        """SIGKILL the server's process group (it was started in a session of its own)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Ctrl-C, as an operator would; SIGKILL if it does not end in 30 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


# ------------------------------------------------------------------------------ trial

def _http(method: str, url: str, **kw) -> Any:
    import requests

    kw.setdefault("timeout", 30)
    return requests.request(method, url, **kw)


def register(base_url: str, label: str) -> tuple[str, str]:
    r = _http("POST", base_url + "/api/auth/register", json={
        "email": f"{label}@faults.example.com", "password": PASSWORD,
        "tenant_name": f"Faults {label}"})
    if r.status_code != 201:
        raise RuntimeError(f"register failed: {r.status_code} {r.text[:200]}")
    body = r.json()
    return body["tenant"]["id"], body["access_token"]


def put_file(created: dict[str, Any], data: bytes) -> str:
    """The client's PUT to the signed URL: 'ok', or why it did not complete."""
    try:
        r = _http("PUT", created["upload_url"], data=data,
                  headers={**created["headers"], "Content-Length": str(len(data))})
    except Exception as exc:  # the server died under it
        return type(exc).__name__
    return "ok" if r.status_code < 300 else f"HTTP {r.status_code}"


def task_counts(data_dir: Path) -> dict[str, int]:
    path = data_dir / "tasks.sqlite"
    if not path.exists():
        return {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return dict(con.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status"))
    finally:
        con.close()


def wait_quiet(server: Server, token: str, upload_ids: list[str],
               timeout_s: float) -> tuple[bool, dict[str, Any]]:
    """Until every upload is settled and no task is pending or running, twice in a row."""
    auth = {"Authorization": f"Bearer {token}"}
    deadline, calm, state = time.time() + timeout_s, 0, {}
    while time.time() < deadline:
        statuses = {}
        for uid in upload_ids:
            r = _http("GET", f"{server.base_url}/api/uploads/{uid}", headers=auth)
            statuses[uid] = r.json().get("status") if r.status_code == 200 else r.status_code
        counts = task_counts(server.data_dir)
        state = {"uploads": statuses, "tasks": counts}
        quiet = all(s in SETTLED for s in statuses.values()) and \
            not counts.get("pending") and not counts.get("running")
        calm = calm + 1 if quiet else 0
        if calm >= 2:
            return True, state
        time.sleep(0.5)
    return False, state


@dataclass
class Trial:
    seed: int
    kill_after_s: float
    uploads: int = 0
    puts_before_kill: dict[str, int] = field(default_factory=dict)
    at_kill: dict[str, Any] = field(default_factory=dict)
    re_put: int = 0
    recovery: dict[str, Any] = field(default_factory=dict)
    rows_loaded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def run_trial(seed: int, workdir: Path, *, uploads: int = 5,
              rows: tuple[int, int] = (2000, 5000), kill_window: tuple[float, float] = (0.0, 1.5),
              quiet_timeout_s: float = 240.0) -> Trial:
    rnd = random.Random(seed)
    files = plan_files(rnd, uploads, rows)
    trial = Trial(seed=seed, kill_after_s=round(rnd.uniform(*kill_window), 3),
                  uploads=len(files))
    data_dir = workdir / f"trial-{seed}" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = Server(data_dir, free_port(), data_dir.parent / "server.log")
    t0 = time.monotonic()
    server.start()
    trial.seconds["start"] = round(time.monotonic() - t0, 2)
    try:
        tenant_id, token = register(server.base_url, f"trial{seed}")
        auth = {"Authorization": f"Bearer {token}"}
        created = []
        for i, spec in enumerate(files):
            r = _http("POST", server.base_url + "/api/uploads", headers=auth, json={
                "filename": f"part-{i}.csv", "size_bytes": len(spec.data),
                "content_type": "text/csv", "dataset": "Orders"})
            if r.status_code != 201:
                raise RuntimeError(f"create upload failed: {r.status_code} {r.text[:200]}")
            created.append(r.json())
        # Every file goes at once; the server dies under them after the drawn delay.
        t1 = time.monotonic()
        with ThreadPoolExecutor(len(files)) as pool:
            futures = [pool.submit(put_file, c, f.data) for c, f in zip(created, files,
                                                                          strict=True)]
            time.sleep(trial.kill_after_s)
            server.kill()
            outcomes = [fu.result() for fu in futures]
        trial.seconds["until_kill"] = round(time.monotonic() - t1, 2)
        trial.puts_before_kill = {k: outcomes.count(k) for k in set(outcomes)}
        trial.at_kill = {"tasks": task_counts(data_dir), "uploads": _statuses(data_dir,
                                                                             tenant_id)}
        t2 = time.monotonic()
        server.start()
        trial.seconds["restart"] = round(time.monotonic() - t2, 2)
        trial.recovery = _recovery_line(server.log_path)
        ids = [c["upload"]["id"] for c in created]
        for c, f in zip(created, files, strict=True):
            r = _http("GET", f"{server.base_url}/api/uploads/{c['upload']['id']}",
                      headers=auth)
            if r.status_code == 200 and r.json()["status"] == "pending":
                trial.re_put += 1
                outcome = put_file(c, f.data)
                if outcome != "ok":
                    trial.problems.append(f"re-PUT of {c['upload']['id']} failed: {outcome}")
        t3 = time.monotonic()
        quiet, state = wait_quiet(server, token, ids, quiet_timeout_s)
        trial.seconds["settle"] = round(time.monotonic() - t3, 2)
        if not quiet:
            trial.problems.append(f"not quiet after {quiet_timeout_s:g} s: {state}")
    finally:
        server.stop()
    if not trial.problems:
        trial.problems += check(data_dir, tenant_id,
                                [(c["upload"]["id"], f) for c, f in zip(created, files,
                                                                        strict=True)], trial)
    return trial


def _statuses(data_dir: Path, tenant_id: str) -> dict[str, int]:
    con = sqlite3.connect(f"file:{data_dir / 'documents.sqlite'}?mode=ro", uri=True,
                          timeout=30)
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    finally:
        con.close()
    if not rows:
        return {}
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    docs = SqliteDocumentStore(data_dir / "documents.sqlite")
    try:
        out: dict[str, int] = {}
        for d in docs.query(f"tenants/{tenant_id}/uploads"):
            out[d.data["status"]] = out.get(d.data["status"], 0) + 1
        return out
    finally:
        docs.close()


def _recovery_line(log_path: Path) -> dict[str, Any]:
    for line in reversed(log_path.read_text(errors="replace").splitlines()):
        if "recovered after an unclean stop" in line:
            try:
                rec = json.loads(line)
            except ValueError:
                return {"logged": True}
            return {k: rec[k] for k in ("claims_released", "events_reemitted",
                                        "metrics_reenqueued") if k in rec}
    return {}


# ------------------------------------------------------------------------------ check

def check(data_dir: Path, tenant_id: str, uploads: list[tuple[str, FileSpec]],
          trial: Trial | None = None, *, extra_versions: int = 0) -> list[str]:
    """Every invariant of the end state, read from the stores with the server stopped.
    `extra_versions`: version bumps not made by the listed uploads (a deleted upload's
    load and its delete)."""
    import duckdb

    from shared.adapters.local.sqlite_docs import SqliteDocumentStore
    from shared.forecast.request import defaults
    from shared.ports import Filter

    problems: list[str] = []
    docs = SqliteDocumentStore(data_dir / "documents.sqlite")
    try:
        records = {uid: docs.get(f"tenants/{tenant_id}/uploads", uid) for uid, _ in uploads}
        datasets = docs.query(f"tenants/{tenant_id}/datasets")
        snapshots = {d.id: d.data for d in docs.query(f"tenants/{tenant_id}/snapshots")}
        forecasts = docs.query(f"tenants/{tenant_id}/forecasts",
                               filters=[Filter("kind", "==", "default")])
        events = docs.query("ingest_events")
    finally:
        docs.close()
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        per_upload = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT upload_id, count(*), count(DISTINCT row_number) FROM business_data "
            "WHERE tenant_id = $t GROUP BY upload_id", {"t": tenant_id}).fetchall()}
    finally:
        con.close()

    loaded_rows = loads = 0
    for uid, spec in uploads:
        doc = records[uid]
        if doc is None:
            problems.append(f"{uid}: the upload record is gone")
            continue
        up = doc.data
        want_status, want_code = EXPECTED[spec.kind]
        rows, distinct = per_upload.pop(uid, (0, 0))
        if up["status"] != want_status:
            problems.append(f"{uid} ({spec.kind}): status {up['status']!r}, want "
                            f"{want_status!r} (error: {up.get('error')})")
            continue
        if want_status == "failed":
            err = up.get("error") or {}
            if err.get("code") != want_code or not err.get("message"):
                problems.append(f"{uid}: failed with {err!r}, want code {want_code}")
            if rows:
                problems.append(f"{uid}: failed but {rows} rows are in the warehouse")
            continue
        report = up.get("report") or {}
        loads += 1
        loaded_rows += rows
        if report.get("rows_loaded") != spec.good_rows:
            problems.append(f"{uid}: report says {report.get('rows_loaded')} rows loaded, "
                            f"the file has {spec.good_rows} good rows")
        if rows != report.get("rows_loaded") or distinct != rows:
            problems.append(f"{uid}: warehouse holds {rows} rows ({distinct} distinct), "
                            f"the report says {report.get('rows_loaded')}")
    for uid, (rows, _) in per_upload.items():
        problems.append(f"{uid}: {rows} warehouse rows belong to no known upload")
    if trial is not None:
        trial.rows_loaded = loaded_rows

    if len(datasets) != 1:
        problems.append(f"{len(datasets)} datasets, want 1")
    for ds in datasets:
        version = int(ds.data.get("version") or 0)
        if version != loads + extra_versions or int(ds.data.get("row_count") or 0) != loaded_rows:
            problems.append(f"dataset {ds.id}: version {version} / {ds.data.get('row_count')} "
                            f"rows, want {loads + extra_versions} / {loaded_rows}")
        snap = snapshots.get(ds.id)
        if version and (snap is None or snap.get("version") != version):
            problems.append(f"dataset {ds.id} v{version}: metrics snapshot is "
                            f"v{snap and snap.get('version')}")
        stored = {f.id: f.data.get("version") for f in forecasts
                  if f.data.get("dataset_id") == ds.id}
        stale = [f"{r.measure}/{r.grain}" for r in defaults(ds.id)
                 if stored.get(r.key()) != version]
        if version and stale:
            problems.append(f"dataset {ds.id} v{version}: default forecasts not of that "
                            f"version: {stale}")

    problems += check_tasks(data_dir)
    open_events = [e.id[:12] + ":" + str(e.data.get("status")) for e in events
                   if e.data.get("status") != "done"]
    if open_events:
        problems.append(f"ingest events not done: {open_events}")
    return problems


def check_tasks(data_dir: Path) -> list[str]:
    con = sqlite3.connect(f"file:{data_dir / 'tasks.sqlite'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT name, status, attempts, last_error FROM tasks "
                           "WHERE status != 'done'").fetchall()
    finally:
        con.close()
    return [f"task {name} is {status} after {attempts} attempts ({error})"
            for name, status, attempts, error in rows]


# ------------------------------------------------------------------------------- main

def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    seeds = [args.seed + i for i in range(args.trials)]
    results = []
    for seed in seeds:
        trial = run_trial(seed, workdir, uploads=args.uploads,
                          rows=(args.min_rows, args.max_rows),
                          kill_window=(0.0, args.kill_window),
                          quiet_timeout_s=args.quiet_timeout)
        results.append(trial)
        if not args.quiet:
            print(json.dumps(asdict(trial), default=str), flush=True)
        if not trial.problems and not args.keep:
            shutil.rmtree(workdir / f"trial-{seed}", ignore_errors=True)
    failed = [t.seed for t in results if t.problems]
    summary = {"trials": len(results), "failed_seeds": failed, "first_seed": args.seed,
               "uploads_per_trial": args.uploads,
               "rows_loaded": sum(t.rows_loaded for t in results),
               "re_put": sum(t.re_put for t in results),
               "killed_with_tasks_pending": sum(
                   1 for t in results if t.at_kill.get("tasks", {}).get("pending")
                   or t.at_kill.get("tasks", {}).get("running")),
               "claims_released": sum(int(t.recovery.get("claims_released", 0))
                                      for t in results),
               "events_reemitted": sum(int(t.recovery.get("events_reemitted", 0))
                                       for t in results),
               "metrics_reenqueued": sum(int(t.recovery.get("metrics_reenqueued", 0))
                                         for t in results),
               "mean_settle_s": round(sum(t.seconds.get("settle", 0) for t in results)
                                      / max(1, len(results)), 2),
               "workdir": str(workdir)}
    print(json.dumps(summary), flush=True)
    return {"summary": summary, "trials": results}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--short", action="store_true", help="3 trials (the CI mode)")
    p.add_argument("--seed", type=int, default=20261121, help="seed of the first trial")
    p.add_argument("--uploads", type=int, default=5, help="uploads per trial (>= 3)")
    p.add_argument("--min-rows", type=int, default=2000)
    p.add_argument("--max-rows", type=int, default=5000)
    p.add_argument("--kill-window", type=float, default=1.5,
                   help="the kill comes uniformly within this many seconds of the PUTs")
    p.add_argument("--quiet-timeout", type=float, default=240.0,
                   help="seconds to wait after the restart for everything to settle")
    p.add_argument("--workdir", help="where trial data dirs go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep data dirs of passing trials")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.short:
        args.trials = min(args.trials, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    result = run(parse_args(argv))
    return 1 if result["summary"]["failed_seeds"] else 0


if __name__ == "__main__":
    sys.exit(main())
