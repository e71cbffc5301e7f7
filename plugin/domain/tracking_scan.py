"""The proactive tracking scan's decisions: which parcels are stalled or late, and who is told what, once.

Pure: the service (plugin/services/tracking_scan.py) reads the parcels, asks `scan_parcel`, and carries out the
actions it answers in one transaction, stamping each on the shipment so no action repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class ScanAction(StrEnum):
    """One thing the scan does to a parcel."""

    MARK_STALLED = "mark_stalled"  # no tracking movement for too long: flag it
    CLEAR_STALLED = "clear_stalled"  # it moved again before the shopper was invited: unflag it
    ALERT_MERCHANT = "alert_merchant"  # first, the merchant (email + tracking.stalled webhook)
    INVITE_SHOPPER = "invite_shopper"  # after the merchant's grace period, the shopper is invited to claim
    NOTIFY_DELAY = "notify_delay"  # late: the shopper may claim the delay compensation


@dataclass(frozen=True, slots=True)
class ScanRules:
    """The `claims.*` settings the scan reads."""

    lost_after_days: int = 7
    lost_no_update_days: int = 5
    lost_until_days: int = 60
    merchant_grace_days: int = 2
    delayed_after_days: int = 10
    delay_compensation: int = 0

    @classmethod
    def of(cls, claims_settings: Mapping[str, Any]) -> ScanRules:
        """The rules of a validated `claims` settings object."""
        names = cls.__dataclass_fields__
        return cls(**{name: value for name, value in claims_settings.items() if name in names})

    def earliest_action_days(self) -> int:
        """A parcel shipped fewer days ago than this needs no look yet."""
        days = self.lost_after_days
        if self.delay_compensation > 0:
            days = min(days, self.delayed_after_days)
        return days


@dataclass(frozen=True, slots=True)
class ParcelTrack:
    """A parcel as the scan sees it: its tracking and what the scan already did to it."""

    shipped_at: datetime
    last_tracking_at: datetime  # shipped_at when no tracking event came
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    stalled_at: datetime | None = None
    merchant_alerted_at: datetime | None = None
    shopper_invited_at: datetime | None = None
    delay_notified_at: datetime | None = None
    has_claim: bool = False


def is_stalled(parcel: ParcelTrack, rules: ScanRules, now: datetime) -> bool:
    """Past `lost_after_days` since shipping with no tracking movement for `lost_no_update_days`."""
    last_movement = max(parcel.last_tracking_at, parcel.shipped_at)
    return now - parcel.shipped_at >= timedelta(days=rules.lost_after_days) and now - last_movement >= timedelta(
        days=rules.lost_no_update_days
    )


def scan_parcel(parcel: ParcelTrack, rules: ScanRules, now: datetime) -> tuple[ScanAction, ...]:
    """What to do to this parcel now; each action at most once per parcel (the stamps say what was done)."""
    if parcel.delivered_at is not None or parcel.cancelled_at is not None:
        return ()
    actions: list[ScanAction] = []
    age = now - parcel.shipped_at
    window_open = age < timedelta(days=rules.lost_until_days)  # after it no claim can be filed: inviting is cruel
    last_movement = max(parcel.last_tracking_at, parcel.shipped_at)
    stalled_at = parcel.stalled_at
    if stalled_at is not None and last_movement > stalled_at and parcel.shopper_invited_at is None:
        actions.append(ScanAction.CLEAR_STALLED)
        stalled_at = None
    if is_stalled(parcel, rules, now):
        if stalled_at is None:
            actions.append(ScanAction.MARK_STALLED)
        alerted_at = parcel.merchant_alerted_at
        if alerted_at is None:
            actions.append(ScanAction.ALERT_MERCHANT)
            alerted_at = now
        grace_over = now >= alerted_at + timedelta(days=rules.merchant_grace_days)
        if parcel.shopper_invited_at is None and not parcel.has_claim and grace_over and window_open:
            actions.append(ScanAction.INVITE_SHOPPER)
    late = age >= timedelta(days=rules.delayed_after_days)
    unclaimed = parcel.delay_notified_at is None and not parcel.has_claim
    if rules.delay_compensation > 0 and late and unclaimed and window_open:
        actions.append(ScanAction.NOTIFY_DELAY)
    return tuple(actions)
