"""Issue 23 in headless Chromium against `tidemark serve`: registration takes the
browser's time zone, the admin page changes the zone and the fiscal year, and a
tenant with a July fiscal year sees fiscal quarters on the dashboard."""

from __future__ import annotations

import pytest

from tests.support.api_client import Api
from tests.support.browser import PASSWORD, SUPERSTORE, register_in_browser, unique_email

pytestmark = pytest.mark.e2e


def test_fiscal_quarters_and_the_time_zone_from_the_browser_to_the_dashboard(
        running_stack, browser, shot):
    base = running_stack.settings.base_url
    context = browser.new_context(timezone_id="America/Los_Angeles", locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        email = unique_email("fiscal")
        register_in_browser(page, base, email, tenant="Fiscal Co")
        api = Api(base)
        api.login(email, PASSWORD)
        me = api.call("GET", "/api/auth/me")
        assert me["tenant"]["settings"]["time_zone"] == "America/Los_Angeles"

        page.locator("[data-nav=users]").click()
        form = page.locator("[data-form=settings]")
        form.wait_for()
        assert form.get_by_label("Time zone").input_value() == "America/Los_Angeles"
        form.get_by_label("Time zone").select_option("Europe/Paris")
        form.get_by_label("Fiscal year starts in").select_option("7")
        form.get_by_role("button", name="Save settings").click()
        page.locator("[data-form=settings] [role=status]", has_text="Saved.").wait_for()
        shot(page, "admin-calendar")
        settings = api.call("GET", "/api/auth/tenant/settings")["settings"]
        assert settings["time_zone"] == "Europe/Paris"
        assert settings["fiscal_year_start_month"] == 7

        upload = api.upload(SUPERSTORE, dataset="sales")
        assert upload["status"] == "loaded", upload
        assert upload["report"]["dates"]["time_zone"] == "Europe/Paris"
        query = (f"dataset={upload['dataset_id']}&start=2016-07-01&end=2017-06-30"
                 "&grain=quarter")
        page.goto(f"{base}/dashboard?{query}")
        page.locator("[data-table=series]").wait_for(state="attached")
        page.get_by_text("Show the figures as a table").click()
        rows = page.locator("[data-table=series] tbody tr td:first-child").all_inner_texts()
        assert rows == ["FY2017 Q1", "FY2017 Q2", "FY2017 Q3", "FY2017 Q4"]
        assert page.locator("#f-grain").input_value() == "quarter"
        shot(page, "dashboard-fiscal-quarters")
    finally:
        context.close()
