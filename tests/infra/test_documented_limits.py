"""What terraform and the code's own constants ask of Google Cloud stays inside the limits
Google documents. The emulators enforce none of these; production fails at the first
request that crosses one. Each limit below cites the page it comes from."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime

import pytest

from tests.infra.terraform_config import load, resolve_local
from tests.support.mailbox import confirm_email

CFG = load()

# https://cloud.google.com/functions/docs/configuring/timeout: 9 minutes (540 s) for
# event-driven functions.
EVENT_FUNCTION_TIMEOUT_S = 540
# Same page: 60 minutes (3,600 s) for HTTP functions.
HTTP_FUNCTION_TIMEOUT_S = 3600
# https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks
# (Task.dispatchDeadline): between 15 seconds and 30 minutes for HTTP targets.
TASK_DISPATCH_MIN_S, TASK_DISPATCH_MAX_S = 15, 30 * 60
# https://firebase.google.com/docs/hosting/functions: Hosting gives a rewritten request
# to a function 60 seconds, whatever the function's own timeout.
HOSTING_PROXY_TIMEOUT_S = 60
# https://cloud.google.com/functions/docs/writing/retries: a retried event is retried
# for at most 24 hours (Eventarc's retry window); the ingest must give up before.
EVENT_RETRY_WINDOW_S = 24 * 3600
# https://cloud.google.com/bigquery/quotas#partitioned_tables
BQ_PARTITIONS_PER_JOB = 4_000
BQ_PARTITIONS_PER_TABLE = 10_000
# https://firebase.google.com/docs/firestore/quotas: maximum size for a document 1 MiB
# (1,048,576 bytes), field names and document name included.
FIRESTORE_DOCUMENT_BYTES = 1_048_576
# https://cloud.google.com/secret-manager/quotas: a secret version's payload is at most
# 64 KiB.
SECRET_PAYLOAD_BYTES = 64 * 1024


def _modules() -> dict[str, dict]:
    return CFG.modules


def _seconds(expr) -> float:
    """A timeout as terraform states it: a number, `${local.x}` or `${tostring(local.x)}`."""
    value = resolve_local(CFG, expr)
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{tostring\((local\.[a-z_]+)\)\}", value)
        if m:
            value = resolve_local(CFG, "${" + m.group(1) + "}")
    return float(value)


# ------------------------------------------------------------------ Cloud Functions


def test_event_functions_stop_within_the_event_timeout():
    events = {n: m for n, m in _modules().items() if "event_trigger" in m}
    assert events, "no event-triggered function found in terraform"
    for name, call in events.items():
        assert _seconds(call["timeout_seconds"]) <= EVENT_FUNCTION_TIMEOUT_S, name


def test_the_event_hands_off_to_a_task_that_may_run_longer():
    """The finalize event stops within the event timeout (540 s); the ingest task it
    hands the file to runs up to Cloud Tasks' 30-minute dispatch deadline, inside the
    60 minutes an HTTP function may run."""
    from shared.settings import Settings

    event = next(m for m in _modules().values() if "event_trigger" in m)
    task = next(m for m in _modules().values() if m.get("entry_point") == "ingest_task")
    assert _seconds(event["timeout_seconds"]) <= EVENT_FUNCTION_TIMEOUT_S
    task_timeout = _seconds(task["timeout_seconds"])
    assert EVENT_FUNCTION_TIMEOUT_S < task_timeout <= TASK_DISPATCH_MAX_S
    assert task_timeout <= HTTP_FUNCTION_TIMEOUT_S
    deadline = _seconds(CFG.locals["ingest_task_environment"]
                        ["TIDEMARK_INGEST_TASK_DISPATCH_TIMEOUT_S"])
    for value in (deadline, Settings().ingest_task_dispatch_timeout_s):
        assert TASK_DISPATCH_MIN_S <= value <= TASK_DISPATCH_MAX_S
    # Cloud Tasks stops waiting no earlier than the function stops running.
    assert deadline >= task_timeout


def test_the_ingest_waits_for_the_warehouse_less_than_its_function_runs():
    from shared.bootstrap import Deps
    from shared.settings import Settings

    ingest = next(m for m in _modules().values() if m.get("entry_point") == "ingest_task")
    timeout = _seconds(ingest["timeout_seconds"])
    deployed = _seconds(CFG.locals["uploads_environment"]["TIDEMARK_WAREHOUSE_LOAD_TIMEOUT_S"])
    assert deployed < timeout
    assert Settings().warehouse_load_timeout_s < EVENT_FUNCTION_TIMEOUT_S
    # The setting is what the BigQuery adapter waits for (not its own default).
    built = Deps(Settings(backend="gcp", warehouse_load_timeout_s=deployed)).warehouse
    assert built.load_timeout_s == deployed


def test_ingest_retries_end_before_the_retry_window_does():
    from shared.settings import Settings

    deployed = _seconds(CFG.locals["uploads_environment"]["TIDEMARK_INGEST_EVENT_MAX_AGE_S"])
    for max_age in (deployed, Settings().ingest_event_max_age_s):
        assert EVENT_FUNCTION_TIMEOUT_S < max_age < EVENT_RETRY_WINDOW_S


# ------------------------------------------------------------------ Cloud Tasks


def test_task_dispatch_deadlines_are_within_cloud_tasks_bounds():
    from shared.adapters.gcp import cloud_tasks
    from shared.settings import Settings

    deployed = _seconds(CFG.locals["tasks_environment"]["TIDEMARK_TASK_DISPATCH_TIMEOUT_S"])
    for deadline in (deployed, Settings().task_dispatch_timeout_s):
        assert TASK_DISPATCH_MIN_S <= deadline <= TASK_DISPATCH_MAX_S
    assert cloud_tasks._MIN_DISPATCH_S >= TASK_DISPATCH_MIN_S
    assert cloud_tasks._MAX_DISPATCH_S <= TASK_DISPATCH_MAX_S
    # A task function is not cut off before Cloud Tasks stops waiting for it.
    for name, call in _modules().items():
        if "tasks" in (call.get("invokers") or {}):
            assert _seconds(call["timeout_seconds"]) >= deployed, name


# ------------------------------------------------------------------ Firebase Hosting


def _hosting_proxied() -> dict[str, dict]:
    out = {}
    for rewrite in CFG.locals["hosting_rewrites"]:
        m = re.fullmatch(r"\$\{module\.([a-z_]+)\.name\}", rewrite["function"]["functionId"])
        assert m, rewrite
        out[m.group(1)] = _modules()[m.group(1)]
    return out


def test_functions_behind_hosting_stop_within_its_proxy_timeout():
    proxied = _hosting_proxied()
    assert {"auth_http", "upload_http", "metrics_http", "predict_http"} <= set(proxied)
    for name, call in proxied.items():
        assert _seconds(call["timeout_seconds"]) <= HOSTING_PROXY_TIMEOUT_S, name


def test_request_deadlines_in_the_code_end_before_hosting_gives_up():
    """A query that runs out its deadline answers with our error, not Hosting's 504."""
    from shared.adapters.gcp.bigquery import BigQueryWarehouse
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
    from shared.metrics import compute
    from shared.ports import Warehouse

    assert compute.QUERY_TIMEOUT_S < HOSTING_PROXY_TIMEOUT_S
    for cls in (Warehouse, BigQueryWarehouse, DuckDbWarehouse):
        default = inspect.signature(cls.query).parameters["timeout_s"].default
        assert default < HOSTING_PROXY_TIMEOUT_S, cls.__name__


