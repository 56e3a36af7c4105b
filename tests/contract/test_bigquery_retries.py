"""BigQuery's quota and transient errors are retried with backoff, not failed.

On the BigQuery emulator, the real client's transport answers the load's job insert
with the errors BigQuery gives under load (403 rateLimitExceeded / quotaExceeded, 429,
500 internalError, 503 backendError) before letting the request through: the load
still lands once. A 403 for any other reason (accessDenied) stays permanent, and
retries end at their deadline with a retryable error the task queue retries later."""

from __future__ import annotations

import uuid

import pytest

from shared import errors
from tests.support import emulators
from tests.support.injected_errors import InjectingAdapter, session_with
from tests.support.warehouse_data import rows_for, write_parquet

pytestmark = [pytest.mark.emulator]
DATASET = "tidemark_retries"
TABLE = "business_data"


def _is_load_insert(request) -> bool:
    # load_table_from_file inserts the job by opening an upload session (a POST).
    return request.method == "POST" and "/upload/bigquery/v2/" in str(request.url)


def _is_load_upload(request) -> bool:
    # ...then sends the file (a PUT), answered with the job resource.
    return request.method == "PUT" and "/upload/bigquery/v2/" in str(request.url)


@pytest.fixture
def make_warehouse(request):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from shared.adapters.gcp.bigquery import BigQueryWarehouse

    emu = emulators.shared_emulator(request, "bigquery")
    emulators.bigquery_dataset(emulators.bigquery_client(emu), DATASET)

    def make(injected: list, match=_is_load_insert,
             **kw) -> tuple[BigQueryWarehouse, InjectingAdapter]:
        adapter = InjectingAdapter(injected, match)
        client = bigquery.Client(project=emulators.PROJECT,
                                 credentials=AnonymousCredentials(),
                                 client_options={"api_endpoint": emu.url},
                                 _http=session_with(adapter, emu.url))
        wh = BigQueryWarehouse(project=emulators.PROJECT, dataset=DATASET, location="EU",
                               client=client, backoff_initial_s=0.01, **kw)
        return wh, adapter
    return make


def _count(wh, tenant: str) -> int:
    rows = wh.query("SELECT COUNT(*) AS n FROM {business_data} WHERE tenant_id = @t",
                    {"t": tenant})
    return int(rows[0]["n"])


@pytest.mark.parametrize("status,reason", [
    (403, "rateLimitExceeded"), (403, "quotaExceeded"), (429, "rateLimitExceeded"),
    (500, "internalError"), (503, "backendError")])
def test_a_quota_or_transient_refusal_of_the_load_is_retried(
        make_warehouse, tmp_path, status, reason):
    tenant = f"t_{uuid.uuid4().hex[:10]}"
    path = write_parquet(tmp_path / "rows.parquet", rows_for(tenant, "d1", 7))
    wh, adapter = make_warehouse([(status, reason), (status, reason)])

    result = wh.load_parquet(TABLE, path, idempotency_key=f"{tenant}-1")

    assert [(s, r) for _, s, r in adapter.injected] == [(status, reason)] * 2
    assert len(adapter.passed) == 1  # the real insert, after the two refusals
    assert result.rows_loaded == 7 and not result.already_loaded
    assert _count(wh, tenant) == 7


def test_an_access_denied_is_not_retried(make_warehouse, tmp_path):
    tenant = f"t_{uuid.uuid4().hex[:10]}"
    path = write_parquet(tmp_path / "rows.parquet", rows_for(tenant, "d1", 3))
    wh, adapter = make_warehouse([(403, "accessDenied")])

    with pytest.raises(errors.AppError) as exc:
        wh.load_parquet(TABLE, path, idempotency_key=f"{tenant}-1")

    assert not exc.value.retryable
    assert len(adapter.injected) == 1 and adapter.passed == []
    assert _count(wh, tenant) == 0


def test_retries_stop_at_their_deadline_with_a_retryable_error(make_warehouse, tmp_path):
    """Past the deadline the error is Unavailable: the ingest task answers 503 and Cloud
    Tasks delivers it again later, rather than the upload failing."""
    tenant = f"t_{uuid.uuid4().hex[:10]}"
    path = write_parquet(tmp_path / "rows.parquet", rows_for(tenant, "d1", 3))
    wh, adapter = make_warehouse([(403, "quotaExceeded")] * 1000, retry_deadline_s=0.3)

    with pytest.raises(errors.Unavailable):
        wh.load_parquet(TABLE, path, idempotency_key=f"{tenant}-1")

    assert len(adapter.injected) >= 2  # retried before giving up
    assert adapter.passed == []
    assert _count(wh, tenant) == 0


def test_the_error_mapping_reads_the_reason_of_a_403():
    from google.api_core import exceptions as gexc

    from shared.adapters.gcp._errors import translate

    quota = gexc.Forbidden("Quota exceeded", errors=[{"reason": "quotaExceeded"}])
    denied = gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied"}])
    backend = gexc.BadRequest("oops", errors=[{"reason": "backendError"}])
    assert translate(quota, "load").retryable
    assert translate(quota, "load").code == "backend_busy"
    assert not translate(denied, "load").retryable
    assert translate(backend, "load").retryable


def test_a_load_job_that_fails_on_a_backend_error_is_run_again_under_the_next_id(
        make_warehouse, tmp_path):
    """BigQuery accepted the job, which then failed with backendError: that job id is
    spent, so the load runs again, after a backoff, under the key's next id."""
    from shared.adapters.gcp.bigquery import _job_base

    tenant = f"t_{uuid.uuid4().hex[:10]}"
    key = f"{tenant}-1"
    path = write_parquet(tmp_path / "rows.parquet", rows_for(tenant, "d1", 5))
    first = f"{_job_base('load', TABLE, key)}_0"
    failed_job = {
        "kind": "bigquery#job", "id": f"{emulators.PROJECT}:EU.{first}",
        "jobReference": {"projectId": emulators.PROJECT, "jobId": first, "location": "EU"},
        "configuration": {"load": {"destinationTable": {
            "projectId": emulators.PROJECT, "datasetId": DATASET, "tableId": TABLE}}},
        "status": {"state": "DONE",
                   "errorResult": {"reason": "backendError", "message": "injected"},
                   "errors": [{"reason": "backendError", "message": "injected"}]}}
    wh, adapter = make_warehouse([(200, failed_job)], match=_is_load_upload)

    result = wh.load_parquet(TABLE, path, idempotency_key=key)

    assert len(adapter.injected) == 1 and len(adapter.passed) == 1
    second = f"{_job_base('load', TABLE, key)}_1"
    assert wh.client.get_job(second, location="EU").state == "DONE"
    assert result.rows_loaded == 5
    assert _count(wh, tenant) == 5
