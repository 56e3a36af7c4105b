"""Account recovery and address confirmation in the browser, with the mail the local
stack writes to its folder standing in for the inbox."""

from __future__ import annotations

import re

import pytest

from tests.support.api_client import Api
from tests.support.browser import PASSWORD, register_in_browser, sign_in, unique_email
from tests.support.mailbox import messages_to, text_of

pytestmark = pytest.mark.e2e

_LINK = re.compile(r"https?://\S+#token=\S+")


def _link(mail_dir, email: str, page: str) -> str:
    for msg in reversed(messages_to(mail_dir, email)):
        for link in _LINK.findall(text_of(msg)):
            if page in link:
                return link
    raise AssertionError(f"no {page} link mailed to {email}")


def test_forgotten_password_is_reset_through_the_mailed_link(running_stack, page, shot):
    base = running_stack.settings.base_url
    mail = running_stack.settings.data_dir / "mail"
    email = unique_email("forgetful")
    Api(base).register(email, PASSWORD, "Forgetful Co")

    page.goto(base + "/signin")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    page.locator("[data-sent]").wait_for()
    shot(page, "forgot-password")

    link = _link(mail, email, "/reset-password")
    page.goto(link)
    page.get_by_role("heading", name="Choose a new password").wait_for()
    assert "token" not in page.url  # the one-time secret left the address bar
    new_password = "a-new-and-longer-passphrase"
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()
    page.wait_for_url("**/signin?reset=1")
    sign_in(page, base, email, new_password)

    # The link worked once.
    page.goto(link)
    page.get_by_label("New password").fill("yet-another-passphrase-7")
    page.get_by_role("button", name="Set the new password").click()
    page.locator(".form-status", has_text="invalid, used or expired").wait_for()


def test_an_unconfirmed_address_shows_a_banner_until_its_link_is_opened(running_stack, page,
                                                                         shot):
    base = running_stack.settings.base_url
    mail = running_stack.settings.data_dir / "mail"
    email = unique_email("newcomer")
    register_in_browser(page, base, email)
    banner = page.locator("[data-banner=verify]")
    banner.wait_for()
    assert email in banner.inner_text()
    shot(page, "verify-banner")

    page.goto(_link(mail, email, "/verify-email"))
    page.locator("[data-verified]").wait_for()
    page.get_by_role("link", name="Continue").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.locator("[data-banner=verify]").count() == 0
