"""The admin at scale: a year of one large shop in PostgreSQL, then the dashboard and each list's first page timed.

    python bench/admin_scale.py fill [--database-url URL] [--protections 1000000] [--replace]
    python bench/admin_scale.py time [--database-url URL] [--loads 20]
    python bench/admin_scale.py all [--protections 1000000]     # fill a new database, time it, drop it

`fill` migrates the database and writes, with a fixed seed, one large shop's year: `--protections` protected
orders among ~1.5 times as many orders (attach rate ~66 %), their payments, consents, 1-2 parcels each, the
parcels' policies (mostly bound, ~1 % failed, some retrying or pending), tracking events for some parcels, ~2 %
claims (every type and status, some paid, some recovered from the insurer), the jobs all that queued (some
failed), the inbound webhook deliveries and an audit log; plus two small shops. Rows are generated in Python and
written with PostgreSQL COPY from a second thread, then the tables are vacuumed and analysed.

`time` serves the app with gunicorn (gunicorn.conf.py, as the Procfile's web process) on a loopback port, signs an
owner of the large shop in over HTTP, and loads each page `--loads` times, round-robin after two warm-up rounds:
the baseline (`/healthz`, one database round trip), the reports API for all time and the last 30 days, the
dashboard (its default period, and the last 365 days), and the first page of each admin list. It prints p50 and
p95 per page, their ratio to the baseline, and PASS or FAIL against the 300 ms goal (a page that answers 404 is
"not built"), and the machine's load average. It stops after `--deadline` seconds whatever it has, and always
exits 0 once it has measured: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import math
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quote_throughput import ROOT, free_port, wait_until_up
from bench.reliability_support import Answer, percentile, stop, wait_healthy

GOAL_MS = 300.0
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "plugin_bench_admin"
SECRET_KEY = "admin-scale-bench-secret"  # the fill and the timed app must agree: shop secrets are encrypted with it
OWNER_EMAIL = "owner@scale.example"
OWNER_PASSWORD = "scale-bench-password-1"
DAY = 86400
ORDERS_PER_CHUNK = 20_000

# ---- rows as COPY text ------------------------------------------------------------------------------------------

NULL = "\\N"
_HOURS: dict[int, str] = {}
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))


def ts(epoch: float) -> str:
    """A UTC time as COPY text, to the second (each hour's text cached: a year has 8,760 of them)."""
    hours, seconds = divmod(int(epoch), 3600)
    hour = _HOURS.get(hours)
    if hour is None:
        hour = _HOURS[hours] = datetime.fromtimestamp(hours * 3600, UTC).strftime("%Y-%m-%d %H:")
    return f"{hour}{_TWO_DIGITS[seconds // 60]}:{_TWO_DIGITS[seconds % 60]}+00"


def opt_ts(epoch: float | None) -> str:
    return NULL if epoch is None else ts(epoch)


def opt(value: Any) -> str:
    return NULL if value is None else str(value)


def flag(value: bool) -> str:
    return "t" if value else "f"


def doc(value: Any) -> str:
    """JSON as COPY text (the generated text holds no tab, newline or backslash)."""
    return json.dumps(value, separators=(",", ":"))


# The columns each table is written with, in COPY order (every NOT NULL column of plugin/models.py).
COLUMNS: dict[str, tuple[str, ...]] = {
    "payments": ("id", "shop_id", "payment_key", "payment_intent", "checkout_session", "charge_id", "status",
                 "amount", "currency", "amount_refunded", "disputed", "order_id", "protected", "customer_email",
                 "succeeded_at", "created_at", "updated_at"),
    "stripe_refunds": ("id", "shop_id", "refund_id", "payment_id", "amount", "status"),
    "consents": ("id", "shop_id", "quote_reference", "price_shown_amount", "currency", "text_shown",
                 "terms_version", "terms_url", "locale", "page_origin", "user_agent", "shown_at", "created_at"),
    "protections": ("id", "shop_id", "payment_id", "order_id", "status", "review_reason", "disputed", "currency",
                    "declared_value_amount", "premium_amount", "customer_price_amount",
                    "merchant_contribution_amount", "charged_amount", "quote_reference", "quote_expires_at",
                    "consent_id", "payment_intent", "checkout_session", "customer_email", "destination_country",
                    "destination_region", "destination_postal_code", "line_item_check", "voided_at", "created_at",
                    "updated_at"),
    "shipments": ("id", "shop_id", "shipment_ref", "order_id", "protection_id", "carrier", "tracking_number",
                  "tracking_url", "tracking_status", "items", "currency", "items_value_amount", "shipped_at",
                  "last_tracking_at", "delivered_at", "cancelled_at", "uninsured_reason", "destination_country",
                  "destination_region", "destination_postal_code", "address_key", "stalled_at",
                  "merchant_alerted_at", "shopper_invited_at", "delay_notified_at", "created_at", "updated_at"),
    "tracking_events": ("id", "shipment_id", "status", "message", "location", "occurred_at", "created_at"),
    "policies": ("id", "shop_id", "shipment_id", "order_id", "protection_id", "provider", "status", "currency",
                 "sum_insured_amount", "cost_amount", "reserve_amount", "certificate", "provider_reference",
                 "certificate_url", "claim_url", "attempts", "key_generation", "last_error", "next_attempt_at",
                 "in_doubt_since", "cancel_requested_at", "cancel_reason", "cancel_status", "bound_at",
                 "cancelled_at", "created_at", "updated_at"),
    "claims": ("id", "shop_id", "order_id", "shipment_id", "protection_id", "payment_id", "policy_id", "type",
               "status", "source", "email", "address_key", "locale", "description", "items", "currency", "amount",
               "covered_amount", "signals", "reasons", "review_reason", "decided_by", "decided_at", "resolution",
               "approved_amount", "deny_reason", "replacement_order_id", "reship_cost_amount", "refund_generation",
               "refund_id", "refund_status", "refund_error", "paid_at", "paid_method", "paid_reference",
               "recovery_status", "recovery_provider", "recovery_reference", "recovery_amount", "recovery_link",
               "recovery_error", "created_at", "updated_at"),
    "jobs": ("id", "shop_id", "kind", "subject", "idempotency_key", "status", "payload", "attempts", "max_attempts",
             "next_attempt_at", "lease_token", "leased_until", "last_error", "finished_at", "created_at",
             "updated_at"),
    "webhook_deliveries": ("id", "shop_id", "source", "delivery_id", "topic", "outcome", "received_at"),
    "audit_log": ("id", "shop_id", "actor", "action", "target", "before", "after", "created_at"),
}  # fmt: skip
SERIAL_TABLES = ("payments", "stripe_refunds", "tracking_events", "webhook_deliveries", "audit_log")


class Writer:
    """COPYs chunks of rows from other threads, each with its own connection, so that PostgreSQL ingests on every
    core while Python makes the next chunk (the tables have no index or foreign key during the load)."""

    def __init__(self, url: str, connections: int = 2) -> None:
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=4 * connections)
        self.rows: dict[str, int] = {}
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, args=(url,), name=f"copy-writer-{n}", daemon=True)
            for n in range(connections)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, url: str) -> None:
        try:
            with psycopg.connect(url) as conn:
                # Triggers off for the load, as pg_restore loads (the reports' pre-aggregates are rebuilt after).
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET synchronous_commit = off")
                while (item := self.queue.get()) is not None:
                    table, text = item
                    statement = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
                    with conn.cursor() as cursor, cursor.copy(statement) as copy:
                        copy.write(text.encode())
                    conn.commit()
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc
            while self.queue.get() is not None:  # unblock the producer until it stops
                pass

    def put(self, table: str, lines: list[str]) -> None:
        if self.error is not None:
            raise RuntimeError(f"COPY into {table} failed") from self.error
        if lines:
            self.rows[table] = self.rows.get(table, 0) + len(lines)
            self.queue.put((table, "".join(lines)))

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise RuntimeError("COPY failed") from self.error


