"""An ingest that ends for good leaves the upload `failed` with a reason a user can
read, on the local stack through the deployed entry point.

A non-retryable backend error (BigQuery answers 403 to an account without
`bigquery.datasets.create`, for one) ends the ingest: the handler returns normally,
so the platform never delivers the event again. Were the upload left `processing`,
nothing would ever move it on, and deleting it would be refused for good.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from shared import errors
from tests.support.ingest_tasks import finalize_and_ingest

ROOT = Path(__file__).resolve().parents[2]
FINALIZED = "google.cloud.storage.object.v1.finalized"
REFUSAL = "ensure table business_data: backend error"
DATA = b"date,amount\n" + b"".join(f"2024-01-{d:02d},{d}\n".encode() for d in range(1, 29))


class RefusingWarehouse:
    """The local warehouse, except that `step` answers the way the BigQuery adapter
    turns a permission error: an AppError that is not retryable."""

    def __init__(self, real, docs: BusyDocs) -> None:
        self.real, self.docs, self.step, self.calls = real, docs, None, 0

    def __getattr__(self, name):
        attr = getattr(self.real, name)
        if name != self.step:
            return attr

        def refuse(*args, **kwargs):
            self.calls += 1
            self.docs.busy, self.docs.busy_next = self.docs.busy_next, False
            raise errors.AppError(REFUSAL, code="backend_error")
        return refuse


class BusyDocs:
    """The local document store; when `busy`, its next transaction fails as a store
    under load does (a retryable error)."""

    def __init__(self, real) -> None:
        self.real, self.busy, self.busy_next = real, False, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def transaction(self, fn):
        if self.busy:
            self.busy = False
            raise errors.Unavailable("the document store is busy")
        return self.real.transaction(fn)


@pytest.fixture
def deps(settings):
    """The local composition root, with the warehouse behind the refusing proxy."""
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override

    clear_key_cache()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    docs = BusyDocs(SqliteDocumentStore(settings.data_dir / "documents.sqlite"))
    warehouse = RefusingWarehouse(DuckDbWarehouse(settings.data_dir / "warehouse.duckdb"),
                                  docs)
    d = Deps(settings, warehouse=warehouse, docs=docs)
    with override(d):
        yield d
    d.close()
    clear_key_cache()


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_permanent_failure",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _landed_upload(deps, client, headers) -> tuple[dict, CloudEvent]:
    resp = client.post("/api/uploads", headers=headers, json={
        "filename": "sales.csv", "size_bytes": len(DATA), "content_type": "text/csv"})
    assert resp.status_code == 201, resp.get_json()
    up = resp.get_json()["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], DATA, content_type="text/csv")
    event = CloudEvent({"type": FINALIZED,
                        "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                       {"bucket": info.bucket, "name": info.name,
                        "generation": info.generation, "size": str(info.size)})
    return up, event


@pytest.mark.parametrize("step", ["ensure_table", "load_staged"])
def test_a_permanent_warehouse_error_fails_the_upload_with_its_reason(
        deps, function_client, make_user, upload_main, step):
    client = function_client("upload", "upload_http")
    _, headers = make_user()
    up, event = _landed_upload(deps, client, headers)
    deps.warehouse.step = step

    finalize_and_ingest(upload_main, event)  # returns: the platform must not retry

    assert deps.warehouse.calls == 1
    got = client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()
    assert got["status"] == "failed", got
    assert got["error"]["code"] == "backend_error"
    assert REFUSAL in got["error"]["message"]
    # A delivery of the same event again changes nothing and tries nothing.
    finalize_and_ingest(upload_main, event)
    assert deps.warehouse.calls == 1
    assert client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()["status"] \
        == "failed"
    deleted = client.delete(f"/api/uploads/{up['id']}", headers=headers)
    assert deleted.status_code == 200, deleted.get_json()
    assert client.get(f"/api/uploads/{up['id']}", headers=headers).status_code == 404


def test_a_failure_that_cannot_be_recorded_is_delivered_again(
        deps, function_client, make_user, upload_main):
    """The store refuses the write of the failure: the event must come back (a
    retryable error), and the next delivery records the failure."""
    client = function_client("upload", "upload_http")
    _, headers = make_user()
    up, event = _landed_upload(deps, client, headers)
    deps.warehouse.step = "ensure_table"
    deps.docs.busy_next = True

    with pytest.raises(errors.Unavailable):
        finalize_and_ingest(upload_main, event)
    assert client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()["status"] \
        == "processing"
    finalize_and_ingest(upload_main, event)  # the platform's retry

    assert deps.warehouse.calls == 2
    got = client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()
    assert got["status"] == "failed" and got["error"]["code"] == "backend_error", got
