"""The realistic mix bench/load_mix.py drives with locust (headless): shoppers, the merchant's backend, admins.

Run by bench/load_mix.py, which starts the stack and passes it in the environment (LOAD_SHOP: the shop's id and
keys as JSON; LOAD_LEDGER: a file this appends one JSON line to per payment, shipment and claim, for the
invariants and the duplicate storm). Not meant to be run alone.

- Shopper: prices carts with the publishable key (the widget), and some check out: consent, then the payment
  (a signed `payment_intent.succeeded` carrying the quote and the consent, as Stripe would send it).
- Merchant: ships paid orders (`POST /api/v1/shipments`), files claims for some shipped ones (small ones are
  approved automatically and refunded by the worker through Stripe), reads lists with the secret key.
- Admin: signs in and reads the dashboard and the lists.

A 503 with Retry-After (the database restarting) is recorded as its own failure kind, and the work is put back
to be tried again later, as a store's backend or Stripe would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

ROOT = Path(__file__).resolve().parents[1]
SHOP: dict[str, str] = json.loads(os.environ.get("LOAD_SHOP", "{}"))
LEDGER = Path(os.environ.get("LOAD_LEDGER", os.devnull))
WEBHOOK_SECRET = os.environ.get("LOAD_WEBHOOK_SECRET", "")
ADMIN = json.loads(os.environ.get("LOAD_ADMIN", "{}"))  # email, password
TEMPLATE = json.loads((ROOT / "tests" / "fixtures" / "stripe_payment_intent.succeeded.json").read_text())
RUN = os.environ.get("LOAD_RUN", str(os.getpid()))
PRICES = (2500, 4900, 8000, 12000, 19900, 30000)  # a few carts; claims up to 20,000 are approved automatically

paid: deque[tuple[str, str]] = deque()  # (order id, email) paid and acknowledged, not shipped yet
shipped: deque[tuple[str, str, str]] = deque()  # (order id, email, shipment id) that may get a claim
recent: deque[str] = deque(maxlen=50)  # shipped orders the merchant looks up
orders = count(1)
_ledger = LEDGER.open("a", buffering=1)


def record(kind: str, **fields: Any) -> None:
    """One line of the ledger the driver reads (the storm's deliveries, what was acknowledged)."""
    _ledger.write(json.dumps({"kind": kind, "at": time.time(), **fields}) + "\n")


def classify(response: Any) -> None:
    """Mark a non-2xx answer as a failure of its kind (locust's failures table groups by this text)."""
    status = response.status_code
    if 200 <= status < 300:
        response.success()
        return
    if status == 503 and response.headers.get("Retry-After"):
        kind = "503 with Retry-After"
    elif status == 0:
        kind = f"no answer ({type(response.error).__name__})"  # refused, reset, cut
    else:
        kind = f"HTTP {status}"
    response.failure(kind)
    record("failure", error=kind, path=response.request.path_url if response.request else None,
           detail=str(response.error)[:200] if status == 0 else None)  # fmt: skip


def payment_event(quote: dict[str, Any], consent: str | None, order_id: str, email: str, price: int) -> dict:
    """A Stripe `payment_intent.succeeded` event for one checkout, as Stripe would send it."""
    event = json.loads(json.dumps(TEMPLATE))
    now = int(time.time())
    event.update(id=f"evt_{order_id}", type="payment_intent.succeeded", created=now)
    total = price + int(quote["customer_price"])
    metadata = {"sp_quote": quote["id"], "sp_amount": str(quote["customer_price"]), "order_id": order_id}
    if consent:
        metadata["sp_consent"] = consent
    event["data"]["object"].update(
        id=f"pi_{order_id}", object="payment_intent", amount=total, amount_received=total, currency="usd",
        status="succeeded", receipt_email=email, latest_charge=f"ch_{order_id}", metadata=metadata, created=now,
    )  # fmt: skip
    return event


def sign(body: bytes) -> str:
    now = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={now},v1={digest}"


def cart(price: int) -> dict[str, Any]:
    return {
        "currency": "USD",
        "destination": {"country": "US", "region": "US-CA", "postal_code": "94107"},
        "items": [{"sku": f"SKU-{price}", "name": "Parcel goods", "category": "apparel", "unit_price": price,
                   "quantity": 1}],
        "shipping_amount": 900,
        "shipping_method": {"carrier": "UPS"},
    }  # fmt: skip


class Shopper(HttpUser):
    """The checkout widget (publishable key) and, for some, the payment Stripe reports afterwards."""

    weight = 6
    wait_time = between(0.5, 1.5)  # under gunicorn's 2 s keep-alive (see docs/reliability.md)

    def _quote(self, price: int) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {SHOP['publishable_key']}"}
        with self.client.post("/api/v1/quotes", json=cart(price), headers=headers, name="quote (widget)",
                               catch_response=True) as response:  # fmt: skip
            classify(response)
            return response.json() if response.status_code == 200 else None

    @task(5)
    def browse(self) -> None:
        self._quote(random.choice(PRICES))

    @task(3)
    def checkout(self) -> None:
        price = random.choice(PRICES)
        quote = self._quote(price)
        if not quote or not quote.get("id"):
            return
        headers = {"Authorization": f"Bearer {SHOP['publishable_key']}"}
        consent = {
            "quote": quote["id"], "price_shown": quote["customer_price"], "currency": "USD",
            "text_shown": "Shipping protection", "terms_version": quote["offer"]["terms_version"], "locale": "en-US",
            "shown_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }  # fmt: skip
        consent_id = None
        with self.client.post("/api/v1/consents", json=consent, headers=headers, name="consent (widget)",
                              catch_response=True) as response:  # fmt: skip
            classify(response)
            if response.status_code == 201:
                consent_id = response.json()["id"]
        order_id = f"L{RUN}-{next(orders)}"
        email = f"shopper-{order_id.lower()}@example.com"
        body = json.dumps(payment_event(quote, consent_id, order_id, email, price), separators=(",", ":")).encode()
        signature = sign(body)
        with self.client.post(f"/webhooks/stripe/{SHOP['id']}", data=body, name="stripe webhook (payment)",
                              headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                              catch_response=True) as response:  # fmt: skip
            classify(response)
            status = response.status_code
        record("payment", order=order_id, intent=f"pi_{order_id}", status=status, signature=signature,
               body=body.decode())  # fmt: skip
        if 200 <= status < 300:
            paid.append((order_id, email))


class Merchant(HttpUser):
    """The store's backend with the secret key: shipments, claims, reads."""

    weight = 3
    wait_time = between(0.5, 1.5)  # under gunicorn's 2 s keep-alive (see docs/reliability.md)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {SHOP['secret_key']}"}

    @task(4)
    def ship(self) -> None:
        if not paid:
            return
        order_id, email = paid.popleft()
        shipment_id = f"ful_{order_id}"
        body = {"order_id": order_id, "shipment_id": shipment_id, "carrier": "UPS",
                "tracking_number": f"1Z{abs(hash(order_id)) % 10**10:010d}",
                "shipped_at": (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        with self.client.post("/api/v1/shipments", json=body, headers=self._headers(), name="shipment",
                              catch_response=True) as response:  # fmt: skip
            classify(response)
            status = response.status_code
        record("shipment", order=order_id, shipment=shipment_id, status=status)
        if 200 <= status < 300:
            recent.append(order_id)
            if random.random() < 0.4:
                shipped.append((order_id, email, shipment_id))
        else:
            paid.append((order_id, email))  # the store's backend tries again later

    @task(1)
    def claim(self) -> None:
        if not shipped:
            return
        order_id, email, shipment_id = shipped.popleft()
        body = {"order_id": order_id, "email": email, "type": "lost", "description": "Never arrived."}
        with self.client.post("/api/v1/claims", json=body, headers=self._headers(), name="claim",
                              catch_response=True) as response:  # fmt: skip
            if response.status_code in (201, 409):
                response.success()  # 409 claim_exists: a retry after a lost answer found the first claim
            else:
                classify(response)
            status = response.status_code
            answer = response.json() if status == 201 else {}
        record("claim", order=order_id, status=status, claim=answer.get("id"), claim_status=answer.get("status"))
        if status == 0 or status >= 500:
            shipped.append((order_id, email, shipment_id))

    @task(2)
    def read(self) -> None:
        order = random.choice(recent) if recent else "none"
        path = random.choice(("/api/v1/protections?limit=20", f"/api/v1/policies?order_id={order}",
                              f"/api/v1/shipments?order_id={order}", "/api/v1/claims?limit=20"))  # fmt: skip
        with self.client.get(path, headers=self._headers(), name=f"GET {path.split('?')[0]}",
                             catch_response=True) as response:  # fmt: skip
            classify(response)


class Admin(HttpUser):
    """A person in the admin: signs in once, then reads the dashboard and the lists."""

    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self._sign_in()

    def _sign_in(self) -> None:
        with self.client.get("/admin/login", name="admin login form", catch_response=True) as response:
            classify(response)
            match = re.search(r'name="csrf_token" value="([^"]+)"', response.text or "")
        if match is None:
            return
        form = {"csrf_token": match.group(1), "email": ADMIN["email"], "password": ADMIN["password"]}
        with self.client.post("/admin/login", data=form, name="admin login", allow_redirects=False,
                              catch_response=True) as response:  # fmt: skip
            if response.status_code in (302, 303):
                response.success()
            else:
                classify(response)

    @task
    def page(self) -> None:
        path = random.choice(("/admin/", "/admin/protections", "/admin/shipments", "/admin/claims", "/admin/jobs"))
        with self.client.get(path, name=f"admin {path}", allow_redirects=False, catch_response=True) as response:
            if response.status_code in (302, 303):
                response.failure("signed out (redirect to the login)")
                self._sign_in()
            else:
                classify(response)
