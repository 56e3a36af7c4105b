"""A durable task queue in SQLite, standing in for Cloud Tasks.

Tasks are rows; a worker claims due ones under a lease (so a crash mid-delivery is
redelivered after a restart), POSTs them to the function target like Cloud Tasks does
(same X-CloudTasks-* headers, plus the local shared-secret header), and on a non-2xx
answer reschedules with exponential backoff until max attempts, after which the task
moves to the dead-letter list. Connections are those of every local SQLite file
(shared.adapters.local.sqlite_connections): WAL, synchronous FULL, so an enqueue that
returned survives a crash.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import errors
from shared.adapters.local.sqlite_connections import ThreadConnections
from shared.ports import TaskQueue, TaskRef
from shared.web.catalog import TASK_TARGETS

log = logging.getLogger("tidemark.taskqueue")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
  name TEXT PRIMARY KEY,
  target TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at REAL NOT NULL,
  due_at REAL NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending',   -- pending | running | done | dead
  lease_until REAL,
  last_status INTEGER,
  last_error TEXT,
  finished_at REAL
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks(status, due_at);
"""
# Due: pending and due now, or running with a lapsed lease (a crashed delivery).
_ANY_DUE = ("SELECT 1 FROM tasks WHERE (status = 'pending' AND due_at <= ?) "
            "OR (status = 'running' AND lease_until < ?) LIMIT 1")
_DUE = ("SELECT name, target, payload, attempts FROM tasks WHERE "
        "(status = 'pending' AND due_at <= ?) OR (status = 'running' AND lease_until < ?) "
        "ORDER BY due_at LIMIT ?")


@dataclass(frozen=True)
class Delivery:
    name: str
    target: str
    payload: dict[str, Any]
    attempt: int  # 1-based


# dispatch(delivery, headers) -> HTTP status code
Dispatcher = Callable[[Delivery, dict[str, str]], int]


