"""Sending mail through an SMTP server (either backend: on GCP the server is a mail
provider's relay, its password in Secret Manager).

Compute Engine blocks outbound port 25, so the relay is reached on 587 (STARTTLS) or
465 (implicit TLS): https://cloud.google.com/compute/docs/tutorials/sending-mail
A connection is opened per message: messages are rare (alerts, digests, account
mail) and a pooled connection would outlive the server's idle timeout.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable

from shared import errors
from shared.mail import compose
from shared.ports import Mailer, MailMessage

log = logging.getLogger("tidemark.mail")


class SmtpMailer(Mailer):
    def __init__(self, host: str, port: int, sender: str, *, security: str = "starttls",
                 username: str = "", password: Callable[[], str] | None = None,
                 timeout_s: float = 20.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.security = security
        self.username = username
        self._password = password
        self.timeout_s = timeout_s

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                    context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            client.starttls(context=context)
        return client

    def send(self, message: MailMessage) -> str:
        msg = compose(message, self.sender)
        if not self.host:
            # A deployment without a mail server: loud in the logs, and the same
            # retryable failure for every message, whoever it is for.
            log.error("no SMTP server is configured (TIDEMARK_SMTP_HOST); mail not sent")
            raise errors.Unavailable("mail cannot be sent right now",
                                     code="mail_unavailable")
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self._password() if self._password else "")
                refused = client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _rejected(exc.recipients) from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                log.warning("mail refused", extra={"code": exc.smtp_code})
                raise errors.InvalidInput("the mail server refused the message",
                                          code="mail_rejected") from None
            raise errors.Unavailable("the mail server is busy", code="mail_unavailable") from None
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail server unreachable: %s", type(exc).__name__)
            raise errors.Unavailable("the mail server is unreachable",
                                     code="mail_unavailable") from None
        if refused:  # some recipients accepted, some not: the accepted ones have it
            log.warning("mail refused for %d recipient(s)", len(refused))
        return str(msg["Message-ID"])


def _rejected(recipients: dict[str, tuple[int, bytes]]) -> errors.AppError:
    """A 4xx for every recipient is a deferral (greylisting, a full mailbox for now):
    retry. Any 5xx is a refusal the server will repeat."""
    codes = sorted({code for code, _ in recipients.values()})
    if codes and all(400 <= c < 500 for c in codes):
        return errors.Unavailable("the mail server deferred the message",
                                  code="mail_unavailable")
    return errors.InvalidInput("the mail server refused the recipient",
                               code="mail_rejected")
