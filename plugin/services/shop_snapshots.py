"""Read-only views of shops for the hot browser endpoints, cached per process for a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from plugin.domain.coverages import CoveragePlan
from plugin.domain.performance import PerformanceFigures
from plugin.domain.pricing import PricingRules
from plugin.domain.settings import coverage_plan, pricing_rules
from plugin.extensions import db
from plugin.models import ApiKey, Shop, ShopPerformance
from plugin.services.performance import stored_figures
from plugin.services.settings import effective_settings

if TYPE_CHECKING:
    from plugin.offer_texts import OfferKind


@dataclass(frozen=True, slots=True)
class ShopSnapshot:
    """What quoting needs of a shop: its currency and its settings, already parsed into rules."""

    id: str
    name: str
    currency: str
    settings: Mapping[str, Any]
    rules: PricingRules
    # The shop's last-30-day figures, for price tiers (None: not measured yet, or not needed).
    performance: PerformanceFigures | None = None
    # Each enabled coverage's premium rule (None: derived from `settings` when quoting).
    plan: CoveragePlan | None = None
    # Which offer words the settings call for (None: derived from `settings` when quoting).
    offer_kind: OfferKind | None = None


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What an API key grants: a kind of access to one shop, until an optional expiry."""

    kind: str
    expires_at: datetime | None
    shop: ShopSnapshot


def snapshot_of(shop: Shop, performance: ShopPerformance | None = None) -> ShopSnapshot:
    """A detached, immutable view of a shop, with its figures as the worker last stored them (`performance`: the
    shop's stored row when the caller already read it; else it is read here)."""
    from plugin.offer_texts import offer_kind  # it imports the quote service, which imports this module

    settings = effective_settings(shop)
    row = performance if performance is not None else db.session.get(ShopPerformance, shop.id)
    return ShopSnapshot(
        shop.id,
        shop.name,
        shop.currency,
        settings,
        pricing_rules(settings),
        stored_figures(row),
        plan=coverage_plan(settings),
        offer_kind=offer_kind(settings),
    )


def load_grant(key_hash: str) -> KeyGrant | None:
    """The grant of a key, read from the database."""
    row = db.session.execute(
        select(ApiKey.kind, ApiKey.expires_at, Shop, ShopPerformance)
        .join(Shop, Shop.id == ApiKey.shop_id)
        .outerjoin(ShopPerformance, ShopPerformance.shop_id == Shop.id)
        .where(ApiKey.key_hash == key_hash)
    ).first()
    if row is None:
        return None
    kind, expires_at, shop, performance = row
    return KeyGrant(kind, expires_at, snapshot_of(shop, performance))


class GrantCache:
    """Key grants kept for `ttl` seconds, so a checkout's quotes cost no database round trip.

    A changed setting or a rolled key reaches other processes within `ttl` seconds; this process
    forgets a shop at once when its settings change here.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, KeyGrant | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str, load: Callable[[str], KeyGrant | None]) -> KeyGrant | None:
        """The cached grant, else `load(key_hash)` (unknown keys are cached too, against floods)."""
        now = self._clock()
        entry = self._entries.get(key_hash)
        if entry is not None and entry[0] > now:
            return entry[1]
        grant = load(key_hash)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # crude but bounded: a flood of random keys cannot grow memory
            self._entries[key_hash] = (now + self._ttl, grant)
        return grant

    def peek(self, key_hash: str) -> KeyGrant | None:
        """The grant kept for a known key, without loading anything: None when not kept (or expired) or unknown."""
        entry = self._entries.get(key_hash)
        return entry[1] if entry is not None and entry[0] > self._clock() else None

    def forget_shop(self, shop_id: str) -> None:
        """Drop every cached grant of a shop (its settings or keys changed)."""
        with self._lock:
            for key_hash in [h for h, (_, grant) in self._entries.items() if grant and grant.shop.id == shop_id]:
                del self._entries[key_hash]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


def forget_shop_caches(extensions: Mapping[str, Any], shop_id: str) -> None:
    """This process forgets what it kept of a shop whose settings or keys changed: its key grants (quotes) and its
    Stripe webhook secrets (a secret removed here stops verifying here at once; elsewhere within KEY_CACHE_SECONDS)."""
    extensions["grant_cache"].forget_shop(shop_id)
    extensions["stripe_receivers"].forget(shop_id)
