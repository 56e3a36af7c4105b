"""The mailers: the local folder one and SMTP against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shared import errors
from shared.adapters.local.mail import FolderMailer
from shared.adapters.smtp import SmtpMailer
from shared.bootstrap import Deps
from shared.mail import check_address
from shared.ports import InlineImage, MailMessage
from shared.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class Inbox:
    """An SMTP handler that keeps what it receives, and refuses on request."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reply: str | None = None  # e.g. "550 no such user" for every RCPT

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"app" \
        and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(),
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _message(**kw) -> MailMessage:
    base = dict(to=("ana@example.com",), subject="Revenue fell 12% in Furniture",
                text="Revenue fell.", html='<p>Revenue fell.</p><img src="cid:chart">',
                images=(InlineImage("chart", PNG),),
                headers={"List-Unsubscribe": "<https://example.com/u/1>"})
    base.update(kw)
    return MailMessage(**base)


def _parts(raw: bytes) -> dict[str, object]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    images = [p for p in msg.walk() if p.get_content_maintype() == "image"]
    return {"subject": msg["Subject"], "to": msg["To"], "text": body.get_content().strip(),
            "html": html.get_content().strip(), "image_cids": [p["Content-ID"] for p in images],
            "unsubscribe": msg["List-Unsubscribe"], "id": msg["Message-ID"]}


def test_the_folder_mailer_writes_a_complete_message_a_client_can_read(tmp_path):
    mailer = FolderMailer(tmp_path / "mail", sender="Tidemark <no-reply@shop.example>")
    sent_id = mailer.send(_message())
    [path] = mailer.messages()
    parts = _parts(path.read_bytes())
    assert parts["subject"] == "Revenue fell 12% in Furniture"
    assert parts["to"] == "ana@example.com" and parts["text"] == "Revenue fell."
    assert "cid:chart" in parts["html"] and parts["image_cids"] == ["<chart>"]
    assert parts["unsubscribe"] == "<https://example.com/u/1>" and parts["id"] == sent_id
    assert not list((tmp_path / "mail").glob(".*.tmp"))


def test_smtp_delivers_with_login_to_the_server(smtp_server):
    inbox, port = smtp_server
    mailer = SmtpMailer("127.0.0.1", port, "no-reply@shop.example", security="none",
                        username="app", password=lambda: "s3cret")
    mailer.send(_message(to=("ana@example.com", "bo@example.com")))
    [(mail_from, rcpts, raw)] = inbox.messages
    assert mail_from == "no-reply@shop.example"
    assert rcpts == ["ana@example.com", "bo@example.com"]
    assert _parts(raw)["image_cids"] == ["<chart>"]


def test_a_wrong_password_is_not_a_silent_success(smtp_server):
    inbox, port = smtp_server
    mailer = SmtpMailer("127.0.0.1", port, "no-reply@shop.example", security="none",
                        username="app", password=lambda: "wrong")
    with pytest.raises(errors.AppError) as info:
        mailer.send(_message())
    assert info.value.code in ("mail_rejected", "mail_unavailable")
    assert inbox.messages == []


@pytest.mark.parametrize("reply, expected", [
    ("550 5.1.1 no such user", errors.InvalidInput),
    ("451 4.7.1 greylisted, try later", errors.Unavailable),
])
def test_refusals_and_deferrals_are_told_apart(smtp_server, reply, expected):
    inbox, port = smtp_server
    inbox.reply = reply
    mailer = SmtpMailer("127.0.0.1", port, "no-reply@shop.example", security="none")
    with pytest.raises(expected):
        mailer.send(_message())
    assert inbox.messages == []


def test_an_unreachable_server_is_retryable():
    port = _free_port()  # nothing listens on it
    mailer = SmtpMailer("127.0.0.1", port, "no-reply@shop.example", security="none",
                        timeout_s=2)
    with pytest.raises(errors.Unavailable):
        mailer.send(_message())


@pytest.mark.parametrize("bad", ["a@b.c\r\nBcc: x@y.z", "Ana <ana@example.com>",
                                 "ana@example.com, bo@example.com", "no-at-sign", ""])
def test_recipients_that_could_inject_or_smuggle_are_refused(bad):
    with pytest.raises(errors.InvalidInput):
        check_address(bad)


@pytest.mark.parametrize("headers", [{"Bcc": "x@y.z"}, {"X-A": "1\r\nBcc: x@y.z"},
                                     {"From": "ceo@bank.example"}])
def test_callers_cannot_set_envelope_headers(tmp_path, headers):
    mailer = FolderMailer(tmp_path, sender="no-reply@shop.example")
    with pytest.raises(errors.InvalidInput):
        mailer.send(_message(headers=headers))
    with pytest.raises(errors.InvalidInput):
        mailer.send(_message(subject="hi\r\nBcc: x@y.z"))
    assert mailer.messages() == []


def test_deps_picks_the_folder_locally_and_smtp_with_the_secret_when_asked(tmp_path,
                                                                             smtp_server):
    local = Deps(Settings(data_dir=tmp_path / "a"))
    assert isinstance(local.mailer, FolderMailer)
    inbox, port = smtp_server
    deps = Deps(Settings(data_dir=tmp_path / "b", mail_backend="smtp", smtp_host="127.0.0.1",
                         smtp_port=port, smtp_security="none", smtp_username="app"))
    deps.secrets.add_version("smtp-password", b"s3cret")
    assert isinstance(deps.mailer, SmtpMailer)
    deps.mailer.send(_message())
    assert len(inbox.messages) == 1
