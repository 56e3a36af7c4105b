"""The upload form's optional settings and the app's answer to a non-JSON reply, in
headless Chromium against `tidemark serve`. Screenshots land in test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.api_client import Api
from tests.support.browser import (
    DESKTOP,
    PASSWORD,
    PHONE,
    register_in_browser,
    sideways_scrollers,
    unique_email,
    upload_in_browser,
    wait_final_status,
)

pytestmark = pytest.mark.e2e


def write_ambiguous_csv(path: Path) -> int:
    """Dates whose day and month are never above 12: 05/03/2024 could be 5 March or
    3 May. Read day first, every date falls in January to March 2024; read month first,
    they would spread from January to December."""
    lines = ["Order Date,Sales,Region"]
    for day in range(1, 13):
        for month in (1, 2, 3):
            lines.append(f"{day:02d}/{month:02d}/2024,{10 * day + month}.50,"
                         f"{('East', 'West')[day % 2]}")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def active_name(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.name")


def test_ambiguous_dates_fail_then_load_with_the_date_order_chosen(running_stack, page, shot,
                                                                   tmp_path):
    base = running_stack.settings.base_url
    email = unique_email("dates")
    register_in_browser(page, base, email)
    path = tmp_path / "ambiguous-dates.csv"
    rows = write_ambiguous_csv(path)

    # Advanced is closed until it is needed.
    advanced = page.locator("[data-advanced]")
    assert advanced.get_attribute("open") is None
    upload_in_browser(page, path)
    assert wait_final_status(page) == "failed"
    error = page.locator("[data-upload-error]")
    assert "ambiguous_date_format" in error.inner_text()
    assert "day/month" in error.inner_text()
    # The report names the columns it saw, the date column as unclear.
    seen = page.locator("[data-columns-seen]").inner_text()
    assert "Order Date" in seen and "day/month order unclear" in seen
    shot(page, "upload-ambiguous-failed")

    # On the same page, the retry opens Advanced at the control the failure points at,
    # with the date column filled in from the report.
    page.get_by_role("button", name="Try again with these settings").click()
    assert advanced.get_attribute("open") is not None
    assert active_name(page) == "date_order"
    date_role = advanced.get_by_label("Date", exact=True)
    assert date_role.input_value() == "Order Date"

    # From the failed upload's own page the retry leads to a pre-filled form too.
    api = Api(base)
    api.login(email, PASSWORD)
    failed = api.call("GET", "/api/uploads")["items"][0]
    assert failed["status"] == "failed" and failed["error"]["code"] == "ambiguous_date_format"
    page.goto(f"{base}/uploads/{failed['id']}")
    page.get_by_role("link", name="Try again with these settings").click()
    page.wait_for_url(f"**/upload?from={failed['id']}")
    page.locator(f"[data-retry-of='{failed['id']}']").wait_for()
    assert page.locator("[data-advanced]").get_attribute("open") is not None
    assert page.get_by_label("Dataset").input_value() == "sales"
    date_role = page.locator("[data-advanced]").get_by_label("Date", exact=True)
    assert date_role.input_value() == "Order Date"

    page.get_by_label("Day and month order of dates").select_option("DMY")
    page.locator("[data-advanced]").get_by_label("Region", exact=True).select_option(
        label="None (not in this file)")
    assert page.locator("[data-advanced-note]").inner_text() == "(3 settings chosen)"
    shot(page, "upload-advanced")
    # The same form on a phone: one column, nothing scrolling sideways.
    page.set_viewport_size(PHONE)
    shot(page, "phone-upload-advanced")
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert sideways_scrollers(page) == []
    page.set_viewport_size(DESKTOP)
    page.set_input_files("#upload-file", str(path))
    page.get_by_role("button", name="Upload", exact=True).click()
    assert wait_final_status(page) == "loaded"
    assert page.locator("[data-stat=rows-loaded] dd").inner_text() == str(rows)

    # The API got the settings chosen on the form.
    latest = api.call("GET", "/api/uploads")["items"][0]
    assert latest["id"] != failed["id"] and latest["status"] == "loaded"
    assert latest["date_order"] == "DMY"
    assert latest["mapping"] == {"occurred_at": "Order Date", "region": None}

    # Day first: every date lands in January to March 2024.
    deadline = time.time() + 120
    view = {}
    while time.time() < deadline:
        view = api.call("GET", "/api/metrics", expect=(200, 404, 409),
                        params={"dataset": latest["dataset_id"]})
        if isinstance(view, dict) and (view.get("data_range") or {}).get("end"):
            break
        time.sleep(0.5)
    assert view["data_range"]["start"][:10] == "2024-01-01"
    assert view["data_range"]["end"][:10] == "2024-03-12"
    assert not page.problems, page.problems


def test_a_non_json_answer_to_an_api_call_is_a_clear_error(running_stack, page, shot):
    """On Hosting an unknown /api path falls back to index.html: the app says so instead
    of failing to parse it."""
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("html"))
    html = "<!doctype html><html><head><title>Tidemark</title></head><body></body></html>"

    def answer_with_html(route):
        if route.request.method == "GET":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        else:
            route.continue_()

    page.route("**/api/uploads?*", answer_with_html)
    page.locator("[data-nav=uploads]").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "unexpected answer" in alert.inner_text()
    assert "JSON" not in alert.inner_text() and "Unexpected token" not in alert.inner_text()
    assert alert.get_by_role("button", name="Try again").is_visible()
    shot(page, "uploads-unexpected-answer")

    # Once the API answers properly again, Try again recovers.
    page.unroute("**/api/uploads?*")
    alert.get_by_role("button", name="Try again").click()
    page.get_by_role("heading", name="No uploads yet").wait_for()
    assert not page.problems, page.problems


FOCUSED = """() => {
    const el = document.activeElement;
    const ring = (node) => {
        const s = getComputedStyle(node);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    };
    // The file input is visually hidden: its drop zone shows the focus instead.
    const shown = el.closest('.dropzone') || el;
    return {tag: el.tagName.toLowerCase(), name: el.name || null, type: el.type || null,
            text: (el.textContent || '').trim().slice(0, 40), ring: ring(shown)};
}"""


def tab_through(page, presses: int, until_tag: str | None = None) -> list[str]:
    """Press Tab up to `presses` times (stopping after an element of `until_tag`),
    checking that each focused element shows a focus ring; returns their names (or
    texts) in order."""
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        assert now["ring"], f"no visible focus on {now}"
        seen.append(now["name"] or now["text"])
        if now["tag"] == until_tag:
            break
    return seen


def test_upload_form_by_keyboard_with_visible_focus(running_stack, page):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("keys"))
    # From the top of the page: the skip link comes first and leads into the page.
    page.evaluate("""() => { document.body.tabIndex = -1; document.body.focus();
                             document.body.removeAttribute('tabindex'); }""")
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED)
    assert first["text"] == "Skip to content" and first["ring"]
    assert page.locator(".skip-link").bounding_box()["x"] >= 0  # on screen when focused
    page.evaluate("() => { document.querySelector('main h1').dataset.before = 'yes'; }")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # The page itself stays as it was (not rendered again for the #fragment).
    assert page.locator("main h1").get_attribute("data-before") == "yes"

    seen = tab_through(page, 12, until_tag="summary")
    assert seen == ["dataset", "file", "mode", "Advanced"], seen
    # The disclosure opens from the keyboard and its controls come next, in order.
    page.keyboard.press("Enter")
    assert page.locator("[data-advanced]").get_attribute("open") is not None
    order = tab_through(page, 13)
    assert order[:4] == ["date_order", "decimal_separator", "mapping.occurred_at",
                         "mapping.amount"], order
    assert order[-1] == "Upload"
    assert not page.problems, page.problems
