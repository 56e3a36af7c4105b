"""The first upload of a tenant without a holiday country sets one when the file names
exactly one (audited as a system change, shown in the upload's report); an ambiguous
file, a later upload or a tenant that already has a country changes nothing."""

from __future__ import annotations

import pytest

from shared import tenants
from shared.auth import audit
from tests.openapi_shape import check
from tests.support.upload_flow import load_upload_main, upload


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


@pytest.fixture
def main(deps):
    return load_upload_main()


def _csv(amount: str, country: str | None = None) -> bytes:
    head = "date,product,amount" + (",country" if country else "")
    lines = [f"2024-01-{d:02d},P{d % 3},{amount.format(d)}" + (f",{country}" if country
                                                              else "")
             for d in range(1, 21)]
    return ("\n".join([head, *lines]) + "\n").encode()


def test_a_pound_sterling_file_sets_gb_and_says_why(client, main, make_user, deps):
    user, headers = make_user("admin")
    got = upload(client, headers, deps, main, _csv('"£{}.50"'))
    assert got["status"] == "loaded", got
    check(got, {"$ref": "#/components/schemas/Upload"})
    note = got["report"]["holiday_country"]
    assert note["country"] == "GB" and note["applied"] is True and "£" in note["reason"]
    assert tenants.load(deps.docs, user["tenant_id"]).holiday_country == "GB"
    entries = [e for e in audit.entries(deps.docs, user["tenant_id"])
               if e["action"] == "tenant.settings_changed"]
    assert len(entries) == 1
    assert entries[0]["actor_id"] == "system:first-upload"
    assert entries[0]["details"]["after"] == "GB"
    # a later upload is not a first upload: nothing inferred, nothing said
    later = upload(client, headers, deps, main, _csv("{}.00", "France"), dataset="Other")
    assert "holiday_country" not in (later["report"] or {}) or \
        later["report"]["holiday_country"] is None
    assert tenants.load(deps.docs, user["tenant_id"]).holiday_country == "GB"


def test_a_country_column_sets_its_country(client, main, make_user, deps):
    user, headers = make_user("admin")
    got = upload(client, headers, deps, main, _csv("{}.25", "France"))
    assert got["report"]["holiday_country"]["country"] == "FR"
    assert tenants.load(deps.docs, user["tenant_id"]).holiday_country == "FR"


def test_a_euro_file_sets_nothing_and_says_why(client, main, make_user, deps):
    user, headers = make_user("admin")
    got = upload(client, headers, deps, main, _csv('"€{},50"'))
    assert got["status"] == "loaded", got
    note = got["report"]["holiday_country"]
    assert note["country"] is None and note["applied"] is False
    assert "several countries" in note["reason"]
    assert tenants.load(deps.docs, user["tenant_id"]).holiday_country is None
    assert not [e for e in audit.entries(deps.docs, user["tenant_id"])
                if e["action"] == "tenant.settings_changed"]


def test_a_tenant_with_a_country_keeps_it(client, main, make_user, deps):
    user, headers = make_user("admin")
    tenants.update(deps.docs, user["tenant_id"], {"holiday_country": "DE"})
    got = upload(client, headers, deps, main, _csv('"£{}.50"'))
    assert (got["report"] or {}).get("holiday_country") is None
    assert tenants.load(deps.docs, user["tenant_id"]).holiday_country == "DE"
