"""Rows for the admin lists' tests, written straight to the database with the times a test needs (equal ones
included): protections with their payments, parcels with their policies, jobs, webhook deliveries and events."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from plugin.domain.ids import new_id
from plugin.extensions import db
from plugin.models import (
    Consent,
    Job,
    Payment,
    Policy,
    Protection,
    Shipment,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ROW = re.compile(r'<tr data-id="([^"]+)"')


def at(minutes: float) -> datetime:
    """A moment `minutes` after T0."""
    return T0 + timedelta(minutes=minutes)


def add_protection(
    app: Flask,
    shop_id: str,
    order_id: str,
    created_at: datetime,
    *,
    status: str = "active",
    email: str | None = None,
    payment_intent: str | None = None,
    disputed: bool = False,
    currency: str = "USD",
    declared: int = 50000,
    premium: int = 600,
    customer_price: int = 750,
    merchant: int = 150,
    line_item_check: str = "not_applicable",
    consent_id: str | None = None,
    quote_reference: str = "q.reference",
) -> str:
    """A paid protection (and its payment); its id."""
    with app.app_context():
        intent = payment_intent or f"pi_{order_id}_{new_id('x')[-6:]}"
        payment = Payment(
            shop_id=shop_id,
            payment_key=intent,
            payment_intent=intent,
            status="succeeded",
            amount=declared + customer_price,
            currency=currency,
            order_id=order_id,
            protected=True,
            customer_email=email,
            succeeded_at=created_at,
            created_at=created_at,
        )
        db.session.add(payment)
        db.session.flush()
        protection = Protection(
            id=new_id("prot"),
            shop_id=shop_id,
            payment_id=payment.id,
            order_id=order_id,
            status=status,
            disputed=disputed,
            currency=currency,
            declared_value_amount=declared,
            premium_amount=premium,
            customer_price_amount=customer_price,
            merchant_contribution_amount=merchant,
            charged_amount=customer_price,
            quote_reference=quote_reference,
            consent_id=consent_id,
            payment_intent=intent,
            customer_email=email,
            line_item_check=line_item_check,
            created_at=created_at,
        )
        db.session.add(protection)
        db.session.commit()
        made = protection.id
        db.session.remove()
        return made


def add_consent(app: Flask, shop_id: str, **fields: Any) -> str:
    """A consent record; its id."""
    with app.app_context():
        consent = Consent(
            id=new_id("cns"),
            shop_id=shop_id,
            quote_reference=fields.pop("quote_reference", "q.reference"),
            price_shown_amount=fields.pop("price_shown_amount", 750),
            currency=fields.pop("currency", "USD"),
            text_shown=fields.pop("text_shown", "Protect your order for $7.50"),
            terms_version=fields.pop("terms_version", "2026-11"),
            **fields,
        )
        db.session.add(consent)
        db.session.commit()
        made = consent.id
        db.session.remove()
        return made


def add_shipment(
    app: Flask,
    shop_id: str,
    order_id: str,
    created_at: datetime,
    *,
    policy_status: str | None = "bound",
    carrier: str = "UPS",
    tracking_number: str | None = None,
    cost: int | None = 300,
    last_error: str | None = None,
    next_attempt_at: datetime | None = None,
    currency: str = "USD",
    protection_id: str | None = None,
) -> tuple[str, str | None]:
    """A parcel recorded at `created_at` with a policy in this status (None: not insured); their ids."""
    with app.app_context():
        shipment = Shipment(
            id=new_id("shp"),
            shop_id=shop_id,
            shipment_ref=f"ful_{new_id('x')[-10:]}",
            order_id=order_id,
            protection_id=protection_id,
            carrier=carrier,
            tracking_number=tracking_number or f"1Z{new_id('x')[-10:]}",
            currency=currency,
            shipped_at=created_at,
            last_tracking_at=created_at,
            uninsured_reason=None if policy_status else "not_protected",
            created_at=created_at,
        )
        db.session.add(shipment)
        policy_id = None
        if policy_status is not None:
            policy = Policy(
                id=new_id("pol"),
                shop_id=shop_id,
                shipment=shipment,
                order_id=order_id,
                protection_id=protection_id,
                provider="sandbox",
                status=policy_status,
                currency=currency,
                sum_insured_amount=50000,
                cost_amount=cost if policy_status == "bound" else None,
                certificate=f"CERT-{order_id}" if policy_status == "bound" else None,
                attempts=8 if policy_status == "failed" else 0,
                last_error=last_error,
                next_attempt_at=next_attempt_at,
                created_at=created_at,
            )
            db.session.add(policy)
            policy_id = policy.id
        db.session.commit()
        made = shipment.id
        db.session.remove()
        return made, policy_id


def add_job(
    app: Flask,
    shop_id: str,
    kind: str,
    subject: str,
    created_at: datetime,
    *,
    status: str = "failed",
    key: str | None = None,
    last_error: str | None = "the insurer refused",
    attempts: int = 8,
    payload: dict[str, Any] | None = None,
) -> str:
    """A job row; its id."""
    with app.app_context():
        job = Job(
            id=new_id("job"),
            shop_id=shop_id,
            kind=kind,
            subject=subject,
            idempotency_key=key or f"{kind}:{subject}:{new_id('k')}",
            status=status,
            payload=payload or {},
            attempts=attempts,
            max_attempts=8,
            last_error=last_error,
            finished_at=created_at if status in ("failed", "succeeded", "cancelled") else None,
            next_attempt_at=None if status in ("failed", "succeeded", "cancelled") else created_at,
            created_at=created_at,
        )
        db.session.add(job)
        db.session.commit()
        made = job.id
        db.session.remove()
        return made


def add_delivery(
    app: Flask, shop_id: str, source: str, delivery_id: str, received_at: datetime, *, topic: str, outcome: str
) -> int:
    """An inbound webhook delivery; its id."""
    with app.app_context():
        delivery = WebhookDelivery(
            shop_id=shop_id,
            source=source,
            delivery_id=delivery_id,
            topic=topic,
            outcome=outcome,
            received_at=received_at,
        )
        db.session.add(delivery)
        db.session.commit()
        made = delivery.id
        db.session.remove()
        return made


def add_endpoint(app: Flask, shop_id: str, url: str) -> str:
    """An outbound webhook endpoint of the shop; its id."""
    with app.app_context():
        endpoint = WebhookEndpoint(
            id=new_id("whe"), shop_id=shop_id, url=url, events=["*"], secret_ciphertext="not-used-here"
        )
        db.session.add(endpoint)
        db.session.commit()
        made = endpoint.id
        db.session.remove()
        return made


def add_event(
    app: Flask,
    shop_id: str,
    event_type: str,
    created_at: datetime,
    endpoint_id: str,
    *,
    status: str = "succeeded",
    last_error: str | None = None,
) -> tuple[str, str]:
    """An outbound event and its delivery job to one endpoint; their ids."""
    with app.app_context():
        event = WebhookEvent(id=new_id("evt"), shop_id=shop_id, type=event_type, payload="{}", created_at=created_at)
        db.session.add(event)
        db.session.commit()
        event_id = event.id
        db.session.remove()
    job_id = add_job(
        app,
        shop_id,
        "deliver_webhook",
        event_id,
        created_at,
        status=status,
        key=f"webhook:{event_id}:{endpoint_id}",
        last_error=last_error,
        attempts=8 if status == "failed" else 1,
        payload={"endpoint": endpoint_id},
    )
    return event_id, job_id


def row_ids(html: str) -> list[str]:
    """The ids of a list page's rows, in order."""
    return _ROW.findall(html)


def next_link(html: str) -> str | None:
    """The href of the page's "Next page" link."""
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk_pages(client: FlaskClient, path: str) -> list[list[str]]:
    """Every page of a list from `path`, following "Next page": the row ids of each page."""
    pages: list[list[str]] = []
    url: str | None = path
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        html = answer.get_data(as_text=True)
        pages.append(row_ids(html))
        url = next_link(html)
        assert len(pages) < 100, "the pages never end"
    return pages


def csv_rows(answer: Any) -> list[list[str]]:
    """A CSV download's rows (its header first), BOM removed."""
    assert answer.status_code == 200, answer.status_code
    assert answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))
