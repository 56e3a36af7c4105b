"""The mapping preview and the warnings of a load, in headless Chromium against
`tidemark serve`: a role corrected on the preview is the role the load uses (and its
report credits the user); a load with warnings says so on the upload page, in the
uploads list and above the dashboard's figures. Screenshots land in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api_client import Api
from tests.support.browser import (
    PASSWORD,
    register_in_browser,
    unique_email,
    upload_in_browser,
    wait_final_status,
)

pytestmark = pytest.mark.e2e


def write_store_csv(path: Path) -> int:
    """'Store' reads as the sales channel by its name; here it is the shop's town."""
    lines = ["Order Date,Store,Sales"]
    for day in range(1, 29):
        lines.append(f"2024-02-{day:02d},{('Leeds', 'York', 'Hull')[day % 3]},{day * 3}.25")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def write_returns_csv(path: Path) -> None:
    lines = ["Order Date,Product,Sales"]
    for day in range(1, 21):
        amount = {4: "-12.00", 8: "-8.00", 10: "2500000"}.get(day, f"{10 + day}.50")
        lines.append(f"2024-01-{day:02d},P{day % 3},{amount}")
    path.write_text("\n".join(lines) + "\n")


def test_a_role_corrected_on_the_preview_is_the_role_the_load_uses(running_stack, page,
                                                                   shot, tmp_path):
    base = running_stack.settings.base_url
    email = unique_email("preview")
    register_in_browser(page, base, email)
    path = tmp_path / "stores.csv"
    rows = write_store_csv(path)

    page.set_input_files("#upload-file", str(path))
    preview = page.locator("[data-preview]")
    store = preview.locator("[data-preview-role='Store']")
    store.wait_for()
    # What the ingest makes of the head: types, roles and how, the first rows parsed.
    assert store.input_value() == "channel"
    columns = preview.locator("[data-table=preview-columns]").inner_text()
    assert "Dates" in columns and "Numbers" in columns and "recognised by its name" in columns
    first_rows = preview.locator("[data-table=preview-rows]").inner_text()
    assert "2024-02-01" in first_rows and "3.25" in first_rows and "York" in first_rows
    shot(page, "upload-preview")

    store.select_option("region")
    assert "as you chose" in preview.locator("[data-preview-column='Store']").inner_text()
    page.get_by_role("button", name="Upload", exact=True).click()
    assert wait_final_status(page) == "loaded"
    assert page.locator("[data-stat=rows-loaded] dd").inner_text() == str(rows)
    mapping = page.locator("[data-mapping]").inner_text()
    assert "Region" in mapping and "Store · as you chose" in mapping
    shot(page, "upload-preview-loaded")

    api = Api(base)
    api.login(email, PASSWORD)
    latest = api.call("GET", "/api/uploads")["items"][0]
    assert latest["mapping"] == {"region": "Store", "channel": None}
    roles = latest["report"]["roles"]
    assert roles["region"] == {"status": "mapped", "column": "Store", "by": "user"}
    assert roles["channel"]["status"] == "not_found"
    assert not page.problems, page.problems


def test_a_load_with_warnings_is_flagged_everywhere(running_stack, page, shot, tmp_path):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("warned"))
    path = tmp_path / "returns.csv"
    write_returns_csv(path)

    upload_in_browser(page, path)
    assert wait_final_status(page) == "loaded"
    badge = page.locator("[data-upload-status] .badge")
    assert badge.inner_text() == "Loaded with 2 warnings"
    warnings = page.locator("[data-upload-warnings]")
    assert warnings.get_attribute("data-upload-warnings") == "2"
    text = warnings.inner_text()
    assert "2 amounts are negative" in text and "1,000x the median" in text
    shot(page, "upload-loaded-with-warnings")

    page.locator("[data-nav=uploads]").click()
    listed = page.locator("[data-table=uploads] [data-warnings]")
    listed.wait_for()
    assert listed.inner_text() == "Loaded with 2 warnings"
    shot(page, "uploads-with-warnings")

    page.locator("[data-nav=dashboard]").click()
    note = page.locator("[data-data-quality]")
    note.wait_for()
    assert note.get_attribute("data-data-quality") == "2"
    assert "2 amounts are negative" in note.inner_text()
    shot(page, "dashboard-data-quality")
    assert not page.problems, page.problems
