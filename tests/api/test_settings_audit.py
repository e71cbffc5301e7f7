"""PATCH /api/v1/settings goes into the shop's audit log: the key that made the change (as the keys page shows it),
when, and only the changed fields before and after, with secrets masked as GET masks them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.crypto import mask
from plugin.extensions import db
from plugin.models import AuditEntry, utcnow
from tests.conftest import bearer

WEBHOOK_SECRET = "whsec_first_secret_abcd"
SAME_ENDING = "whsec_second_secret_abcd"  # another secret whose masked form reads the same


def _entries(app: Flask, shop_id: str) -> list[AuditEntry]:
    with app.app_context():
        found = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.shop_id == shop_id).order_by(AuditEntry.id.expression)
            )
        )
        db.session.expunge_all()
        return found


def _patch(client: FlaskClient, shop, body: dict, status: int = 200) -> None:
    answer = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert answer.status_code == status, answer.get_json()


def test_a_patch_records_the_key_the_time_and_the_changed_fields(app: Flask, client: FlaskClient, shop) -> None:
    started = utcnow()
    _patch(client, shop, {"pricing": {"rate": "0.015", "minimum": 0}, "claims": {"auto_approve_up_to": 5000}})
    [entry] = _entries(app, shop.shop.id)
    assert entry.actor == f"api_key:{mask(shop.keys.secret_key)}"
    assert entry.action == "settings.updated"
    assert started <= entry.created_at <= utcnow()
    # minimum was sent but did not change: it is not part of the entry.
    assert entry.before == {"pricing": {"rate": "0.02"}, "claims": {"auto_approve_up_to": 0}}
    assert entry.after == {"pricing": {"rate": "0.015"}, "claims": {"auto_approve_up_to": 5000}}


def test_secrets_are_recorded_masked_even_when_the_masks_read_the_same(app: Flask, client: FlaskClient, shop) -> None:
    _patch(client, shop, {"stripe": {"webhook_secret": WEBHOOK_SECRET}})
    _patch(client, shop, {"stripe": {"webhook_secret": SAME_ENDING}})
    first, second = _entries(app, shop.shop.id)
    assert first.before == {"stripe": {"webhook_secret": None}}
    assert first.after == {"stripe": {"webhook_secret": mask(WEBHOOK_SECRET)}}
    assert second.before == second.after == {"stripe": {"webhook_secret": mask(SAME_ENDING)}}
    stored = str([first.before, first.after, second.before, second.after])
    assert WEBHOOK_SECRET not in stored and SAME_ENDING not in stored


def test_refused_and_empty_patches_record_nothing(app: Flask, client: FlaskClient, shop) -> None:
    _patch(client, shop, {"pricing": {"rate": "0.02", "merchant_share": "1.5"}}, status=422)
    _patch(client, shop, {"pricing": {"rate": "0.02"}})  # the value it already has
    _patch(client, shop, {"stripe": {"webhook_secret": "whsec_…"}}, status=422)
    assert _entries(app, shop.shop.id) == []
