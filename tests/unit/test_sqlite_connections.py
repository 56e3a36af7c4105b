"""The documents store and the task queue open their SQLite files one way: WAL,
synchronous FULL, the same busy timeout, one connection per thread."""

from __future__ import annotations

import threading

import pytest

from shared.adapters.local.sqlite_connections import (
    BUSY_TIMEOUT_MS,
    ThreadConnections,
    open_connection,
)
from shared.adapters.local.sqlite_docs import SqliteDocumentStore
from shared.adapters.local.task_queue import SqliteTaskQueue

FULL = 2  # PRAGMA synchronous reports FULL as 2


def _settings(con) -> tuple:
    return (con.execute("PRAGMA journal_mode").fetchone()[0],
            con.execute("PRAGMA synchronous").fetchone()[0],
            con.execute("PRAGMA busy_timeout").fetchone()[0])


def test_a_connection_is_wal_fully_synchronous_with_the_busy_timeout(tmp_path):
    con = open_connection(tmp_path / "a.sqlite")
    assert _settings(con) == ("wal", FULL, BUSY_TIMEOUT_MS)
    assert con.isolation_level is None
    con.close()


@pytest.mark.parametrize("kind", ["documents", "tasks"])
def test_both_local_stores_use_these_settings(tmp_path, kind):
    if kind == "documents":
        store = SqliteDocumentStore(tmp_path / "docs.sqlite")
    else:
        store = SqliteTaskQueue(tmp_path / "tasks.sqlite", base_url="http://127.0.0.1:9",
                                secret="s")
    seen: list[tuple] = []
    thread = threading.Thread(target=lambda: seen.append(_settings(store._conn())))
    thread.start()
    thread.join()
    assert seen == [("wal", FULL, BUSY_TIMEOUT_MS)]
    assert _settings(store._conn()) == ("wal", FULL, BUSY_TIMEOUT_MS)


def test_each_thread_gets_its_own_connection_and_close_closes_them_all(tmp_path):
    conns = ThreadConnections(tmp_path / "c.sqlite")
    mine = conns.get()
    assert conns.get() is mine
    others: list = []
    opened, hold = threading.Event(), threading.Event()

    def worker() -> None:
        others.append(conns.get())
        opened.set()
        hold.wait()

    t = threading.Thread(target=worker)
    t.start()
    opened.wait()
    assert others[0] is not mine
    assert conns.open_count() == 2
    hold.set()
    t.join()
    conns.close()
    assert conns.open_count() == 0
    with pytest.raises(Exception, match="closed"):
        mine.execute("SELECT 1")
    assert conns.get() is not mine  # a fresh one after close
    conns.close()


def test_a_thread_that_ended_has_its_connection_closed_on_the_next_open(tmp_path):
    conns = ThreadConnections(tmp_path / "c.sqlite")
    ended: list = []
    t = threading.Thread(target=lambda: ended.append(conns.get()))
    t.start()
    t.join()
    conns.get()  # opening from a live thread sweeps the ended one
    assert conns.open_count() == 1
    with pytest.raises(Exception, match="closed"):
        ended[0].execute("SELECT 1")
    conns.close()
