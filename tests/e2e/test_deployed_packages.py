"""The packages as deployed: the whole pipeline through the function zips, each entry
point its own functions-framework process, against the emulators.

Each package is built by scripts/package_functions.py (`--lock`, as Cloud Build does)
and installed from its requirements.txt alone into a clean virtualenv of the Python
that terraform's runtime names. Each entry point of shared/web/catalog.py runs as its
own process in the unpacked package, configured by the environment terraform gives
that function (terraform/functions.tf, locals.tf), with only the emulator endpoints
added and the project, bucket, dataset and queue names of a `test` environment. The
processes then carry: register (auth) -> signed upload URL (upload) -> PUT to
fake-gcs-server -> finalize notification on the Pub/Sub emulator -> push subscription
-> Eventarc's conversion to a CloudEvent (tests/deployed_packages.EventarcRelay) ->
the event's hand-off -> the ingest task, dispatched by the Cloud Tasks emulator to the
ingest task process -> BigQuery emulator + a metrics task, dispatched to the metrics
task process -> forecast task process -> metrics and predictions APIs.

Secret Manager has no emulator; the processes reach the REST stand-in of
tests/support/secret_manager_standin.py (a separate process cannot be handed the in-process
fake client the other end-to-end tests use). It holds the JWT secrets as terraform and
the first-deploy `tidemark keys rotate` leave them.
"""

from __future__ import annotations

import csv
import time
import uuid
from decimal import Decimal

import pytest
import requests

from shared.web.catalog import ENTRY_POINTS
from tests.infra.terraform_config import load
from tests.support import emulators
from tests.support.deployed_packages import (
    EventarcRelay,
    TerraformEnv,
    install,
    runtime_python,
    start_function,
    wait_listening,
)
from tests.support.environment import ROOT, emulator_missing
from tests.support.finalize_events import finalize_events
from tests.support.packaging import PKG, PROJECT
from tests.support.secret_manager_standin import SecretManagerStandIn

pytestmark = [pytest.mark.emulator, pytest.mark.slow, pytest.mark.timeout(1200)]

CSV_PATH = ROOT / "tests" / "data" / "superstore.csv"
ENVIRONMENT = "test"
SIGNATURES = {"http": "http", "task": "http", "event": "cloudevent"}
# What the front end in front of every function appends (TIDEMARK_TRUSTED_PROXY_HOPS).
CLIENT = {"X-Forwarded-For": "203.0.113.7"}


