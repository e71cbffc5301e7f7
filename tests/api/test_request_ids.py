"""Request ids: echoed or made for each request, kept on the jobs a delivery queues, and on the worker's lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import responses
from sqlalchemy import select

from plugin import logs
from plugin.extensions import db
from plugin.models import Job, WebhookDelivery
from plugin.worker import Worker
from tests.api.test_observability import scrape, value
from tests.api.test_stripe_api_calls import LINE_ITEMS, STRIPE, item, line_items_page
from tests.stripe_helpers import configure_stripe, protected_metadata, quote_for, session_event, stripe_signature

MADE = re.compile(r"[0-9a-f]{20}")


@pytest.fixture()
def json_lines() -> Iterator[io.StringIO]:
    """What the app's JSON handler writes, at DEBUG, for the duration of the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_sane_request_id_is_echoed_and_anything_else_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"
    uuid = "0b7c4e1e-8d7e-4a8e-9a43-6f1d5b1f7e2a"
    assert client.get("/healthz", headers={"X-Request-ID": uuid}).headers["X-Request-ID"] == uuid
    made = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3 and all(MADE.fullmatch(made_id) for made_id in made)
    for insane in ("x" * 129, "two words", 'quo"te', "new\\nline", "", "ünïcode"):
        answered = client.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert MADE.fullmatch(answered), insane
    # Error answers carry it too.
    missing = client.get("/no/such/page", headers={"X-Request-ID": "req-404"})
    assert (missing.status_code, missing.headers["X-Request-ID"]) == (404, "req-404")


@pytest.mark.inline_recording
def test_a_delivery_s_request_id_follows_into_its_jobs_and_the_worker_s_lines(app, client, shop, json_lines):
    configure_stripe(client, shop, api_key="rk_test_merchantkey0000")
    quote = quote_for(client, shop)
    body = json.dumps(session_event(protected_metadata(quote), session_id="cs_rid")).encode()
    headers = {
        "Stripe-Signature": stripe_signature(body, "whsec_test_secret_for_this_suite_1234"),
        "Content-Type": "application/json",
        "X-Request-ID": "abc",
    }
    answered = client.post(f"/webhooks/stripe/{shop.shop.id}", data=body, headers=headers)
    assert answered.status_code == 200 and answered.headers["X-Request-ID"] == "abc"
    with app.app_context():
        queued = db.session.scalars(select(Job)).all()
        assert queued and {job.request_id for job in queued} == {"abc"}
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert delivery.request_id == "abc"
    assert logs.current_request_id() is None  # nothing of the request stays behind in this thread

    app.config["STRIPE_API_BASE"] = STRIPE
    before = scrape(client)
    try:
        with responses.RequestsMock() as stripe_api:
            stripe_api.get(LINE_ITEMS, json=line_items_page(item(50000, False, "li_1"), item(1000, True, "li_2")))
            assert Worker(app).drain().jobs_succeeded == len(queued)
    finally:
        app.config["STRIPE_API_BASE"] = "https://api.stripe.com"
    worked = [line for line in parsed(json_lines) if line.get("job_id")]
    assert worked, json_lines.getvalue()
    assert {line["request_id"] for line in worked} == {"abc"}
    assert {line["job_id"] for line in worked} == {job.id for job in queued}
    done = [line for line in worked if line["message"] == "job succeeded"]
    assert {line["job_kind"] for line in done} == {job.kind for job in queued}
    for line in done:
        assert {"time", "level", "logger", "message", "request_id"} <= line.keys()
        assert line["level"] == "INFO" and line["logger"] == "plugin.worker"
    # The Stripe call the job made is in /metrics.
    counted = "plugin_stripe_call_duration_seconds_count"
    assert (
        value(scrape(client), counted, operation="checkout_line_items")
        - value(before, counted, operation="checkout_line_items")
        == 1
    )


def test_a_job_queued_outside_any_request_has_no_request_id(app, shop):
    from plugin.models import utcnow
    from plugin.services import jobs

    with app.app_context():
        job = jobs.enqueue(shop_id=shop.shop.id, kind="k", subject="s", idempotency_key="rid-none", now=utcnow())
        db.session.commit()
        assert db.session.get(Job, job.id).request_id is None
