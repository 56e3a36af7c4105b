"""The whole pipeline on the GCP adapters, on the emulators:

POST /api/uploads -> PUT the Superstore CSV to the signed URL (fake-gcs-server) ->
finalize event through the Pub/Sub emulator -> `ingest_finalized` -> rows in BigQuery
and the named metrics task in the Cloud Tasks emulator -> `metrics_task` -> snapshot in
Firestore and the named forecast task -> `forecast_task` -> forecasts in Firestore ->
GET /api/metrics and GET /api/predictions answered from them.

The queue's target URLs point at a closed port: the emulator's own deliveries fail and
are retried, so the tasks stay listed and the test delivers them itself, with the
headers Cloud Tasks sets. Secret Manager has no emulator: the Deps get the in-process
fake client.
"""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from tests.infra.firestore_queries import QueryRecorder, assert_indexed
from tests.support import emulators
from tests.support.cloud_tasks import deliver_task, queued_task
from tests.support.environment import ROOT
from tests.support.finalize_events import finalize_events, pull_finalize_event, to_cloud_event

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

CSV_PATH = ROOT / "tests" / "data" / "superstore.csv"
BUCKET = "tidemark-pipeline"
STAGING_BUCKET = "tidemark-pipeline-staging"
DATASET_BQ = "tidemark_pipeline"
METRICS_URL = "http://127.0.0.1:9/metrics_task"
FORECAST_URL = "http://127.0.0.1:9/forecast_task"
INGEST_URL = "http://127.0.0.1:9/ingest_task"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def events(request):
    """fake-gcs-server publishing finalize events to a topic of its own on the Pub/Sub
    emulator, and a subscription to pull them from."""
    yield from finalize_events(request, BUCKET, f"pipeline-finalize-{uuid.uuid4().hex[:8]}",
                               "pipeline-ingest")


@pytest.fixture
def queries():
    """Every Firestore query the run issues, to check against the declared indexes."""
    return QueryRecorder()


@pytest.fixture
def gcp_deps(events, request, tmp_path, function_client, queries):
    """A Deps on the gcp adapters, each on its emulator, installed as get_deps() (inside
    the local one function_client's fixture installs), with JWT keys in the fake
    Secret Manager and the Firestore client wrapped by the query recorder."""
    from shared.adapters.gcp.bigquery import BigQueryWarehouse
    from shared.adapters.gcp.cloud_tasks import CloudTasksQueue
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.adapters.gcp.gcs import GcsBlobStore
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.auth import keys
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    firestore = emulators.shared_emulator(request, "firestore")
    bigquery = emulators.shared_emulator(request, "bigquery")
    tasks = emulators.shared_emulator(request, "tasks")
    bq_client = emulators.bigquery_client(bigquery)
    emulators.bigquery_dataset(bq_client, DATASET_BQ)
    if events["storage"].lookup_bucket(STAGING_BUCKET) is None:
        events["storage"].create_bucket(STAGING_BUCKET)  # terraform's staging bucket
    settings = Settings(backend="gcp", gcp_project=emulators.PROJECT, uploads_bucket=BUCKET,
                        staging_bucket=STAGING_BUCKET,
                        data_dir=tmp_path / "data", warehouse_dataset=DATASET_BQ,
                        tasks_location=emulators.TASK_LOCATION,
                        metrics_task_url=METRICS_URL, forecast_task_url=FORECAST_URL,
                        ingest_task_url=INGEST_URL)
    deps = Deps(
        settings,
        blobs=GcsBlobStore(client=events["storage"],
                           signing_credentials=emulators.signing_credentials()),
        docs=FirestoreDocumentStore(
            client=queries.client(emulators.firestore_client(firestore))),
        warehouse=BigQueryWarehouse(project=emulators.PROJECT, dataset=DATASET_BQ,
                                    client=bq_client),
        tasks=CloudTasksQueue(project=emulators.PROJECT, location=emulators.TASK_LOCATION,
                              queues={q: q for q in emulators.TASK_QUEUES},
                              target_urls={"metrics": METRICS_URL, "forecast": FORECAST_URL,
                                           "ingest": INGEST_URL},
                              service_account="", client=emulators.tasks_client(tasks),
                              dispatch_deadlines={
                                  "ingest": settings.ingest_task_dispatch_timeout_s}),
        secrets=SecretManagerStore(emulators.PROJECT,
                                   client=emulators.FakeSecretManagerClient()))
    keys.ensure_in_store(deps.secrets)  # what the first deployment does
    clear_key_cache()
    with override(deps):
        yield deps
    clear_key_cache()


