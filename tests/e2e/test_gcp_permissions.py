"""Permissions from recorded calls: run the pipeline on the GCP adapters against the
emulators, record every Google API call per function (tests/infra/gcp_recording.py),
and check that what terraform grants each function's service account covers every
permission those calls need (tests/infra/gcp_permissions.py, tests/infra/iam_grants.py).

The emulators check no IAM; this test is what stands in for it. It prints the granted
permissions no recorded call used, for review against the justifications in
terraform/iam.tf.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.infra import iam_grants
from tests.infra.gcp_permissions import UNRECORDED, Call, Need, Resource, needs
from tests.infra.gcp_recording import Recorder
from tests.support import emulators
from tests.support.cloud_tasks import deliver_task, queued_task
from tests.support.environment import ROOT
from tests.support.finalize_events import finalize_events, pull_finalize_event, to_cloud_event

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

BUCKET = "tidemark-permissions"
REJECTED_BUCKET = "tidemark-permissions-rejected"
STAGING_BUCKET = "tidemark-permissions-staging"
DATASET_BQ = "tidemark_permissions"
TASKS_SA = f"tidemark-tasks@{emulators.PROJECT}.iam.gserviceaccount.com"
METRICS_URL = "http://127.0.0.1:9/metrics_task"
FORECAST_URL = "http://127.0.0.1:9/forecast_task"
INGEST_URL = "http://127.0.0.1:9/ingest_task"
PASSWORD = "correct horse battery staple 9"

# Which terraform resource each emulator resource plays (locals.tf passes their names to
# the functions as TIDEMARK_* settings).
BIND = {
    Resource("bucket", BUCKET): "google_storage_bucket.uploads",
    Resource("bucket", REJECTED_BUCKET): "google_storage_bucket.rejected",
    Resource("bucket", STAGING_BUCKET): "google_storage_bucket.staging",
    Resource("dataset", DATASET_BQ): "google_bigquery_dataset.warehouse",
    Resource("queue", "ingest"): "google_cloud_tasks_queue.ingest",
    Resource("queue", "metrics"): "google_cloud_tasks_queue.metrics",
    Resource("queue", "forecast"): "google_cloud_tasks_queue.forecast",
    Resource("secret", "tidemark-jwt-signing-keys"):
        "google_secret_manager_secret.jwt_signing_keys",
    Resource("secret", "tidemark-jwt-public-keys"):
        "google_secret_manager_secret.jwt_public_keys",
    Resource("service_account", TASKS_SA): "google_service_account.tasks",
}


@pytest.fixture(scope="module")
def events(request):
    yield from finalize_events(request, BUCKET, f"perm-finalize-{uuid.uuid4().hex[:8]}",
                               "perm-ingest")


@pytest.fixture
def recorded(events, request, tmp_path, function_client):
    """(recorder, deps, client maker): the gcp adapters on recording clients, installed
    as get_deps(); `client(function, target)` runs each request as that function."""
    from shared.adapters.gcp.bigquery import BigQueryWarehouse
    from shared.adapters.gcp.cloud_tasks import CloudTasksQueue
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.adapters.gcp.gcs import GcsBlobStore
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.auth import keys
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    rec = Recorder()
    events["storage"].create_bucket(REJECTED_BUCKET)  # terraform's rejected-rows bucket
    events["storage"].create_bucket(STAGING_BUCKET)  # terraform's staging bucket
    firestore = emulators.shared_emulator(request, "firestore")
    bigquery = emulators.shared_emulator(request, "bigquery")
    tasks = emulators.shared_emulator(request, "tasks")
    emulators.bigquery_dataset(emulators.bigquery_client(bigquery), DATASET_BQ)  # terraform's

    def make_deps(function: str) -> Deps:
        """One function's instance: its own clients and caches, and the settings
        terraform gives it (only auth signs tokens)."""
        settings = Settings(
            backend="gcp", gcp_project=emulators.PROJECT, uploads_bucket=BUCKET,
            data_dir=tmp_path / function, warehouse_dataset=DATASET_BQ,
            tasks_location=emulators.TASK_LOCATION, tasks_service_account=TASKS_SA,
            metrics_task_url=METRICS_URL, forecast_task_url=FORECAST_URL,
            ingest_task_url=INGEST_URL, rejected_bucket=REJECTED_BUCKET,
            staging_bucket=STAGING_BUCKET)
        return Deps(
            settings,
            blobs=GcsBlobStore(client=rec.storage_client(events["gcs"].url, emulators.PROJECT),
                               signing_credentials=emulators.signing_credentials(),
                               routes={"rejected/": REJECTED_BUCKET,
                                       "staging/": STAGING_BUCKET}),
            docs=FirestoreDocumentStore(client=rec.firestore_client(firestore.host,
                                                                    emulators.PROJECT)),
            warehouse=BigQueryWarehouse(project=emulators.PROJECT, dataset=DATASET_BQ,
                                        client=rec.bigquery_client(bigquery.url,
                                                                   emulators.PROJECT)),
            tasks=CloudTasksQueue(project=emulators.PROJECT, location=emulators.TASK_LOCATION,
                                  queues={q: q for q in emulators.TASK_QUEUES},
                                  target_urls={"metrics": METRICS_URL,
                                               "forecast": FORECAST_URL,
                                               "ingest": INGEST_URL},
                                  service_account=TASKS_SA,
                                  client=rec.tasks_client(tasks.host)),
            secrets=SecretManagerStore(emulators.PROJECT, client=rec.secret_client(secrets)))

    secrets = emulators.FakeSecretManagerClient()
    instances = {fn: make_deps(fn) for fn in iam_grants.FUNCTIONS}
    test_deps = make_deps("test")
    keys.ensure_in_store(test_deps.secrets)  # the first deployment's `tidemark keys rotate`
    clear_key_cache()
    with override(test_deps):
        yield rec, test_deps, lambda fn, target, kind="http": rec.function_client(
            function_client, fn, target, kind, deps=instances[fn])
    clear_key_cache()


def run_pipeline(events, deps, client) -> None:
    """Every function's part of the product, as a user and the platform drive it."""
    from cloudevents.conversion import to_structured

    from shared.uploads.events import ingest_task_name

    auth = client("auth", "auth_http")
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    reg = auth.post("/api/auth/register", json={
        "email": email, "password": PASSWORD, "tenant_name": "Permissions Ltd"})
    assert reg.status_code == 201, reg.get_json()
    login = auth.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    session = login.get_json()
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert auth.get("/api/auth/me", headers=bearer).status_code == 200
    assert auth.post("/api/auth/refresh", json={
        "refresh_token": session["refresh_token"]}).status_code == 200

    # One line with an unreadable date: its rejected rows go to their own bucket, and
    # are read back through the API, so those calls are recorded too.
    body = (ROOT / "tests" / "data" / "superstore.csv").read_bytes().rstrip(b"\n") + (
        b'\n9999,"CA-2016-000000",not a date,2016-11-11,"Second Class","CG-12520",'
        b'"Claire Gute","Consumer","United States","Henderson","Kentucky",42420,"South",'
        b'"FUR-BO-10001798","Furniture","Bookcases","Bookcase",261.96,2,0,41.9136\n')
    uploads = client("upload", "upload_http")
    created = uploads.post("/api/uploads", headers=bearer, json={
        "filename": "superstore.csv", "size_bytes": len(body), "content_type": "text/csv",
        "dataset_name": "Superstore"})
    assert created.status_code == 201, created.get_data(as_text=True)
    upload = created.get_json()["upload"]
    put = requests.put(created.get_json()["upload_url"], data=body,
                       headers=created.get_json()["headers"], timeout=60)
    assert put.status_code == 200, put.text
    event = to_cloud_event(pull_finalize_event(events, upload["object_name"]))
    headers, data = to_structured(event)
    ingest = client("upload", "ingest_finalized", "cloudevent")
    assert ingest.post("/", headers=headers, data=data).status_code == 200
    # The event handed the file to the ingest task, which the tasks account invokes.
    task = queued_task(deps, "ingest", ingest_task_name(event.data["bucket"],
                                                        event.data["name"],
                                                        event.data["generation"]))
    assert task.http_request.oidc_token.service_account_email == TASKS_SA
    assert task.http_request.url == INGEST_URL
    loaded = deliver_task(lambda fn, t: client(fn, t), "upload", "ingest_task", task)
    assert loaded["result"]["status"] == "loaded", loaded
    got = uploads.get(f"/api/uploads/{upload['id']}", headers=bearer)
    assert got.get_json()["status"] == "loaded", got.get_json()
    assert got.get_json()["report"]["rows_rejected"] == 1, got.get_json()["report"]
    assert uploads.get("/api/uploads", headers=bearer).status_code == 200
    rejected = uploads.get(f"/api/uploads/{upload['id']}/rejected", headers=bearer)
    assert rejected.status_code == 200 and b"not a date" in rejected.data

    tenant, dataset = session["tenant"]["id"], upload["dataset_id"]
    task = queued_task(deps, "metrics", f"metrics-{tenant}-{dataset}-v1")
    assert task.http_request.oidc_token.service_account_email == TASKS_SA
    # The task targets are called by Cloud Tasks with the client's function context.
    done = deliver_task(lambda fn, t: client(fn, t), "metrics", "metrics_task", task)
    assert done["status"] == "done", done
    task = queued_task(deps, "forecast", f"forecast-{tenant}-{dataset}-v1")
    fitted = deliver_task(lambda fn, t: client(fn, t), "predict", "forecast_task", task)
    assert fitted["status"] == "done", fitted

    metrics = client("metrics", "metrics_http")
    assert metrics.get(f"/api/metrics?dataset={dataset}", headers=bearer).status_code == 200
    url = f"/api/metrics?dataset={dataset}&region=West&grain=week"
    assert metrics.get(url, headers=bearer).status_code == 200
    predict = client("predict", "predict_http")
    for q in ("", "&measure=orders&grain=month&region=West"):
        got = predict.get(f"/api/predictions?dataset={dataset}{q}", headers=bearer)
        assert got.status_code == 200, got.get_data(as_text=True)

    # Deleting a loaded upload removes its rows from the warehouse.
    gone = uploads.delete(f"/api/uploads/{upload['id']}", headers=bearer)
    assert gone.status_code in (200, 202, 204), gone.get_data(as_text=True)


