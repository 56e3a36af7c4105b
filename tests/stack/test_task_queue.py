"""The local durable task queue: retries with growing backoff, dead letters, restarts."""

from __future__ import annotations

import itertools
import time

import pytest

from shared import errors
from shared.adapters.local.task_queue import SqliteTaskQueue


def make_queue(path, **kw):
    kw.setdefault("backoff_base_s", 0.05)
    return SqliteTaskQueue(path, base_url="http://127.0.0.1:9", secret="s3cret", **kw)


def drain(queue, until, timeout=10.0):
    deadline = time.time() + timeout
    while not until() and time.time() < deadline:
        queue.run_due()
        time.sleep(0.01)
    assert until(), "queue did not reach the expected state in time"


def test_failing_twice_then_succeeding_is_delivered_three_times_with_growing_delay(tmp_path):
    outcomes = iter([503, 500, 204])
    seen: list[tuple[float, dict]] = []

    def dispatch(delivery, headers):
        seen.append((time.monotonic(), headers))
        return next(outcomes)

    q = make_queue(tmp_path / "q.sqlite", dispatcher=dispatch)
    assert q.enqueue("metrics", {"tenant_id": "t"}, name="job-1").created
    drain(q, lambda: q.get("job-1")["status"] == "done")
    assert len(seen) == 3
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.10
    assert gaps[1] > gaps[0]
    assert [h["X-CloudTasks-TaskRetryCount"] for _, h in seen] == ["0", "1", "2"]
    assert all(h["X-Tidemark-Task-Secret"] == "s3cret" for _, h in seen)
    assert q.backoff_delay(1) < q.backoff_delay(2) < q.backoff_delay(3)


def test_a_task_that_keeps_failing_ends_in_the_dead_letters(tmp_path):
    calls = []
    q = make_queue(tmp_path / "q.sqlite", max_attempts=3,
                   dispatcher=lambda d, h: (calls.append(d.attempt), 500)[1])
    q.enqueue("forecast", {"x": 1}, name="doomed")
    drain(q, lambda: q.get("doomed")["status"] == "dead")
    assert calls == [1, 2, 3]
    dead = q.dead_letters()
    assert [d["name"] for d in dead] == ["doomed"] and dead[0]["last_status"] == 500


def test_a_refused_connection_counts_as_a_failed_attempt(tmp_path):
    def refuse(d, h):
        raise ConnectionError("refused")
    q = make_queue(tmp_path / "q.sqlite", max_attempts=2, dispatcher=refuse)
    q.enqueue("metrics", {}, name="nobody-home")
    drain(q, lambda: q.get("nobody-home")["status"] == "dead")
    assert "refused" in q.get("nobody-home")["last_error"]


def test_a_name_used_twice_enqueues_once(tmp_path):
    q = make_queue(tmp_path / "q.sqlite", dispatcher=lambda d, h: 200)
    assert q.enqueue("metrics", {"v": 1}, name="same").created is True
    assert q.enqueue("metrics", {"v": 2}, name="same").created is False
    assert q.counts() == {"pending": 1}


def test_a_task_survives_a_restart_and_a_crash_mid_delivery(tmp_path):
    path = tmp_path / "q.sqlite"
    first = make_queue(path, dispatcher=lambda d, h: 200)
    first.enqueue("metrics", {"n": 1}, name="before-restart")
    first.enqueue("metrics", {"n": 2}, name="crashed-mid-delivery")
    # The process claims the tasks and dies before recording any outcome.
    claimed = [d for d in first.claim_due(10) if d.name == "crashed-mid-delivery"]
    assert claimed
    del first
    delivered = []
    second = make_queue(path, dispatcher=lambda d, h: (delivered.append(d.name), 200)[1])
    assert second.recover() == 2  # both were claimed, neither recorded
    drain(second, lambda: second.counts() == {"done": 2})
    assert sorted(delivered) == ["before-restart", "crashed-mid-delivery"]


def test_delay_postpones_delivery(tmp_path):
    delivered = []
    q = make_queue(tmp_path / "q.sqlite", dispatcher=lambda d, h: (delivered.append(1), 200)[1])
    q.enqueue("metrics", {}, name="later", delay_s=0.5)
    assert q.run_due() == 0 and delivered == []
    time.sleep(0.55)
    assert q.run_due() == 1 and delivered == [1]


def test_unknown_targets_and_bad_names_are_refused(tmp_path):
    q = make_queue(tmp_path / "q.sqlite")
    with pytest.raises(errors.InvalidInput):
        q.enqueue("nowhere", {})
    with pytest.raises(errors.InvalidInput):
        q.enqueue("metrics", {}, name="../../etc")
