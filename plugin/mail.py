"""Sending one email through the SMTP server SMTP_URL names (smtp://, smtps:// or smtp+starttls://)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
TIMEOUT_SECONDS = 20


class MailError(Exception):
    """The server did not take the message; `permanent` when trying again cannot help (a 5xx refusal)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def send_message(message: EmailMessage, smtp_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Hand the message to the server; MailError when it was not taken."""
    parts = urlsplit(smtp_url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    try:
        server: smtplib.SMTP
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            if parts.scheme == "smtp+starttls":
                server.starttls(context=ssl.create_default_context())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailError(f"recipient refused ({codes})", permanent=all(code >= 500 for code in codes)) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, authentication failed, …
        raise MailError(f"the mail server answered {exc.smtp_code}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:  # unreachable, timed out, disconnected, TLS failed
        raise MailError(f"the mail server could not be reached: {type(exc).__name__}", permanent=False) from exc
