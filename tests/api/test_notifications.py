"""Emails to the shopper and the merchant: through a real SMTP server on loopback, or only logged."""

from __future__ import annotations

import email
import logging
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from plugin.claim_links import verify_status_token
from plugin.extensions import db
from plugin.models import Job
from tests.api.test_worker import Clock, worker
from tests.claim_helpers import EMAIL, claim, settings, shipped_order
from tests.conftest import TEST_SECRET_KEY, bearer


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def inbox(app, monkeypatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 that the app sends through, with links under https://shop.example."""
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "MAIL_FROM", "Jade House <claims@shop.example>")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example")
    try:
        yield handler
    finally:
        controller.stop()


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _email_jobs(app) -> list[Job]:
    with app.app_context():
        rows = list(db.session.scalars(select(Job).where(Job.kind == "send_email").order_by(Job.created_at)))
        db.session.expunge_all()
        return rows


def test_a_chinese_shopper_gets_received_then_denied_in_chinese_with_a_working_status_link(app, client, shop, inbox):
    shipped_order(client, shop)
    filed = claim(client, shop, locale="zh")
    assert filed.status_code == 201, filed.get_json()
    claim_id = filed.get_json()["id"]
    denied = client.post(
        f"/api/v1/claims/{claim_id}/deny",
        json={"reason": "物流显示已签收。"},
        headers=bearer(shop.keys.secret_key),
    )
    assert denied.status_code == 200
    assert not inbox.messages  # nothing is sent inside the web request
    stats = worker(app).drain()
    assert stats.ok, stats.failures
    assert len(inbox.messages) == 2
    (to_1, received), (to_2, refusal) = inbox.messages
    assert to_1 == to_2 == [EMAIL]
    assert received["To"] == EMAIL and received["From"] == "Jade House <claims@shop.example>"
    assert received["Subject"] == f"我们已收到您的理赔申请 {claim_id}（Jade House）"
    assert refusal["Subject"] == f"您的理赔申请 {claim_id} 未获通过"
    text = _body(refusal)
    assert "物流显示已签收。" in text and "订单 1001" in text
    link = next(line for line in text.splitlines() if "https://shop.example/claims/" in line)
    token = link.rsplit("/", 1)[1].strip()
    assert link.split("：", 1)[1].startswith(f"https://shop.example/claims/{shop.shop.id}/status/")
    assert verify_status_token(token, shop.shop.id, [TEST_SECRET_KEY]) == claim_id
    assert refusal["Message-ID"] != received["Message-ID"]
    # Sent once: draining again sends nothing, and the jobs are done.
    worker(app).drain()
    assert len(inbox.messages) == 2
    assert {job.status for job in _email_jobs(app)} == {"succeeded"}


def test_an_english_approval_names_the_refund_and_a_merchant_message_reaches_the_shopper(app, client, shop, inbox):
    shipped_order(client, shop)
    settings(client, shop, auto_approve_up_to=10**9)
    filed = claim(client, shop)
    assert filed.get_json()["status"] in ("approved", "submitted")
    claim_id = filed.get_json()["id"]
    note = client.post(
        f"/api/v1/claims/{claim_id}/messages",
        json={"body": "Could you send a photo of the box?", "visibility": "shopper"},
        headers=bearer(shop.keys.secret_key),
    )
    assert note.status_code == 201
    internal = client.post(
        f"/api/v1/claims/{claim_id}/messages",
        json={"body": "Looks genuine.", "visibility": "internal"},
        headers=bearer(shop.keys.secret_key),
    )
    assert internal.status_code == 201
    assert worker(app).drain().ok
    subjects = [message["Subject"] for _, message in inbox.messages]
    assert f"We received your claim {claim_id} (Jade House)" in subjects
    assert f"A message about your claim {claim_id}" in subjects
    assert not any("Looks genuine" in _body(message) for _, message in inbox.messages)
    if filed.get_json()["status"] == "approved":
        approval = next(m for _, m in inbox.messages if m["Subject"] == f"Your claim {claim_id} is approved")
        assert "500.00 USD will be refunded" in _body(approval)


def test_the_merchant_is_alerted_of_a_claim_to_review(app, client, shop, inbox):
    shipped_order(client, shop)
    patched = client.patch(
        "/api/v1/settings",
        json={"notifications": {"merchant_email": "owner@shop.example"}},
        headers=bearer(shop.keys.secret_key),
    )
    assert patched.status_code == 200
    assert patched.get_json()["notifications"] == {"merchant_email": "owner@shop.example", "merchant_locale": "en"}
    filed = claim(client, shop).get_json()
    assert worker(app).drain().ok
    alerts = [message for to, message in inbox.messages if to == ["owner@shop.example"]]
    assert [alert["Subject"] for alert in alerts] == [f"Claim {filed['id']} needs your review"]
    assert "order 1001" in _body(alerts[0])
    shopper_mail = next(message for to, message in inbox.messages if to == [EMAIL])
    assert shopper_mail["Reply-To"] == "owner@shop.example"


def test_a_bad_merchant_email_is_refused(client, shop):
    answer = client.patch(
        "/api/v1/settings",
        json={"notifications": {"merchant_email": "not an address"}},
        headers=bearer(shop.keys.secret_key),
    )
    assert answer.status_code == 422
    assert "notifications.merchant_email" in answer.get_json()["error"]["fields"]


def test_without_smtp_the_email_is_logged_without_the_address(app, client, shop, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    shipped_order(client, shop)
    claim_id = claim(client, shop).get_json()["id"]
    with caplog.at_level(logging.INFO, logger="plugin.jobs.notifications"):
        assert worker(app).drain().ok
    logged = [record for record in caplog.records if record.getMessage() == "email not sent: SMTP_URL is not set"]
    assert [(record.claim, record.template) for record in logged] == [(claim_id, "claim_received")]  # type: ignore[attr-defined]
    everything = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert EMAIL not in everything


def test_an_unreachable_mail_server_backs_off_and_delivers_later(app, client, shop, inbox, monkeypatch):
    shipped_order(client, shop)
    reachable = app.config["SMTP_URL"]
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")  # nobody listens there
    claim(client, shop)
    clock = Clock()
    stats = worker(app, clock=clock).drain()
    assert stats.jobs_retrying == 1 and not inbox.messages
    (job,) = _email_jobs(app)
    assert job.status == "retrying" and "could not be reached" in (job.last_error or "")
    monkeypatch.setitem(app.config, "SMTP_URL", reachable)
    assert worker(app, clock=clock).drain().jobs_succeeded == 0  # not before its backoff
    clock.advance(seconds=app.config["JOB_RETRY_BASE_SECONDS"] * 1.5)
    assert worker(app, clock=clock).drain().jobs_succeeded == 1
    assert len(inbox.messages) == 1


def test_an_erased_shopper_gets_no_email(app, client, shop, inbox):
    shipped_order(client, shop)
    claim_id = claim(client, shop).get_json()["id"]
    with app.app_context():
        from plugin.models import Claim

        row = db.session.get(Claim, claim_id)
        assert row is not None
        row.email = None
        db.session.commit()
    assert worker(app).drain().ok
    assert inbox.messages == []
