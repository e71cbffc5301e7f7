"""Recovering an approved claim from the parcel's insurer: filed once by a job, followed by a bounded poll, or
handed to the merchant (Loadsure's link; self-insurance draws on the reserve) who records the outcome."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.extensions import db
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.models import Job, Policy, utcnow
from plugin.worker import Worker
from tests.claim_helpers import claim, shipped_order
from tests.conftest import bearer


def approved_reship(app, client, shop, provider: str = "sandbox") -> str:
    """A claim on a parcel whose policy is bound, approved with a reship (no Stripe needed)."""
    if provider != "sandbox":
        patch = {"insurer": {"provider": provider}}
        assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200
    shipped_order(client, shop)
    assert Worker(app).drain().ok
    claim_id = claim(client, shop).get_json()["id"]
    response = client.post(
        f"/api/v1/claims/{claim_id}/approve",
        json={"resolution": "reship", "replacement_order_id": "R-1", "amount": 40000},
        headers=bearer(shop.keys.secret_key),
    )
    assert response.status_code == 200, response.get_json()
    return claim_id


def recovery(client, shop, claim_id: str) -> dict:
    return client.get(f"/api/v1/claims/{claim_id}", headers=bearer(shop.keys.secret_key)).get_json()["recovery"]


def test_the_sandbox_files_once_then_a_later_poll_finds_it_paid(app, client, shop):
    claim_id = approved_reship(app, client, shop)
    assert recovery(client, shop, claim_id)["status"] == "pending"
    assert Worker(app).drain().ok
    filed = recovery(client, shop, claim_id)
    assert filed["status"] == "filed" and filed["provider"] == "sandbox" and filed["amount"] == 40000
    assert filed["reference"].startswith("SBX-") and filed["reference"].endswith("-CLA")
    with app.app_context():
        [poll] = db.session.scalars(select(Job).where(Job.kind == "poll_insurer_claim")).all()
        assert poll.status == "queued" and poll.next_attempt_at > utcnow() + timedelta(minutes=59)
    assert Worker(app).drain().jobs_succeeded == 0  # not due yet
    later = utcnow() + timedelta(hours=2)
    assert Worker(app, clock=lambda: later).drain().ok
    assert recovery(client, shop, claim_id)["status"] == "paid"
    with app.app_context():  # the poll stops at a final status
        assert db.session.scalars(select(Job).where(Job.kind == "poll_insurer_claim")).all()[-1].status == "succeeded"
        assert len(db.session.scalars(select(Job).where(Job.kind == "poll_insurer_claim")).all()) == 1


def test_the_poll_is_bounded(app):
    from plugin.models import Claim
    from plugin.services.claim_payouts import RECOVERY_MAX_POLLS, enqueue_recovery_poll

    with app.app_context():
        claim_row = Claim(id="clm_bounded", shop_id="shop_x")
        now = utcnow()
        enqueue_recovery_poll(claim_row, RECOVERY_MAX_POLLS + 1, now)
        assert not [o for o in db.session.new if isinstance(o, Job)]
        enqueue_recovery_poll(claim_row, RECOVERY_MAX_POLLS, now)
        [job] = [o for o in db.session.new if isinstance(o, Job)]
        assert job.next_attempt_at - now == timedelta(days=1)  # the interval is capped too
        db.session.rollback()


def test_self_insured_draws_on_the_reserve_and_has_nothing_to_file(app, client, shop):
    claim_id = approved_reship(app, client, shop, provider="self_insured")
    assert recovery(client, shop, claim_id) == {
        "status": "reserve",
        "provider": "self_insured",
        "reference": None,
        "amount": 40000,
        "link": None,
        "error": None,
    }
    response = client.post(
        f"/api/v1/claims/{claim_id}/recovery", json={"status": "paid"}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "no_recovery"


def test_loadsure_hands_the_merchant_its_link_and_the_merchant_records_the_outcome(app, client, shop):
    claim_id = approved_reship(app, client, shop)
    with app.app_context():  # a parcel insured through Loadsure, whose purchase answer gave a claim link
        policy = db.session.scalars(select(Policy)).one()
        policy.provider, policy.certificate, policy.claim_url = "loadsure", "LS-9", "https://loadsure.test/claim/LS-9"
        job = db.session.scalars(select(Job).where(Job.kind == "file_insurer_claim")).one()
        db.session.commit()
        assert job.status == "queued"

    def factory(provider, *args, **kwargs):
        assert provider == "loadsure"
        return LoadsureInsurer(base_url="https://loadsure.test", api_key="ls_key")

    assert Worker(app, insurer_factory=factory).drain().ok
    manual = recovery(client, shop, claim_id)
    assert (manual["status"], manual["link"], manual["reference"]) == (
        "manual",
        "https://loadsure.test/claim/LS-9",
        "LS-9",
    )
    headers = bearer(shop.keys.secret_key)
    too_much = client.post(
        f"/api/v1/claims/{claim_id}/recovery", json={"status": "paid", "amount": 50001}, headers=headers
    )
    assert too_much.status_code == 422 and "amount" in too_much.get_json()["error"]["fields"]
    unknown = client.post(f"/api/v1/claims/{claim_id}/recovery", json={"status": "won"}, headers=headers)
    assert unknown.status_code == 422
    recorded = client.post(
        f"/api/v1/claims/{claim_id}/recovery",
        json={"status": "paid", "amount": 35000, "reference": "LS-CLM-7"},
        headers=headers,
    )
    assert recorded.status_code == 200
    assert {k: recorded.get_json()["recovery"][k] for k in ("status", "amount", "reference")} == {
        "status": "paid",
        "amount": 35000,
        "reference": "LS-CLM-7",
    }
    assert recorded.get_json()["reasons"][-1]["code"] == "recovery_recorded"


def test_recovery_and_retry_refund_of_unknown_or_foreign_claims_are_404(client, shop, new_shop, app):
    claim_id = approved_reship(app, client, shop)
    other = new_shop("Other")
    for path in (f"/api/v1/claims/{claim_id}/retry-refund", "/api/v1/claims/clm_nope/retry-refund"):
        assert client.post(path, headers=bearer(other.keys.secret_key)).status_code == 404
    response = client.post(
        f"/api/v1/claims/{claim_id}/recovery", json={"status": "paid"}, headers=bearer(other.keys.secret_key)
    )
    assert response.status_code == 404
    # A reshipped claim has no refund to retry.
    retry = client.post(f"/api/v1/claims/{claim_id}/retry-refund", headers=bearer(shop.keys.secret_key))
    assert retry.status_code == 409 and retry.get_json()["error"]["code"] == "refund_not_failed"
