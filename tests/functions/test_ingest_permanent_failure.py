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

ROOT = Path(__file__).resolve().parents[2]
FINALIZED = "google.cloud.storage.object.v1.finalized"
REFUSAL = "ensure table business_data: backend error"
DATA = b"date,amount\n" + b"".join(f"2024-01-{d:02d},{d}\n".encode() for d in range(1, 29))


class RefusingWarehouse:
    """The local warehouse, except that `step` answers the way the BigQuery adapter
    turns a permission error: an AppError that is not retryable."""

    def __init__(self, real) -> None:
        self.real, self.step, self.calls = real, None, 0

    def __getattr__(self, name):
        attr = getattr(self.real, name)
        if name != self.step:
            return attr

        def refuse(*args, **kwargs):
            self.calls += 1
            raise errors.AppError(REFUSAL, code="backend_error")
        return refuse


@pytest.fixture
def deps(settings):
    """The local composition root, with the warehouse behind the refusing proxy."""
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override

    clear_key_cache()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    warehouse = RefusingWarehouse(DuckDbWarehouse(settings.data_dir / "warehouse.duckdb"))
    d = Deps(settings, warehouse=warehouse)
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


@pytest.mark.parametrize("step", ["ensure_table", "load_parquet"])
def test_a_permanent_warehouse_error_fails_the_upload_with_its_reason(
        deps, function_client, make_user, upload_main, step):
    client = function_client("upload", "upload_http")
    _, headers = make_user()
    resp = client.post("/api/uploads", headers=headers, json={
        "filename": "sales.csv", "size_bytes": len(DATA), "content_type": "text/csv"})
    assert resp.status_code == 201, resp.get_json()
    up = resp.get_json()["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], DATA, content_type="text/csv")
    event = CloudEvent({"type": FINALIZED,
                        "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                       {"bucket": info.bucket, "name": info.name,
                        "generation": info.generation, "size": str(info.size)})
    deps.warehouse.step = step

    upload_main.ingest_finalized(event)  # returns: the platform must not retry

    assert deps.warehouse.calls == 1
    got = client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()
    assert got["status"] == "failed", got
    assert got["error"]["code"] == "backend_error"
    assert REFUSAL in got["error"]["message"]
    # A delivery of the same event again changes nothing and tries nothing.
    upload_main.ingest_finalized(event)
    assert deps.warehouse.calls == 1
    assert client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()["status"] \
        == "failed"
    deleted = client.delete(f"/api/uploads/{up['id']}", headers=headers)
    assert deleted.status_code == 200, deleted.get_json()
    assert client.get(f"/api/uploads/{up['id']}", headers=headers).status_code == 404
