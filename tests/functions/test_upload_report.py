"""The validation report accounts for everything, through the real upload path (signed
upload, finalize event, ingest): every role, every column, returns and outliers as
warnings; a load with warnings says so in the upload, the list and the datasets the
dashboard reads. And the mapping preview: POST /api/uploads/preview answers what the
ingest makes of a file's head, and the mapping chosen from it is what the load uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from tests.support.ingest_tasks import finalize_and_ingest

ROOT = Path(__file__).resolve().parents[2]
FINALIZED = "google.cloud.storage.object.v1.finalized"


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_report",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


@pytest.fixture
def metrics_client(function_client):
    return function_client("metrics", "metrics_http")


def load(client, deps, upload_main, headers, data: bytes, **body) -> dict:
    payload = {"filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
               "dataset": "Sales", **body}
    resp = client.post("/api/uploads", json=payload, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    up = resp.get_json()["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
    finalize_and_ingest(upload_main, CloudEvent(
        {"type": FINALIZED,
         "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
        {"bucket": info.bucket, "name": info.name, "generation": info.generation,
         "size": str(info.size), "contentType": "text/csv"}))
    return client.get(f"/api/uploads/{up['id']}", headers=headers).get_json()


def sales_with_returns_and_an_outlier() -> bytes:
    lines = [f"2024-01-{d:02d},P{d % 3},{10 + d}.50,{'' if d == 5 else 'EU'}"
             for d in range(1, 21)]
    lines[3] = "2024-01-04,P1,-12.00,EU"     # a return
    lines[7] = "2024-01-08,P2,-8.00,US"      # another
    lines[9] = "2024-01-10,P0,2500000,EU"    # beyond 1,000x the median
    return ("order date,product,sales,region\n" + "\n".join(lines) + "\n").encode()


def test_report_accounts_for_every_role_and_column(client, make_user, deps, upload_main):
    _, headers = make_user()
    got = load(client, deps, upload_main, headers, sales_with_returns_and_an_outlier())
    assert got["status"] == "loaded"
    report = got["report"]
    roles = report["roles"]
    assert roles["amount"] == {"status": "mapped", "column": "sales", "by": "header"}
    assert roles["occurred_at"]["column"] == "order date"
    assert roles["category"]["status"] == "not_found"
    assert roles["category"]["impact"] == "no breakdown by category"
    assert roles["quantity"]["impact"].startswith("no unit figures")
    assert set(roles) >= {"occurred_at", "amount", "quantity", "product", "category",
                          "region", "customer", "channel", "order_id", "unit_price"}
    region = next(c for c in report["columns"] if c["column"] == "region")
    assert region["null_count"] == 1 and region["invalid_count"] == 0
    assert region["role"] == "region" and region["type"] == "text"


def test_returns_and_outliers_are_warnings_everyone_sees(client, metrics_client, make_user,
                                                         deps, upload_main):
    _, headers = make_user()
    got = load(client, deps, upload_main, headers, sales_with_returns_and_an_outlier())
    report = got["report"]
    amounts = report["amounts"]
    assert amounts["negative_count"] == 2 and amounts["negative_share"] == 0.1
    assert amounts["negative_sum"] == "-20"
    assert amounts["outlier_count"] == 1
    assert amounts["outlier_examples"] == ["2500000 (row 10)"]
    assert any("2 amounts are negative (10.0% of the lines, -20 in total)" in w
               for w in report["warnings"])
    assert any(w.startswith("1 amount is more than 1,000x the median")
               for w in report["warnings"])
    assert got["warning_count"] == report["warning_count"] == len(report["warnings"]) == 2
    listed = client.get("/api/uploads", headers=headers).get_json()["items"]
    assert [u["warning_count"] for u in listed] == [2]
    [ds] = metrics_client.get("/api/metrics/datasets", headers=headers).get_json()["datasets"]
    assert ds["data_quality"]["warning_count"] == 2
    assert ds["data_quality"]["upload_ids"] == [got["id"]]
    assert ds["data_quality"]["warnings"] == report["warnings"]


def test_a_clean_load_has_no_warnings(client, metrics_client, make_user, deps, upload_main):
    _, headers = make_user()
    data = ("date,product,amount\n" + "\n".join(
        f"2024-02-{d:02d},P{d},{d}.25" for d in range(1, 15)) + "\n").encode()
    got = load(client, deps, upload_main, headers, data)
    assert got["status"] == "loaded" and got["warning_count"] == 0
    [ds] = metrics_client.get("/api/metrics/datasets", headers=headers).get_json()["datasets"]
    assert ds["data_quality"]["warning_count"] == 0 and ds["data_quality"]["warnings"] == []


def test_preview_answers_columns_roles_types_and_parsed_rows(client, make_user):
    _, headers = make_user()
    head = sales_with_returns_and_an_outlier()
    resp = client.post("/api/uploads/preview", data=head, headers={
        **headers, "Content-Type": "text/csv"})
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert [c["column"] for c in got["columns"]] == ["order date", "product", "sales",
                                                      "region"]
    assert {c["column"]: c["type"] for c in got["columns"]}["sales"] == "number"
    assert got["roles"]["amount"]["by"] == "header"
    assert len(got["sample_rows"]) == 10
    first = got["sample_rows"][0]
    assert first["amount"] == "11.5" and first["product"] == "P1"
    assert first["occurred_at"].startswith("2024-01-01")
    assert got["error"] is None and got["partial"] is False


def test_preview_of_a_cut_head_drops_the_cut_line(client, make_user):
    _, headers = make_user()
    head = b"date,amount\n2024-01-01,5\n2024-01-02,6\n2024-01-03,7"
    got = client.post("/api/uploads/preview?partial=true", data=head,
                      headers={**headers, "Content-Type": "text/csv"}).get_json()
    assert got["rows_read"] == 2 and got["partial"] is True


def test_preview_says_why_the_ingest_would_refuse_the_file(client, make_user):
    _, headers = make_user()
    got = client.post("/api/uploads/preview", data=b"when,what\nyesterday,A\n",
                      headers={**headers, "Content-Type": "text/csv"}).get_json()
    assert got["error"]["code"] == "no_date_column"
    assert [c["column"] for c in got["columns"]] == ["when", "what"]


def test_preview_is_capped_and_needs_an_analyst(client, make_user):
    user, headers = make_user()
    big = b"date,amount\n" + b"2024-01-01,5\n" * 90_000
    resp = client.post("/api/uploads/preview", data=big,
                       headers={**headers, "Content-Type": "text/csv"})
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "preview_too_large"
    empty = client.post("/api/uploads/preview", data=b"",
                        headers={**headers, "Content-Type": "text/csv"})
    assert empty.status_code == 400
    _, viewer = make_user("viewer", tenant_id=user["tenant_id"])
    resp = client.post("/api/uploads/preview", data=b"date,amount\n2024-01-01,5\n",
                       headers={**viewer, "Content-Type": "text/csv"})
    assert resp.status_code == 403


def test_the_mapping_chosen_from_the_preview_is_what_the_load_uses(client, make_user, deps,
                                                                   upload_main):
    _, headers = make_user()
    data = ("date,store,amount\n" + "\n".join(
        f"2024-03-{d:02d},S{d % 2},{d}" for d in range(1, 11)) + "\n").encode()
    preview = client.post("/api/uploads/preview", data=data,
                          headers={**headers, "Content-Type": "text/csv"}).get_json()
    assert preview["roles"]["channel"] == {"status": "mapped", "column": "store",
                                           "by": "header"}
    got = load(client, deps, upload_main, headers, data,
               mapping={"channel": None, "region": "store"})
    roles = got["report"]["roles"]
    assert roles["region"] == {"status": "mapped", "column": "store", "by": "user"}
    assert roles["channel"]["status"] == "not_found"


def test_preview_of_a_head_with_no_data_row_is_a_clear_400(client, make_user):
    _, headers = make_user()
    for head, code in ((b"date,amount\n", "no_data_rows"), (b"{}", "parse_error")):
        resp = client.post("/api/uploads/preview", data=head,
                           headers={**headers, "Content-Type": "text/csv"})
        assert resp.status_code == 400, head
        assert resp.get_json()["error"]["code"] == code
