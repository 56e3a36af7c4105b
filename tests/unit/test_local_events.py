"""The local stand-in for Eventarc: a finalize event is queued once per object
generation, and the use case's reaction to a landed object runs after it, best effort."""

from __future__ import annotations

from shared import errors
from shared.adapters.local.events import LocalEventDelivery
from shared.adapters.local.task_queue import SqliteTaskQueue


def _event(generation: str) -> dict:
    return {"type": "google.cloud.storage.object.v1.finalized",
            "data": {"bucket": "b", "name": "uploads/t/x.csv", "generation": generation,
                     "size": "3"}}


def test_one_task_per_object_generation_and_the_reaction_after_it(tmp_path):
    queue = SqliteTaskQueue(tmp_path / "tasks.sqlite", base_url="http://x", secret="s")
    seen: list[dict] = []

    def received(data: dict) -> None:
        assert queue.counts().get("pending"), "the reaction ran before the enqueue"
        seen.append(data)

    deliver = LocalEventDelivery(lambda: queue, on_received=received)
    first = deliver(_event("1"))
    again = deliver(_event("1"))
    newer = deliver(_event("2"))
    assert first.created and not again.created and newer.created
    assert first.name == again.name != newer.name
    assert queue.counts().get("pending") == 2
    assert [d["generation"] for d in seen] == ["1", "1", "2"]


def test_a_failed_reaction_does_not_lose_the_event(tmp_path):
    queue = SqliteTaskQueue(tmp_path / "tasks.sqlite", base_url="http://x", secret="s")

    def received(data: dict) -> None:
        raise errors.Unavailable("the document store is busy")

    ref = LocalEventDelivery(lambda: queue, on_received=received)(_event("7"))
    assert ref.created and queue.counts().get("pending") == 1
