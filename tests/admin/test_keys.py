"""Keys and webhooks in the admin: rolling keys (shown once), Stripe's secrets, the webhook URLs, the outbound
endpoints and their test events delivered by the real worker; owners only, CSRF on every form, one shop's ids only."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.crypto import mask
from plugin.domain.webhooks import verify
from plugin.extensions import db
from plugin.models import ApiKey, AuditEntry, Job, Shop, WebhookEndpoint, WebhookEvent, utcnow
from plugin.services.stripe_account import stripe_account
from tests.admin_helpers import post_form
from tests.api.test_worker import worker
from tests.conftest import bearer
from tests.loopback_http import loopback_server
from tests.stripe_helpers import WEBHOOK_SECRET, deliver, payment_intent_event

OTHER_SECRET = "whsec_another_signing_secret_5678"
_NEW_SECRET_KEY = re.compile(r'id="new-secret-key">(sk_[A-Za-z0-9]+)<')
_NEW_PUBLISHABLE_KEY = re.compile(r'id="new-publishable-key">(pk_[A-Za-z0-9]+)<')
_ENDPOINT_SECRET = re.compile(r'id="endpoint-secret">(whsec_[0-9a-f]+)<')


@pytest.fixture()
def private_hosts(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_WEBHOOK_HOSTS", True)


def text(response) -> str:
    return response.get_data(as_text=True)


def settings_status(client, key: str) -> int:
    return client.get("/api/v1/settings", headers=bearer(key)).status_code


def audit_entries(app, shop_id: str, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.shop_id == shop_id, AuditEntry.action == action)
                .order_by(AuditEntry.id)
            )
        )
        db.session.expunge_all()
        return entries


def webhook_secrets(app, shop_id: str) -> list[str]:
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        assert shop is not None
        return stripe_account(shop, app.extensions["secret_box"]).webhook_secrets


def api_endpoints(client, shop) -> list[dict]:
    answer = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key))
    return answer.get_json()["webhooks"]["endpoints"]


def add_api_endpoint(client, created, url: str = "https://hooks.example.com/a") -> dict:
    answer = client.patch(
        "/api/v1/settings",
        json={"webhooks": {"endpoints": [{"url": url, "events": ["*"]}]}},
        headers=bearer(created.keys.secret_key),
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["webhooks"]["endpoints"][0]


def add_endpoint(owner_client, url: str, events: list[str]) -> tuple[str, str]:
    """Add an endpoint through the admin; (its id, its secret as shown once)."""
    answer = post_form(owner_client, "/admin/keys/endpoints/new", {"url": url, "events": events}, "/admin/keys")
    assert answer.status_code == 200, text(answer)
    secret = _ENDPOINT_SECRET.search(text(answer))
    found = re.search(r'id="endpoint-id">(whe_[A-Za-z0-9]+)<', text(answer))
    assert secret and found
    return found.group(1), secret.group(1)


# ---- the page ------------------------------------------------------------------------------------------------


def test_the_page_shows_the_publishable_key_whole_the_secret_masked_and_the_webhook_urls(owner_client, shop):
    page = text(owner_client.get("/admin/keys"))
    assert shop.keys.publishable_key in page
    assert shop.keys.secret_key not in page and mask(shop.keys.secret_key) in page
    assert f"http://localhost/webhooks/stripe/{shop.shop.id}" in page
    assert f"http://localhost/webhooks/platform/{shop.shop.id}" in page
    assert "payment_intent.succeeded" in page and "charge.dispute.created" in page and "fulfillments/create" in page
    assert 'data-copy="stripe-url"' in page and "/static/admin/copy.js" in page
    assert "Not set yet" in page


def test_the_webhook_urls_use_public_base_url_when_it_is_set(app, owner_client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://protect.shop.example")
    page = text(owner_client.get("/admin/keys"))
    assert f'id="stripe-url">https://protect.shop.example/webhooks/stripe/{shop.shop.id}<' in page
    assert f"https://protect.shop.example/webhooks/platform/{shop.shop.id}" in page
    assert "http://localhost/webhooks" not in page


def test_the_copy_script_is_served(client):
    with client.get("/static/admin/copy.js") as script:
        assert script.status_code == 200 and b"navigator.clipboard" in script.data


# ---- rolling the keys ----------------------------------------------------------------------------------------


def test_rolling_shows_the_new_secret_key_once_and_the_old_one_stops_at_once(
    app, owner_client, client, shop, owner, caplog
):
    caplog.set_level(logging.DEBUG)
    answer = post_form(owner_client, "/admin/keys/roll", {"grace": "0"}, "/admin/keys")
    assert answer.status_code == 200
    page = text(answer)
    secret_key = _NEW_SECRET_KEY.search(page)
    publishable_key = _NEW_PUBLISHABLE_KEY.search(page)
    assert secret_key and publishable_key
    new_secret, new_publishable = secret_key.group(1), publishable_key.group(1)
    assert "shown only on this page" in page
    assert settings_status(client, shop.keys.secret_key) == 401
    assert settings_status(client, new_secret) == 200
    # Never again: not on the page, not in the session, not in a flash message, the audit log or a log line.
    again = text(owner_client.get("/admin/keys"))
    assert new_secret not in again and mask(new_secret) in again and new_publishable in again
    assert shop.keys.publishable_key not in again  # the expired keys are no longer listed
    with owner_client.session_transaction() as session:
        assert new_secret not in json.dumps(dict(session), default=str)
    assert new_secret not in caplog.text
    (entry,) = audit_entries(app, shop.shop.id, "keys.rolled")
    assert entry.actor == f"user:{owner.id} {owner.email}"
    assert new_secret not in json.dumps([entry.before, entry.after])
    assert shop.keys.secret_key not in json.dumps([entry.before, entry.after])
    assert entry.after["secret_key"] == mask(new_secret) and entry.after["publishable_key"] == new_publishable


def test_a_grace_period_keeps_the_old_keys_working_until_it_ends(app, owner_client, client, shop):
    before = utcnow()
    answer = post_form(owner_client, "/admin/keys/roll", {"grace": "1h"}, "/admin/keys")
    assert answer.status_code == 200 and "keep working until" in text(answer)
    new_secret = _NEW_SECRET_KEY.search(text(answer)).group(1)
    assert settings_status(client, shop.keys.secret_key) == 200
    assert settings_status(client, new_secret) == 200
    with app.app_context():
        old = db.session.scalars(select(ApiKey).where(ApiKey.shop_id == shop.shop.id, ApiKey.expires_at.is_not(None)))
        expiries = [row.expires_at for row in old]
        assert len(expiries) == 2
        assert all(before + timedelta(minutes=59) < moment < utcnow() + timedelta(minutes=61) for moment in expiries)
        # The grace ends: the old keys stop, the new ones go on.
        for row in db.session.scalars(select(ApiKey).where(ApiKey.expires_at.is_not(None))):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    app.extensions["grant_cache"].clear()
    assert settings_status(client, shop.keys.secret_key) == 401
    assert settings_status(client, new_secret) == 200


@pytest.mark.parametrize("grace", ["", "2h", "-1", "0" * 20])
def test_an_unknown_grace_period_is_a_400_that_rolls_nothing(app, owner_client, client, shop, grace):
    answer = post_form(owner_client, "/admin/keys/roll", {"grace": grace}, "/admin/keys")
    assert answer.status_code == 400
    assert settings_status(client, shop.keys.secret_key) == 200
    with app.app_context():
        assert len(list(db.session.scalars(select(ApiKey).where(ApiKey.shop_id == shop.shop.id)))) == 2
    assert audit_entries(app, shop.shop.id, "keys.rolled") == []


# ---- Stripe's secrets ----------------------------------------------------------------------------------------


def test_a_saved_webhook_secret_lets_stripe_events_in_and_the_page_shows_them_arrive(app, owner_client, client, shop):
    event = payment_intent_event({"order_id": "1001"}, pi_id="pi_admin_1")
    assert deliver(client, shop.shop.id, event).status_code == 400  # no secret yet
    answer = post_form(
        owner_client, "/admin/keys/stripe/webhook-secret", {"webhook_secret": WEBHOOK_SECRET}, "/admin/keys"
    )
    assert answer.status_code == 302
    assert deliver(client, shop.shop.id, event).status_code == 200
    page = text(owner_client.get("/admin/keys"))
    assert "signing secret is saved" in page
    assert WEBHOOK_SECRET not in page and mask(WEBHOOK_SECRET) in page
    received = page.split('id="received"', 1)[1].split("</section>", 1)[0]
    assert event["id"] in received and "payment_intent.succeeded" in received
    (entry,) = audit_entries(app, shop.shop.id, "stripe.webhook_secret_set")
    assert WEBHOOK_SECRET not in json.dumps([entry.before, entry.after])
    assert entry.before["stripe.webhook_secret"] is None and entry.after["stripe.webhook_secret"] == mask(
        WEBHOOK_SECRET
    )


def test_replacing_the_webhook_secret_keeps_the_old_one_until_it_is_forgotten(app, owner_client, client, shop):
    post_form(owner_client, "/admin/keys/stripe/webhook-secret", {"webhook_secret": WEBHOOK_SECRET}, "/admin/keys")
    answer = post_form(
        owner_client,
        "/admin/keys/stripe/webhook-secret",
        {"webhook_secret": OTHER_SECRET, "keep_previous": "1"},
        "/admin/keys",
    )
    assert answer.status_code == 302
    assert webhook_secrets(app, shop.shop.id) == [OTHER_SECRET, WEBHOOK_SECRET]
    assert (
        deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_a"), secret=WEBHOOK_SECRET).status_code == 200
    )
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_b"), secret=OTHER_SECRET).status_code == 200
    page = text(owner_client.get("/admin/keys"))
    assert mask(WEBHOOK_SECRET) in page and "Stop accepting it" in page
    assert post_form(owner_client, "/admin/keys/stripe/previous-secret/forget", {}, "/admin/keys").status_code == 302
    assert webhook_secrets(app, shop.shop.id) == [OTHER_SECRET]
    assert (
        deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_c"), secret=WEBHOOK_SECRET).status_code == 400
    )
    # Replaced without keeping the old one: only the new one is accepted.
    post_form(owner_client, "/admin/keys/stripe/webhook-secret", {"webhook_secret": WEBHOOK_SECRET}, "/admin/keys")
    assert webhook_secrets(app, shop.shop.id) == [WEBHOOK_SECRET]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Paste the value first."),
        ("whsec_…1234", "That is the masked value"),
        ("sk_test_1234567890abcdef", "starts with whsec_"),
        ("whsec_short", "starts with whsec_"),
        ("whsec_" + "a" * 600, "too long"),
    ],
)
def test_a_malformed_webhook_secret_is_explained_and_nothing_is_saved(app, owner_client, shop, value, message):
    post_form(owner_client, "/admin/keys/stripe/webhook-secret", {"webhook_secret": WEBHOOK_SECRET}, "/admin/keys")
    answer = post_form(owner_client, "/admin/keys/stripe/webhook-secret", {"webhook_secret": value}, "/admin/keys")
    assert answer.status_code == 422
    assert message in text(answer) and 'id="webhook_secret-error"' in text(answer)
    assert webhook_secrets(app, shop.shop.id) == [WEBHOOK_SECRET]


def test_the_stripe_api_key_is_saved_masked_and_removed(app, owner_client, shop):
    api_key = "rk_test_51AbCdEfGhIjKlMnOp"
    bad = post_form(owner_client, "/admin/keys/stripe/api-key", {"api_key": "pk_test_123456789"}, "/admin/keys")
    assert bad.status_code == 422 and "sk_test_, sk_live_, rk_test_ or rk_live_" in text(bad)
    saved = post_form(owner_client, "/admin/keys/stripe/api-key", {"api_key": api_key, "action": "save"}, "/admin/keys")
    assert saved.status_code == 302
    page = text(owner_client.get("/admin/keys"))
    assert api_key not in page and mask(api_key) in page and "Remove the API key" in page
    with app.app_context():
        shop_row = db.session.get(Shop, shop.shop.id)
        assert stripe_account(shop_row, app.extensions["secret_box"]).api_key == api_key
    removed = post_form(owner_client, "/admin/keys/stripe/api-key", {"action": "remove"}, "/admin/keys")
    assert removed.status_code == 302
    with app.app_context():
        shop_row = db.session.get(Shop, shop.shop.id)
        assert stripe_account(shop_row, app.extensions["secret_box"]).api_key is None
    again = post_form(owner_client, "/admin/keys/stripe/api-key", {"action": "remove"}, "/admin/keys")
    assert again.status_code == 302  # nothing to remove: nothing changes, nothing is logged
    entries = audit_entries(app, shop.shop.id, "stripe.api_key_set") + audit_entries(
        app, shop.shop.id, "stripe.api_key_removed"
    )
    assert len(entries) == 2 and api_key not in json.dumps([(e.before, e.after) for e in entries])


# ---- outbound endpoints --------------------------------------------------------------------------------------


def test_a_test_event_is_queued_signed_delivered_by_the_worker_and_shown(app, owner_client, shop, private_hosts):
    with loopback_server() as server:
        endpoint_id, secret = add_endpoint(owner_client, server.url + "/hooks", ["claim.created"])
        answer = post_form(owner_client, f"/admin/keys/endpoints/{endpoint_id}/test", {}, "/admin/keys")
        assert answer.status_code == 302
        assert server.received == []  # the web request never calls out
        sent = text(owner_client.get("/admin/keys")).split('id="sent"', 1)[1]
        assert "webhook.test" in sent and "Pending" in sent
        stats = worker(app).drain()
        assert stats.ok and stats.jobs_succeeded == 1, stats.failures
        (request,) = server.received
    assert request.path == "/hooks"
    assert verify(request.headers["Plugin-Signature"], request.body, secret, int(time.time()))
    event = json.loads(request.body)
    assert event["type"] == "webhook.test" and event["data"]["endpoint"] == endpoint_id
    sent = text(owner_client.get("/admin/keys")).split('id="sent"', 1)[1]
    assert event["id"] in sent and "Delivered (HTTP 200)" in sent
    (entry,) = audit_entries(app, shop.shop.id, "webhook_endpoint.test_sent")
    assert entry.after == {"event": event["id"]}


def test_a_refused_test_event_shows_the_reason_and_the_retry(app, owner_client, shop, private_hosts):
    with loopback_server(status=410) as server:
        endpoint_id, _ = add_endpoint(owner_client, server.url, ["*"])
        post_form(owner_client, f"/admin/keys/endpoints/{endpoint_id}/test", {}, "/admin/keys")
        assert worker(app).drain().jobs_retrying == 1
    sent = text(owner_client.get("/admin/keys")).split('id="sent"', 1)[1]
    assert "Pending" in sent and "attempt 1 failed: the endpoint answered 410" in sent and "next try" in sent
    with app.app_context():
        (job,) = db.session.scalars(select(Job).where(Job.kind == "deliver_webhook"))
        job.status, job.next_attempt_at = "failed", None
        db.session.commit()
    sent = text(owner_client.get("/admin/keys")).split('id="sent"', 1)[1]
    assert "Failed</span>: the endpoint answered 410" in sent


def test_endpoints_are_added_edited_rolled_and_deleted_as_the_api_sees_them(app, owner_client, client, shop):
    form = owner_client.get("/admin/keys/endpoints/new")
    assert form.status_code == 200 and "claim.created" in text(form)
    endpoint_id, secret = add_endpoint(owner_client, "https://hooks.example.com/a", ["claim.created", "policy.failed"])
    assert secret.startswith("whsec_") and len(secret) == 70
    assert api_endpoints(client, shop) == [
        {"id": endpoint_id, "url": "https://hooks.example.com/a", "events": ["claim.created", "policy.failed"],
         "secret": mask(secret)}
    ]  # fmt: skip
    page = text(owner_client.get("/admin/keys"))
    assert secret not in page and mask(secret) in page

    edit = owner_client.get(f"/admin/keys/endpoints/{endpoint_id}")
    assert edit.status_code == 200 and "https://hooks.example.com/a" in text(edit)
    saved = post_form(
        owner_client, f"/admin/keys/endpoints/{endpoint_id}", {"url": "https://hooks.example.com/b", "events": ["*"]}
    )
    assert saved.status_code == 302
    assert api_endpoints(client, shop) == [
        {"id": endpoint_id, "url": "https://hooks.example.com/b", "events": ["*"], "secret": mask(secret)}
    ]

    rolled = post_form(owner_client, f"/admin/keys/endpoints/{endpoint_id}/roll", {})
    assert rolled.status_code == 200
    new_secret = _ENDPOINT_SECRET.search(text(rolled)).group(1)
    assert new_secret != secret and api_endpoints(client, shop)[0]["secret"] == mask(new_secret)

    assert post_form(owner_client, f"/admin/keys/endpoints/{endpoint_id}/delete", {}).status_code == 302
    assert api_endpoints(client, shop) == []
    actions = [
        entry.action
        for entry in audit_entries(app, shop.shop.id, "webhook_endpoint.created")
        + audit_entries(app, shop.shop.id, "webhook_endpoint.updated")
        + audit_entries(app, shop.shop.id, "webhook_endpoint.secret_rolled")
        + audit_entries(app, shop.shop.id, "webhook_endpoint.deleted")
    ]
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rolled",
        "webhook_endpoint.deleted",
    ]
    with app.app_context():
        logged = json.dumps([(e.before, e.after) for e in db.session.scalars(select(AuditEntry))])
    assert secret not in logged and new_secret not in logged


def test_editing_one_endpoint_keeps_the_others_and_their_secrets(owner_client, client, shop):
    first, first_secret = add_endpoint(owner_client, "https://hooks.example.com/1", ["*"])
    second, second_secret = add_endpoint(owner_client, "https://hooks.example.com/2", ["tracking.stalled"])
    post_form(owner_client, f"/admin/keys/endpoints/{second}", {"url": "https://hooks.example.com/2b", "events": ["*"]})
    assert api_endpoints(client, shop) == [
        {"id": first, "url": "https://hooks.example.com/1", "events": ["*"], "secret": mask(first_secret)},
        {"id": second, "url": "https://hooks.example.com/2b", "events": ["*"], "secret": mask(second_secret)},
    ]


@pytest.mark.parametrize(
    ("url", "events", "field", "message"),
    [
        ("http://hooks.example.com/a", ["*"], "url", "The URL must start with https://."),
        ("https://127.0.0.1/a", ["*"], "url", "private or local address"),
        ("https://localhost/a", ["*"], "url", "private host"),
        ("https://user:pw@hooks.example.com/a", ["*"], "url", "user name or password"),
        ("", ["*"], "url", "Give the https:// URL"),
        ("https://hooks.example.com/" + "a" * 2100, ["*"], "url", "at most 2048 characters"),
        ("https://hooks.example.com/\x00", ["*"], "url", "control characters"),
        ("https://hooks.example.com/a", [], "events", "Choose at least one event."),
        ("https://hooks.example.com/a", ["claim.deleted"], "events", "Choose events from the list."),
    ],
)
def test_a_bad_endpoint_is_explained_and_nothing_is_saved(owner_client, client, shop, url, events, field, message):
    answer = post_form(owner_client, "/admin/keys/endpoints/new", {"url": url, "events": events})
    assert answer.status_code == 422
    assert message in text(answer) and f'id="{field}-error"' in text(answer)
    assert api_endpoints(client, shop) == []


def test_a_shop_has_at_most_ten_endpoints(owner_client, client, shop):
    for number in range(10):
        add_endpoint(owner_client, f"https://hooks.example.com/{number}", ["*"])
    assert (
        "Add an endpoint"
        not in text(owner_client.get("/admin/keys")).split('id="endpoints"', 1)[1].split("</section>")[0]
    )
    answer = post_form(
        owner_client, "/admin/keys/endpoints/new", {"url": "https://hooks.example.com/x", "events": ["*"]}
    )
    assert answer.status_code == 422 and "at most 10 endpoints" in text(answer)
    assert len(api_endpoints(client, shop)) == 10


# ---- who may, and from which shop ---------------------------------------------------------------------------

OWNER_GETS = ["/admin/keys", "/admin/keys/endpoints/new", "/admin/keys/endpoints/{endpoint}"]
OWNER_POSTS = [
    ("/admin/keys/roll", {"grace": "0"}),
    ("/admin/keys/stripe/webhook-secret", {"webhook_secret": WEBHOOK_SECRET}),
    ("/admin/keys/stripe/previous-secret/forget", {}),
    ("/admin/keys/stripe/api-key", {"action": "remove"}),
    ("/admin/keys/endpoints/new", {"url": "https://hooks.example.com/new", "events": "*"}),
    ("/admin/keys/endpoints/{endpoint}", {"url": "https://hooks.example.com/changed", "events": "*"}),
    ("/admin/keys/endpoints/{endpoint}/delete", {}),
    ("/admin/keys/endpoints/{endpoint}/roll", {}),
    ("/admin/keys/endpoints/{endpoint}/test", {}),
]


def state(app, client, shop) -> tuple:
    """What any of these actions would change: keys, Stripe secrets, endpoints (with secrets), events, audit."""
    with app.app_context():
        keys = sorted((row.key_hash, str(row.expires_at)) for row in db.session.scalars(select(ApiKey)))
        endpoints = sorted(
            (row.id, row.url, row.secret_ciphertext) for row in db.session.scalars(select(WebhookEndpoint))
        )
        events = list(db.session.scalars(select(WebhookEvent.id)))
        audit = list(db.session.scalars(select(AuditEntry.id)))
    return keys, webhook_secrets(app, shop.shop.id), endpoints, events, audit


@pytest.mark.parametrize("path", OWNER_GETS)
def test_staff_get_a_403_on_every_owner_page(staff_client, client, shop, path):
    endpoint = add_api_endpoint(client, shop)
    answer = staff_client.get(path.format(endpoint=endpoint["id"]))
    assert answer.status_code == 403 and "Only the shop&#39;s owners" in text(answer)


@pytest.mark.parametrize(("path", "data"), OWNER_POSTS)
def test_staff_get_a_403_on_every_owner_action_and_nothing_changes(app, staff_client, client, shop, path, data):
    endpoint = add_api_endpoint(client, shop)
    before = state(app, client, shop)
    answer = post_form(staff_client, path.format(endpoint=endpoint["id"]), data)
    assert answer.status_code == 403
    assert state(app, client, shop) == before


@pytest.mark.parametrize(("path", "data"), OWNER_POSTS)
def test_a_form_without_its_csrf_token_is_a_400_and_nothing_changes(app, owner_client, client, shop, path, data):
    endpoint = add_api_endpoint(client, shop)
    before = state(app, client, shop)
    answer = owner_client.post(path.format(endpoint=endpoint["id"]), data=data)
    assert answer.status_code == 400
    forged = owner_client.post(path.format(endpoint=endpoint["id"]), data={**data, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert state(app, client, shop) == before


@pytest.mark.parametrize("path", [p for p, _ in OWNER_POSTS if "{endpoint}" in p] + OWNER_GETS[2:])
def test_another_shops_endpoint_is_a_404_and_stays_as_it_was(app, owner_client, client, shop, new_shop, path):
    other = new_shop("Other House")
    theirs = add_api_endpoint(client, other, "https://hooks.other.example/x")
    before = state(app, client, other)
    url = path.format(endpoint=theirs["id"])
    if path in OWNER_GETS:
        answer = owner_client.get(url)
    else:
        answer = post_form(owner_client, url, {"url": "https://hooks.example.com/mine", "events": "*"})
    assert answer.status_code == 404
    assert state(app, client, other) == before
    assert api_endpoints(client, other) == [theirs | {"secret": mask_of(theirs)}]


def mask_of(endpoint: dict) -> str:
    return endpoint["secret"] if "…" in endpoint["secret"] else mask(endpoint["secret"])


def test_an_unknown_endpoint_id_is_a_404(owner_client):
    assert owner_client.get("/admin/keys/endpoints/whe_nope").status_code == 404
    assert owner_client.get("/admin/keys/endpoints/" + "x" * 500).status_code == 404
    assert post_form(owner_client, "/admin/keys/endpoints/whe_nope/test", {}).status_code == 404
