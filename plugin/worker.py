"""The policy drain: lease due policies, call the insurer outside any transaction, record the outcome.

A worker killed at any point loses nothing: its lease lapses, another worker takes the policy again, and
the idempotency key (or, for insurers without one, a look-up by our reference) stops a second purchase.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask

from plugin.domain.policies import PolicyStatus, after_failure, prorated, retry_delay
from plugin.extensions import db
from plugin.insurers.base import Binding, Insurer, InsurerError, Parcel, ParcelItem
from plugin.insurers.registry import insurer_for
from plugin.models import Policy, Protection, Shipment, Shop, utcnow
from plugin.services.policies import claim_due, held, release
from plugin.services.settings import effective_settings, read_secrets

log = logging.getLogger(__name__)
_CREDENTIALS = ("insurer.config.api_key", "insurer.config.api_secret")


@dataclass
class WorkerStats:
    """What a worker did since it started."""

    bound: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    lost_lease: int = 0


@dataclass
class PolicyWorker:
    """Drains due policies in batches; many of these may run at once, on many machines."""

    app: Flask
    batch_size: int = 10
    lease: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = utcnow
    jitter: Callable[[], float] = random.random
    insurer_factory: Callable[..., Insurer] = insurer_for
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    stats: WorkerStats = field(default_factory=WorkerStats)

    def run_once(self) -> int:
        """Lease one batch and work through it; how many policies it leased."""
        with self.app.app_context():
            claimed = claim_due(self.clock(), limit=self.batch_size, lease=self.lease, token=self.token)
            for policy_id in claimed:
                self._work(policy_id)
                db.session.remove()
            return len(claimed)

    def drain(self) -> WorkerStats:
        """Everything due now, then return."""
        while self.run_once():
            pass
        return self.stats

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> WorkerStats:
        """Work until `stop` is set, sleeping `poll_seconds` when nothing is due."""
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # a bug or a lost database must not end the loop: the lease lapses, we go on
                log.exception("worker batch failed; continuing")
                worked = 0
            if not worked:
                stop.wait(poll_seconds)
        return self.stats

    # ---- one policy ----------------------------------------------------------------------------------------

    def _insurer(self, shop: Shop, provider: str) -> Insurer:
        settings = effective_settings(shop)
        same = provider == settings["insurer"]["provider"]
        config = settings["insurer"]["config"] if same else {}
        credentials = read_secrets(shop, _CREDENTIALS, self.app.extensions["secret_box"]) if same else {}
        return self.insurer_factory(
            provider,
            config,
            {name.rsplit(".", 1)[1]: value for name, value in credentials.items()},
            engine=db.engine,
            allow_private=self.app.config["ALLOW_PRIVATE_INSURER_HOSTS"],
            resolve_hosts=self.app.config.get("RESOLVE_INSURER_HOSTS", True),
        )

    def _parcel(self, policy: Policy, shop: Shop) -> Parcel:
        shipment = db.session.get(Shipment, policy.shipment_id)
        protection = db.session.get(Protection, policy.protection_id) if policy.protection_id else None
        premium_share = 0
        if protection is not None:
            premium_share = prorated(
                protection.premium_amount, policy.sum_insured_amount, protection.declared_value_amount
            )
        assert shipment is not None
        # The shipment's destination (the store's, else its protection's quote's, copied when it was recorded).
        where = shipment if shipment.destination_country or protection is None else protection
        return Parcel(
            reference=policy.id,
            shop_id=shop.id,
            shop_name=shop.name,
            order_id=policy.order_id,
            shipment_ref=shipment.shipment_ref,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            sum_insured=policy.sum_insured_amount,
            currency=policy.currency,
            shipped_at=shipment.shipped_at,
            destination_country=where.destination_country,
            destination_region=where.destination_region,
            destination_postal_code=where.destination_postal_code,
            customer_email=protection.customer_email if protection else None,
            items=tuple(
                ParcelItem(item["sku"], item["quantity"], item.get("unit_price"), item.get("name"))
                for item in shipment.items or []
            ),
            premium_share=premium_share,
        )

    def _work(self, policy_id: str) -> None:
        policy = held(policy_id, self.token)
        if policy is None:
            self.stats.lost_lease += 1
            db.session.rollback()
            return
        shop = db.session.get(Shop, policy.shop_id)
        assert shop is not None
        try:
            insurer = self._insurer(shop, policy.provider)
            parcel = self._parcel(policy, shop)
        except InsurerError as exc:
            self._record_failure(policy.id, exc)
            return
        if policy.status == PolicyStatus.BOUND:
            self._cancel(policy, insurer)
        else:
            self._bind(policy, insurer, parcel)

    def _bind(self, policy: Policy, insurer: Insurer, parcel: Parcel) -> None:
        key = f"sp-{policy.id}-{policy.key_generation}"
        try:
            if policy.in_doubt_since is not None and not insurer.idempotent_bind:
                # The last attempt's outcome was lost; this insurer cannot replay it, so ask before buying.
                found = insurer.find(parcel)
                if found is not None:
                    self._record_bound(policy.id, found)
                    return
            policy.attempts += 1
            policy.in_doubt_since = self.clock()
            db.session.commit()  # from here until the outcome is recorded, the purchase is "in doubt"
            binding = insurer.bind(parcel, key)
        except InsurerError as exc:
            self._record_failure(policy.id, exc)
            return
        self._record_bound(policy.id, binding)

    def _record_bound(self, policy_id: str, binding: Binding) -> None:
        policy = held(policy_id, self.token)
        if policy is None:  # our lease lapsed and another worker owns the policy: it will find the booking
            self.stats.lost_lease += 1
            db.session.rollback()
            return
        now = self.clock()
        policy.status = PolicyStatus.BOUND
        policy.certificate = binding.certificate
        policy.provider_reference = binding.provider_reference
        policy.certificate_url = binding.certificate_url
        policy.sum_insured_amount = binding.sum_insured
        policy.cost_amount = binding.cost
        policy.reserve_amount = binding.reserve
        policy.bound_at = now
        policy.last_error = None
        policy.in_doubt_since = None
        # A cancellation asked for while the purchase was under way is carried out next.
        policy.next_attempt_at = now if policy.cancel_requested_at else None
        release(policy)
        db.session.commit()
        self.stats.bound += 1
        log.info("policy bound", extra={"policy": policy_id, "provider": policy.provider})

    def _record_failure(self, policy_id: str, error: InsurerError) -> None:
        db.session.rollback()
        policy = held(policy_id, self.token)
        if policy is None:
            self.stats.lost_lease += 1
            db.session.rollback()
            return
        now = self.clock()
        policy.last_error = error.message[:1000]
        policy.in_doubt_since = None if not error.retryable else policy.in_doubt_since
        if policy.status == PolicyStatus.BOUND:  # a cancellation failed: the policy stays bound
            if error.retryable:
                policy.next_attempt_at = now + retry_delay(max(1, policy.attempts), self.jitter)
            else:
                policy.cancel_requested_at = None
        else:
            status = after_failure(policy.attempts, error.retryable)
            policy.status = status
            policy.next_attempt_at = now + retry_delay(policy.attempts, self.jitter) if status == "retrying" else None
            if status == PolicyStatus.FAILED:
                self.stats.failed += 1
            else:
                self.stats.retried += 1
        release(policy)
        db.session.commit()
        log.warning(
            "insurer call failed",
            extra={"policy": policy_id, "retryable": error.retryable, "error": policy.last_error},
        )

    def _cancel(self, policy: Policy, insurer: Insurer) -> None:
        reference = policy.provider_reference or policy.certificate or ""
        try:
            outcome = insurer.cancel(reference, policy.cancel_reason or "CANREQ")
        except InsurerError as exc:
            self._record_failure(policy.id, exc)
            return
        policy = held(policy.id, self.token)
        if policy is None:
            db.session.rollback()
            return
        now = self.clock()
        if outcome.cancelled:
            policy.status = PolicyStatus.CANCELLED
            policy.cancelled_at = now
            self.stats.cancelled += 1
        else:
            policy.last_error = f"cancellation refused: {outcome.message or 'the insurer does not allow it'}"[:1000]
        policy.next_attempt_at = None
        release(policy)
        db.session.commit()


def run(app: Flask, *, drain: bool, stop: threading.Event | None = None, poll_seconds: float = 1.0) -> WorkerStats:
    """The `flask worker` loop."""
    worker = PolicyWorker(app)
    if drain:
        return worker.drain()
    return worker.run_forever(stop or threading.Event(), poll_seconds)
