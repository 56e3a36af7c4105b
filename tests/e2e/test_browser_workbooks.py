"""A workbook uploaded in the browser shows its dashboard with the same figures as its
CSV export: the Superstore orders as .xlsx (typed date and number cells, on its second
sheet, chosen in the preview) for one tenant and as CSV for another, in headless
Chromium against `tidemark serve`. Screenshots land in test-artifacts/."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    DESKTOP,
    register_in_browser,
    unique_email,
    upload_in_browser,
    wait_final_status,
)
from tests.support.environment import ROOT
from tests.support.workbooks import csv_as_xlsx

pytestmark = pytest.mark.e2e

SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
KPIS = ("revenue", "orders", "units", "aov", "customers")


def dashboard_kpis(page) -> dict[str, str]:
    page.locator("[data-nav=dashboard]").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-kpi-value=revenue]');"
        " return v && v.textContent.trim() && v.textContent.trim() !== '—'; }",
        timeout=120_000)
    return {k: page.locator(f"[data-kpi-value={k}]").inner_text() for k in KPIS}


def test_a_workbook_shows_the_figures_of_its_csv_export(running_stack, browser, page, shot,
                                                        tmp_path):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("csv"), tenant="CSV Traders")
    upload_in_browser(page, SUPERSTORE, dataset="Orders")
    assert wait_final_status(page) == "loaded"
    from_csv = dashboard_kpis(page)

    book = tmp_path / "superstore.xlsx"
    rows = csv_as_xlsx(SUPERSTORE, book, dates=("Order Date", "Ship Date"),
                       numbers=("Row ID", "Postal Code", "Sales", "Quantity", "Discount",
                                "Profit"),
                       before={"Read me": [["Orders exported from the till"]]})
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    try:
        other = context.new_page()
        other.set_default_timeout(60_000)
        register_in_browser(other, base, unique_email("xlsx"), tenant="Workbook Traders")
        other.get_by_label("Dataset").fill("Orders")
        other.set_input_files("#upload-file", str(book))
        chooser = other.locator("[data-preview-sheet]")
        chooser.wait_for()
        assert chooser.locator("option").all_inner_texts() == ["Read me", "Orders"]
        chooser.select_option("Orders")
        other.locator("[data-preview-role='Order Date']").wait_for()
        assert other.locator("[data-preview-role='Sales']").input_value() == "amount"
        shot(other, "upload-workbook-preview")
        other.get_by_role("button", name="Upload", exact=True).click()
        assert wait_final_status(other) == "loaded"
        assert other.locator("[data-stat=rows-loaded] dd").inner_text() == f"{rows:,}"
        from_book = dashboard_kpis(other)
        shot(other, "dashboard-from-workbook")
        assert from_book == from_csv
    finally:
        context.close()
    assert not page.problems, page.problems