# ---- what a year of orders looks like ---------------------------------------------------------------------------

CARRIERS = (("UPS", "https://www.ups.com/track?tracknum="), ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
            ("FedEx", "https://www.fedex.com/fedextrack/?trknbr="), ("DHL", "https://www.dhl.com/track?id="))  # fmt: skip
CARRIER_POOL = CARRIERS[0:1] * 38 + CARRIERS[1:2] * 32 + CARRIERS[2:3] * 20 + CARRIERS[3:4] * 10  # by share
REGIONS = (("US", "US-CA", "941"), ("US", "US-NY", "100"), ("US", "US-TX", "770"), ("US", "US-FL", "331"),
           ("US", "US-WA", "981"), ("US", "US-IL", "606"), ("CA", "CA-ON", "M5V"), ("GB", "GB-LND", "SW1"),
           ("AU", "AU-NSW", "200"))  # fmt: skip
REGION_POOL = tuple(
    region for region, share in zip(REGIONS, (22, 16, 14, 12, 8, 10, 8, 6, 4), strict=True) for _ in range(share)
)
PRODUCTS = tuple((f"SKU-{n:04d}", f"Product {n}") for n in range(400))
CLAIM_TYPES = ("lost", "damaged", "stolen", "missing_items", "delayed")
CLAIM_TYPE_WEIGHTS = (0.4, 0.3, 0.15, 0.1, 0.05)
AGENTS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
          "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36")  # fmt: skip
# Share of the day's orders in each hour (UTC), evenings busiest.
HOURS = tuple(1 + 0.8 * math.sin((h - 9) / 24 * 2 * math.pi) for h in range(24))


@dataclass
class ShopPlan:
    """One shop to fill: its id and currency, how many protections, and its amounts' scale to USD cents."""

    id: str
    currency: str
    protections: int
    unit_scale: float = 1.0
    attach_rate: float = 0.66


@dataclass
class Counters:
    payment_id: int = 0
    refund_id: int = 0
    event_id: int = 0
    delivery_id: int = 0
    audit_id: int = 0
    totals: dict[str, int] = field(default_factory=dict)


