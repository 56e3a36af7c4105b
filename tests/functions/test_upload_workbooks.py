"""Workbook uploads through the real upload path on the local stack (create with the
workbook's content type -> PUT to the signed URL -> finalize event -> ingest task ->
GET the upload, its rejected rows and the warehouse), and the workbook preview that
lists the sheets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from shared.ingest.workbooks import ODS_TYPE, XLS_TYPE, XLSX_TYPE
from tests.support.ingest_tasks import finalize_and_ingest
from tests.support.upload_flow import create_upload, load_upload_main, put_to_signed_url
from tests.support.workbooks import XLS_FIXTURE, ods, xlsx


@pytest.fixture
def upload_main(deps):
    return load_upload_main()


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


def two_sheets() -> bytes:
    notes = [["Read me"], ["The orders are on the next sheet"]]
    orders = [[], ["Orders export"], ["Order Date", "Order ID", "Sales", "Quantity"]]
    orders += [[dt.date(2024, 2, d), f"B-{d}", 10 * d + 0.5, d] for d in range(1, 11)]
    orders[6][2] = "refund?"  # sheet row 7, rejected
    return xlsx({"Notes": notes, "Orders": orders})


def send(client, deps, upload_main, headers, data: bytes, filename: str, ctype: str,
         **body) -> dict:
    created = create_upload(client, headers, data, filename=filename, content_type=ctype,
                            **body)
    assert created["headers"]["Content-Type"] == ctype  # the signed URL binds the type
    finalize_and_ingest(upload_main, put_to_signed_url(deps, created, data))
    resp = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def amounts(deps, tenant_id: str) -> list[Decimal]:
    rows = deps.warehouse.query("SELECT amount FROM {business_data} WHERE tenant_id = @t "
                                "ORDER BY occurred_date, order_id", {"t": tenant_id})
    return [Decimal(str(r["amount"])) for r in rows]


def test_a_chosen_sheet_loads_and_its_rejected_rows_name_sheet_rows(client, deps, upload_main,
                                                                    make_user):
    principal, headers = make_user()
    upload = send(client, deps, upload_main, headers, two_sheets(), "orders.xlsx",
                  XLSX_TYPE, sheet="Orders")
    assert upload["status"] == "loaded", upload.get("error")
    assert upload["sheet"] == "Orders"
    report = upload["report"]
    assert report["sheet"] == "Orders" and report["sheets"] == ["Notes", "Orders"]
    assert report["rows_loaded"] == 9 and report["rejected_by_reason"] == {"invalid_amount": 1}
    assert amounts(deps, principal["tenant_id"]) == [
        Decimal(10 * d) + Decimal("0.5") for d in range(1, 11) if d != 4]
    body = client.get(f"/api/uploads/{upload['id']}/rejected", headers=headers)
    rejected = list(csv.DictReader(io.StringIO(body.data.decode())))
    assert [(r["row_number"], r["value"], r["Order ID"]) for r in rejected] == [
        ("7", "refund?", "B-4")]


def test_the_first_sheet_is_read_unless_one_is_chosen(client, deps, upload_main, make_user):
    _, headers = make_user()
    upload = send(client, deps, upload_main, headers, two_sheets(), "orders.xlsx", XLSX_TYPE)
    assert upload["status"] == "failed"
    assert upload["report"]["sheet"] == "Notes"
    assert upload["report"]["sheets"] == ["Notes", "Orders"]


def test_an_ods_and_an_xls_upload(client, deps, upload_main, make_user):
    principal, headers = make_user()
    data = ods({"Sales": [["Date", "Amount"], [dt.date(2024, 4, 1), 5.5],
                          [dt.date(2024, 4, 2), 7]]})
    upload = send(client, deps, upload_main, headers, data, "sales.ods", ODS_TYPE)
    assert upload["status"] == "loaded", upload.get("error")
    assert amounts(deps, principal["tenant_id"]) == [Decimal("5.5"), Decimal("7")]
    upload = send(client, deps, upload_main, headers, XLS_FIXTURE.read_bytes(), "orders.xls",
                  XLS_TYPE, dataset="Legacy")
    assert upload["status"] == "loaded", upload.get("error")
    assert upload["report"]["rows_loaded"] == 9
    assert upload["report"]["examples"][0]["row_number"] == 4


def test_a_sheet_name_must_be_text(client, make_user):
    _, headers = make_user()
    resp = client.post("/api/uploads", headers=headers, json={
        "filename": "a.xlsx", "size_bytes": 10, "content_type": XLSX_TYPE, "sheet": 3})
    assert resp.status_code == 400
    assert "sheet" in resp.get_json()["error"]["message"]


def test_preview_of_a_workbook_lists_its_sheets(client, make_user):
    _, headers = make_user()
    data = two_sheets()
    resp = client.post("/api/uploads/preview?sheet=Orders", data=data,
                       headers={**headers, "Content-Type": XLSX_TYPE})
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert got["sheets"] == ["Notes", "Orders"] and got["sheet"] == "Orders"
    assert [c["column"] for c in got["columns"]] == ["Order Date", "Order ID", "Sales",
                                                      "Quantity"]
    assert got["sample_rows"][0]["amount"] == "10.5"
    assert got["rows_rejected"] == 1 and got["partial"] is False
    # The first sheet holds notes only: refused, with the sheets to choose from.
    resp = client.post("/api/uploads/preview", data=data,
                       headers={**headers, "Content-Type": XLSX_TYPE})
    assert resp.status_code == 200
    assert resp.get_json()["error"]["code"] == "no_date_column"
    assert resp.get_json()["sheets"] == ["Notes", "Orders"]
    assert resp.get_json()["sheet"] == "Notes"
    resp = client.post("/api/uploads/preview?sheet=Missing", data=data,
                       headers={**headers, "Content-Type": XLSX_TYPE})
    assert resp.status_code == 200
    assert resp.get_json()["error"]["code"] == "sheet_not_found"
    assert resp.get_json()["sheets"] == ["Notes", "Orders"]


def test_a_workbook_preview_needs_the_whole_file(client, make_user):
    _, headers = make_user()
    resp = client.post("/api/uploads/preview?partial=true", data=two_sheets()[:4096],
                       headers={**headers, "Content-Type": XLSX_TYPE})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "workbook_partial"
