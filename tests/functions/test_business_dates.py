"""Issue 23: each sale counts on the business's date in the tenant's time zone,
through the real upload path on the local stack (create -> PUT to the signed URL ->
finalize event -> ingest -> GET the upload), and a new zone never mixes two rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.business_dates import EXPECTED, ZONED
from tests.support.ingest_tasks import finalize_and_ingest
from tests.support.upload_flow import create_upload, load_upload_main, put_to_signed_url

DATE_ONLY = b"day,amount\n2014-05-11,5\n2014-05-12,7\n"


@pytest.fixture
def upload_main(deps):
    return load_upload_main()


@pytest.fixture
def uploads(function_client):
    return function_client("upload", "upload_http")


@pytest.fixture
def auth(function_client):
    return function_client("auth", "auth_http")


def _zone(deps, tenant_id: str, zone: str) -> None:
    from shared import tenants

    tenants.update(deps.docs, tenant_id, {"time_zone": zone})


def _send(uploads, deps, upload_main, headers, data: bytes, **body) -> dict:
    created = create_upload(uploads, headers, data, **body)
    finalize_and_ingest(upload_main, put_to_signed_url(deps, created, data))
    resp = uploads.get(f"/api/uploads/{created['upload']['id']}", headers=headers)
    assert resp.status_code == 200
    upload = resp.get_json()
    assert upload["status"] == "loaded", upload.get("error")
    return upload


def _rows(deps, tenant_id: str) -> list[tuple[datetime, date]]:
    rows = deps.warehouse.query(
        "SELECT occurred_at, occurred_date FROM {business_data} WHERE tenant_id = @t "
        "ORDER BY row_number", {"t": tenant_id})
    return [(r["occurred_at"].astimezone(UTC), r["occurred_date"]) for r in rows]


def test_offsets_naive_times_and_dst_count_on_the_business_date(uploads, deps, upload_main,
                                                                 make_user):
    principal, headers = make_user()
    _zone(deps, principal["tenant_id"], "America/Los_Angeles")
    upload = _send(uploads, deps, upload_main, headers, ZONED)
    assert _rows(deps, principal["tenant_id"]) == EXPECTED
    assert upload["report"]["dates"] == {"time_zone": "America/Los_Angeles",
                                         "rules": {"converted": 3, "local_time": 3}}


def test_a_date_without_time_is_the_date_as_written_in_any_zone(uploads, deps, upload_main,
                                                                make_user):
    principal, headers = make_user()
    _zone(deps, principal["tenant_id"], "Pacific/Auckland")  # its midnight: the day before in UTC
    upload = _send(uploads, deps, upload_main, headers, DATE_ONLY)
    rows = _rows(deps, principal["tenant_id"])
    assert [d for _, d in rows] == [date(2014, 5, 11), date(2014, 5, 12)]
    assert rows[0][0] == datetime(2014, 5, 10, 12, 0, tzinfo=UTC)  # local midnight, NZST
    assert upload["report"]["dates"]["rules"] == {"date_as_written": 2}


def test_a_tenant_without_a_zone_reads_naive_times_as_utc(uploads, deps, upload_main,
                                                          make_user):
    principal, headers = make_user()
    upload = _send(uploads, deps, upload_main, headers, ZONED)
    got = _rows(deps, principal["tenant_id"])
    assert got[0] == (datetime(2014, 5, 12, 6, 30, tzinfo=UTC), date(2014, 5, 12))
    assert got[3] == (datetime(2024, 3, 10, 2, 30, tzinfo=UTC), date(2024, 3, 10))
    assert upload["report"]["dates"]["time_zone"] == "UTC"


def test_a_new_zone_marks_datasets_pending_until_replaced(uploads, auth, deps, upload_main,
                                                          make_user):
    principal, headers = make_user(role="admin")
    tid = principal["tenant_id"]
    first = _send(uploads, deps, upload_main, headers, ZONED)
    resp = auth.patch("/api/auth/tenant/settings", json={"time_zone": "America/New_York"},
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["rederive"] == [first["dataset_id"]]
    dataset = deps.docs.get(f"tenants/{tid}/datasets", first["dataset_id"]).data
    assert dataset["dates_pending"]["time_zone"] == "America/New_York"
    assert dataset["dates_pending"]["previous"] == "UTC"
    # An append in the new zone would mix the two rules: still pending.
    _send(uploads, deps, upload_main, headers, DATE_ONLY)
    assert auth.get("/api/auth/tenant/settings", headers=headers).get_json()["rederive"] \
        == [first["dataset_id"]]
    again = _send(uploads, deps, upload_main, headers, ZONED, mode="replace")
    assert again["report"]["dates"]["time_zone"] == "America/New_York"
    assert auth.get("/api/auth/tenant/settings", headers=headers).get_json()["rederive"] == []
    assert _rows(deps, tid)[0][1] == date(2014, 5, 12)  # 02:30 in New York