@pytest.fixture(scope="module")
def deployed(request, tmp_path_factory):
    cfg = load()
    version, python = runtime_python(cfg)
    if python is None:
        emulator_missing(f"Python {version} (terraform's runtime {cfg.locals['runtime']}) "
                         "is not installed")
    firestore = emulators.shared_emulator(request, "firestore")
    bigquery = emulators.shared_emulator(request, "bigquery")
    tasks = emulators.shared_emulator(request, "tasks")
    ports = {ep.target: emulators.free_port() for ep in ENTRY_POINTS}
    url = {target: f"http://127.0.0.1:{port}" for target, port in ports.items()}
    sa = f"@{emulators.PROJECT}.iam.gserviceaccount.com"
    accounts = {"google_service_account.tasks.email": f"tidemark-{ENVIRONMENT}-tasks{sa}",
                'google_service_account.function["upload"].email':
                    f"tidemark-{ENVIRONMENT}-upload{sa}"}
    tf = TerraformEnv(cfg, {
        "var.project_id": emulators.PROJECT, "var.environment": ENVIRONMENT,
        "var.region": emulators.TASK_LOCATION, **accounts,
        "module.ingest_task.uri": url["ingest_task"],
        "module.metrics_task.uri": url["metrics_task"],
        "module.forecast_task.uri": url["forecast_task"]})
    envs = {ep.target: tf.of_entry_point(ep.target) for ep in ENTRY_POINTS}
    upload_env = envs["upload_http"]

    # What terraform creates: buckets (uploads with its notification, staging), dataset
    # and table, queues, the two JWT secrets; then the first deploy's `tidemark keys
    # rotate`.
    bucket = upload_env["TIDEMARK_UPLOADS_BUCKET"]
    topic_id = f"deployed-{uuid.uuid4().hex[:8]}"
    events = finalize_events(request, bucket, topic_id, "unused")
    ev = next(events)
    ev["storage"].create_bucket(upload_env["TIDEMARK_STAGING_BUCKET"])
    from shared.adapters.gcp.bigquery import BigQueryWarehouse

    bq = emulators.bigquery_client(bigquery)
    dataset = upload_env["TIDEMARK_WAREHOUSE_DATASET"]
    bq.create_dataset(dataset, exists_ok=True)
    warehouse = BigQueryWarehouse(project=emulators.PROJECT, dataset=dataset, client=bq)
    warehouse.ensure_table(upload_env["TIDEMARK_WAREHOUSE_TABLE"])
    tasks_client = emulators.tasks_client(tasks)
    location = f"projects/{emulators.PROJECT}/locations/{upload_env['TIDEMARK_TASKS_LOCATION']}"
    for queue in (envs["ingest_finalized"]["TIDEMARK_TASKS_QUEUE_INGEST"],
                  upload_env["TIDEMARK_TASKS_QUEUE_METRICS"],
                  upload_env["TIDEMARK_TASKS_QUEUE_FORECAST"]):
        tasks_client.create_queue(parent=location, queue={"name": f"{location}/queues/{queue}"})
    standin = SecretManagerStandIn().start()
    prefix = upload_env["TIDEMARK_SECRET_PREFIX"]
    for name in ("jwt-signing-keys", "jwt-public-keys"):
        standin.create(emulators.PROJECT, f"{prefix}-{name}")
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.auth import keys

    with emulators._env(SECRET_MANAGER_EMULATOR_HOST=standin.host):
        keys.rotate_in_store(SecretManagerStore(emulators.PROJECT, prefix=prefix))

    # The packages, their virtualenvs, one process per entry point.
    build = tmp_path_factory.mktemp("packages")
    emulator_env = {
        "FIRESTORE_EMULATOR_HOST": firestore.host,
        "STORAGE_EMULATOR_HOST": ev["gcs"].url,
        "BIGQUERY_EMULATOR_HOST": bigquery.url,
        "CLOUD_TASKS_EMULATOR_HOST": tasks.host,
        "SECRET_MANAGER_EMULATOR_HOST": standin.host}
    processes = []
    relay = None
    try:
        for function in sorted({ep.function for ep in ENTRY_POINTS}):
            PKG.package(function, build, project=PROJECT, pin=True)
            venv = install(python, build / function, build / f"venv-{function}")
            for ep in (e for e in ENTRY_POINTS if e.function == function):
                processes.append(start_function(
                    venv, build / function, ep.target, SIGNATURES[ep.kind], ports[ep.target],
                    {**envs[ep.target], **emulator_env}, build / f"{ep.target}.log"))
        for fn in processes:
            wait_listening(fn)
        relay = EventarcRelay(url["ingest_finalized"])
        publisher, subscriber = emulators.pubsub_clients(
            emulators.shared_emulator(request, "pubsub"))
        topic = publisher.topic_path(emulators.PROJECT, topic_id)
        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(emulators.PROJECT,
                                                 f"ingest-push-{uuid.uuid4().hex[:8]}"),
            "topic": topic, "ack_deadline_seconds": 600,
            "push_config": {"push_endpoint": relay.url}})
        yield {"url": url, "envs": envs, "warehouse": warehouse, "relay": relay, "standin": standin,
               "processes": {fn.target: fn for fn in processes}}
    finally:
        for fn in processes:
            fn.stop()
        if relay is not None:
            relay.stop()
        standin.stop()
        next(events, None)


def _truth() -> dict:
    with open(CSV_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"lines": len(rows), "sales": sum(Decimal(r["Sales"]) for r in rows),
            "last": max(r["Order Date"] for r in rows)}