# ------------------------------------------------------------------ BigQuery


def _partitions(first: datetime, last: datetime, unit: str) -> int:
    if unit == "DAY":
        return (last.date() - first.date()).days + 1
    if unit == "MONTH":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    if unit == "YEAR":
        return last.year - first.year + 1
    raise AssertionError(f"unexpected partitioning {unit}")


def test_the_ingests_date_range_fits_the_partition_limits():
    from shared.ingest.values import MAX_TS, MIN_TS
    from shared.schema import PARTITION_TYPE

    table = CFG.resources[("google_bigquery_table", "business_data")]
    [partitioning] = table["time_partitioning"] if isinstance(
        table["time_partitioning"], list) else [table["time_partitioning"]]
    assert partitioning["type"] == PARTITION_TYPE
    first = datetime.fromtimestamp(MIN_TS / 1e6, UTC)
    last = datetime.fromtimestamp((MAX_TS - 1) / 1e6, UTC)  # MAX_TS itself is refused
    spanned = _partitions(first, last, PARTITION_TYPE)
    # One load may hold rows of any accepted date, and the table all of them.
    assert spanned <= BQ_PARTITIONS_PER_JOB, (spanned, PARTITION_TYPE)
    assert spanned <= BQ_PARTITIONS_PER_TABLE


def test_daily_partitions_would_not_fit():
    # Guards the check above: the date range is wide enough for the unit to matter.
    from shared.ingest.values import MAX_TS, MIN_TS

    first = datetime.fromtimestamp(MIN_TS / 1e6, UTC)
    last = datetime.fromtimestamp((MAX_TS - 1) / 1e6, UTC)
    assert _partitions(first, last, "DAY") > BQ_PARTITIONS_PER_JOB


# ------------------------------------------------------------------ Firestore


def test_cached_views_stay_under_the_document_size():
    from shared.metrics import service

    # The cached payload plus its other fields and names (a few hundred bytes).
    assert service.MAX_CACHED_BYTES + 16 * 1024 <= FIRESTORE_DOCUMENT_BYTES


