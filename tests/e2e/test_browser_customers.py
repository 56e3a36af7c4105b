"""The Customers page in headless Chromium against `tidemark serve`, on the demo
account with the Superstore orders: the retention heatmap, the segments and the
at-risk list show what the API answers, and the export downloads the at-risk CSV."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def wait_for_analysis(api, dataset: str, timeout: float = 180) -> dict:
    """The customer analysis is written by the forecast task after the load."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        resp = api.call("GET", "/api/metrics/customers", expect=(200, 404),
                        params={"dataset": dataset})
        if isinstance(resp, dict) and "kpis" in resp:
            return resp
        time.sleep(0.5)
    raise AssertionError("the customer analysis was not stored in time")


def test_customers_page_shows_heatmap_segments_and_at_risk(shared_stack, demo_account,
                                                           page, shot):
    api, dataset = demo_account["api"], demo_account["dataset"]
    summary = wait_for_analysis(api, dataset)
    cohorts = api.call("GET", "/api/metrics/customers",
                       params={"dataset": dataset, "part": "cohorts"})["cohorts"]
    segments = api.call("GET", "/api/metrics/customers",
                        params={"dataset": dataset, "part": "segments"})["segments"]
    at_risk = api.call("GET", "/api/metrics/customers",
                       params={"dataset": dataset, "part": "at_risk", "limit": 25})

    base = shared_stack.settings.base_url
    page.goto(base + "/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.locator("[data-nav=customers]").click()
    page.get_by_role("heading", name="Customers").wait_for()
    page.locator("[data-heatmap] tbody tr").first.wait_for()

    assert page.locator("[data-heatmap] tbody tr").count() == len(cohorts)
    first = page.locator(f"[data-cohort='{cohorts[0]['cohort']}'] td.heat").first
    assert first.inner_text() == "100%"  # period 0: every cohort customer bought
    shown = {s["segment"] for s in segments if s["customers"] or s["previous_customers"]}
    assert page.locator("[data-segments] tbody tr").count() == len(shown)
    rate = summary["kpis"]["repeat_purchase_rate"] * 100
    assert f"{rate:,.1f}%" in page.locator("[data-kpi=repeat_purchase_rate]").inner_text()
    rows = page.locator("[data-at-risk] tbody tr")
    assert rows.count() == len(at_risk["customers"])
    if at_risk["customers"]:
        assert rows.first.get_attribute("data-customer") == at_risk["customers"][0]["customer"]
    shot(page, "customers")

    with page.expect_download() as dl:
        page.locator("[data-action=export-at-risk]").click()
    text = Path(dl.value.path()).read_text()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:2] == ["customer", "segment"]
    assert len(table) - 1 == at_risk["total"]
    assert not page.problems, page.problems