def sign_in(deps, role: str = "analyst") -> tuple[str, dict[str, str]]:
    """A tenant and a user in Firestore, and a real access token for them."""
    from shared.auth.tokens import issue_access_token

    tenant, user = f"t_{uuid.uuid4().hex[:10]}", f"u_{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    deps.docs.set("tenants", tenant, {"name": "Pipeline", "created_at": now})
    deps.docs.set(f"tenants/{tenant}/users", user, {
        "email": f"{user}@example.com", "role": role, "disabled": False, "created_at": now})
    token, _ = issue_access_token(deps, user_id=user, tenant_id=tenant, role=role,
                                  email=f"{user}@example.com")
    return tenant, {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ helpers


def csv_truth() -> dict:
    """Independent figures straight from the CSV: line count, total sales, date range,
    and the revenue of the default view (the last 90 days of data)."""
    with open(CSV_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    days = [date.fromisoformat(r["Order Date"]) for r in rows]
    last = max(days)
    start = last - timedelta(days=89)
    recent = [r for r, d in zip(rows, days, strict=True) if start <= d <= last]
    return {"lines": len(rows), "sales": sum(Decimal(r["Sales"]) for r in rows),
            "first": min(days), "last": last, "window": (start, last),
            "window_revenue": float(sum(Decimal(r["Sales"]) for r in recent)),
            "window_orders": len({r["Order ID"] for r in recent})}


# ------------------------------------------------------------------ the pipeline


def test_upload_to_dashboard_on_the_gcp_adapters(events, gcp_deps, function_client, queries):
    from shared.uploads import service as uploads
    from shared.uploads.events import ingest_task_name

    truth = csv_truth()
    tenant, auth = sign_in(gcp_deps)
    body = CSV_PATH.read_bytes()

    # 1. The signed upload URL, through the upload function.
    created = function_client("upload", "upload_http").post(
        "/api/uploads", headers=auth, json={
            "filename": "superstore.csv", "size_bytes": len(body),
            "content_type": "text/csv", "dataset_name": "Superstore"})
    assert created.status_code == 201, created.get_data(as_text=True)
    upload = created.get_json()["upload"]
    dataset = upload["dataset_id"]

    # 2. The browser's PUT; fake-gcs-server publishes the finalize event.
    put = requests.put(created.get_json()["upload_url"], data=body,
                       headers=created.get_json()["headers"], timeout=60)
    assert put.status_code == 200, put.text
    event = to_cloud_event(pull_finalize_event(events, upload["object_name"]))

    # 3. Ingest, as Eventarc delivers the event.
    from cloudevents.conversion import to_structured

    headers, data = to_structured(event)
    ingest = function_client("upload", "ingest_finalized", "cloudevent")
    assert ingest.post("/", headers=headers, data=data).status_code == 200
    # The event only claimed the object and handed it to the named ingest task.
    record = gcp_deps.docs.get(uploads.uploads_path(tenant), upload["id"])
    assert record is not None and record.data["status"] == "processing", record.data
    task_name = ingest_task_name(event.data["bucket"], event.data["name"],
                                 event.data["generation"])
    ingest_task = queued_task(gcp_deps, "ingest", task_name)
    assert ingest_task.http_request.url == INGEST_URL
    assert ingest_task.dispatch_deadline.seconds == 1800
    assert json.loads(ingest_task.http_request.body)["generation"] == \
        str(event.data["generation"])
    loaded = deliver_task(function_client, "upload", "ingest_task", ingest_task)
    assert loaded["result"]["status"] == "loaded", loaded
    record = gcp_deps.docs.get(uploads.uploads_path(tenant), upload["id"])
    assert record is not None and record.data["status"] == "loaded", record.data
    ds_doc = gcp_deps.docs.get(f"tenants/{tenant}/datasets", dataset)
    assert ds_doc.data["version"] == 1
    assert ds_doc.data["row_count"] == truth["lines"]

    # The uploads list (newest first) shows it.
    listed = function_client("upload", "upload_http").get("/api/uploads", headers=auth)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [u["id"] for u in listed.get_json()["items"]] == [upload["id"]]

    # The rows in BigQuery agree with the file.
    [stored] = gcp_deps.warehouse.query(
        "SELECT COUNT(*) AS n, SUM(amount) AS sales, MIN(occurred_date) AS first, "
        "MAX(occurred_date) AS last, COUNT(DISTINCT upload_id) AS uploads "
        "FROM {business_data} WHERE tenant_id = @t AND dataset_id = @d",
        {"t": tenant, "d": dataset})
    assert stored["n"] == truth["lines"]
    assert Decimal(str(stored["sales"])) == truth["sales"]
    assert (stored["first"], stored["last"]) == (truth["first"], truth["last"])
    assert stored["uploads"] == 1
    # ... loaded by one job from the shards' URIs in the staging bucket (server-side),
    # whose shards were deleted after the commit.
    from shared.adapters.gcp.bigquery import _job_base

    key = f"{upload['id']}-{event.data['generation']}"
    job = gcp_deps.warehouse.client.get_job(
        _job_base("load", gcp_deps.settings.warehouse_table, key) + "_0", location="EU")
    assert job.source_uris and all(
        u.startswith(f"gs://{STAGING_BUCKET}/staging/{upload['id']}/") for u in job.source_uris)
    assert int(job.output_rows) == truth["lines"]
    assert list(gcp_deps.blobs.list(STAGING_BUCKET, "staging/")) == []

    # 4. The named metrics task is in the metrics queue, aimed at the metrics target.
    payload = {"tenant_id": tenant, "dataset_id": dataset, "version": 1}
    metrics_task = queued_task(gcp_deps, "metrics", f"metrics-{tenant}-{dataset}-v1")
    assert metrics_task.http_request.url == METRICS_URL
    assert json.loads(metrics_task.http_request.body) == payload

    # Task targets refuse callers that are not the queue.
    refused = function_client("metrics", "metrics_task").post("/", json=payload)
    assert refused.status_code == 403
    assert gcp_deps.docs.get(f"tenants/{tenant}/snapshots", dataset) is None

    done = deliver_task(function_client, "metrics", "metrics_task", metrics_task)
    assert done["status"] == "done"
    assert done["result"]["status"] == "computed"
    assert done["result"]["forecast_task"] == f"forecast-{tenant}-{dataset}-v1"

    # 5. The snapshot in Firestore holds the default view of version 1.
    snap = gcp_deps.docs.get(f"tenants/{tenant}/snapshots", dataset)
    assert snap is not None and snap.data["version"] == 1
    view = json.loads(snap.data["payload"])
    start, end = truth["window"]
    assert view["range"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert view["kpis"]["revenue"]["value"] == pytest.approx(truth["window_revenue"],
                                                             rel=1e-9)
    assert view["kpis"]["orders"]["value"] == truth["window_orders"]

    # 6. The named forecast task, then the forecasts in Firestore.
    forecast_task = queued_task(gcp_deps, "forecast", f"forecast-{tenant}-{dataset}-v1")
    assert forecast_task.http_request.url == FORECAST_URL
    assert json.loads(forecast_task.http_request.body) == payload
    fitted = deliver_task(function_client, "predict", "forecast_task", forecast_task)
    assert fitted["status"] == "done", fitted
    # 12 totals (4 measures x 3 grains) and revenue by week per value of 5 dimensions
    assert len(fitted["result"]["forecasts"]) == 17
    stored_forecasts = gcp_deps.docs.query(f"tenants/{tenant}/forecasts")
    assert len(stored_forecasts) == 17
    assert {d.data["version"] for d in stored_forecasts} == {1}
    assert {d.data["kind"] for d in stored_forecasts} == {"default"}

    # 7. The dashboard's reads are answered from what the tasks stored.
    got = function_client("metrics", "metrics_http").get(
        f"/api/metrics?dataset={dataset}", headers=auth)
    assert got.status_code == 200, got.get_data(as_text=True)
    metrics = got.get_json()
    assert metrics["source"] == "snapshot"
    assert metrics["kpis"] == view["kpis"]
    assert metrics["version"] == 1

    got = function_client("predict", "predict_http").get(
        f"/api/predictions?dataset={dataset}", headers=auth)
    assert got.status_code == 200, got.get_data(as_text=True)
    prediction = got.get_json()
    assert prediction["source"] == "snapshot"
    assert (prediction["measure"], prediction["grain"], prediction["version"]) == \
        ("revenue", "week", 1)
    assert len(prediction["forecast"]) == prediction["horizon"] == 12
    last_week = date.fromisoformat(prediction["history"][-1]["period"])
    assert date.fromisoformat(prediction["forecast"][0]["period"]) == \
        last_week + timedelta(days=7)
    for point in prediction["forecast"]:
        assert point["lo95"] <= point["lo80"] <= point["value"] <= point["hi80"] \
            <= point["hi95"]
    history_total = sum(p["value"] for p in prediction["history"])
    # Full weeks only: the partial first and last weeks of the data are dropped.
    assert 0.9 * float(truth["sales"]) < history_total <= float(truth["sales"]) + 1e-6

    # A view no task precomputed: computed on BigQuery, then answered from the cache.
    metrics_http = function_client("metrics", "metrics_http")
    url = f"/api/metrics?dataset={dataset}&region=West&grain=week"
    first, second = (metrics_http.get(url, headers=auth) for _ in range(2))
    assert first.status_code == 200, first.get_data(as_text=True)
    assert (first.get_json()["source"], second.get_json()["source"]) == ("on_demand", "cache")
    assert first.get_json()["filters"] == {"region": ["West"]}
    west = first.get_json()["kpis"]["revenue"]["value"]
    assert 0 < west < view["kpis"]["revenue"]["value"]
    assert second.get_json()["kpis"] == first.get_json()["kpis"]

    got = function_client("predict", "predict_http").get(
        f"/api/predictions?dataset={dataset}&measure=orders&grain=month&region=West",
        headers=auth)
    assert got.status_code == 200, got.get_data(as_text=True)
    assert got.get_json()["source"] == "on_demand"
    assert len(got.get_json()["forecast"]) == 6
    assert all(p["value"] >= 0 for p in got.get_json()["forecast"])

    # A re-delivered metrics task changes nothing; its forecast task, named as before,
    # is not queued a second time.
    again = deliver_task(function_client, "metrics", "metrics_task", metrics_task)
    assert again["result"]["status"] == "unchanged"
    assert gcp_deps.docs.get(f"tenants/{tenant}/snapshots", dataset).version == snap.version
    queued_task(gcp_deps, "forecast", f"forecast-{tenant}-{dataset}-v1")

    # Firestore in production refuses a query no index serves; the emulator does not.
    assert_indexed(queries)


def _send(function_client, events, gcp_deps, auth, body: bytes, **extra) -> str:
    """Create an upload, PUT the bytes to its signed URL, deliver the finalize event
    and the ingest task it hands off to; the upload id."""
    from cloudevents.conversion import to_structured

    created = function_client("upload", "upload_http").post(
        "/api/uploads", headers=auth, json={
            "filename": "week.csv", "size_bytes": len(body), "content_type": "text/csv",
            "dataset": "Weekly", **extra})
    assert created.status_code == 201, created.get_data(as_text=True)
    out = created.get_json()
    put = requests.put(out["upload_url"], data=body, headers=out["headers"], timeout=60)
    assert put.status_code == 200, put.text
    event = to_cloud_event(pull_finalize_event(events, out["upload"]["object_name"]))
    headers, data = to_structured(event)
    ingest = function_client("upload", "ingest_finalized", "cloudevent")
    assert ingest.post("/", headers=headers, data=data).status_code == 200
    from shared.uploads.events import ingest_task_name

    task = queued_task(gcp_deps, "ingest", ingest_task_name(
        event.data["bucket"], event.data["name"], event.data["generation"]))
    deliver_task(function_client, "upload", "ingest_task", task)
    return out["upload"]["id"]


def test_the_same_file_twice_is_refused_on_the_gcp_adapters(events, gcp_deps,
                                                            function_client, queries):
    """The fingerprint document in Firestore, the overlap query in BigQuery: a second
    append of the same bytes fails naming the first; confirmed, it loads."""
    tenant, auth = sign_in(gcp_deps)
    body = ("Order Date,Order ID,Sales\n" + "".join(
        f"2024-06-{d:02d},W-{d},{d * 3}.25\n" for d in range(1, 8))).encode()
    first = _send(function_client, events, gcp_deps, auth, body)
    again = _send(function_client, events, gcp_deps, auth, body)
    upload_http = function_client("upload", "upload_http")
    got = upload_http.get(f"/api/uploads/{again}", headers=auth).get_json()
    assert got["status"] == "failed", got
    assert got["error"]["code"] == "duplicate_content"
    assert got["error"]["details"]["upload_id"] == first
    assert got["error"]["details"]["filename"] == "week.csv"
    loaded = upload_http.get(f"/api/uploads/{first}", headers=auth).get_json()
    assert (loaded["first_date"], loaded["last_date"]) == ("2024-06-01", "2024-06-07")
    assert loaded["row_count"] == 7 and len(loaded["fingerprint"]) == 64

    confirmed = _send(function_client, events, gcp_deps, auth, body, confirm_duplicate=True)
    got = upload_http.get(f"/api/uploads/{confirmed}", headers=auth).get_json()
    assert got["status"] == "loaded", got
    assert any(first in w and "2024-06-01 to 2024-06-07" in w
               for w in got["report"]["warnings"])
    [stored] = gcp_deps.warehouse.query(
        "SELECT COUNT(*) AS n FROM {business_data} WHERE tenant_id = @t", {"t": tenant})
    assert stored["n"] == 14
    # The duplicate check is a get by document id: no query, so no index to declare.
    assert not [q for q in queries.queries if q.collection == "fingerprints"]


def test_a_workbook_on_the_gcp_adapters(events, gcp_deps, function_client, queries):
    """An .xlsx with the xlsx content type through the signed URL (fake-gcs-server), the
    finalize event and the ingest task: its chosen sheet in BigQuery, its rejected row
    in the bucket under its sheet row number."""
    from tests.support.workbooks import xlsx

    tenant, auth = sign_in(gcp_deps)
    orders = [["Orders, June"], [], ["Order Date", "Order ID", "Sales"]]
    orders += [[date(2024, 6, d), f"X-{d}", d * 2.5] for d in range(1, 9)]
    orders[5][2] = "tbc"  # sheet row 6
    body = xlsx({"Notes": [["see the next sheet"]], "Orders": orders})
    upload_id = _send(function_client, events, gcp_deps, auth, body, filename="june.xlsx",
                      content_type="application/vnd.openxmlformats-officedocument."
                                   "spreadsheetml.sheet", sheet="Orders", dataset="June")
    upload_http = function_client("upload", "upload_http")
    got = upload_http.get(f"/api/uploads/{upload_id}", headers=auth).get_json()
    assert got["status"] == "loaded", got
    assert got["report"]["sheet"] == "Orders" and got["report"]["rows_loaded"] == 7
    [stored] = gcp_deps.warehouse.query(
        "SELECT COUNT(*) AS n, SUM(amount) AS total FROM {business_data} "
        "WHERE tenant_id = @t", {"t": tenant})
    assert stored["n"] == 7
    assert Decimal(str(stored["total"])) == sum(Decimal(d) * Decimal("2.5")
                                                for d in range(1, 9) if d != 3)
    rejected = upload_http.get(f"/api/uploads/{upload_id}/rejected", headers=auth)
    [row] = list(csv.DictReader(rejected.get_data(as_text=True).splitlines()))
    assert (row["row_number"], row["value"], row["Order ID"]) == ("6", "tbc", "X-3")


def test_sales_count_on_the_business_date_on_the_gcp_adapters(events, gcp_deps,
                                                              function_client):
    """Offsets on both sides of UTC, a daylight-saving change and naive times, for a
    tenant in America/Los_Angeles (its settings in Firestore): BigQuery holds each
    instant in UTC and its local business date, and the report counts each rule."""
    from shared import tenants
    from tests.support.business_dates import EXPECTED, ZONED

    tenant, auth = sign_in(gcp_deps)
    tenants.update(gcp_deps.docs, tenant, {"time_zone": "America/Los_Angeles"})
    upload_id = _send(function_client, events, gcp_deps, auth, ZONED)
    got = function_client("upload", "upload_http").get(f"/api/uploads/{upload_id}",
                                                       headers=auth).get_json()
    assert got["status"] == "loaded", got
    assert got["report"]["dates"] == {"time_zone": "America/Los_Angeles",
                                      "rules": {"converted": 3, "local_time": 3}}
    rows = gcp_deps.warehouse.query(
        "SELECT occurred_at, occurred_date FROM {business_data} WHERE tenant_id = @t "
        "ORDER BY row_number", {"t": tenant})
    assert [(r["occurred_at"].astimezone(UTC), r["occurred_date"]) for r in rows] == EXPECTED
