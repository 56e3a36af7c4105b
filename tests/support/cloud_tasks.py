"""The Cloud Tasks emulator as the end-to-end tests use it: find a named task in its
queue, and deliver it to its target with the headers Cloud Tasks sets."""

from __future__ import annotations

import time

from tests.support import emulators


def queued_task(deps, queue: str, task_id: str, timeout_s: float = 10.0):
    """The task of that id in the Cloud Tasks emulator's queue. The emulator takes a
    task off its list while it attempts a delivery, so look a few times."""
    client = deps.tasks.client
    parent = f"projects/{emulators.PROJECT}/locations/{emulators.TASK_LOCATION}/queues/{queue}"
    wanted = f"{parent}/tasks/{task_id}"
    deadline = time.monotonic() + timeout_s
    names: list[str] = []
    while time.monotonic() < deadline:
        listed = list(client.list_tasks(request={"parent": parent}))
        names = [t.name for t in listed]
        found = [t for t in listed if t.name == wanted]
        if found:
            assert len(found) == 1, f"{wanted} is queued {len(found)} times"
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{wanted} not in queue {queue}; it holds {names}")


def deliver_task(function_client, function: str, target: str, task) -> dict:
    """POST the task's body to its target as Cloud Tasks does (its headers included)."""
    task_name = task.name.rsplit("/", 1)[-1]
    queue = task.name.split("/queues/", 1)[1].split("/", 1)[0]
    resp = function_client(function, target).post(
        "/", data=task.http_request.body, content_type="application/json",
        headers={"X-CloudTasks-QueueName": queue, "X-CloudTasks-TaskName": task_name,
                 "X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskExecutionCount": "0"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()
