"""The same export uploaded twice, in headless Chromium against `tidemark serve`: the
second append is refused naming the first, and the user can load it anyway."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    register_in_browser,
    unique_email,
    upload_in_browser,
    wait_final_status,
)

pytestmark = pytest.mark.e2e


def test_a_duplicate_upload_is_refused_then_loaded_when_confirmed(running_stack, page, shot,
                                                                  tmp_path):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("dupes"))
    path = tmp_path / "march.csv"
    path.write_text("Order Date,Order ID,Sales\n" + "".join(
        f"2024-03-{d:02d},M-{d},{d * 2}.50\n" for d in range(1, 21)))

    upload_in_browser(page, path)
    assert wait_final_status(page) == "loaded"

    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_selector("[data-upload-status=failed]", timeout=180_000)
    notice = page.locator("[data-duplicate]")
    assert "already in the dataset" in notice.inner_text()
    assert "march.csv" in notice.inner_text()
    assert "duplicate_content" in page.locator("[data-upload-error]").inner_text()
    shot(page, "upload-duplicate-refused")

    page.get_by_role("button", name="Load it anyway").click()
    page.wait_for_selector("[data-upload-status=loaded]", timeout=180_000)
    assert page.locator("[data-duplicate]").count() == 0
    # The confirmed copy loaded, and its report names the overlap with the first.
    assert "2024-03-01 to 2024-03-20" in page.locator("[data-ingest]").inner_text()
