"""The upload path on the GCP adapters, end to end on the emulators:

signed URL (GcsBlobStore) -> PUT into fake-gcs-server -> finalize event published to
the Pub/Sub emulator -> pulled and turned into the CloudEvent Eventarc would deliver ->
functions/upload/main.py `ingest_finalized` (claim, hand-off) -> the named ingest task
in the Cloud Tasks emulator, delivered to `ingest_task` -> upload record in Firestore,
rows in BigQuery.

Secret Manager has no emulator: the Deps get the in-process fake client.
"""

from __future__ import annotations

import logging
import uuid

import pytest
import requests

from tests.support import emulators
from tests.support.cloud_tasks import deliver_task, queued_task
from tests.support.environment import ROOT
from tests.support.finalize_events import finalize_events, pull_finalize_event, to_cloud_event

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

BUCKET = "tidemark-uploads"
STAGING_BUCKET = "tidemark-e2e-staging"
TOPIC = "gcs-finalize"
CSV = (b"order_date,order_id,customer,region,product,quantity,sales\n"
       b"2024-01-02,o1,alice,north,widget,2,19.90\n"
       b"2024-01-03,o2,bob,south,gadget,1,5.00\n"
       b"2024-01-04,o3,carol,north,widget,3,29.85\n")


@pytest.fixture(scope="module")
def events(request):
    """fake-gcs-server publishing finalize events to a Pub/Sub emulator topic, and a
    subscription to pull them from."""
    yield from finalize_events(request, BUCKET, TOPIC, "ingest")


@pytest.fixture
def gcp_deps(events, request, tmp_path):
    """A Deps on the gcp adapters, each on its emulator, installed as get_deps()."""
    from shared.adapters.gcp.bigquery import BigQueryWarehouse
    from shared.adapters.gcp.cloud_tasks import CloudTasksQueue
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.adapters.gcp.gcs import GcsBlobStore
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    firestore = emulators.shared_emulator(request, "firestore")
    bigquery = emulators.shared_emulator(request, "bigquery")
    tasks = emulators.shared_emulator(request, "tasks")
    bq_client = emulators.bigquery_client(bigquery)
    emulators.bigquery_dataset(bq_client, "tidemark_e2e")
    if events["storage"].lookup_bucket(STAGING_BUCKET) is None:
        events["storage"].create_bucket(STAGING_BUCKET)  # terraform's staging bucket
    settings = Settings(backend="gcp", gcp_project=emulators.PROJECT, uploads_bucket=BUCKET,
                        staging_bucket=STAGING_BUCKET,
                        data_dir=tmp_path / "data", warehouse_dataset="tidemark_e2e",
                        tasks_location=emulators.TASK_LOCATION,
                        metrics_task_url="http://127.0.0.1:9/metrics_task",
                        forecast_task_url="http://127.0.0.1:9/forecast_task",
                        ingest_task_url="http://127.0.0.1:9/ingest_task")
    deps = Deps(
        settings,
        blobs=GcsBlobStore(client=events["storage"],
                           signing_credentials=emulators.signing_credentials()),
        docs=FirestoreDocumentStore(client=emulators.firestore_client(firestore)),
        warehouse=BigQueryWarehouse(project=emulators.PROJECT, dataset="tidemark_e2e",
                                    client=bq_client),
        tasks=CloudTasksQueue(project=emulators.PROJECT, location=emulators.TASK_LOCATION,
                              queues={q: q for q in emulators.TASK_QUEUES},
                              target_urls={"metrics": settings.metrics_task_url,
                                           "forecast": settings.forecast_task_url,
                                           "ingest": settings.ingest_task_url},
                              service_account="", client=emulators.tasks_client(tasks)),
        secrets=SecretManagerStore(emulators.PROJECT,
                                   client=emulators.FakeSecretManagerClient()))
    with override(deps):
        yield deps


def deliver(event) -> int:
    """POST the CloudEvent to ingest_finalized as functions-framework serves it."""
    from cloudevents.conversion import to_structured
    from functions_framework import create_app

    app = create_app("ingest_finalized", str(ROOT / "functions/upload/main.py"), "cloudevent")
    headers, body = to_structured(event)
    return app.test_client().post("/", headers=headers, data=body).status_code


def deliver_ingest_task(deps, event) -> dict:
    """The ingest task the event handed off, from the Cloud Tasks emulator's queue to
    `ingest_task`, as Cloud Tasks delivers it."""
    from functions_framework import create_app

    from shared.uploads.events import ingest_task_name

    task = queued_task(deps, "ingest", ingest_task_name(
        event.data["bucket"], event.data["name"], event.data["generation"]))

    def client(function: str, target: str):
        source = str(ROOT / "functions" / function / "main.py")
        return create_app(target, source, "http").test_client()

    return deliver_task(client, "upload", "ingest_task", task)


def test_signed_upload_reaches_ingest_through_pubsub(events, gcp_deps, caplog):
    from shared.uploads import service as uploads
    from shared.web.authz import Principal

    tenant = f"t_{uuid.uuid4().hex[:10]}"
    principal = Principal(user_id="u_e2e", tenant_id=tenant, role="analyst",
                          email="e2e@example.com")
    created = uploads.create_upload(gcp_deps, principal, {
        "filename": "sales.csv", "size_bytes": len(CSV), "content_type": "text/csv",
        "dataset_name": "Sales"})
    upload = created["upload"]
    assert created["method"] == "PUT"
    assert created["headers"]["x-goog-content-length-range"] == f"1,{len(CSV)}"

    # The browser's PUT, with exactly the headers the URL was signed for.
    put = requests.put(created["upload_url"], data=CSV, headers=created["headers"], timeout=30)
    assert put.status_code == 200, put.text

    message = pull_finalize_event(events, upload["object_name"])
    assert message["attributes"]["bucketId"] == BUCKET
    assert int(message["data"]["size"]) == len(CSV)
    event = to_cloud_event(message)

    with caplog.at_level(logging.INFO, logger="tidemark.ingest"):
        assert deliver(event) == 200
        handed = gcp_deps.docs.get(uploads.uploads_path(tenant), upload["id"])
        assert handed.data["status"] == "processing"  # claimed, not yet loaded
        done = deliver_ingest_task(gcp_deps, event)
    assert done["result"]["status"] == "loaded", done
    with gcp_deps.blobs.open(BUCKET, upload["object_name"],
                             generation=message["attributes"]["objectGeneration"]) as fh:
        assert fh.read() == CSV

    # Ingestion outcome, read back from Firestore and BigQuery.
    record = gcp_deps.docs.get(uploads.uploads_path(tenant), upload["id"])
    assert record is not None
    assert record.data["status"] == "loaded", record.data.get("error")
    assert record.data["generation"] == message["attributes"]["objectGeneration"]
    rows = gcp_deps.warehouse.query(
        "SELECT COUNT(*) AS n, SUM(quantity) AS q FROM {business_data} "
        "WHERE tenant_id = @t AND upload_id = @u", {"t": tenant, "u": upload["id"]})
    assert rows == [{"n": 3, "q": 6.0}]

    # A re-delivered event changes nothing.
    assert deliver(event) == 200
    again = gcp_deps.warehouse.query(
        "SELECT COUNT(*) AS n FROM {business_data} WHERE tenant_id = @t", {"t": tenant})
    assert again == [{"n": 3}]

