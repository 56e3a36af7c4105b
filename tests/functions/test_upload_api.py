"""The upload function end to end on the local stack: signed URL, finalize event,
report, list/get/delete, rejected rows, exactly-once under duplicates and crashes."""

from __future__ import annotations

import csv
import importlib.util
import io
import threading
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from tests.support.ingest_tasks import finalize_and_ingest

ROOT = Path(__file__).resolve().parents[2]
SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
FINALIZED = "google.cloud.storage.object.v1.finalized"


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_under_test",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


def create(client, headers, data: bytes, **body):
    payload = {"filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
               "dataset": "Sales", **body}
    resp = client.post("/api/uploads", json=payload, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def put_and_event(deps, created, data: bytes) -> CloudEvent:
    up = created["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
    return CloudEvent({"type": FINALIZED,
                       "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                      {"bucket": info.bucket, "name": info.name,
                       "generation": info.generation, "size": str(info.size),
                       "contentType": "text/csv"})


def count_rows(deps, tenant_id: str) -> int:
    rows = deps.warehouse.query("SELECT count(*) AS n FROM {business_data} "
                                "WHERE tenant_id = @t", {"t": tenant_id})
    return int(rows[0]["n"])


def metrics_task_exists(deps, tenant_id, dataset_id, version) -> bool:
    ref = deps.tasks.enqueue("metrics", {"tenant_id": tenant_id, "dataset_id": dataset_id,
                                         "version": version},
                             name=f"metrics-{tenant_id}-{dataset_id}-v{version}")
    return not ref.created


def test_create_returns_signed_put_bound_to_type_and_size(client, make_user):
    principal, headers = make_user("analyst")
    out = create(client, headers, b"x" * 100)
    up = out["upload"]
    assert up["status"] == "pending" and up["tenant_id"] == principal["tenant_id"]
    assert up["object_name"] == f"uploads/{principal['tenant_id']}/{up['id']}.csv"
    assert out["method"] == "PUT"
    assert out["headers"]["Content-Type"] == "text/csv"
    assert out["headers"]["x-goog-content-length-range"] == "1,100"
    assert out["expires_at"]


def test_create_needs_analyst_and_a_token(client, make_user):
    _, viewer = make_user("viewer")
    resp = client.post("/api/uploads", json={"filename": "a.csv", "size_bytes": 5},
                       headers=viewer)
    assert resp.status_code == 403
    assert client.post("/api/uploads", json={}).status_code == 401


def test_create_validates_and_limits_size(client, make_user, deps):
    _, headers = make_user()
    resp = client.post("/api/uploads", json={"filename": "", "size_bytes": -1,
                                             "mode": "merge"}, headers=headers)
    assert resp.status_code == 400
    fields = resp.get_json()["error"]["details"]["fields"]
    assert {"filename", "size_bytes", "mode"} <= set(fields)
    resp = client.post("/api/uploads", json={"filename": "a.csv",
                                             "size_bytes": deps.settings.max_upload_bytes + 1},
                       headers=headers)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "upload_too_large"


def test_superstore_flow_load_get_list_delete(client, make_user, deps, upload_main):
    principal, headers = make_user()
    tid = principal["tenant_id"]
    data = SUPERSTORE.read_bytes()
    created = create(client, headers, data)
    finalize_and_ingest(upload_main, put_and_event(deps, created, data))
    up_id = created["upload"]["id"]
    got = client.get(f"/api/uploads/{up_id}", headers=headers).get_json()
    assert got["status"] == "loaded", got.get("error")
    assert got["report"]["rows_loaded"] == 9994 and got["report"]["rows_rejected"] == 0
    assert got["report"]["mapping"]["amount"]["column"] == "Sales"
    assert got["progress"] == 1.0 and got["generation"]
    assert count_rows(deps, tid) == 9994
    ds = deps.docs.get(f"tenants/{tid}/datasets", got["dataset_id"]).data
    assert ds["version"] == 1 and ds["row_count"] == 9994 and ds["name"] == "Sales"
    assert metrics_task_exists(deps, tid, got["dataset_id"], 1)

    listing = client.get("/api/uploads", headers=headers).get_json()
    assert [u["id"] for u in listing["items"]] == [up_id]
    rejected = client.get(f"/api/uploads/{up_id}/rejected", headers=headers)
    assert rejected.status_code == 200 and rejected.mimetype == "text/csv"
    assert rejected.data.decode().startswith("row_number,reason,column,value")

    resp = client.delete(f"/api/uploads/{up_id}", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["rows_removed"] == 9994
    assert count_rows(deps, tid) == 0
    assert client.get(f"/api/uploads/{up_id}", headers=headers).status_code == 404
    assert deps.blobs.stat(deps.settings.uploads_bucket, created["upload"]["object_name"]) \
        is None
    ds = deps.docs.get(f"tenants/{tid}/datasets", got["dataset_id"]).data
    assert ds["version"] == 2 and ds["row_count"] == 0
    assert metrics_task_exists(deps, tid, got["dataset_id"], 2)


def test_list_is_newest_first_and_paginated(client, make_user):
    _, headers = make_user()
    ids = [create(client, headers, b"abc")["upload"]["id"] for _ in range(3)]
    page1 = client.get("/api/uploads?page_size=2", headers=headers).get_json()
    assert [u["id"] for u in page1["items"]] == ids[::-1][:2]
    page2 = client.get(f"/api/uploads?page_size=2&page_token={page1['next_page_token']}",
                       headers=headers).get_json()
    assert [u["id"] for u in page2["items"]] == ids[::-1][2:]
    assert page2["next_page_token"] is None


def test_other_tenant_cannot_see_upload(client, make_user):
    _, headers = make_user()
    _, other = make_user()
    up_id = create(client, headers, b"abc")["upload"]["id"]
    assert client.get(f"/api/uploads/{up_id}", headers=other).status_code == 404
    assert client.delete(f"/api/uploads/{up_id}", headers=other).status_code == 404


def test_bad_rows_are_reported_and_downloadable(client, make_user, deps, upload_main):
    _, headers = make_user()
    lines = [f"2024-01-{d:02d},P{d},{d}" for d in range(1, 20)] + ["2024-01-20,=cmd(),oops"]
    data = ("date,product,amount\n" + "\n".join(lines) + "\n").encode()
    created = create(client, headers, data)
    finalize_and_ingest(upload_main, put_and_event(deps, created, data))
    up_id = created["upload"]["id"]
    report = client.get(f"/api/uploads/{up_id}", headers=headers).get_json()["report"]
    assert report["rows_read"] == 20 and report["rows_loaded"] == 19
    assert report["rejected_by_reason"] == {"invalid_amount": 1}
    assert report["examples"][0]["value"] == "oops"
    body = client.get(f"/api/uploads/{up_id}/rejected", headers=headers).data.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows == [{"row_number": "20", "reason": "invalid_amount", "column": "amount",
                     "value": "oops", "date": "2024-01-20", "product": "'=cmd()",
                     "amount": "oops"}]


def test_failed_file_reports_error_and_loads_nothing(client, make_user, deps, upload_main):
    _, headers = make_user()
    data = b"product,region\nA,EU\n"
    created = create(client, headers, data)
    finalize_and_ingest(upload_main, put_and_event(deps, created, data))
    got = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers).get_json()
    assert got["status"] == "failed"
    assert got["error"]["code"] == "no_date_column"
    assert "product" in got["error"]["message"]


def test_replace_mode_swaps_the_dataset_rows(client, make_user, deps, upload_main):
    principal, headers = make_user()
    first = b"date,amount\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"
    second = b"date,amount\n2024-02-01,10\n"
    c1 = create(client, headers, first)
    finalize_and_ingest(upload_main, put_and_event(deps, c1, first))
    c2 = create(client, headers, second, mode="replace")
    finalize_and_ingest(upload_main, put_and_event(deps, c2, second))
    assert count_rows(deps, principal["tenant_id"]) == 1
    ds = deps.docs.get(f"tenants/{principal['tenant_id']}/datasets",
                       c2["upload"]["dataset_id"]).data
    assert ds["version"] == 2 and ds["row_count"] == 1


def test_foreign_objects_and_unknown_uploads_are_ignored(deps, make_user):
    from shared.uploads import service as uploads

    principal, _ = make_user()
    bucket = deps.settings.uploads_bucket
    info = deps.blobs.put(bucket, "elsewhere/file.csv", b"date,amount\n2024-01-01,1\n")
    assert uploads.ingest_object(deps, bucket, info.name, info.generation)["reason"] == \
        "not_an_upload"
    name = f"uploads/{principal['tenant_id']}/up_{'0' * 32}.csv"
    info = deps.blobs.put(bucket, name, b"date,amount\n2024-01-01,1\n")
    assert uploads.ingest_object(deps, bucket, name, info.generation)["reason"] == "no_upload"
    assert count_rows_safe(deps) == 0


def count_rows_safe(deps) -> int:
    deps.warehouse.ensure_table(deps.settings.warehouse_table)
    return int(deps.warehouse.query("SELECT count(*) AS n FROM {business_data}")[0]["n"])


def test_hundred_concurrent_duplicate_events_load_once(client, make_user, deps, upload_main):
    principal, headers = make_user()
    data = SUPERSTORE.read_bytes()
    created = create(client, headers, data)
    event = put_and_event(deps, created, data)
    errors: list[BaseException] = []

    def deliver():
        try:
            finalize_and_ingest(upload_main, event)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A delivery that raced the first one may have asked for a retry: redeliver like
    # the platform would, until the upload settles.
    for _ in range(3):
        finalize_and_ingest(upload_main, event)
    assert not [e for e in errors if not getattr(e, "retryable", False)], errors
    assert count_rows(deps, principal["tenant_id"]) == 9994
    ds = deps.docs.get(f"tenants/{principal['tenant_id']}/datasets",
                       created["upload"]["dataset_id"]).data
    assert ds["version"] == 1 and ds["row_count"] == 9994


class CrashingWarehouse:
    """Delegates to the real warehouse but crashes once, before or after the load."""

    def __init__(self, real, when: str) -> None:
        self.real, self.when, self.crashed = real, when, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def load_staged(self, *args, **kwargs):
        if not self.crashed and self.when == "before":
            self.crashed = True
            raise RuntimeError("crash between staging (shards written) and load")
        result = self.real.load_staged(*args, **kwargs)
        if not self.crashed and self.when == "after":
            self.crashed = True
            raise RuntimeError("crash between load and commit")
        return result


@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_then_redelivery_loads_every_row_once(client, make_user, deps, upload_main,
                                                    when):
    principal, headers = make_user()
    data = b"date,amount\n" + b"".join(f"2024-01-{d:02d},{d}\n".encode()
                                       for d in range(1, 29))
    created = create(client, headers, data)
    event = put_and_event(deps, created, data)
    deps.warehouse.ensure_table(deps.settings.warehouse_table)
    deps.__dict__["warehouse"] = CrashingWarehouse(deps.warehouse, when)
    with pytest.raises(RuntimeError):
        finalize_and_ingest(upload_main, event)
    finalize_and_ingest(upload_main, event)
    finalize_and_ingest(upload_main, event)
    assert count_rows(deps, principal["tenant_id"]) == 28
    got = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers).get_json()
    assert got["status"] == "loaded" and got["report"]["rows_loaded"] == 28
    ds = deps.docs.get(f"tenants/{principal['tenant_id']}/datasets",
                       created["upload"]["dataset_id"]).data
    assert ds["version"] == 1 and ds["row_count"] == 28