def _poll(what: str, fetch, done, timeout_s: float, processes) -> dict:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if done(last):
            return last
        time.sleep(0.5)
    logs = "\n\n".join(f"--- {t}\n{fn.tail(25)}" for t, fn in processes.items())
    raise AssertionError(f"{what}: last answer {last}\n{logs}")


def test_the_pipeline_runs_through_the_deployed_packages(deployed):
    url, processes = deployed["url"], deployed["processes"]
    truth = _truth()

    registered = requests.post(url["auth_http"] + "/api/auth/register", headers=CLIENT,
                               timeout=60, json={
                                   "email": f"ops-{uuid.uuid4().hex[:8]}@example.com",
                                   "password": "deployed-packages-42",
                                   "tenant_name": "Deployed"})
    assert registered.status_code == 201, (registered.text, processes["auth_http"].tail())
    auth = {**CLIENT, "Authorization": f"Bearer {registered.json()['access_token']}"}
    me = requests.get(url["auth_http"] + "/api/auth/me", headers=auth, timeout=60)
    assert me.status_code == 200, me.text
    tenant = me.json()["tenant"]["id"]

    body = CSV_PATH.read_bytes()
    created = requests.post(url["upload_http"] + "/api/uploads", headers=auth, timeout=60,
                            json={"filename": "superstore.csv", "size_bytes": len(body),
                                  "content_type": "text/csv", "dataset_name": "Superstore"})
    assert created.status_code == 201, (created.text, processes["upload_http"].tail())
    upload = created.json()["upload"]
    put = requests.put(created.json()["upload_url"], data=body,
                       headers=created.json()["headers"], timeout=60)
    assert put.status_code == 200, put.text

    # Finalize -> Pub/Sub push -> Eventarc's CloudEvent -> the event process, which
    # hands off to the ingest task; the Cloud Tasks emulator dispatches it to the
    # ingest-task process.
    record = _poll("the upload is loaded", lambda: requests.get(
        f"{url['upload_http']}/api/uploads/{upload['id']}", headers=auth, timeout=60).json(),
        lambda r: r.get("status") in ("loaded", "failed"), 120, processes)
    assert record["status"] == "loaded", record
    # The event's answer to the push (it answered once the task was enqueued).
    _poll("the ingest answers the event", lambda: list(deployed["relay"].deliveries),
          lambda d: (upload["object_name"], 200) in d, 60, processes)
    [stored] = deployed["warehouse"].query(
        "SELECT COUNT(*) AS n, SUM(amount) AS sales FROM {business_data} "
        "WHERE tenant_id = @t AND dataset_id = @d", {"t": tenant, "d": upload["dataset_id"]})
    assert stored["n"] == truth["lines"]
    assert Decimal(str(stored["sales"])) == truth["sales"]

    # Task targets refuse a caller that is not the queue.
    refused = requests.post(url["metrics_task"], timeout=60, json={
        "tenant_id": tenant, "dataset_id": upload["dataset_id"], "version": 1})
    assert refused.status_code == 403

    # The Cloud Tasks emulator dispatches the metrics task, which enqueues the forecast.
    dataset = upload["dataset_id"]
    metrics = _poll("metrics from the task's snapshot", lambda: requests.get(
        f"{url['metrics_http']}/api/metrics?dataset={dataset}", headers=auth,
        timeout=120).json(), lambda m: m.get("source") == "snapshot", 120, processes)
    assert metrics["version"] == 1
    assert metrics["range"]["end"] == truth["last"]
    assert metrics["kpis"]["revenue"]["value"] > 0

    prediction = _poll("forecasts from the task", lambda: requests.get(
        f"{url['predict_http']}/api/predictions?dataset={dataset}", headers=auth,
        timeout=120).json(), lambda p: p.get("source") == "snapshot", 150, processes)
    assert (prediction["measure"], prediction["version"]) == ("revenue", 1)
    assert len(prediction["forecast"]) == prediction["horizon"] == 12
    for point in prediction["forecast"]:
        assert point["lo95"] <= point["lo80"] <= point["value"] <= point["hi80"] \
            <= point["hi95"]
    for fn in processes.values():
        assert fn.proc.poll() is None, f"{fn.target} exited:\n{fn.tail()}"
