"""Browser fixtures: the local stack (`tidemark serve`) on a free port, the built web
app, headless Chromium driven by Playwright, and an account with real data in it.

Screenshots of every page go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.stack_runner import start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
ARTIFACTS = ROOT / "test-artifacts"
SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
CHROMIUM = os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def demo_credentials() -> tuple[str, str]:
    """The demo account the sign-in page offers, read from the web app's own config."""
    text = (FRONTEND / "src" / "config.js").read_text()
    email = re.search(r'email:\s*"([^"]+)"', text)
    password = re.search(r'password:\s*"([^"]+)"', text)
    assert email and password, "frontend/src/config.js must define DEMO.email and DEMO.password"
    return email.group(1), password.group(1)


# ------------------------------------------------------------------- browser helpers

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

# ------------------------------------------------------------------------ the web app

def _newest(paths) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


@pytest.fixture(scope="session")
def built_frontend() -> Path:
    """frontend/dist, rebuilt when any source is newer than the build."""
    dist = FRONTEND / "dist" / "index.html"
    sources = [*(FRONTEND / "src").rglob("*"), *(FRONTEND / "static").rglob("*"),
               FRONTEND / "index.html", FRONTEND / "package.json", FRONTEND / "vite.config.js"]
    if not dist.exists() or _newest(sources) > dist.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to build frontend/ (or build it first: npm run build)")
        if not (FRONTEND / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)
    return dist.parent


# --------------------------------------------------------------------- the local stack

@pytest.fixture
def running_stack(tmp_path, built_frontend):
    """`tidemark serve` in a thread on a free loopback port, worker included."""
    stack, thread = start_stack(tmp_path / "data")
    yield stack
    stop_stack(stack, thread)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory, built_frontend):
    """One stack for a module whose tests read the same loaded data."""
    stack, thread = start_stack(tmp_path_factory.mktemp("stack") / "data")
    yield stack
    stop_stack(stack, thread)


# ------------------------------------------------------------------------ API helpers

class Api:
    """A tiny client of the running stack for arranging and checking state."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.token: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kw):
        resp = requests.request(method, self.base + path, headers=self.headers(), timeout=60,
                                **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        assert resp.status_code in expected, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content and "json" in resp.headers.get(
            "Content-Type", "") else resp

    def register(self, email: str, password: str, tenant: str) -> dict:
        body = self.call("POST", "/api/auth/register", expect=201,
                         json={"email": email, "password": password, "tenant_name": tenant})
        self.token = body["access_token"]
        return body

    def login(self, email: str, password: str) -> dict:
        body = self.call("POST", "/api/auth/login", expect=200,
                         json={"email": email, "password": password})
        self.token = body["access_token"]
        return body

    def upload(self, path: Path, dataset: str = "sales", mode: str = "append",
               timeout: float = 180) -> dict:
        """The whole upload flow a client does: create, PUT to the signed URL, wait."""
        created = self.call("POST", "/api/uploads", json={
            "filename": path.name, "size_bytes": path.stat().st_size,
            "content_type": "text/csv", "dataset": dataset, "mode": mode})
        headers = {k: v for k, v in (created.get("headers") or {}).items()
                   if k.lower() != "content-length"}
        put = requests.request(created.get("method", "PUT"), created["upload_url"],
                               data=path.read_bytes(), headers=headers, timeout=120)
        assert put.status_code in (200, 201, 204), put.text
        return self.wait_upload(created["upload"]["id"], timeout)

    def wait_upload(self, upload_id: str, timeout: float = 180) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            up = self.call("GET", f"/api/uploads/{upload_id}")
            if up["status"] in ("loaded", "failed"):
                return up
            time.sleep(0.25)
        raise AssertionError(f"upload {upload_id} did not finish in {timeout}s")

    def metrics(self, **query) -> dict:
        return self.call("GET", "/api/metrics", params=query)


@pytest.fixture(scope="module")
def demo_account(shared_stack):
    """The demo account of the sign-in page, with the Superstore orders loaded and
    their metrics computed (what `tidemark serve` seeds on first run)."""
    email, password = demo_credentials()
    client = Api(shared_stack.settings.base_url)
    client.register(email, password, "Demo Company")
    upload = client.upload(SUPERSTORE, dataset="sales")
    assert upload["status"] == "loaded", upload
    # The dashboard's data: wait until the metrics for the new version exist.
    deadline = time.time() + 120
    while time.time() < deadline:
        datasets = client.call("GET", "/api/metrics/datasets")["datasets"]
        if datasets and datasets[0].get("row_count"):
            break
        time.sleep(0.25)
    return {"email": email, "password": password, "api": client, "upload": upload,
            "dataset": upload["dataset_id"]}


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProblems(list):
    """Console errors, uncaught exceptions and CSP violations seen by a page."""


def _open(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC",
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = PageProblems()
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error"
            else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.problems = problems
    return context, page


@pytest.fixture
def page(browser):
    context, pg = _open(browser, DESKTOP)
    yield pg
    context.close()


@pytest.fixture
def phone_page(browser):
    context, pg = _open(browser, PHONE)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shot(artifacts):
    """shot(page, "name") saves test-artifacts/name.png (the full page); a locator
    instead of a page saves just that element."""
    def take(target, name: str, full_page: bool = True) -> Path:
        path = artifacts / f"{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=full_page)
        else:
            target.screenshot(path=str(path))
        return path
    return take
