"""What the browser suites do on a page, the way a person would: register, sign in,
upload a file and wait for its outcome, and the checks they share (the viewports, the
demo account's credentials, elements that scroll sideways)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.support.environment import ROOT

FRONTEND = ROOT / "frontend"
SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def demo_credentials() -> tuple[str, str]:
    """The demo account the sign-in page offers, read from the web app's own config."""
    text = (FRONTEND / "src" / "config.js").read_text()
    email = re.search(r'email:\s*"([^"]+)"', text)
    password = re.search(r'password:\s*"([^"]+)"', text)
    assert email and password, "frontend/src/config.js must define DEMO.email and DEMO.password"
    return email.group(1), password.group(1)


PASSWORD = "correct-horse-battery-9"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def register_in_browser(page, base: str, email: str, tenant: str = "Acme Trading") -> None:
    page.goto(base + "/register")
    page.get_by_label("Organisation").fill(tenant)
    page.get_by_label("Your name").fill("Ada Analyst")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Upload sales data").wait_for()


def sign_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def upload_in_browser(page, path: Path, dataset: str = "sales") -> None:
    page.get_by_label("Dataset").fill(dataset)
    page.set_input_files("#upload-file", str(path))
    page.get_by_role("button", name="Upload", exact=True).click()


def wait_final_status(page, timeout_ms: int = 180_000) -> str:
    page.wait_for_selector("[data-upload-status=loaded], [data-upload-status=failed]",
                           timeout=timeout_ms)
    return page.get_attribute("[data-upload-status]", "data-upload-status")


def sideways_scrollers(page) -> list[str]:
    """Elements on screen that scroll sideways inside themselves (a table in a card).
    Data tables folded away behind a chart (closed <details>) are not on screen."""
    return page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(el => el.checkVisibility()
                      && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)
                      && el.scrollWidth > el.clientWidth + 1)
        .map(el => `${el.tagName.toLowerCase()}.${el.className}`
                   + ` (${el.scrollWidth - el.clientWidth}px)`)""")
