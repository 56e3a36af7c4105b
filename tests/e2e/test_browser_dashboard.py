"""The dashboard in headless Chromium against `tidemark serve`, on the demo account
with the real Superstore orders loaded (one stack for the module: the data is read,
never changed). Screenshots land in test-artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests

from tests.support.browser import DESKTOP, PHONE, sideways_scrollers

pytestmark = pytest.mark.e2e

KPI_DIGITS = {"revenue": 0, "orders": 0, "units": 0, "aov": 2, "customers": 0,
              "new_customers": 0, "returning_customers": 0, "revenue_per_customer": 2}


def shown(value, digits: int) -> str:
    """How the page writes a number in the en-US locale the browser runs in."""
    return "—" if value is None else f"{value:,.{digits}f}"


def open_demo_dashboard(page, base: str) -> None:
    page.goto(base + "/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.locator("[data-kpi=revenue]").wait_for()


def kpis_on_screen(page) -> dict[str, str]:
    return {k: page.locator(f"[data-kpi-value={k}]").inner_text() for k in KPI_DIGITS}


def test_demo_button_opens_a_populated_dashboard(shared_stack, demo_account, page, shot):
    base = shared_stack.settings.base_url
    page.goto(base + "/signin")
    # The demo credentials are on the page, so anyone can also type them.
    assert demo_account["email"] in page.locator(".demo-card").inner_text()
    shot(page, "signin")
    open_demo_dashboard(page, base)
    assert page.locator("[data-kpi]").count() == len(KPI_DIGITS)
    assert page.locator("[data-chart=series] canvas").is_visible()
    for dim in ("product", "category", "region"):
        assert page.locator(f"[data-chart={dim}] canvas").is_visible()
    assert page.locator("[data-insights] li").count() >= 1
    assert not page.problems, page.problems


def test_kpi_numbers_on_screen_equal_the_api(shared_stack, demo_account, page, shot):
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    view = demo_account["api"].metrics(dataset=demo_account["dataset"])
    assert view["kpis"]["revenue"]["value"] > 0
    on_screen = kpis_on_screen(page)
    expected = {k: shown(view["kpis"][k]["value"], d) for k, d in KPI_DIGITS.items()}
    assert on_screen == expected
    # The comparison lines carry the API's changes.
    rev = view["kpis"]["revenue"]
    card = page.locator("[data-kpi=revenue]").inner_text()
    for pct in (rev["change_pct"], rev["yoy_pct"]):
        if pct is not None and abs(pct) >= 0.05:
            assert f"{abs(pct):,.1f}%" in card
    # The date inputs show the range the API chose.
    assert page.get_by_label("From", exact=True).input_value() == view["range"]["start"]
    assert page.get_by_label("To", exact=True).input_value() == view["range"]["end"]
    shot(page, "dashboard")


def test_forecast_band_is_drawn_with_its_accuracy(shared_stack, demo_account, page, shot):
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    figure = page.locator("[data-chart=series]")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-chart=series]')?.dataset.forecastPoints) > 0",
        timeout=120_000)
    points = int(figure.get_attribute("data-forecast-points"))

    # Count the band colours actually painted on the canvas: the 95% band (lighter,
    # low alpha) and the 80% band over it (darker).
    counts = page.evaluate("""() => {
        const c = document.querySelector('[data-chart=series] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let band95 = 0, band80 = 0;
        for (let i = 0; i < d.length; i += 4) {
            const near = Math.abs(d[i] - 192) < 14 && Math.abs(d[i + 1] - 90) < 14 && d[i + 2] < 20;
            if (!near) continue;
            if (d[i + 3] >= 20 && d[i + 3] <= 45) band95++;
            if (d[i + 3] >= 80 && d[i + 3] <= 110) band80++;
        }
        return {band95, band80};
    }""")
    assert counts["band95"] > 500, counts
    assert counts["band80"] > 500, counts

    shot(page.locator("section.card:has([data-chart=series])"), "dashboard-forecast-chart")
    # The figures behind the chart: every forecast row has its two ranges, nested.
    page.get_by_text("Show the figures as a table").click()
    rows = page.locator("[data-table=series] tr.forecast-row")
    assert rows.count() == points
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        lo80, hi80 = (float(x.replace(",", "")) for x in cells.nth(3).inner_text().split(" – "))
        lo95, hi95 = (float(x.replace(",", "")) for x in cells.nth(4).inner_text().split(" – "))
        point = float(cells.nth(2).inner_text().replace(",", ""))
        assert lo95 <= lo80 <= point <= hi80 <= hi95
    accuracy = page.locator("[data-accuracy]").inner_text()
    assert "typically off by about" in accuracy
    assert "8 times in 10" in accuracy


def test_forecast_by_region_shows_each_regions_forecast_and_accuracy(
        shared_stack, demo_account, page, shot):
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-chart=series]')?.dataset.forecastPoints) > 0",
        timeout=120_000)
    page.get_by_label("Show", exact=True).select_option("region")
    page.wait_for_function("() => location.search.includes('forecast_by=region')")
    page.locator("[data-forecast-by=region] [data-forecast-value]").first.wait_for(
        timeout=180_000)
    view = demo_account["api"].metrics(dataset=demo_account["dataset"])
    by_region = demo_account["api"].call("GET", "/api/predictions", params={
        "dataset": demo_account["dataset"], "dimension": "region", "top": 5,
        "grain": view["grain"]})
    expected = [s["value"] for s in by_region["series"]]
    assert len(expected) == 4  # the Superstore's four regions: fewer than the five asked
    figures = page.locator("[data-forecast-by=region] [data-forecast-value]")
    assert [figures.nth(i).get_attribute("data-forecast-value")
            for i in range(figures.count())] == expected
    for i, series in enumerate(by_region["series"]):
        fig = figures.nth(i)
        assert fig.locator("canvas").is_visible()
        assert int(fig.get_attribute("data-forecast-points")) == len(series["forecast"])
        accuracy = fig.locator("[data-series-accuracy]").inner_text()
        assert f"MASE {series['accuracy']['mase']:.2f}" in accuracy
    shot(page.locator("[data-forecast-by=region]"), "dashboard-forecast-by-region")
    # Back to the total only: the small multiples go away, the choice stays offered.
    page.get_by_label("Show", exact=True).select_option("")
    page.locator("[data-forecast-by=''] [data-forecast-value]").first.wait_for(state="detached")
    assert page.locator("[data-forecast-value]").count() == 0
    assert not page.problems, page.problems


def test_the_demo_upload_set_the_us_holidays_and_says_why(shared_stack, demo_account, page):
    """The Superstore file's Country column is "United States" on every row: the first
    upload set the tenant's holiday country, and the upload's page says so."""
    note = demo_account["upload"]["report"]["holiday_country"]
    assert note["country"] == "US" and note["applied"] is True
    assert "Country" in note["reason"]
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    page.goto(f"{base}/uploads/{demo_account['upload']['id']}")
    shown_note = page.locator("[data-holiday-country=US]")
    shown_note.wait_for()
    assert "Holiday country set to US" in shown_note.inner_text()
    forecast = demo_account["api"].call("GET", "/api/predictions", params={
        "dataset": demo_account["dataset"], "grain": "week"})
    assert forecast["holiday_country"] == "US"


def test_a_filter_changes_every_number(shared_stack, demo_account, page, shot):
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    before = kpis_on_screen(page)
    view = demo_account["api"].metrics(dataset=demo_account["dataset"])
    region = view["breakdowns"]["region"][0]["value"]

    page.get_by_label("Dimension", exact=True).select_option("region")
    page.get_by_label("Value", exact=True).select_option(region)
    page.get_by_role("button", name="Add filter").click()
    page.locator(f"[data-filter='region={region}']").wait_for()
    page.wait_for_function(
        "(before) => document.querySelector('[data-kpi-value=revenue]')?.textContent !== before",
        arg=before["revenue"])
    page.wait_for_selector("[data-kpi-value=revenue]")

    filtered = demo_account["api"].metrics(dataset=demo_account["dataset"], region=region)
    after = kpis_on_screen(page)
    assert after == {k: shown(filtered["kpis"][k]["value"], d) for k, d in KPI_DIGITS.items()}
    assert after["revenue"] != before["revenue"]
    # The filter is in the address, so the view can be shared and reloaded.
    assert f"region={region}" in page.url
    # The breakdown of the filtered dimension now holds only the chosen value.
    page.locator("[data-breakdown=region] summary").click()
    region_rows = page.locator("[data-breakdown=region] tbody tr")
    assert region_rows.count() == 1
    shot(page, "dashboard-filtered")

    page.get_by_role("button", name=f"Remove filter region: {region}").click()
    page.wait_for_function(
        "(before) => document.querySelector('[data-kpi-value=revenue]')?.textContent === before",
        arg=before["revenue"])


def test_grain_and_range_drive_the_series_and_export(shared_stack, demo_account, page):
    base = shared_stack.settings.base_url
    open_demo_dashboard(page, base)
    page.get_by_label("From", exact=True).fill("2016-01-01")
    page.get_by_label("From", exact=True).dispatch_event("change")
    page.get_by_label("To", exact=True).fill("2016-12-31")
    page.get_by_label("To", exact=True).dispatch_event("change")
    page.get_by_label("Grain").select_option("month")
    page.wait_for_function("() => location.search.includes('grain=month')")
    page.get_by_role("heading", name="Revenue by month").wait_for()
    view = demo_account["api"].metrics(dataset=demo_account["dataset"], start="2016-01-01",
                                       end="2016-12-31", grain="month")
    assert len(view["series"]) == 12
    page.wait_for_function(
        "(v) => document.querySelector('[data-kpi-value=revenue]')?.textContent === v",
        arg=shown(view["kpis"]["revenue"]["value"], 0))

    with page.expect_download() as dl:
        page.get_by_role("button", name="Export series (CSV)").click()
    lines = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
    assert lines[0][0] == "period"
    assert len(lines) == 1 + len(view["series"])
    assert [line[0][:7] for line in lines[1:]] == [p["period"][:7] for p in view["series"]]


def test_pages_fit_a_phone_screen(shared_stack, demo_account, phone_page, shot):
    base = shared_stack.settings.base_url
    page = phone_page
    page.goto(base + "/signin")
    page.get_by_role("button", name="Try the demo").wait_for()
    shot(page, "phone-signin")
    open_demo_dashboard(page, base)
    page.locator("[data-chart=series] canvas").wait_for()
    assert sideways_scrollers(page) == []
    shot(page, "phone-dashboard")
    shot(page, "phone-dashboard-top", full_page=False)
    upload_id = demo_account["upload"]["id"]
    for path, name in (("/upload", "phone-upload"), ("/uploads", "phone-uploads"),
                       (f"/uploads/{upload_id}", "phone-upload-detail"),
                       ("/admin", "phone-admin")):
        page.goto(base + path)
        page.locator("h1").wait_for()
        page.wait_for_load_state("networkidle")
        if path == "/uploads":
            # The list is a card per upload, each field labelled, nothing cut off.
            row = page.locator(f"tr[data-upload-id='{upload_id}']")
            row.wait_for()
            assert row.evaluate("el => getComputedStyle(el).display") == "block"
            box = row.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            labels = row.locator("td").evaluate_all(
                "tds => tds.map(td => getComputedStyle(td, '::before').content)")
            assert '"Rows loaded"' in labels and '"Status"' in labels
            assert row.get_by_role("button", name="Delete").is_visible()
        shot(page, name)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        assert sideways_scrollers(page) == [], f"{path} has content scrolling sideways"
    assert PHONE["width"] < DESKTOP["width"]


def test_security_headers_and_no_inline_code(shared_stack, built_frontend):
    base = shared_stack.settings.base_url
    resp = requests.get(base + "/dashboard", timeout=10)
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["Cache-Control"] == "no-cache"
    html = resp.text
    assert "<script>" not in html and "style=" not in html
    asset = next(p.name for p in (built_frontend / "assets").glob("index-*.js"))
    cached = requests.get(f"{base}/assets/{asset}", timeout=10)
    assert "immutable" in cached.headers["Cache-Control"]