def _text(body: object) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")


def _needs(calls: list[Call]) -> list[Need]:
    return [n for c in calls for n in needs(c)]


def test_every_recorded_call_is_granted_by_terraform(events, recorded, capsys):
    rec, deps, client = recorded
    run_pipeline(events, deps, client)

    # The delete of a loaded upload reached the warehouse as the upload function.
    assert any(c.transport == "rest" and "DELETE FROM" in _text(c.request)
               for c in rec.of("upload")), "no warehouse delete recorded"
    problems: list[str] = []
    for fn in iam_grants.FUNCTIONS:
        calls = rec.of(fn)
        assert calls, f"no Google API call recorded for the {fn} function"
        problems += iam_grants.missing(fn, _needs(calls), BIND)
    assert not problems, "calls terraform does not grant:\n" + "\n".join(problems)

    # What a function is granted and no recorded call used. A grant used not at all
    # must be justified in gcp_permissions.UNRECORDED (or removed from terraform); the
    # unused rest of a used role is printed for review.
    idle: list[str] = []
    with capsys.disabled():
        for fn in iam_grants.FUNCTIONS:
            granted = {g.address: g.permissions for g in iam_grants.of(fn)}
            for address, perms in sorted(iam_grants.unused(fn, _needs(rec.of(fn)),
                                                           BIND).items()):
                if perms == granted[address] and address not in UNRECORDED:
                    idle.append(f"{fn}: {address}")
                if perms:
                    print(f"\n[{fn}] {address}: unused {', '.join(sorted(perms))}")
    assert not idle, "grants no recorded call uses, not justified:\n" + "\n".join(idle)


