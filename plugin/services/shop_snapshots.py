"""Read-only views of shops for the hot browser endpoints, cached per process for a few seconds."""

from __future__ import annotations

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
from plugin.services.kept_entries import KeptEntries
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


class GrantCache(KeptEntries[KeyGrant | None]):
    """Key grants kept for `ttl` seconds, so a checkout's quotes cost no database round trip.

    A changed setting or a rolled key reaches other processes within `ttl` seconds; this process
    forgets a shop at once when its settings change here.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        super().__init__(ttl, max_entries, clock)

    def get(self, key_hash: str, load: Callable[[str], KeyGrant | None]) -> KeyGrant | None:
        """The cached grant, else `load(key_hash)` (unknown keys are cached too, against floods)."""
        now = self._clock()
        entry = self._fresh(key_hash, now)
        if entry is not None:
            return entry[1]
        grant = load(key_hash)
        self._put(key_hash, grant, since=now)
        return grant

    def peek(self, key_hash: str) -> KeyGrant | None:
        """The grant kept for a known key, without loading anything: None when not kept (or expired) or unknown."""
        entry = self._fresh(key_hash)
        return entry[1] if entry is not None else None

    def forget_shop(self, shop_id: str) -> None:
        """Drop every cached grant of a shop (its settings or keys changed)."""
        self._forget_where(lambda grant: grant is not None and grant.shop.id == shop_id)


def forget_shop_caches(extensions: Mapping[str, Any], shop_id: str) -> None:
    """This process forgets what it kept of a shop whose settings or keys changed: its key grants (quotes) and its
    Stripe webhook secrets (a secret removed here stops verifying here at once; elsewhere within KEY_CACHE_SECONDS)."""
    extensions["grant_cache"].forget_shop(shop_id)
    extensions["stripe_receivers"].forget(shop_id)