def test_a_report_of_countless_bad_rows_stays_small():
    """Rejected rows are counted, not listed: examples are capped per reason and their
    values cut, so the report's size does not grow with the file."""
    from shared.ingest.report import MAX_EXAMPLES_PER_REASON, Report

    reasons = ("column_count", "missing_date", "invalid_date", "invalid_amount",
               "invalid_quantity", "invalid_unit_price", "missing_measure")
    report = Report()
    for reason in reasons:
        for row in range(2_000):
            report.reject(row, "c" * 64, "é" * 100_000, reason)
    size = len(json.dumps(report.to_dict(), ensure_ascii=False).encode())
    assert len(report.examples) == len(reasons) * MAX_EXAMPLES_PER_REASON
    assert size < FIRESTORE_DOCUMENT_BYTES // 4, size


# ------------------------------------------------------------------ Secret Manager


@pytest.mark.parametrize("rotations", [0, 1, 5])
def test_key_sets_written_to_secret_manager_fit_a_secret_version(rotations):
    from shared.auth import keys

    keyset = keys.new_keyset()
    for _ in range(rotations):
        keyset = keys.rotate(keyset)  # the keep the `keys rotate` command uses
    assert len(keyset) <= SECRET_PAYLOAD_BYTES
    assert len(keys.public_jwks(keyset)) <= SECRET_PAYLOAD_BYTES


# A transaction (or a batched commit) may carry at most 500 writes:
# https://cloud.google.com/firestore/quotas#writes_and_transactions
FIRESTORE_WRITES_PER_TRANSACTION = 500


class _CountingTransaction:
    """Passes every call to the store's transaction and counts the writes."""

    def __init__(self, tx, counts: list[int]) -> None:
        self._tx, self._counts = tx, counts

    def get(self, collection, doc_id):
        return self._tx.get(collection, doc_id)

    def _write(self, name, *args):
        self._counts[-1] += 1
        return getattr(self._tx, name)(*args)

    def set(self, *args):
        return self._write("set", *args)

    def create(self, *args):
        return self._write("create", *args)

    def update(self, *args):
        return self._write("update", *args)

    def delete(self, *args):
        return self._write("delete", *args)


def test_no_transaction_the_product_runs_exceeds_firestores_write_limit(settings,
                                                                         function_client):
    """Sign-up, invites, an upload with rejected rows, its ingest, metrics, a second
    upload and a delete, run on a document store that counts each transaction's
    writes: every transaction stays within Firestore's limit (and writes something:
    the count is live)."""
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from tests.support.upload_flow import load_upload_main, upload

    store = SqliteDocumentStore(settings.data_dir / "documents.sqlite")
    counts: list[int] = []

    class CountingStore:
        """The same store, with each transaction's writes counted."""

        def __getattr__(self, name):
            return getattr(store, name)

        def transaction(self, fn, **kw):
            counts.append(0)
            return store.transaction(lambda tx: fn(_CountingTransaction(tx, counts)), **kw)

    clear_key_cache()
    with override(Deps(settings, docs=CountingStore())) as deps:
        auth = function_client("auth", "auth_http")
        reg = auth.post("/api/auth/register", json={
            "email": "limits@example.com", "password": "a long enough passphrase 42",
            "tenant_name": "Limits"})
        assert reg.status_code == 201, reg.get_json()
        headers = {"Authorization": f"Bearer {reg.get_json()['access_token']}"}
        confirm_email(lambda path, body: auth.post(path, json=body),
                      settings.data_dir / "mail", "limits@example.com")
        invited = auth.post("/api/auth/users", headers=headers,
                            json={"email": "analyst@example.com", "role": "analyst"})
        assert invited.status_code == 201, invited.get_json()
        uploads = function_client("upload", "upload_http")
        main = load_upload_main()
        rows = "".join(f"2024-01-{d % 28 + 1:02d},P{d % 7},{d}.5\n" for d in range(600))
        first = upload(uploads, headers, deps, main,
                       ("Order Date,Product,Sales\n" + rows + "not a date,P1,3\n").encode())
        assert first["status"] == "loaded", first
        second = upload(uploads, headers, deps, main,
                        ("Order Date,Product,Sales\n" + rows.replace("2024-01", "2024-02")
                         ).encode(), filename="february.csv")
        assert second["status"] == "loaded", second
        gone = uploads.delete(f"/api/uploads/{first['id']}", headers=headers)
        assert gone.status_code == 200, gone.get_json()
    clear_key_cache()
    assert len(counts) >= 5 and max(counts) > 0
    assert max(counts) <= FIRESTORE_WRITES_PER_TRANSACTION, counts
