"""The finalize event only claims and hands off; the ingest task does the work.

The event function returns once the object generation is claimed and its named ingest
task enqueued: nothing is staged or loaded by it. The task target (`ingest_task`) runs
the ingest job; a second delivery of the event enqueues nothing new, and a second
delivery of the task finds the claim and loads nothing twice."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from shared import errors

ROOT = Path(__file__).resolve().parents[2]
SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
FINALIZED = "google.cloud.storage.object.v1.finalized"


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_handoff_under_test",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def landed(deps, function_client, make_user):
    """(principal, upload, finalize event) of an upload whose object has landed."""
    principal, headers = make_user()
    data = SUPERSTORE.read_bytes()[:30_000]
    resp = function_client("upload", "upload_http").post("/api/uploads", headers=headers, json={
        "filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
        "dataset": "Sales"})
    assert resp.status_code == 201, resp.get_json()
    up = resp.get_json()["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
    event = CloudEvent({"type": FINALIZED,
                        "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                       {"bucket": info.bucket, "name": info.name,
                        "generation": info.generation, "size": str(info.size)})
    return principal, up, event


def _status(deps, principal, up) -> str:
    return deps.docs.get(f"tenants/{principal['tenant_id']}/uploads", up["id"]).data["status"]


def _rows(deps, tenant_id: str) -> int:
    deps.warehouse.ensure_table(deps.settings.warehouse_table)
    rows = deps.warehouse.query("SELECT count(*) AS n FROM {business_data} "
                                "WHERE tenant_id = @t", {"t": tenant_id})
    return int(rows[0]["n"])


def _task_name(event) -> str:
    from shared.uploads.events import ingest_task_name

    d = event.data
    return ingest_task_name(d["bucket"], d["name"], d["generation"])


def _post_task(function_client, deps, payload, name: str):
    client = function_client("upload", "ingest_task")
    return client.post("/", json=payload, headers={
        "X-Tidemark-Task-Secret": deps.secrets.get("task-secret").decode(),
        "X-CloudTasks-TaskName": name, "X-CloudTasks-QueueName": "ingest"})


def test_the_event_claims_and_enqueues_the_named_task_and_loads_nothing(
        deps, landed, upload_main):
    principal, up, event = landed
    upload_main.ingest_finalized(event)

    assert _status(deps, principal, up) == "processing"
    assert _rows(deps, principal["tenant_id"]) == 0
    task = deps.tasks.get(_task_name(event))
    assert task is not None and task["target"] == "ingest" and task["status"] == "pending"
    queued = deps.tasks.counts()
    # Every delivery of the event names the same task: a second one adds nothing.
    upload_main.ingest_finalized(event)
    assert deps.tasks.counts() == queued
    assert _status(deps, principal, up) == "processing"


def test_the_ingest_task_loads_once_however_often_it_is_delivered(
        deps, landed, upload_main, function_client):
    principal, up, event = landed
    upload_main.ingest_finalized(event)
    payload = deps.tasks.get(_task_name(event))["payload"]

    import json
    first = _post_task(function_client, deps, json.loads(payload), _task_name(event))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["result"]["status"] == "loaded"
    assert _status(deps, principal, up) == "loaded"
    loaded = _rows(deps, principal["tenant_id"])
    assert loaded > 0

    again = _post_task(function_client, deps, json.loads(payload), _task_name(event))
    assert again.status_code == 200
    assert again.get_json()["result"] == {"status": "ignored", "reason": "duplicate"}
    assert _rows(deps, principal["tenant_id"]) == loaded


def test_a_task_delivered_while_another_holds_the_claim_is_retried(
        deps, landed, upload_main, function_client):
    """The first delivery took the event's claim over under its own: a duplicate
    delivery of the same task may not take it again, and asks for a retry (503)."""
    from shared.uploads import claims
    from shared.uploads.events import ingest_task_payload

    principal, _up, event = landed
    upload_main.ingest_finalized(event)
    d = event.data
    holder = claims.IngestRun.of(deps, d["bucket"], d["name"], d["generation"],
                                 handoff=_task_name(event))
    assert claims.claim(deps, holder) == "claimed"

    resp = _post_task(function_client, deps,
                      ingest_task_payload(d["bucket"], d["name"], d["generation"], None),
                      _task_name(event))
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "ingest_in_progress"
    assert _rows(deps, principal["tenant_id"]) == 0


def test_a_malformed_task_fails_for_good_without_a_retry(deps, function_client):
    resp = _post_task(function_client, deps, {"bucket": "b", "generation": "1"}, "x")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "failed"
    assert resp.get_json()["error"]["code"] == "invalid_payload"


def test_the_task_target_refuses_callers_other_than_the_queue(function_client, deps):
    resp = function_client("upload", "ingest_task").post("/", json={})
    assert resp.status_code == 403


def test_an_enqueue_that_fails_releases_the_claim_and_asks_for_a_retry(
        deps, landed, upload_main):
    from shared.uploads.records import EVENTS, event_key

    principal, up, event = landed
    real = deps.tasks.enqueue

    def unavailable(*args, **kwargs):
        raise errors.Unavailable("queue unreachable")

    deps.tasks.enqueue = unavailable
    with pytest.raises(errors.Unavailable):
        upload_main.ingest_finalized(event)
    d = event.data
    held = deps.docs.get(EVENTS, event_key(d["bucket"], d["name"], str(d["generation"])))
    assert held.data["status"] == "retry"  # released: the retry need not wait a lease
    deps.tasks.enqueue = real

    upload_main.ingest_finalized(event)  # the platform's retry
    assert deps.tasks.get(_task_name(event))["status"] == "pending"
    assert _status(deps, principal, up) == "processing"


def test_the_local_queue_carries_the_event_and_then_the_ingest_task(
        deps, landed, function_client):
    """Locally the finalize event is itself a queued delivery ("finalize", the stand-in
    for Eventarc); the ingest task is a second hop through the same durable queue."""
    import json

    from shared.adapters.local.events import LocalEventDelivery
    from shared.adapters.local.task_queue import SqliteTaskQueue

    principal, up, event = landed
    clients = {"finalize": function_client("upload", "ingest_finalized", "cloudevent"),
               "ingest": function_client("upload", "ingest_task"),
               "metrics": function_client("metrics", "metrics_task")}
    hops: list[str] = []

    def dispatch(delivery, headers):
        hops.append(delivery.target)
        ctype = ("application/cloudevents+json" if delivery.target == "finalize"
                 else "application/json")
        return clients[delivery.target].post("/", data=json.dumps(delivery.payload),
                                             headers={**headers, "Content-Type": ctype}
                                             ).status_code

    queue = SqliteTaskQueue(deps.settings.data_dir / "tasks.sqlite",
                            base_url=deps.settings.base_url,
                            secret=deps.secrets.get("task-secret").decode(),
                            dispatcher=dispatch)
    LocalEventDelivery(lambda: queue)({"data": event.data, "type": FINALIZED,
                                       "id": "1", "source": "//storage", "specversion": "1.0"})
    for _ in range(10):
        if not queue.run_due(10):
            break
    assert hops[:2] == ["finalize", "ingest"]
    assert _status(deps, principal, up) == "loaded"
    assert _rows(deps, principal["tenant_id"]) > 0
    assert not queue.dead_letters()


def test_an_expired_redelivery_leaves_a_handed_off_upload_to_its_task(
        deps, landed, upload_main):
    """An old copy of the event arriving while the task is queued does not fail the
    upload: the live claim says the ingest is under way."""
    from datetime import UTC, datetime, timedelta

    from tests.support.ingest_tasks import deliver_ingest_task

    principal, up, event = landed
    upload_main.ingest_finalized(event)
    old = CloudEvent({"type": FINALIZED, "source": event["source"],
                      "time": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
                     event.data)
    upload_main.ingest_finalized(old)
    assert _status(deps, principal, up) == "processing"
    assert deliver_ingest_task(deps, event.data)["status"] == "loaded"
    assert _status(deps, principal, up) == "loaded"
