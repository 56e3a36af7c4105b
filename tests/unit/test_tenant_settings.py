"""Tenant settings: defaults for old tenants, validation, partial updates."""

from __future__ import annotations

import pytest

from shared import errors, tenants
from shared.adapters.local.sqlite_docs import SqliteDocumentStore


@pytest.fixture()
def docs(tmp_path):
    store = SqliteDocumentStore(tmp_path / "docs.sqlite")
    store.create("tenants", "t1", {"name": "Shop"})
    yield store
    store.close()


def test_a_tenant_without_settings_reads_the_defaults(docs):
    s = tenants.load(docs, "t1")
    assert (s.time_zone, s.week_start, s.fiscal_year_start_month, s.retail_calendar,
            s.holiday_country) == ("UTC", "monday", 1, "none", None)


def test_update_changes_only_what_is_given_and_normalises_the_country(docs):
    before, after = tenants.update(docs, "t1", {"time_zone": "America/Los_Angeles",
                                                "holiday_country": "fr"})
    assert before.time_zone == "UTC"
    assert after.time_zone == "America/Los_Angeles" and after.holiday_country == "FR"
    _, again = tenants.update(docs, "t1", {"fiscal_year_start_month": 7})
    assert again.time_zone == "America/Los_Angeles" and again.fiscal_year_start_month == 7
    assert tenants.load(docs, "t1") == again


@pytest.mark.parametrize("changes, named", [
    ({"time_zone": "Mars/Olympus"}, "time zone"),
    ({"holiday_country": "XX"}, "holiday"),
    ({"fiscal_year_start_month": 13}, "fiscal_year_start_month"),
    ({"week_start": "friday"}, "week_start"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_settings_are_refused_by_name_and_nothing_is_written(docs, changes, named):
    with pytest.raises(errors.InvalidInput) as info:
        tenants.update(docs, "t1", changes)
    assert named in str(info.value)
    assert docs.get("tenants", "t1").data.get("settings") is None


def test_a_stored_value_that_no_longer_validates_falls_back_to_its_default():
    s = tenants.from_document({"settings": {"time_zone": "Gone/Zone", "week_start": "sunday"}})
    assert s.time_zone == "UTC" and s.week_start == "sunday"


def test_an_unknown_tenant_is_not_found(docs):
    with pytest.raises(errors.NotFound):
        tenants.load(docs, "nobody")
