"""The web app in headless Chromium against `tidemark serve`: accounts, uploads,
roles. Each test gets a fresh stack; screenshots land in test-artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.support.api_client import Api
from tests.support.browser import (
    PASSWORD,
    SUPERSTORE,
    register_in_browser,
    sign_in,
    unique_email,
    upload_in_browser,
    wait_final_status,
)

pytestmark = pytest.mark.e2e


def test_register_then_upload_shows_real_progress_and_live_status(running_stack, page, shot):
    base = running_stack.settings.base_url
    email = unique_email("owner")
    register_in_browser(page, base, email)
    # A new account has no data yet: the upload page is where it lands.
    page.get_by_role("heading", name="Upload sales data").wait_for()
    shot(page, "upload-empty")

    upload_in_browser(page, SUPERSTORE)
    progress = page.locator("[data-progress=upload]")
    progress.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-progress=upload]').value === 100")
    assert "100%" in page.locator("[data-progress-text]").inner_text()

    assert wait_final_status(page) == "loaded"
    shot(page, "upload-loaded")

    # The report on screen is the API's report.
    api = Api(base)
    api.login(email, PASSWORD)
    items = api.call("GET", "/api/uploads")["items"]
    assert len(items) == 1
    report = items[0]["report"]
    shown_loaded = page.locator("[data-stat=rows-loaded] dd").inner_text().replace(",", "")
    assert int(shown_loaded) == report["rows_loaded"]
    with SUPERSTORE.open(newline="") as fh:
        data_rows = sum(1 for _ in csv.reader(fh)) - 1
    assert report["rows_loaded"] == data_rows  # the real file loads whole
    assert page.locator("[data-stat=rows-rejected] dd").inner_text() == "0"

    # The uploads list shows it, with its size and rows, and offers delete to analysts+.
    page.get_by_role("link", name="All uploads").click()
    row = page.locator(f"tr[data-upload-id='{items[0]['id']}']")
    row.wait_for()
    assert "Loaded" in row.inner_text()
    assert f"{report['rows_loaded']:,}" in row.inner_text()
    assert row.get_by_role("button", name="Delete").is_visible()
    current = page.locator("#topbar [aria-current=page]")
    assert current.count() == 1 and current.inner_text() == "Uploads"
    shot(page, "uploads-list")
    assert not page.problems, page.problems


def write_bad_csv(path: Path, bad_every: int = 12) -> tuple[int, int]:
    """Superstore's first 240 rows with a broken date or amount in every 12th row."""
    with SUPERSTORE.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:241]
    date_col, sales_col = header.index("Order Date"), header.index("Sales")
    bad = 0
    for i, row in enumerate(body):
        if i % bad_every == 5:
            if bad % 2:
                row[date_col] = "not a date"
            else:
                row[sales_col] = "twelve"
            bad += 1
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(body)
    path.write_text(buf.getvalue())
    return len(body), bad


def test_bad_rows_show_their_report_and_download(running_stack, page, shot, tmp_path):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("bad"))
    path = tmp_path / "orders-with-errors.csv"
    total, bad = write_bad_csv(path)
    upload_in_browser(page, path)
    assert wait_final_status(page) == "loaded"
    report = page.locator("[data-report]")
    assert page.locator("[data-stat=rows-rejected] dd").inner_text() == str(bad)
    assert page.locator("[data-stat=rows-loaded] dd").inner_text() == str(total - bad)
    reasons = page.locator("[data-table=reasons] tbody tr")
    assert reasons.count() >= 1
    shown = sum(int(reasons.nth(i).locator("td").nth(1).inner_text())
                for i in range(reasons.count()))
    assert shown == bad
    assert page.locator("[data-table=examples] tbody tr").count() >= 1
    assert "twelve" in report.inner_text()
    shot(page, "upload-rejected-report")

    with page.expect_download() as dl:
        page.get_by_role("button", name="Download rejected rows (CSV)").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == bad + 1  # header + one line per rejected row
    assert any("twelve" in cell for line in lines for cell in line)

    # Delete it from the list (after confirming); its rows leave the dataset.
    page.get_by_role("link", name="All uploads").click()
    row = page.locator("tr[data-upload-id]")
    row.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("heading", name="No uploads yet").wait_for()


def test_file_without_a_date_fails_with_its_reason(running_stack, page, shot, tmp_path):
    base = running_stack.settings.base_url
    register_in_browser(page, base, unique_email("nodate"))
    path = tmp_path / "no-dates.csv"
    path.write_text("product,amount\nWidget,10.5\nGadget,7\n")
    upload_in_browser(page, path)
    assert wait_final_status(page) == "failed"
    error = page.locator("[data-upload-error]")
    assert error.is_visible()
    assert "date" in error.inner_text().lower()
    shot(page, "upload-failed")


