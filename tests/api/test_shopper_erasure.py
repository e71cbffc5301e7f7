"""`flask --app plugin shoppers erase`: a shopper's personal data goes, within one shop; money records stay."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import (
    AuditEntry,
    BlockedShopper,
    Claim,
    ClaimMessage,
    Consent,
    Evidence,
    EvidenceBlob,
    Job,
    Payment,
    Protection,
    Return,
    Shipment,
    WebhookEvent,
)
from plugin.services.erasure import email_digest
from tests.erasure_helpers import audit_entries, leave_footprint, snapshot

EMAIL = "alice@example.com"


def erase(app, shop_id: str, email: str = EMAIL, *extra: str):
    return app.test_cli_runner().invoke(args=["shoppers", "erase", "--shop", shop_id, "--email", email, *extra])


@pytest.fixture()
def world(app, new_shop):
    """Alice and Bob in one shop, and Alice (same address) in another shop."""
    first, second = new_shop(), new_shop("Other Jade")
    with app.app_context():
        alice = leave_footprint(first.shop.id, EMAIL, "alicex")  # her payment's address in upper case
        bob = leave_footprint(first.shop.id, "bob@example.com", "bobby")
        elsewhere = leave_footprint(second.shop.id, EMAIL, "other")
        before = {
            "bob": snapshot(first.shop.id, "bobby"),
            "elsewhere": snapshot(second.shop.id, "other"),
        }
        money = db.session.execute(
            select(Payment.amount, Payment.status, Protection.premium_amount, Protection.status, Claim.amount)
            .join(Protection, Protection.payment_id == Payment.id)
            .join(Claim, Claim.protection_id == Protection.id)
            .where(Payment.id == alice.payment_id)
        ).one()
    return first.shop.id, second.shop.id, alice, bob, elsewhere, before, tuple(money)


def test_erase_blanks_every_personal_field_and_keeps_the_money(app, world):
    shop_id, _, alice, *_, money = world
    result = erase(app, shop_id, "  Alice@Example.COM ", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert EMAIL not in result.output
    assert report["email_sha256"] == email_digest(EMAIL)
    assert report["erased"] == {
        "payments": 1,
        "protections": 1,
        "consents": 1,
        "shipments": 1,
        "claims": 1,
        "claim_messages": 1,
        "evidence": 1,
        "returns": 1,
        "blocked_shoppers": 1,
        "emails_cancelled": 1,
        "webhook_events": 1,
        "audit_entries": 2,
    }
    with app.app_context():
        payment = db.session.get(Payment, alice.payment_id)
        protection = db.session.get(Protection, alice.protection_id)
        consent = db.session.get(Consent, alice.consent_id)
        shipment = db.session.get(Shipment, alice.shipment_id)
        claim = db.session.get(Claim, alice.claim_id)
        ret = db.session.get(Return, alice.return_id)
        assert payment.customer_email is None
        assert protection.customer_email is None and protection.destination_postal_code is None
        assert consent.user_agent is None and consent.page_origin is None
        assert shipment.destination_postal_code is None and shipment.address_key is None
        assert claim.email is None and claim.address_key is None and claim.description == "[erased]"
        assert ret.email is None
        bodies = dict(
            db.session.execute(
                select(ClaimMessage.author, ClaimMessage.body).where(ClaimMessage.claim_id == alice.claim_id)
            ).all()
        )
        assert bodies == {"shopper": "[erased]", "merchant": "We are looking"}
        assert db.session.get(BlockedShopper, (shop_id, EMAIL)) is None
        # Her files are gone with their bytes; the merchant's and the packing evidence stay.
        keys = set(db.session.scalars(select(Evidence.storage_key).where(Evidence.shop_id == shop_id)))
        assert not keys & set(alice.shopper_evidence)
        assert set(alice.merchant_evidence + alice.packing_evidence) <= keys
        for key in alice.shopper_evidence:
            assert db.session.get(EvidenceBlob, key) is None
        for key in alice.merchant_evidence:
            assert db.session.get(EvidenceBlob, key) is not None
        # The email to her is cancelled; the merchant's alert and other jobs are not.
        statuses = {
            job.payload["notice"]: job.status
            for job in db.session.scalars(
                select(Job).where(Job.shop_id == shop_id, Job.kind == "send_email", Job.subject.contains("alicex"))
            )
        }
        assert statuses == {"claim_received": "cancelled", "merchant_claim_review": "queued"}
        bind = db.session.scalars(select(Job).where(Job.subject == "pol_alicex")).one()
        assert bind.status == "queued"
        event = db.session.get(WebhookEvent, "evt_alicex")
        assert json.loads(event.payload)["data"] == {"email": None, "amount": 10000}
        # No row of the shop names her any more.
        for rows in snapshot(shop_id).values():
            assert not any(EMAIL in cell.lower() for row in rows for cell in row)
        # The money records are as they were.
        assert (payment.amount, payment.status, protection.premium_amount, protection.status, claim.amount) == money
        assert claim.status == "submitted" and claim.covered_amount == 10000 and ret.label_cost_amount == 800


def test_erase_leaves_other_shoppers_and_other_shops_byte_for_byte(app, world):
    shop_id, other_shop, *_, before, _ = world
    assert erase(app, shop_id).exit_code == 0
    with app.app_context():
        assert snapshot(shop_id, "bobby") == before["bob"]
        assert snapshot(other_shop, "other") == before["elsewhere"]
        assert db.session.get(BlockedShopper, (other_shop, EMAIL)) is not None


def test_erase_records_an_audit_entry_without_the_address(app, world):
    shop_id, *_ = world
    assert erase(app, shop_id).exit_code == 0
    with app.app_context():
        (entry,) = audit_entries(shop_id, "shopper.erased")
        assert entry.actor == "cli"
        assert entry.target == f"sha256:{email_digest(EMAIL)}"
        assert entry.after["claims"] == 1 and entry.after["evidence"] == 1
        assert EMAIL not in json.dumps([entry.target, entry.before, entry.after])
        lifted = audit_entries(shop_id, "blocked_shopper.lifted")
        assert {row.target for row in lifted} == {f"sha256:{email_digest(EMAIL)}", "bob@example.com"}


def test_erase_is_idempotent(app, world):
    shop_id, *_ = world
    assert erase(app, shop_id).exit_code == 0
    with app.app_context():
        first = snapshot(shop_id)
    again = erase(app, shop_id, EMAIL, "--json")
    assert again.exit_code == 0, again.output
    assert set(json.loads(again.output)["erased"].values()) == {0}
    with app.app_context():
        second = snapshot(shop_id)
        second["audit_log"] = [row for row in second["audit_log"] if "'shopper.erased'" not in row]
        first["audit_log"] = [row for row in first["audit_log"] if "'shopper.erased'" not in row]
        assert second == first
        assert len(audit_entries(shop_id, "shopper.erased")) == 2


def test_erase_prints_a_summary(app, world):
    shop_id, *_ = world
    result = erase(app, shop_id)
    assert result.exit_code == 0, result.output
    assert "claims: 1" in result.output and "evidence: 1" in result.output
    assert EMAIL not in result.output


def test_erase_in_an_unknown_shop_fails_clearly(app, world):
    result = erase(app, "shop_nope")
    assert result.exit_code != 0
    assert "no shop 'shop_nope'" in result.output
    with app.app_context():
        assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "shopper.erased")).first() is None


def test_erase_refuses_what_is_not_an_address(app, shop):
    result = erase(app, shop.shop.id, "   ")
    assert result.exit_code != 0 and "not an email address" in result.output


def test_erase_deletes_the_bytes_from_any_store(app, world, monkeypatch):
    """With a bucket as the store (S3Storage.delete), each of her files is deleted from it by key."""
    shop_id, _, alice, *_ = world

    class Recording:
        def __init__(self) -> None:
            self.deleted: list[str] = []

        def delete(self, key: str) -> None:
            self.deleted.append(key)

    store = Recording()
    monkeypatch.setattr("plugin.services.erasure.current_storage", lambda: store)
    assert erase(app, shop_id).exit_code == 0
    assert store.deleted == alice.shopper_evidence
