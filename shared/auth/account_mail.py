"""The account messages: password reset, address verification, and the notice sent to
an address that has no account (so a reset request costs the same whatever the
address). Links carry their token in the fragment (`#token=`), which browsers never
send to a server, so it stays out of access logs and Referer headers."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from shared.ports import MailMessage

if TYPE_CHECKING:
    from shared.settings import Settings


def app_link(settings: Settings, path: str, token: str) -> str:
    base = (settings.app_url or settings.base_url).rstrip("/")
    return f"{base}{path}#token={token}"


def _html(lines: list[str], link: str, action: str) -> str:
    body = "".join(f'<p style="margin:0 0 12px">{escape(line)}</p>' for line in lines)
    return ('<div style="font-family:Arial,Helvetica,sans-serif;font-size:15px;'
            'color:#1f2933;max-width:560px">' + body +
            f'<p style="margin:20px 0"><a href="{escape(link, quote=True)}" '
            'style="background:#1d4ed8;color:#ffffff;padding:10px 18px;border-radius:6px;'
            f'text-decoration:none;display:inline-block">{escape(action)}</a></p>'
            '<p style="margin:0;color:#52606d;font-size:13px">If the button does not work, '
            f'copy this address into your browser:<br>{escape(link)}</p></div>')


def password_reset(to: str, link: str, minutes: int) -> MailMessage:
    lines = ["Someone (hopefully you) asked to reset the password of your Tidemark account.",
             f"The link works once, for {minutes} minutes. Setting a new password signs "
             "you out everywhere.",
             "If you did not ask for this, ignore this message: your password is unchanged."]
    return MailMessage(to=(to,), subject="Reset your Tidemark password",
                       text="\n\n".join([*lines, link]),
                       html=_html(lines, link, "Choose a new password"))


def no_account(to: str, signup_link: str) -> MailMessage:
    lines = ["Someone asked to reset the password of a Tidemark account for this address, "
             "but no account uses it.",
             "If it was you, you may have signed up with another address. "
             "If not, ignore this message."]
    return MailMessage(to=(to,), subject="Password reset requested for Tidemark",
                       text="\n\n".join([*lines, signup_link]),
                       html=_html(lines, signup_link, "Create an account"))


def verify_address(to: str, link: str, hours: int) -> MailMessage:
    lines = ["Confirm that this address is yours to finish setting up your Tidemark "
             "account.",
             f"The link works for {hours} hours. Until the address is confirmed you can "
             "sign in, but not invite people or receive digests."]
    return MailMessage(to=(to,), subject="Confirm your email address for Tidemark",
                       text="\n\n".join([*lines, link]),
                       html=_html(lines, link, "Confirm my address"))