class SqliteTaskQueue(TaskQueue):
    def __init__(self, path: Path, *, base_url: str, secret: str, max_attempts: int = 5,
                 backoff_base_s: float = 1.0, backoff_max_s: float = 300.0,
                 lease_s: float = 900.0, dispatcher: Dispatcher | None = None) -> None:
        self.path = Path(path)
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.lease_s = lease_s
        self.dispatcher = dispatcher or self._http_dispatch
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path, row_factory=sqlite3.Row)
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    # ---------------------------------------------------------------- port
    def enqueue(self, target: str, payload: Mapping[str, Any], *, name: str | None = None,
                delay_s: float = 0.0) -> TaskRef:
        if target not in TASK_TARGETS:
            raise errors.InvalidInput(f"unknown task target {target!r}")
        name = name or uuid.uuid4().hex
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 500:
            raise errors.InvalidInput(f"invalid task name {name!r}")
        now = time.time()
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO tasks(name, target, payload, created_at, due_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, target, json.dumps(dict(payload), default=str), now, now + max(0.0, delay_s)))
        return TaskRef(name=name, created=cur.rowcount == 1)

    # -------------------------------------------------------------- worker
    def recover(self) -> int:
        """At start-up of the (single) worker process, deliveries still marked running
        were cut off by a crash: make them due again at once."""
        cur = self._conn().execute(
            "UPDATE tasks SET status='pending', due_at=?, lease_until=NULL "
            "WHERE status='running'", (time.time(),))
        if cur.rowcount:
            log.warning("recovered interrupted task deliveries", extra={"count": cur.rowcount})
        return cur.rowcount

    def claim_due(self, limit: int = 10) -> list[Delivery]:
        """Lease due tasks (and those whose lease lapsed: a crashed delivery)."""
        now = time.time()
        conn = self._conn()
        # The worker polls several times a second: take the write lock only when there
        # is something to claim.
        if conn.execute(_ANY_DUE, (now, now)).fetchone() is None:
            return []
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(_DUE, (now, now, limit)).fetchall()
            for r in rows:
                conn.execute("UPDATE tasks SET status='running', lease_until=?, "
                             "attempts=attempts+1 WHERE name=?", (now + self.lease_s, r["name"]))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return [Delivery(r["name"], r["target"], json.loads(r["payload"]), r["attempts"] + 1)
                for r in rows]

    def deliver(self, d: Delivery) -> int:
        headers = {
            "X-Tidemark-Task-Secret": self.secret,
            "X-CloudTasks-TaskName": d.name,
            "X-CloudTasks-QueueName": d.target,
            "X-CloudTasks-TaskRetryCount": str(d.attempt - 1),
            "X-CloudTasks-TaskExecutionCount": str(d.attempt - 1),
        }
        try:
            status = self.dispatcher(d, headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # a refused connection is a failed attempt, not a crash
            status, error = 0, f"{type(exc).__name__}: {exc}"
        self._record(d, status, error)
        return status

    def _record(self, d: Delivery, status: int, error: str | None) -> None:
        now = time.time()
        conn = self._conn()
        if error is None:
            conn.execute("UPDATE tasks SET status='done', last_status=?, last_error=NULL, "
                         "finished_at=?, lease_until=NULL WHERE name=?", (status, now, d.name))
            return
        if d.attempt >= self.max_attempts:
            conn.execute("UPDATE tasks SET status='dead', last_status=?, last_error=?, "
                         "finished_at=?, lease_until=NULL WHERE name=?",
                         (status, error, now, d.name))
            log.error("task moved to dead letters", extra={"task": d.name, "target": d.target,
                                                           "attempts": d.attempt, "error": error})
            return
        delay = self.backoff_delay(d.attempt)
        conn.execute("UPDATE tasks SET status='pending', due_at=?, last_status=?, last_error=?, "
                     "lease_until=NULL WHERE name=?", (now + delay, status, error, d.name))
        log.warning("task attempt failed; retrying", extra={
            "task": d.name, "target": d.target, "attempt": d.attempt, "retry_in_s": delay,
            "error": error})

    def backoff_delay(self, attempt: int) -> float:
        return min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))

    def run_due(self, limit: int = 10) -> int:
        """Deliver what is due now, one by one; returns how many were attempted."""
        batch = self.claim_due(limit)
        for d in batch:
            self.deliver(d)
        return len(batch)

    def _http_dispatch(self, d: Delivery, headers: dict[str, str]) -> int:
        import requests

        body = json.dumps(d.payload)
        ctype = "application/cloudevents+json" if d.target == "finalize" else "application/json"
        resp = requests.post(self.base_url + TASK_TARGETS[d.target], data=body,
                             headers={**headers, "Content-Type": ctype}, timeout=600)
        return resp.status_code

    # ------------------------------------------------------------ inspection
    def get(self, name: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT * FROM tasks WHERE name=?", (name,)).fetchone()
        return dict(row) if row else None

    def dead_letters(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn().execute(
            "SELECT * FROM tasks WHERE status='dead' ORDER BY finished_at")]

    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._conn().execute(
            "SELECT status, COUNT(*) FROM tasks GROUP BY status")}


class TaskWorker:
    """Background delivery loop for `tidemark serve`."""

    def __init__(self, queue: SqliteTaskQueue, *, concurrency: int = 4,
                 poll_s: float = 0.2) -> None:
        self.queue = queue
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="task")
        self._slots = threading.Semaphore(concurrency)
        self._thread = threading.Thread(target=self._loop, name="task-worker", daemon=True)

    def start(self) -> None:
        self.queue.recover()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                free = 0
                while self._slots.acquire(blocking=False):
                    free += 1
                batch = self.queue.claim_due(free) if free else []
                for _ in range(free - len(batch)):
                    self._slots.release()
                for d in batch:
                    self._pool.submit(self._run, d)
            except Exception:
                log.exception("task worker loop error")
            self._stop.wait(self.poll_s)

    def _run(self, d: Delivery) -> None:
        try:
            self.queue.deliver(d)
        finally:
            self._slots.release()