def test_viewer_cannot_see_the_upload_button(running_stack, page, shot):
    base = running_stack.settings.base_url
    admin = Api(base)
    admin_email = unique_email("admin")
    admin.register(admin_email, PASSWORD, "Viewer Co")
    admin.confirm(running_stack.settings.data_dir / "mail", admin_email)
    viewer_email = unique_email("viewer")
    admin.call("POST", "/api/auth/users",
               json={"email": viewer_email, "role": "viewer", "password": PASSWORD})

    sign_in(page, base, viewer_email)
    assert page.locator("[data-nav=dashboard]").is_visible()
    assert page.locator("[data-nav=upload]").count() == 0
    assert page.locator("[data-nav=users]").count() == 0
    # No data yet: the empty state explains, without offering an upload.
    page.get_by_role("heading", name="No data yet").wait_for()
    assert page.locator("[data-action=first-upload]").count() == 0
    shot(page, "dashboard-viewer-empty")

    page.locator("[data-nav=uploads]").click()
    page.get_by_role("heading", name="No uploads yet").wait_for()
    assert page.get_by_role("link", name="Upload a CSV").count() == 0
    assert page.get_by_role("button", name="Upload").count() == 0

    # Typing the address does not get a viewer to the upload page either.
    page.goto(base + "/upload")
    page.wait_for_url("**/dashboard")


def test_admin_invites_changes_role_and_disables(running_stack, browser, page, shot):
    base = running_stack.settings.base_url
    email = unique_email("boss")
    api = Api(base)
    api.register(email, PASSWORD, "Team Co")
    api.confirm(running_stack.settings.data_dir / "mail", email)
    sign_in(page, base, email)
    page.locator("[data-nav=users]").click()
    page.get_by_role("heading", name="Users").wait_for()

    colleague = unique_email("colleague")
    form = page.locator("[data-form=invite]")
    form.get_by_label("Email").fill(colleague)
    form.get_by_label("Role").select_option("viewer")
    form.get_by_role("button", name="Invite").click()
    invite = page.locator("[data-invite] input")
    invite.wait_for()
    link = invite.input_value()
    assert "/invite?token=inv_" in link

    row = page.locator("tr", has_text=colleague)
    row.wait_for()
    assert "Invited" in row.inner_text()
    row.get_by_label(f"Role of {colleague}").select_option("analyst")
    row.get_by_text("Saved.").wait_for()
    users = {u["email"]: u for u in api.call("GET", "/api/auth/users")["users"]}
    assert users[colleague]["role"] == "analyst"

    # The colleague follows the one-time link, sets a password and is signed in.
    other = browser.new_context(locale="en-US")
    try:
        invitee = other.new_page()
        invitee.goto(link)
        invitee.get_by_label("New password").fill("another-good-passphrase")
        invitee.get_by_role("button", name="Set password and sign in").click()
        invitee.get_by_role("heading", name="Dashboard").wait_for()
        assert "token" not in invitee.url
        assert colleague in invitee.locator("#topbar").inner_text()
        assert invitee.locator("[data-nav=upload]").is_visible()  # now an analyst
    finally:
        other.close()

    page.reload()
    row = page.locator("tr", has_text=colleague)
    row.get_by_role("button", name=f"Disable {colleague}").click()
    page.locator("tr", has_text=colleague).get_by_role(
        "button", name=f"Enable {colleague}").wait_for()
    users = {u["email"]: u for u in api.call("GET", "/api/auth/users")["users"]}
    assert users[colleague]["disabled"] is True
    shot(page, "admin-users")

    # The admin cannot disable themself from the page.
    me = page.locator("tr", has_text=f"{email}")
    assert me.get_by_role("button", name=f"Disable {email}").is_disabled()


def test_session_survives_reload_and_sign_out_ends_it(running_stack, page):
    base = running_stack.settings.base_url
    email = unique_email("sess")
    Api(base).register(email, PASSWORD, "Session Co")
    sign_in(page, base, email)
    # The access token lives in memory only; the refresh token is per-tab storage.
    stored = page.evaluate("() => Object.keys(sessionStorage)")
    assert stored == ["tidemark.refresh"]
    assert page.evaluate("() => Object.keys(localStorage).length") == 0

    page.reload()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.url.endswith("/dashboard")
    assert email in page.locator("#topbar").inner_text()

    page.locator("[data-action=sign-out]").click()
    page.wait_for_url("**/signin")
    assert page.evaluate("() => sessionStorage.length") == 0
    page.goto(base + "/uploads")
    page.wait_for_url("**/signin?next=%2Fuploads")


def test_sign_in_errors_and_keyboard_only_use(running_stack, page, shot):
    base = running_stack.settings.base_url
    email = unique_email("keys")
    Api(base).register(email, PASSWORD, "Keys Co")
    page.goto(base + "/signin")
    page.get_by_role("heading", name="Sign in to Tidemark").wait_for()

    # Empty submit: each field says what is missing.
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "is required" in page.locator("[data-error-for=email]").inner_text()
    assert page.get_by_label("Email").get_attribute("aria-invalid") == "true"

    # A wrong password is reported without saying whether the email exists.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("alert").wait_for()
    shot(page, "signin-error")

    # Keyboard only: focus the email field, type, Tab to the password, Enter submits.
    page.get_by_label("Email").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    # Every control on the page has an accessible name.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter(el => el.type !== 'hidden' && !el.closest('.visually-hidden'))
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.textContent.trim())
        .map(el => el.outerHTML)""")
    assert unlabelled == []