def test_the_model_refuses_creating_the_warehouse_dataset():
    """Defect 3: ensure_table created the dataset (exists_ok), which BigQuery checks as
    bigquery.datasets.create on the project before it looks whether the dataset exists;
    the recorded run above fails on that call, as GCP did."""
    old = Call("upload", "rest", "POST",
               f"http://bq/bigquery/v2/projects/{emulators.PROJECT}/datasets", b"{}")
    assert iam_grants.missing("upload", needs(old), BIND) == [
        "upload: bigquery.datasets.insert needs bigquery.datasets.create on project (project)"]


def test_a_missing_warehouse_dataset_is_a_configuration_error(request):
    from shared import errors
    from shared.adapters.gcp.bigquery import BigQueryWarehouse

    emu = emulators.shared_emulator(request, "bigquery")
    name = f"absent_{uuid.uuid4().hex[:8]}"
    wh = BigQueryWarehouse(project=emulators.PROJECT, dataset=name,
                           client=emulators.bigquery_client(emu))
    with pytest.raises(errors.AppError) as caught:
        wh.ensure_table("business_data")
    assert caught.value.code == "warehouse_not_configured"
    assert not caught.value.retryable
    assert f"{emulators.PROJECT}.{name}" in caught.value.message
    # Nothing was created on the way.
    from google.api_core.exceptions import NotFound

    with pytest.raises(NotFound):
        emulators.bigquery_client(emu).get_dataset(f"{emulators.PROJECT}.{name}")
