"""Composing a `MailMessage` into an RFC 5322 message, shared by every Mailer.

The standard library's `email` package does the MIME work: multipart/alternative
(text, then HTML) with the inline images as multipart/related parts of the HTML,
encoded headers for non-ASCII subjects and names, and a Message-ID.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from shared import errors
from shared.ports import MailMessage

# Headers a caller may not set: they are the envelope's and the composer's own, and a
# caller-chosen value would let one message pose as another.
_RESERVED = {"from", "to", "cc", "bcc", "subject", "message-id", "date", "sender",
             "mime-version", "content-type", "content-transfer-encoding"}


def check_address(address: str) -> str:
    """An address fit for an envelope: one mailbox, no display name tricks, no header
    injection (CR/LF). Raises errors.InvalidInput naming the problem."""
    if not address or any(c in address for c in "\r\n\0"):
        raise errors.InvalidInput("an email address may not contain line breaks",
                                  code="invalid_email")
    name, addr = parseaddr(address)
    if not addr or "@" not in addr or name or addr != address.strip():
        raise errors.InvalidInput(f"not a single email address: {address!r}",
                                  code="invalid_email")
    local, _, domain = addr.rpartition("@")
    try:
        Address(username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise errors.InvalidInput(f"not a valid email address: {address!r}",
                                  code="invalid_email") from exc
    return addr


def compose(message: MailMessage, sender: str) -> EmailMessage:
    if not message.to:
        raise errors.InvalidInput("a message needs at least one recipient",
                                  code="invalid_email")
    if any(c in message.subject for c in "\r\n"):
        raise errors.InvalidInput("a subject may not contain line breaks",
                                  code="invalid_email")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(check_address(a) for a in message.to)
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    for key, value in message.headers.items():
        if key.lower() in _RESERVED or any(c in key + value for c in "\r\n"):
            raise errors.InvalidInput(f"header {key!r} may not be set",
                                      code="invalid_email")
        msg[key] = value
    msg.set_content(message.text)
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html")
        if message.images:
            html_part = msg.get_body(("html",))
            assert isinstance(html_part, EmailMessage)  # set by add_alternative above
            for image in message.images:
                html_part.add_related(image.data, maintype="image", subtype=image.subtype,
                                      cid=f"<{image.cid}>", disposition="inline")
    return msg