class Year:
    """Writes one shop's year of orders, chunk by chunk, in time order."""

    def __init__(
        self, plan: ShopPlan, shop_index: int, writer: Writer, counters: Counters, rng: random.Random, now: float
    ) -> None:
        self.plan, self.writer, self.counters, self.rng, self.now = plan, writer, counters, rng, now
        self.start = now - 365 * DAY
        self.orders = round(plan.protections / plan.attach_rate)
        self.customers = max(10, int(self.orders * 0.7))
        self.buffers: dict[str, list[str]] = {table: [] for table in COLUMNS}
        self.prefix = plan.id[-6:].lower()  # in the shoppers' emails
        self.shop_index = shop_index
        self.serial = 0

    def new_id(self, prefix: str) -> str:
        """An id with the real prefix and 24 characters after it, like new_id's: random first (so indexes grow
        as they do in production), then the shop and a serial number (so ids never collide)."""
        self.serial += 1
        return f"{prefix}_{self.rng.getrandbits(52):013x}{self.shop_index}{self.serial:010d}"

    def token(self, bits: int = 96) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def money(self, usd_cents: float) -> int:
        return max(1, round(usd_cents * self.plan.unit_scale))

    def order_times(self) -> Iterator[float]:
        """Order times over the year, in order: more on weekends, before the holidays, and as the shop grows."""
        days = 365
        weights = []
        for day in range(days):
            moment = datetime.fromtimestamp(self.start + day * DAY, UTC)
            weekend = 1.15 if moment.weekday() >= 5 else 1.0
            season = 1.6 if moment.month in (11, 12) else 1.0
            growth = 0.75 + 0.5 * day / days
            weights.append(weekend * season * growth)
        scale = self.orders / sum(weights)
        remainder = 0.0
        hour_total = sum(HOURS)
        emitted = 0
        for day, weight in enumerate(weights):
            exact = weight * scale + remainder
            count = int(exact) if day < days - 1 else self.orders - emitted
            remainder = exact - int(exact)
            base = self.start + day * DAY
            stamps = []
            for _ in range(count):
                pick = self.rng.random() * hour_total
                hour = 0
                while pick > HOURS[hour] and hour < 23:
                    pick -= HOURS[hour]
                    hour += 1
                stamps.append(base + hour * 3600 + self.rng.random() * 3600)
            stamps.sort()
            emitted += count
            yield from (min(stamp, self.now - 60) for stamp in stamps)

    def flush(self, final: bool = False) -> None:
        for table, lines in self.buffers.items():
            if lines:
                self.writer.put(table, lines)
                self.buffers[table] = []

    def fill(self, progress: Callable[[str], None]) -> None:
        needed, remaining = self.plan.protections, self.orders
        for index, moment in enumerate(self.order_times()):
            protected = (
                self.rng.random() * remaining < needed
            )  # exactly `protections` of the orders (selection sampling)
            remaining -= 1
            if protected:
                needed -= 1
            self.order(index, moment, protected)
            if index % ORDERS_PER_CHUNK == ORDERS_PER_CHUNK - 1:
                self.flush()
                if index % (ORDERS_PER_CHUNK * 10) == ORDERS_PER_CHUNK * 10 - 1:
                    progress(f"{self.plan.id}: {index + 1:,} / {self.orders:,} orders")
        self.audit_log()
        self.flush(final=True)

    # ---- one order and everything that followed from it ---------------------------------------------------------

    def order(self, index: int, at: float, protected: bool) -> None:
        rng, plan, counters = self.rng, self.plan, self.counters
        counters.payment_id += 1
        payment_id = counters.payment_id
        customer = rng.randrange(self.customers)
        email = f"shopper{customer}@{self.prefix}.example"
        order_id = f"{4_500_000_000 + index}"
        declared = self.money(math.exp(rng.gauss(8.6, 0.7)))
        shipping = 0 if declared > self.money(7500) else self.money(599)
        region = rng.choice(REGION_POOL)
        address = hashlib.sha256(f"{plan.id}:{customer}".encode()).hexdigest()
        postal = f"{region[2]}{customer % 100:02d}"
        checkout = rng.random() < 0.25
        intent = f"pi_{self.token()}"
        session = f"cs_live_{self.token()}" if checkout else None
        refunded = rng.random()
        full_refund = refunded < 0.015  # refunded in full before shipping: a protection is voided
        partial_refund = 0.015 <= refunded < 0.045
        disputed = rng.random() < 0.0015
        premium = customer_price = contribution = 0
        protection_id = None
        if protected:
            premium = max(self.money(98), round(declared * 0.02))
            contribution = round(premium * 0.2)
            customer_price = premium - contribution
        amount = declared + shipping + customer_price
        refunded_amount = amount if full_refund else (round(amount * rng.uniform(0.1, 0.5)) if partial_refund else 0)
        updated = at + (DAY * rng.uniform(0.2, 3) if refunded_amount else 2)
        self.buffers["payments"].append(
            f"{payment_id}\t{plan.id}\t{intent}\t{intent}\t{opt(session)}\tch_{self.token()}\tsucceeded\t{amount}\t"
            f"{plan.currency}\t{refunded_amount}\t{flag(disputed)}\t{order_id}\t{flag(protected)}\t{email}\t"
            f"{ts(at)}\t{ts(at)}\t{ts(min(updated, self.now))}\n"
        )
        self.delivery("stripe", "checkout.session.completed" if checkout else "payment_intent.succeeded",
                      "protection_created" if protected else "order_recorded", at + 2)  # fmt: skip
        if refunded_amount:
            counters.refund_id += 1
            refund_at = min(updated, self.now)
            self.buffers["stripe_refunds"].append(
                f"{counters.refund_id}\t{plan.id}\tre_{self.token()}\t{payment_id}\t{refunded_amount}\tsucceeded\n"
            )
            self.delivery("stripe", "charge.refunded", "refund_recorded", refund_at)
        protection = None
        if protected:
            protection_id = self.new_id("prot")
            status, reason = "active", None
            if full_refund:
                status = "voided"
            elif rng.random() < 0.002:
                status, reason = "needs_review", "amount_mismatch"
            consent_id = None
            reference = self.quote_reference(declared, premium, customer_price, contribution, at, region, postal)
            if rng.random() < 0.92:
                consent_id = self.new_id("cns")
                shown = at - rng.uniform(60, 1800)
                text = (f"Protect my order against loss, theft and damage for {customer_price / 100:.2f} "
                        f"{plan.currency}. Terms apply.")  # fmt: skip
                self.buffers["consents"].append(
                    f"{consent_id}\t{plan.id}\t{reference}\t{customer_price}\t{plan.currency}\t{text}\t2026-01\t"
                    f"https://shop.example/terms/protection\t{rng.choice(('en-US', 'en-US', 'en-GB', 'zh-CN'))}\t"
                    f"https://shop.example\t{rng.choice(AGENTS)}\t{ts(shown)}\t{ts(shown + 1)}\n"
                )
            line_check = ("confirmed" if rng.random() < 0.995 else "mismatch") if checkout else "not_applicable"
            voided_at = min(updated, self.now) if status == "voided" else None
            self.buffers["protections"].append(
                f"{protection_id}\t{plan.id}\t{payment_id}\t{order_id}\t{status}\t{opt(reason)}\t{flag(disputed)}\t"
                f"{plan.currency}\t{declared}\t{premium}\t{customer_price}\t{contribution}\t{customer_price}\t"
                f"{reference}\t{ts(at + DAY - 1800)}\t{opt(consent_id)}\t{intent}\t{opt(session)}\t{email}\t"
                f"{region[0]}\t{region[1]}\t{postal}\t{line_check}\t{opt_ts(voided_at)}\t{ts(at)}\t"
                f"{ts(voided_at or at + 5)}\n"
            )
            if checkout:
                self.job("confirm_line_items", protection_id, f"line_items-{protection_id}", at, "succeeded", 1)
            protection = (protection_id, status, payment_id, email, address)
        if full_refund:
            return  # refunded before anything shipped
        shipped = at + rng.uniform(0.3, 3) * DAY
        if shipped > self.now - 300:
            return  # not shipped yet
        parcels = 2 if rng.random() < 0.12 else 1
        for parcel in range(parcels):
            value = declared if parcels == 1 else (declared // 2 if parcel == 0 else declared - declared // 2)
            self.shipment(order_id, parcel, shipped + parcel * rng.uniform(0, DAY), value, region, postal, address,
                          protection, partial_refund and parcel == parcels - 1)  # fmt: skip

    def quote_reference(self, declared: int, premium: int, price: int, share: int, at: float, region: tuple[str, ...],
                        postal: str) -> str:  # fmt: skip
        """A reference shaped like quote_token.sign's (`qt_<payload>.<signature>`); its signature is not checked."""
        payload = json.dumps([1, self.plan.id, self.plan.currency, declared, premium, price, share, int(at + DAY),
                              self.token(48), region[0], region[1], postal], separators=(",", ":"))  # fmt: skip
        body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
        return f"qt_{body}.{base64.urlsafe_b64encode(self.rng.randbytes(32)).rstrip(b'=').decode()}"

    def shipment(self, order_id: str, parcel: int, shipped: float, value: int, region: tuple[str, ...], postal: str,
                 address: str, protection: tuple[Any, ...] | None, cancelled: bool) -> None:  # fmt: skip
        rng, plan = self.rng, self.plan
        shipped = min(shipped, self.now - 120)
        shipment_id = self.new_id("shp")
        carrier, url = rng.choice(CARRIER_POOL)
        tracking = f"1Z{self.token(64).upper()}"
        count = 1 if rng.random() < 0.7 else 2
        items = []
        left = value
        for item in range(count):
            sku, name = rng.choice(PRODUCTS)
            price = left if item == count - 1 else left // 2
            items.append({"sku": sku, "quantity": 1, "unit_price": price, "name": name})
            left -= price
        transit = rng.uniform(1.5, 7) * DAY
        fate = rng.random()
        status, delivered_at, last_at, stalled_at = "in_transit", None, shipped, None
        cancelled_at = None
        if cancelled and rng.random() < 0.3:
            status, cancelled_at = "cancelled", shipped + DAY
        elif shipped + transit < self.now:
            if fate < 0.985:
                status, delivered_at, last_at = "delivered", shipped + transit, shipped + transit
            elif fate < 0.993:
                status, last_at, stalled_at = "in_transit", shipped + DAY, shipped + 8 * DAY  # lost on the way
            else:
                status, last_at = "failure", shipped + transit
        else:
            last_at = shipped + min(DAY, (self.now - shipped) / 2)
        stalled_at = stalled_at if stalled_at is not None and stalled_at < self.now else None
        linked = protection[0] if protection is not None else None
        covered = protection is not None and protection[1] == "active"
        reason = None if covered else ("not_protected" if protection is None else f"protection_{protection[1]}")
        updated = max(t for t in (shipped, last_at, delivered_at or 0, cancelled_at or 0) if t is not None)
        self.buffers["shipments"].append(
            f"{shipment_id}\t{plan.id}\tful_{order_id}_{parcel}\t{order_id}\t{opt(linked)}\t{carrier}\t{tracking}\t"
            f"{url}{tracking}\t{status}\t{doc(items)}\t{plan.currency}\t{value}\t{ts(shipped)}\t{ts(last_at)}\t"
            f"{opt_ts(delivered_at)}\t{opt_ts(cancelled_at)}\t{opt(reason)}\t{region[0]}\t{region[1]}\t{postal}\t"
            f"{address}\t{opt_ts(stalled_at)}\t{opt_ts(stalled_at)}\t{NULL}\t{NULL}\t{ts(shipped)}\t{ts(updated)}\n"
        )
        self.delivery("platform", "fulfillments/create", "policy_pending" if covered else "shipment_uninsured", shipped)
        if rng.random() < 0.25:  # the carriers that send events: a few per parcel
            steps = [("in_transit", shipped + 0.4 * (last_at - shipped) + 3600)]
            if delivered_at is not None:
                steps += [("out_for_delivery", delivered_at - 5 * 3600), ("delivered", delivered_at)]
            for step, moment in steps:
                if moment < self.now:
                    self.counters.event_id += 1
                    self.buffers["tracking_events"].append(
                        f"{self.counters.event_id}\t{shipment_id}\t{step}\t{step.replace('_', ' ').capitalize()}\t"
                        f"{region[1]}\t{ts(moment)}\t{ts(moment + 30)}\n"
                    )
                    self.delivery("platform", "fulfillment_events/create", "tracking_recorded", moment + 30)
        if covered and protection is not None:
            policy = self.policy(shipment_id, order_id, protection[0], value, shipped, cancelled_at)
            # Claims: most parcels that never arrived, ~1.2 % of the delivered ones (about 2 % of orders in all).
            lost = delivered_at is None and (stalled_at is not None or status == "failure")
            chance = 0.6 if lost else 0.012 if delivered_at is not None else 0.0
            if policy is not None and rng.random() < chance:
                self.claim(order_id, shipment_id, protection, policy, items, shipped, delivered_at)

    def policy(self, shipment_id: str, order_id: str, protection_id: str, value: int, shipped: float,
               cancelled_at: float | None) -> tuple[str, str, str, int] | None:  # fmt: skip
        rng, plan = self.rng, self.plan
        policy_id = self.new_id("pol")
        provider = "self_insured" if value < self.money(2500) else "sandbox"
        age = self.now - shipped
        fate = rng.random()
        attempts, last_error, next_at, bound_at, cost, reserve = 1, None, None, None, None, None
        certificate = reference = certificate_url = None
        cancel_reason = cancel_status = cancel_requested = policy_cancelled = None
        if age < 600:
            status, attempts, next_at = "pending", 0, shipped
        elif fate < 0.01:
            status, attempts = "failed", rng.choice((1, 8))
            last_error = "insurer refused: the destination is not covered" if attempts == 1 else "insurer timed out"
        elif fate < 0.013 and age < 2 * DAY:
            status, attempts, next_at = "retrying", rng.randint(1, 4), shipped + 3 * 3600
            last_error = "insurer answered 503"
        else:
            status = "bound"
            bound_at = shipped + rng.uniform(1, 30)
            if provider == "self_insured":
                cost, reserve = 0, max(1, round(value * 0.02))
                certificate = f"SELF-{policy_id.removeprefix('pol_')}"
            else:
                cost = round(value * 0.009) + self.money(15)  # the insurer's rate and its fee per parcel
                certificate = f"SBX-{policy_id.removeprefix('pol_')[:16].upper()}"
                certificate_url = f"https://sandbox.insurer.example/certificates/{certificate}"
            reference = policy_id
            if cancelled_at is not None:
                status, policy_cancelled = "cancelled", cancelled_at
                cancel_reason, cancel_status, cancel_requested = "items_refunded", "done", cancelled_at
        self.buffers["policies"].append(
            f"{policy_id}\t{plan.id}\t{shipment_id}\t{order_id}\t{protection_id}\t{provider}\t{status}\t"
            f"{plan.currency}\t{value}\t{opt(cost)}\t{opt(reserve)}\t{opt(certificate)}\t{opt(reference)}\t"
            f"{opt(certificate_url)}\t{NULL}\t{attempts}\t0\t{opt(last_error)}\t{opt_ts(next_at)}\t{NULL}\t"
            f"{opt_ts(cancel_requested)}\t{opt(cancel_reason)}\t{opt(cancel_status)}\t{opt_ts(bound_at)}\t"
            f"{opt_ts(policy_cancelled)}\t{ts(shipped)}\t{ts(policy_cancelled or bound_at or shipped + 60 * attempts)}\n"
        )
        job_status = {"pending": "queued", "retrying": "retrying", "failed": "failed"}.get(status, "succeeded")
        self.job("bind_policy", policy_id, f"sp-{policy_id}-0", shipped, job_status, attempts, last_error, next_at,
                 finished=bound_at)  # fmt: skip
        if cancel_status is not None and cancelled_at is not None:
            self.job("cancel_policy", policy_id, f"cancel-{policy_id}", cancelled_at, "succeeded", 1)
        if status != "bound":
            return None
        return (policy_id, provider, certificate or "", value)

    def claim(self, order_id: str, shipment_id: str, protection: tuple[Any, ...], policy: tuple[str, str, str, int],
              items: list[dict[str, Any]], shipped: float, delivered_at: float | None) -> None:  # fmt: skip
        rng, plan = self.rng, self.plan
        protection_id, _, payment_id, email, address = protection
        policy_id, provider, _certificate, value = policy
        kind = "lost" if delivered_at is None else rng.choices(CLAIM_TYPES[1:], CLAIM_TYPE_WEIGHTS[1:])[0]
        if kind == "lost":
            created = shipped + rng.uniform(12, 40) * DAY
        elif kind == "delayed":
            created = shipped + rng.uniform(8, 15) * DAY
        else:
            created = (delivered_at or shipped) + rng.uniform(0.05, 10) * DAY
        if created > self.now - 600:
            return
        claim_id = self.new_id("clm")
        age = self.now - created
        amount = value if kind in ("lost", "stolen") else max(1, round(value * rng.uniform(0.2, 1)))
        signals = []
        if rng.random() < 0.08:
            signals.append({"code": "repeat_claimant", "detail": "2 earlier claims by this email in 30 days"})
        if rng.random() < 0.02:
            signals.append({"code": "repeat_address", "detail": "another customer's claim went to this address"})
        pick = rng.random()
        if age < 3 * DAY:
            status = (
                "submitted" if pick < 0.45 else "needs_review" if pick < 0.7 else "paid" if pick < 0.9 else "denied"
            )
        else:
            status = ("submitted" if pick < 0.01 else "needs_review" if pick < 0.03 else "approved" if pick < 0.05
                      else "denied" if pick < 0.2 else "reshipped" if pick < 0.3 else "paid")  # fmt: skip
        if signals and status == "submitted":
            status = "needs_review"
        auto = not signals and amount <= self.money(5000) and status == "paid" and rng.random() < 0.6
        decided_at = created + (rng.uniform(5, 120) if auto else rng.uniform(0.1, 3) * DAY)
        decided_at = min(decided_at, self.now - 60)
        open_claim = status in ("submitted", "needs_review")
        paid_at = min(decided_at + rng.uniform(30, 6 * 3600), self.now - 30) if status == "paid" else None
        resolution = {"paid": "refund", "approved": "refund", "reshipped": "reship"}.get(status)
        approved = amount if resolution else None
        reasons = ([{"code": "auto_approved", "message": "Within the automatic approval limit, no signal."}] if auto
                   else [{"code": "merchant_decision", "message": "Decided by the merchant."}] if not open_claim
                   else [{"code": "awaiting_review", "message": "Waits for the merchant."}])  # fmt: skip
        refund_id = f"re_{self.token()}" if status == "paid" else None
        refund_status = "succeeded" if status == "paid" else ("failed" if status == "approved" else None)
        refund_error = "refund_exceeds_balance" if status == "approved" else None
        recovery = recovery_amount = recovery_reference = recovery_provider = None
        if status in ("paid", "reshipped") and approved is not None:
            recovery_provider = provider
            if provider == "self_insured":
                recovery, recovery_amount = "reserve", approved
            else:
                fate = rng.random()
                recovery_reference = f"SBX-{claim_id.removeprefix('clm_')[:16].upper()}-CLA"
                if age < 20 * DAY and fate < 0.6:
                    recovery = rng.choice(("filed", "in_review"))
                elif fate < 0.85:
                    recovery, recovery_amount = "paid", min(approved, value)
                elif fate < 0.95:
                    recovery = "rejected"
                else:
                    recovery = "manual"
        reship_cost = self.money(rng.uniform(600, 1500)) if status == "reshipped" else None
        updated = paid_at or (created if open_claim else decided_at)
        self.buffers["claims"].append(
            f"{claim_id}\t{plan.id}\t{order_id}\t{shipment_id}\t{protection_id}\t{payment_id}\t{policy_id}\t{kind}\t"
            f"{status}\t{rng.choice(('portal', 'portal', 'api'))}\t{email}\t{address}\ten\t"
            f"The parcel {'never arrived' if kind == 'lost' else 'had a problem'} ({kind}).\t"
            f"{doc([{'sku': item['sku'], 'quantity': item['quantity']} for item in items])}\t{plan.currency}\t"
            f"{amount}\t{value}\t{doc(signals)}\t{doc(reasons)}\t"
            f"{'signal' if status == 'needs_review' else NULL}\t"
            f"{NULL if open_claim else ('auto' if auto else 'merchant')}\t{NULL if open_claim else ts(decided_at)}\t"
            f"{opt(resolution)}\t{opt(approved)}\t"
            f"{'The carrier shows the parcel delivered to the address.' if status == 'denied' else NULL}\t"
            f"{f'R{order_id}' if status == 'reshipped' else NULL}\t{opt(reship_cost)}\t0\t{opt(refund_id)}\t"
            f"{opt(refund_status)}\t{opt(refund_error)}\t{opt_ts(paid_at)}\t"
            f"{'stripe_refund' if paid_at else NULL}\t{opt(refund_id)}\t{opt(recovery)}\t{opt(recovery_provider)}\t"
            f"{opt(recovery_reference)}\t{opt(recovery_amount)}\t{NULL}\t"
            f"{'the insurer could not be reached; file it by hand' if recovery == 'manual' else NULL}\t"
            f"{ts(created)}\t{ts(updated)}\n"
        )
        email_fails = rng.random() < 0.01
        self.job("send_email", claim_id, f"email:{claim_id}:claim_received", created,
                 "failed" if email_fails else "succeeded", 8 if email_fails else 1,
                 "SMTP 554: message rejected" if email_fails else None)  # fmt: skip
        if resolution == "refund":
            self.job("refund_claim", claim_id, f"claim-refund:{claim_id}:0", decided_at,
                     "failed" if status == "approved" else "succeeded", 1, refund_error)  # fmt: skip
            if status == "paid" and refund_id:
                self.counters.refund_id += 1
                self.buffers["stripe_refunds"].append(
                    f"{self.counters.refund_id}\t{plan.id}\t{refund_id}\t{payment_id}\t{approved}\tsucceeded\n"
                )
        if recovery is not None and recovery != "reserve":
            self.job("file_insurer_claim", claim_id, f"claim-recovery:{claim_id}", decided_at,
                     "failed" if recovery == "manual" else "succeeded", 8 if recovery == "manual" else 1,
                     "insurer answered 502" if recovery == "manual" else None)  # fmt: skip

    def job(self, kind: str, subject: str, key: str, at: float, status: str, attempts: int,
            error: str | None = None, next_at: float | None = None, finished: float | None = None) -> None:  # fmt: skip
        open_job = status in ("queued", "retrying")
        done_at = None if open_job else min(finished or at + 5 + 60 * attempts, self.now - 1)
        self.buffers["jobs"].append(
            f"{self.new_id('job')}\t{self.plan.id}\t{kind}\t{subject}\t{key}\t{status}\t{{}}\t{attempts}\t8\t"
            f"{ts(next_at or at) if open_job else NULL}\t{NULL}\t{NULL}\t{opt(error)}\t{opt_ts(done_at)}\t{ts(at)}\t"
            f"{ts(done_at or at)}\n"
        )

    def delivery(self, source: str, topic: str, outcome: str, at: float) -> None:
        self.counters.delivery_id += 1
        prefix = "evt_" if source == "stripe" else ""
        self.buffers["webhook_deliveries"].append(
            f"{self.counters.delivery_id}\t{self.plan.id}\t{source}\t{prefix}{self.token()}\t{topic}\t{outcome}\t"
            f"{ts(min(at, self.now - 1))}\n"
        )

    def audit_log(self) -> None:
        """A year of settings changes, key rolls and users: a few a week."""
        moment = self.start + DAY
        rate = "0.02"
        while moment < self.now:
            self.counters.audit_id += 1
            action = self.rng.choices(("settings.updated", "keys.rolled", "user.created"), (0.8, 0.1, 0.1))[0]
            before: Any = None
            after: Any = None
            target = None
            if action == "settings.updated":
                new_rate = self.rng.choice(("0.018", "0.02", "0.022", "0.025"))
                before, after, rate = {"pricing": {"rate": rate}}, {"pricing": {"rate": new_rate}}, new_rate
            elif action == "user.created":
                target = self.new_id("usr")
                after = {"email": f"staff{self.counters.audit_id}@{self.prefix}.example", "role": "staff"}
            self.buffers["audit_log"].append(
                f"{self.counters.audit_id}\t{self.plan.id}\tuser:usr_owner owner@{self.prefix}.example\t{action}\t"
                f"{opt(target)}\t{NULL if before is None else doc(before)}\t{NULL if after is None else doc(after)}\t"
                f"{ts(moment)}\n"
            )
            moment += self.rng.uniform(0.5, 3) * DAY


# ---- the database and the app -----------------------------------------------------------------------------------


def app_environ(database_url: str) -> dict[str, str]:
    """The environment of the app the fill and the timing build (the same SECRET_KEY: secrets are encrypted)."""
    return {
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "HTTPS_ONLY": "0",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ADMIN_LOGINS": "1000/minute",
    }


def make_app(database_url: str) -> Any:
    from plugin import create_app

    return create_app({"ENVIRON": app_environ(database_url), "RESOLVE_INSURER_HOSTS": False})


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def server_url(url: str) -> str:
    """The same server's `postgres` database (to create or drop `url`'s)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/postgres"))


def create_database(url: str, replace: bool) -> None:
    name = database_name(url)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    with psycopg.connect(server_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not replace:
            raise SystemExit(f"database {name} exists; pass --replace to drop and fill it again")
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    with psycopg.connect(server_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def create_shops(app: Any, protections: int) -> list[ShopPlan]:
    """The large shop and two small ones, made as `flask shops create` makes them."""
    from plugin.extensions import db
    from plugin.services.shops import create_shop

    small = max(50, min(2000, protections // 50))
    plans = []
    with app.app_context():
        for name, currency, count, scale in (("Large Jade House", "USD", protections, 1.0),
                                             ("Small Tea Shop", "EUR", small, 0.92),
                                             ("Small Kimono Shop", "JPY", small, 1.5)):  # fmt: skip
            created = create_shop(name, currency, app.extensions["secret_box"])
            plans.append(ShopPlan(created.shop.id, currency, count, scale))
        db.session.remove()
    return plans


@dataclass
class Schema:
    """The keys, constraints and indexes of the filled tables, as PostgreSQL itself writes them back."""

    foreign_keys: list[tuple[str, str, str]]
    keys: list[tuple[str, str, str]]  # primary keys and unique constraints
    indexes: list[str]


def detach_indexes(conn: psycopg.Connection[Any]) -> Schema:
    """Drop the filled tables' indexes and constraints (and the foreign keys that point at them), as pg_restore
    loads: building an index once from sorted rows is far cheaper than growing it a random id at a time."""
    tables = list(COLUMNS)
    foreign_keys = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'"
        " AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s)) ORDER BY 1, 2",
        (tables, tables),
    ).fetchall()
    keys = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid::regclass::text = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (tables,),
    ).fetchall()
    for table, name, _ in foreign_keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for table, name, _ in keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return Schema(foreign_keys, keys, [definition for _, definition in indexes])


def attach_indexes(url: str, schema: Schema, connections: int = 2) -> None:
    """Build the keys and indexes again, a table at a time on each connection, then the foreign keys (which
    PostgreSQL checks over every row) one after another."""
    work: dict[str, list[str]] = {}
    for table, name, definition in schema.keys:
        work.setdefault(table, []).append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in schema.indexes:
        table = definition.split(" ON ", 1)[1].split()[0].removeprefix("public.")
        work.setdefault(table, []).append(definition)
    tables: queue.Queue[str] = queue.Queue()
    biggest_first = ("webhook_deliveries", "shipments", "payments", "jobs", "tracking_events", "policies")
    for table in sorted(work, key=lambda name: biggest_first.index(name) if name in biggest_first else 99):
        if table in work:
            tables.put(table)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SET maintenance_work_mem = '256MB'")
                while not tables.empty():
                    for statement in work[tables.get_nowait()]:
                        conn.execute(statement)  # type: ignore[arg-type]
        except queue.Empty:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("building an index failed") from errors[0]
    with psycopg.connect(url, autocommit=True) as conn:
        for table, name, definition in schema.foreign_keys:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')  # type: ignore[arg-type]


def fill_rows(url: str, plans: list[ShopPlan], *, seed: int, now: float, progress: Callable[[str], None]) -> Counters:
    """Write every plan's year into the migrated database at `url`; the row counts per table in `totals`."""
    rng = random.Random(seed)
    counters = Counters()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        schema = detach_indexes(conn)
        writer = Writer(libpq_url(url))
        try:
            for index, plan in enumerate(plans):
                Year(plan, index, writer, counters, rng, now).fill(progress)
        finally:
            writer.close()
            progress("rows written; building the keys and indexes")
            attach_indexes(libpq_url(url), schema)
    counters.totals = dict(writer.rows)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        progress("rebuilding the reports' pre-aggregates")
        conn.execute("SELECT report_rows_rebuild()")  # the triggers were off during the load
        for table in SERIAL_TABLES:
            top = f"SELECT coalesce(max(id), 0) + 1 FROM {table}"  # noqa: S608 (a table name of ours)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), ({top}), false)")
    return counters


def fill(url: str, protections: int, seed: int, replace: bool) -> None:
    from flask_migrate import upgrade

    started = time.monotonic()
    create_database(url, replace)
    app = make_app(url)
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
    plans = create_shops(app, protections)
    now = float(int(time.time()) // 3600 * 3600)

    def progress(message: str) -> None:
        print(f"  {time.monotonic() - started:6.0f} s  {message}", flush=True)

    counters = fill_rows(url, plans, seed=seed, now=now, progress=progress)
    progress("VACUUM (ANALYZE)")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    print(f"filled {database_name(url)} in {time.monotonic() - started:.0f} s ({size[0] if size else '?'}):")
    for table, count in sorted(counters.totals.items()):
        print(f"  {table:20} {count:>11,}")
    print(f"  large shop: {plans[0].id}")


# ---- timing -----------------------------------------------------------------------------------------------------


@dataclass
class Session:
    """A signed-in browser, roughly: one cookie header, a fresh loopback connection per request."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
                ) -> tuple[Answer, list[str]]:  # fmt: skip
        """One exchange; the answer and its Set-Cookie headers (which the session keeps)."""
        parts = urllib.parse.urlsplit(self.base)
        sent = {**(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            answer = Answer(response.status, data, started, time.monotonic())
            set_cookies = response.headers.get_all("Set-Cookie") or []
        except OSError:
            return Answer(0, b"", started, time.monotonic()), []
        finally:
            connection.close()
        for header in set_cookies:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return answer, set_cookies

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)[0]


def large_shop(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT shop_id FROM protections GROUP BY shop_id ORDER BY count(*) DESC LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("the database holds no protections: run `fill` first")
    return str(row[0])


def owner_and_key(app: Any, shop_id: str) -> str:
    """An owner of the shop (made once) and a new secret key for the reports API (the old ones keep working)."""
    from plugin.extensions import db
    from plugin.models import Shop
    from plugin.services import users
    from plugin.services.shops import roll_keys

    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        if shop is None:
            raise SystemExit(f"no shop {shop_id}")
        if users.find_by_email(OWNER_EMAIL) is None:
            users.create_user(shop, OWNER_EMAIL, OWNER_PASSWORD, "owner")
        keys = roll_keys(shop, datetime.now(UTC), grace=timedelta(days=365))
        db.session.commit()
        db.session.remove()
        return keys.secret_key


def sign_in(base: str) -> Session:
    """Sign the owner in as a browser does: the login page's csrf_token, then the form, keeping the cookie."""
    session = Session(base)
    page = session.get("/admin/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
    if page.status != 200 or token is None:
        raise RuntimeError(f"/admin/login answered {page.status} without a csrf_token")
    form = urllib.parse.urlencode(
        {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "csrf_token": token.group(1).decode()}
    ).encode()
    answer, _ = session.request("POST", "/admin/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    if answer.status not in (302, 303):
        raise RuntimeError(f"signing in answered {answer.status}: {answer.body[:300]!r}")
    if session.get("/admin/").status != 200:
        raise RuntimeError("the dashboard does not answer 200 after signing in")
    return session


@contextmanager
def served(url: str, workers: int) -> Iterator[str]:
    """gunicorn as the Procfile's web process runs it (gunicorn.conf.py read from the repository root)."""
    env = {**os.environ, **app_environ(url)}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "plugin:create_app()"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_up(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        yield base
    finally:
        stop(process)


def time_pages(url: str, loads: int, workers: int, deadline_seconds: float) -> None:
    shop_id = large_shop(url)
    app = make_app(url)
    secret = owner_and_key(app, shop_id)
    today = datetime.now(UTC).date()
    month_ago, year_ago = (today - timedelta(days=30)).isoformat(), (today - timedelta(days=364)).isoformat()
    api = {"Authorization": f"Bearer {secret}"}
    pages: list[tuple[str, str, dict[str, str]]] = [
        ("baseline: /healthz", "/healthz", {}),
        ("reports API, all time", "/api/v1/reports/summary", api),
        ("reports API, last 30 days", f"/api/v1/reports/summary?from={month_ago}", api),
        ("dashboard /admin/", "/admin/", {}),
        ("dashboard, last 365 days", f"/admin/?period=custom&from={year_ago}&to={today}", {}),
        *((f"/admin/{name}", f"/admin/{name}", {}) for name in
          ("protections", "shipments", "claims", "jobs", "deliveries", "audit")),
    ]  # fmt: skip
    with served(url, workers) as base:
        session = sign_in(base)
        timings: dict[str, list[float]] = {label: [] for label, _, _ in pages}
        statuses: dict[str, set[int]] = {label: set() for label, _, _ in pages}
        deadline = time.monotonic() + deadline_seconds
        for round_index in range(loads + 2):  # two warm-up rounds, not counted
            if time.monotonic() > deadline:
                print(f"stopped after {round_index - 2} rounds: --deadline reached")
                break
            for label, path, headers in pages:
                answer = session.get(path, headers)
                statuses[label].add(answer.status)
                if round_index >= 2:
                    timings[label].append(answer.ms)
    load = os.getloadavg()
    baseline = timings[pages[0][0]]
    base50, base95 = percentile(sorted(baseline), 0.5) or 1e-9, percentile(sorted(baseline), 0.95) or 1e-9
    print(f"\n{loads} loads each, round-robin, after 2 warm-up rounds; shop {shop_id}; {os.cpu_count()} CPUs,"
          f" load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1, 5, 15 min)")  # fmt: skip
    print(f"{'page':32} {'status':>7} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>9} {'p95/base':>9}  goal p95 < 300 ms")
    for label, _, _ in pages:
        values = sorted(timings[label])
        codes = statuses[label]
        if codes == {404}:
            print(f"{label:32} {'404':>7} {'':>8} {'':>8} {'':>9} {'':>9}  not built")
            continue
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        shown = ",".join(str(code) for code in sorted(codes))
        verdict = "" if label.startswith("baseline") else ("PASS" if p95 < GOAL_MS and codes == {200} else "FAIL")
        if codes != {200}:
            verdict += f" (answered {shown})"
        print(f"{label:32} {shown:>7} {p50:8.1f} {p95:8.1f} {p50 / base50:9.1f} {p95 / base95:9.1f}  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("fill", "time", "all"))
    parser.add_argument("--database-url", default=DEFAULT_SERVER.rsplit("/", 1)[0] + f"/{DEFAULT_DATABASE}")
    parser.add_argument("--protections", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--replace", action="store_true", help="drop and refill the database if it exists")
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--deadline", type=float, default=900.0, help="stop timing after this many seconds")
    args = parser.parse_args()
    url = args.database_url
    if args.command in ("fill", "all"):
        fill(url, args.protections, args.seed, args.replace or args.command == "all")
    if args.command in ("time", "all"):
        try:
            time_pages(url, args.loads, args.workers, args.deadline)
        finally:
            if args.command == "all":
                drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
