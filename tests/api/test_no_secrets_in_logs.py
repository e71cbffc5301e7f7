"""The app's own logs never print a key, whatever a client does with it."""

from __future__ import annotations

import base64
import logging

from tests.api.test_quotes import CONTRACT_EXAMPLE


def test_refused_and_accepted_keys_are_never_logged(client, shop, caplog):
    caplog.set_level(logging.DEBUG)
    secret, public = shop.keys.secret_key, shop.keys.publishable_key
    attempts = [
        (
            "get",
            f"/api/v1/settings?key={secret}",
            {"Authorization": f"Basic {base64.b64encode(f'{secret}:'.encode()).decode()}"},
        ),
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {public}"}),  # 403: a publishable key
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {secret}x"}),  # 401: unknown
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {secret}"}),
        ("post", f"/api/v1/quotes?pk={public}", {"Authorization": f"bearer\t{public} "}),
    ]
    statuses = []
    for method, path, headers in attempts:
        kwargs = {"json": CONTRACT_EXAMPLE} if method == "post" else {}
        statuses.append(getattr(client, method)(path, headers=headers, **kwargs).status_code)
    assert statuses == [401, 403, 401, 200, 200]
    logged = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    assert secret not in logged and public not in logged


def test_the_json_log_lines_of_a_keyed_request_a_signed_delivery_and_its_jobs_hold_no_secret(
    app, client, shop, caplog, capfd
):
    import json
    import re

    import responses

    from plugin.worker import Worker
    from tests.api.test_stripe_api_calls import LINE_ITEMS, STRIPE, item, line_items_page
    from tests.stripe_helpers import (
        WEBHOOK_SECRET,
        configure_stripe,
        protected_metadata,
        quote_for,
        session_event,
        stripe_signature,
    )

    caplog.set_level(logging.DEBUG)
    stripe_key = "rk_test_merchantkey0000"
    configure_stripe(client, shop, api_key=stripe_key)
    secret = shop.keys.secret_key
    assert (
        client.get(f"/api/v1/settings?key={secret}", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    body = json.dumps(session_event(protected_metadata(quote_for(client, shop)), session_id="cs_log")).encode()
    signature = stripe_signature(body, WEBHOOK_SECRET)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    assert client.post(f"/webhooks/stripe/{shop.shop.id}", data=body, headers=headers).status_code == 200
    forged = {"Stripe-Signature": signature.replace("v1=", "v1=0"), "Content-Type": "application/json"}
    assert client.post(f"/webhooks/stripe/{shop.shop.id}", data=body, headers=forged).status_code == 400
    app.config["STRIPE_API_BASE"] = STRIPE
    try:
        with responses.RequestsMock() as stripe_api:
            stripe_api.get(LINE_ITEMS, json=line_items_page(item(50000, False, "li_1"), item(1000, True, "li_2")))
            assert Worker(app).drain().ok
    finally:
        app.config["STRIPE_API_BASE"] = "https://api.stripe.com"
    written = capfd.readouterr().err  # what the app's own handler wrote on stderr, as JSON lines
    records = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    assert re.search(r'"logger": "stripe"', written), written[-2000:]  # its DEBUG lines were written
    digest = signature.split("v1=", 1)[1]
    for text in (written, records):
        for leaked in (secret, stripe_key, WEBHOOK_SECRET, digest, signature):
            assert leaked not in text
    for line in written.splitlines():
        if line.startswith("{"):
            json.loads(line)
