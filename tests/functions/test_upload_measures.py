"""Issue 16, through the real upload path on the local stack (create -> PUT to the
signed URL -> finalize event -> ingest -> GET the upload): a column whose header names
the amount, the quantity or the date keeps its role whatever its values, its bad
values are rejected rows with reasons and examples, and over the reject limit the
upload fails naming the column, the share of bad values and examples; a sale line
without an amount is rejected unless the upload asks to keep such lines."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.ingest_tasks import finalize_and_ingest
from tests.support.upload_flow import create_upload, put_to_signed_url

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "csv"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["cases"]
CASES = ["amount_placeholders_issue_case.csv", "date_mostly_placeholders.csv",
         "amount_placeholders_over_limit.csv", "amount_placeholders_under_limit.csv",
         "amount_mostly_placeholders.csv", "quantity_placeholders_over_limit.csv",
         "quantity_placeholders_under_limit.csv", "date_placeholders_over_limit.csv",
         "date_placeholders_under_limit.csv", "missing_amounts_null_tokens.csv",
         "missing_amounts_over_limit.csv", "missing_amounts_kept.csv", "na_tokens.csv",
         "derived_amount_missing_price.csv", "amount_missing_filled_from_price.csv",
         "header_word_inside_text_column.csv"]


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_measures",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def settings(settings, request):
    """The stack's settings, with the reject limit the corpus case asks for (a
    deployment setting, not a request field)."""
    callspec = getattr(request.node, "callspec", None)
    name = callspec.params.get("name") if callspec else None
    limit = MANIFEST.get(name, {}).get("options", {}).get("max_reject_share")
    return settings if limit is None else settings.model_copy(
        update={"max_reject_share": limit})


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


def ingest(client, deps, upload_main, headers, name: str) -> tuple[dict, dict]:
    """Upload a corpus file with its manifest options; its expectation and the upload."""
    expected = MANIFEST[name]
    options = expected.get("options", {})
    assert deps.settings.max_reject_share == options.get("max_reject_share", 0.20)
    body = {k: v for k, v in options.items() if k == "keep_rows_without_amount"}
    data = (CORPUS / name).read_bytes()
    created = create_upload(client, headers, data, **body)
    finalize_and_ingest(upload_main, put_to_signed_url(deps, created, data))
    resp = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers)
    assert resp.status_code == 200
    return expected, resp.get_json()


def loaded_amounts(deps, tenant_id: str) -> list[Decimal | None]:
    rows = deps.warehouse.query("SELECT amount FROM {business_data} WHERE tenant_id = @t "
                                "ORDER BY row_number", {"t": tenant_id})
    return [None if r["amount"] is None else Decimal(str(r["amount"])) for r in rows]


@pytest.mark.parametrize("name", CASES)
def test_measure_and_date_columns_through_the_upload_path(name, client, deps, upload_main,
                                                          make_user):
    principal, headers = make_user()
    expected, upload = ingest(client, deps, upload_main, headers, name)
    report = upload["report"]
    if expected["outcome"] == "failed":
        want = expected["failure"]
        assert upload["status"] == "failed"
        error = upload["error"]
        assert error["code"] == "too_many_rejects"
        for key, value in want.items():
            assert error["details"][key] == value, key
        message = error["message"]
        assert repr(want["column"]) in message
        assert f"({want['bad_share']:.0%})" in message
        assert all(repr(v) in message for v in want["examples"])
        dataset = deps.docs.get(f"tenants/{principal['tenant_id']}/datasets",
                                upload["dataset_id"]).data
        assert dataset["row_count"] == 0, "a failed upload loads nothing"
        return
    assert upload["status"] == "loaded", upload.get("error")
    assert report["rows_loaded"] == expected["rows_loaded"]
    assert report["rows_rejected"] == expected["rows_rejected"]
    assert report["rejected_by_reason"] == expected["rejected_by_reason"]
    for role, column in expected.get("mapping", {}).items():
        assert report["mapping"][role]["column"] == column, role
    if "examples" in expected:
        assert [[e["reason"], e["column"], e["value"]]
                for e in report["examples"]] == expected["examples"]
    for key, value in expected.get("counts", {}).items():
        assert report[key] == value, key
    amounts = loaded_amounts(deps, principal["tenant_id"])
    assert len(amounts) == expected["rows_loaded"]
    if "amounts" in expected:
        assert amounts == [None if a is None else Decimal(a) for a in expected["amounts"]]
    if expected["rows_rejected"]:
        body = client.get(f"/api/uploads/{upload['id']}/rejected", headers=headers)
        rejected = list(csv.DictReader(io.StringIO(body.data.decode())))
        assert len(rejected) == expected["rows_rejected"]
        assert {r["reason"] for r in rejected} == set(expected["rejected_by_reason"])


def test_the_issue_case_no_longer_loads_with_zero_revenue(client, deps, upload_main,
                                                          make_user):
    """The reported export: 'Sales' recognised by its header, mostly placeholders, and
    a quantity column. It loaded as a success with the amount role dropped (revenue 0);
    now it fails, naming Sales, its share of bad values and examples."""
    _, headers = make_user()
    _, upload = ingest(client, deps, upload_main, headers,
                       "amount_placeholders_issue_case.csv")
    assert upload["status"] == "failed"
    assert "column 'Sales': 14 of 20 rows (70%)" in upload["error"]["message"]
    assert upload["report"]["rejected_by_reason"] == {"invalid_amount": 14}
    assert upload["report"]["mapping"]["amount"] == {"column": "Sales", "by": "header"}


def test_keep_rows_without_amount_must_be_a_boolean(client, make_user):
    _, headers = make_user()
    resp = client.post("/api/uploads", json={"filename": "a.csv", "size_bytes": 5,
                                             "keep_rows_without_amount": "yes"},
                       headers=headers)
    assert resp.status_code == 400
    assert "keep_rows_without_amount" in resp.get_json()["error"]["message"]
