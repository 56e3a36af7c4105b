"""Browser fixtures: the local stack (`tidemark serve`) on a free port, the built web
app, headless Chromium driven by Playwright, and an account with real data in it.

Screenshots of every page go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.api_client import Api
from tests.support.browser import DESKTOP, FRONTEND, PHONE, SUPERSTORE, demo_credentials
from tests.support.environment import ROOT
from tests.support.stack_runner import start_stack, stop_stack

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


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
