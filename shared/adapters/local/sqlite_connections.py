"""SQLite connections for the local stack's files (documents, task queue), opened one way.

Every connection to a Tidemark SQLite file gets the same settings, chosen once here:

- `journal_mode = WAL`: readers never block the writer nor the writer readers, so the
  dashboard's reads keep flowing while an ingest commits. The mode is stored in the
  file; setting it again is cheap and makes any file opened here WAL.
- `synchronous = FULL`: both files stand in for services whose acknowledged writes are
  durable (a Firestore write, a Cloud Tasks enqueue). In WAL mode NORMAL stays
  consistent but may roll back the last commits after a power loss or OS crash; FULL
  syncs the WAL on every commit, so a write that returned survives them too. The cost
  is one fsync per commit (no extra one at checkpoints), which these small
  transactions afford. https://www.sqlite.org/pragma.html#pragma_synchronous
- `busy_timeout = 30 s`: the file is shared by the threads of `tidemark serve` and by
  other processes (the CLI, tests, a restarted worker). A writer waits for the lock
  that long before SQLite reports "database is locked", well past any transaction
  these stores hold (milliseconds); the document store retries past it on top.
- autocommit (`isolation_level=None`): callers open their own `BEGIN IMMEDIATE`
  transactions where a read-modify-write must not interleave with another writer.

`ThreadConnections` keeps one connection per thread (a sqlite3 connection must not be
used by two threads at once) and closes those of threads that ended.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 30_000


def open_connection(path: str | Path) -> sqlite3.Connection:
    """A connection with the settings above. `check_same_thread=False` only so that
    `ThreadConnections.close` may close it from another thread; it is never used by
    two threads at once."""
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                          check_same_thread=False)
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    for attempt in range(20):
        try:
            con.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError:  # another process is switching it at this moment
            if attempt == 19:
                con.close()
                raise
            time.sleep(0.05 * (attempt + 1))
    con.execute("PRAGMA synchronous = FULL")
    return con


class ThreadConnections:
    """One connection per thread to one file, all closed by `close()`.

    Connections of threads that have ended are closed when the next one opens
    (pyarrow's reader threads come and go), so open handles stay bounded by live
    threads. A forked child opens its own instead of reusing its parent's."""

    def __init__(self, path: str | Path, *,
                 row_factory: Callable[[sqlite3.Cursor, tuple[Any, ...]], Any] | None = None
                 ) -> None:
        self.path = Path(path)
        self.row_factory = row_factory
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._foreign: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        con = open_connection(self.path)
        if self.row_factory is not None:
            con.row_factory = self.row_factory
        return con

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if os.getpid() != self._pid:  # a forked child must not reuse the parent's handles
            self._reset()
        con = getattr(self._local, "con", None)
        if con is not None:
            return con
        if isinstance(threading.current_thread(), threading._DummyThread):
            # Threads Python did not start (native callbacks, e.g. pyarrow's readers)
            # never report as ended: they share one connection instead of leaking one
            # each. Callers serialize their writes; reads are single statements.
            with self._lock:
                if self._foreign is None:
                    self._foreign = self._open()
                return self._foreign
        con = self._open()
        self._local.con = con
        with self._lock:
            live = []
            for thread, other in self._all:
                if thread.is_alive():
                    live.append((thread, other))
                else:
                    other.close()
            live.append((threading.current_thread(), con))
            self._all = live
        return con

    def open_count(self) -> int:
        """How many connections are open (for tests of the sweep)."""
        with self._lock:
            return len(self._all) + (self._foreign is not None)

    def close(self) -> None:
        """Close every connection opened here (in any thread)."""
        with self._lock:
            for _, con in self._all:
                con.close()
            self._all = []
            if self._foreign is not None:
                self._foreign.close()
                self._foreign = None
        self._local = threading.local()
