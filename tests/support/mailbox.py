"""Reading the mail the local mailer wrote (<data_dir>/mail/*.eml), the way a user
reads their inbox: find the newest message to an address and follow its link."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(https?://\S+?(/[a-z-]+)#token=([A-Za-z0-9_-]+))")


def messages_to(mail_dir: Path, address: str) -> list[EmailMessage]:
    """Every message to `address`, oldest first."""
    found = []
    for path in sorted(Path(mail_dir).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        if address.lower() in [a.strip().lower() for a in str(msg["To"]).split(",")]:
            found.append(msg)
    return found


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None, "the message has no text part"
    return str(body.get_content())


def link_token(mail_dir: Path, address: str, page: str) -> str:
    """The token of the newest link to `page` (e.g. "/verify-email") mailed to
    `address`."""
    for msg in reversed(messages_to(mail_dir, address)):
        for _, path, token in _LINK.findall(text_of(msg)):
            if path == page:
                return token
    raise AssertionError(f"no {page} link mailed to {address} in {mail_dir}")


def confirm_email(post: Callable[[str, dict[str, Any]], Any], mail_dir: Path,
                  address: str) -> None:
    """Open the newest confirmation link mailed to `address`: `post(path, json)` is the
    caller's client (a Flask test client or requests against a running stack)."""
    token = link_token(mail_dir, address, "/verify-email")
    resp = post("/api/auth/email/verify", {"token": token})
    assert resp.status_code == 200, getattr(resp, "text", resp)
