"""Job handlers: send one email (SMTP, or a log line when SMTP_URL is unset) and deliver one webhook event."""

from __future__ import annotations

import logging
from typing import Any

import requests

from plugin.domain.webhooks import SIGNATURE_HEADER, signature_header
from plugin.extensions import db
from plugin.jobs.base import FailJob, JobKind, JobView, RetryJob, with_lost_answer_retries
from plugin.mail import MailError, send_message
from plugin.models import Job, WebhookEndpoint, WebhookEvent
from plugin.net_guard import UnsafeUrlError, guarded_session
from plugin.services.notifications import EMAIL_MAX_ATTEMPTS, SEND_EMAIL, compose_email
from plugin.services.webhooks import DELIVER_WEBHOOK, WEBHOOK_MAX_ATTEMPTS

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
_LOGGED_STATUS_BODY = 200  # characters of an endpoint's refusal kept on the job


def send_email(job: JobView, ctx: Any) -> None:
    """Compose the email from the rows as they are now and hand it to the mail server."""
    config = ctx.app.config
    composed = compose_email(job.payload, job.shop_id, job.idempotency_key, config)
    db.session.commit()  # no transaction stays open while the mail server is talked to
    if composed is None:
        log.info("email skipped: no recipient", extra={"job": job.id, "template": job.payload.get("notice")})
        ctx.finish(job)
        return
    extra = {"claim": composed.claim_id, "template": composed.notice.value, "subject_row": job.subject}
    smtp_url = config.get("SMTP_URL")
    if not smtp_url:
        # Nothing to send through: say what would have gone out, without the address or the body (personal data).
        log.info("email not sent: SMTP_URL is not set", extra=extra)
        ctx.finish(job)
        return
    try:
        send_message(composed.message, smtp_url)
    except MailError as exc:
        raise (FailJob if exc.permanent else RetryJob)(exc.message) from exc
    log.info("email sent", extra=extra)
    ctx.finish(job)


class _DeliveryError(Exception):
    """An attempt the endpoint did not acknowledge with a 2xx; `answer_lost` for timeouts, resets and 5xx."""

    def __init__(self, message: str, *, answer_lost: bool) -> None:
        super().__init__(message)
        self.message = message
        self.answer_lost = answer_lost


def deliver_webhook(job: JobView, ctx: Any) -> None:
    """POST the event's recorded bytes to one endpoint, signed afresh; a 2xx delivers it."""
    event = db.session.get(WebhookEvent, job.subject)
    endpoint = db.session.get(WebhookEndpoint, str(job.payload.get("endpoint")))
    if event is None or endpoint is None or endpoint.shop_id != event.shop_id:
        db.session.commit()
        ctx.finish(job)  # the endpoint was removed from settings: nobody to deliver to
        return
    secret = ctx.app.extensions["secret_box"].decrypt(endpoint.secret_ciphertext)
    url, body = endpoint.url, event.payload.encode()
    event_id, endpoint_id = event.id, endpoint.id
    db.session.commit()
    session = guarded_session(allow_private=ctx.app.config["ALLOW_PRIVATE_WEBHOOK_HOSTS"])

    def attempt() -> int:
        timestamp = int(ctx.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
            "User-Agent": "shipping-protection-webhooks/1",
        }
        try:
            response = session.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise _DeliveryError(f"no answer: {type(exc).__name__}", answer_lost=True) from exc
        if 200 <= response.status_code < 300:
            return response.status_code
        detail = response.text[:_LOGGED_STATUS_BODY]
        raise _DeliveryError(
            f"the endpoint answered {response.status_code}: {detail}", answer_lost=response.status_code >= 500
        )

    try:
        status = with_lost_answer_retries(attempt, _DeliveryError, lambda exc: exc.answer_lost)
    except UnsafeUrlError as exc:
        raise FailJob(f"the webhook URL {exc}") from exc
    except _DeliveryError as exc:
        raise RetryJob(exc.message) from exc
    finally:
        session.close()
    log.info("webhook delivered", extra={"event": event_id, "endpoint": endpoint_id, "job": job.id})
    ctx.finish(job, lambda: _note_answer(job.id, status))


def _note_answer(job_id: str, status: int) -> None:
    """Keep the endpoint's 2xx status on the job, for the admin's list of deliveries."""
    row = db.session.get(Job, job_id)  # the row the worker holds, in this transaction
    if row is not None:
        row.payload = {**(row.payload or {}), "response_status": status}


KINDS = (
    JobKind(SEND_EMAIL, send_email, EMAIL_MAX_ATTEMPTS),
    JobKind(DELIVER_WEBHOOK, deliver_webhook, WEBHOOK_MAX_ATTEMPTS),
)
