"""GCS finalize notifications on the emulators: start fake-gcs-server publishing them
to the Pub/Sub emulator, pull the message published for an object, and turn it into
the CloudEvent Eventarc delivers. Shared by the end-to-end emulator tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support import emulators
from tests.support.environment import emulator_missing


def finalize_events(request, bucket: str, topic_id: str,
                    subscription_prefix: str) -> Iterator[dict]:
    """For a fixture to `yield from`: fake-gcs-server publishing finalize events to
    topic_id on the shared Pub/Sub emulator, with `bucket` created, and a fresh
    subscription to pull them from. Stops the server when the fixture ends."""
    pubsub = emulators.shared_emulator(request, "pubsub")
    if emulators.missing("gcs"):
        emulator_missing(emulators.missing("gcs"))
    publisher, subscriber = emulators.pubsub_clients(pubsub)
    topic = publisher.topic_path(emulators.PROJECT, topic_id)
    sub = subscriber.subscription_path(emulators.PROJECT,
                                       f"{subscription_prefix}-{uuid.uuid4().hex[:8]}")
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(request={"name": sub, "topic": topic})
    try:
        gcs = emulators.start_gcs(pubsub=pubsub, topic=topic_id)
    except emulators.EmulatorFailed as exc:
        pytest.fail(str(exc))
    storage = emulators.storage_client(gcs)
    storage.create_bucket(bucket)
    yield {"gcs": gcs, "storage": storage, "subscriber": subscriber, "subscription": sub}
    gcs.stop()
    subscriber.close()


def pull_finalize_event(events, object_name: str, timeout_s: float = 30.0) -> dict:
    """The Pub/Sub message fake-gcs-server published for object_name, acknowledged."""
    subscriber, sub = events["subscriber"], events["subscription"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = subscriber.pull(request={"subscription": sub, "max_messages": 10},
                               timeout=5.0)
        if resp.received_messages:
            subscriber.acknowledge(request={"subscription": sub, "ack_ids": [
                m.ack_id for m in resp.received_messages]})
        for received in resp.received_messages:
            msg = received.message
            if msg.attributes.get("objectId") == object_name:
                return {"id": msg.message_id, "attributes": dict(msg.attributes),
                        "data": json.loads(msg.data)}
    raise AssertionError(f"no finalize event for {object_name} within {timeout_s}s")


def to_cloud_event(message: dict):
    """What Eventarc delivers for a GCS notification: a
    google.cloud.storage.object.v1.finalized CloudEvent carrying the object resource."""
    from cloudevents.http import CloudEvent

    obj, attrs = message["data"], message["attributes"]
    assert attrs["eventType"] == "OBJECT_FINALIZE"
    return CloudEvent({
        "id": message["id"], "specversion": "1.0",
        "type": "google.cloud.storage.object.v1.finalized",
        "source": f"//storage.googleapis.com/projects/_/buckets/{attrs['bucketId']}",
        "subject": f"objects/{attrs['objectId']}",
        "time": obj.get("updated") or obj.get("timeCreated"),
        "datacontenttype": "application/json",
    }, obj)
