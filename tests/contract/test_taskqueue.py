"""TaskQueue contract: named tasks are enqueued once, for the SQLite queue and Cloud Tasks."""

from __future__ import annotations

import uuid

import pytest

from shared.ports import TaskQueue, TaskRef
from tests.contract import backends


@pytest.fixture(params=["local", "gcp"])
def tasks(request) -> TaskQueue:
    return backends.make("taskqueue", request)


def _payload() -> dict:
    return {"tenant_id": "t_" + uuid.uuid4().hex[:8], "dataset_id": "default", "version": 3}


def test_named_task_is_created_then_deduplicated(tasks):
    payload = _payload()
    name = f"metrics-{payload['tenant_id']}-default-v3"
    first = tasks.enqueue("metrics", payload, name=name)
    assert first == TaskRef(name=name, created=True)
    again = tasks.enqueue("metrics", payload, name=name)
    assert again == TaskRef(name=name, created=False)


def test_distinct_names_are_distinct_tasks(tasks):
    payload = _payload()
    a = tasks.enqueue("forecast", payload, name=f"forecast-{payload['tenant_id']}-d-v1")
    b = tasks.enqueue("forecast", payload, name=f"forecast-{payload['tenant_id']}-d-v2")
    assert a.created and b.created
    assert a.name != b.name


def test_unnamed_tasks_get_a_fresh_name_each(tasks):
    a = tasks.enqueue("metrics", _payload())
    b = tasks.enqueue("metrics", _payload())
    assert a.created and b.created
    assert a.name and b.name and a.name != b.name


def test_delayed_task_is_accepted(tasks):
    payload = _payload()
    ref = tasks.enqueue("metrics", payload, name=f"metrics-{payload['tenant_id']}-late",
                        delay_s=30)
    assert ref.created is True
