"""The tracking scan's decisions over synthetic tracking histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from plugin.domain.tracking_scan import ParcelTrack, ScanAction, ScanRules, scan_parcel

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = ScanRules(lost_after_days=7, lost_no_update_days=5, lost_until_days=60, merchant_grace_days=2)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def parcel(shipped: float, last: float | None = None, **marks: object) -> ParcelTrack:
    """A parcel shipped `shipped` days ago whose last tracking movement was `last` days ago."""
    base = ParcelTrack(shipped_at=days_ago(shipped), last_tracking_at=days_ago(shipped if last is None else last))
    return replace(base, **marks)  # type: ignore[arg-type]


def test_a_moving_parcel_is_left_alone() -> None:
    assert scan_parcel(parcel(10, last=1), RULES, NOW) == ()


def test_a_young_parcel_without_movement_is_not_stalled_yet() -> None:
    assert scan_parcel(parcel(6), RULES, NOW) == ()  # no update for 6 days, but shipped under 7 days ago


def test_a_stalled_parcel_is_flagged_and_the_merchant_alerted_first() -> None:
    actions = scan_parcel(parcel(8, last=6), RULES, NOW)
    assert actions == (ScanAction.MARK_STALLED, ScanAction.ALERT_MERCHANT)


def test_the_last_update_counts_from_shipping_when_no_tracking_came() -> None:
    assert scan_parcel(parcel(7), RULES, NOW) == (ScanAction.MARK_STALLED, ScanAction.ALERT_MERCHANT)
    assert scan_parcel(parcel(7, last=4.9), RULES, NOW) == ()


def test_delivered_and_cancelled_parcels_are_never_flagged() -> None:
    assert scan_parcel(parcel(20, delivered_at=days_ago(1)), RULES, NOW) == ()
    assert scan_parcel(parcel(20, cancelled_at=days_ago(15)), RULES, NOW) == ()


def test_an_alerted_parcel_waits_for_the_grace_period_before_the_shopper_is_invited() -> None:
    alerted = parcel(9, last=8, stalled_at=days_ago(1), merchant_alerted_at=days_ago(1))
    assert scan_parcel(alerted, RULES, NOW) == ()
    after_grace = replace(alerted, stalled_at=days_ago(2), merchant_alerted_at=days_ago(2))
    assert scan_parcel(after_grace, RULES, NOW) == (ScanAction.INVITE_SHOPPER,)


def test_an_invited_parcel_is_not_invited_again() -> None:
    done = parcel(
        20, last=18, stalled_at=days_ago(10), merchant_alerted_at=days_ago(10), shopper_invited_at=days_ago(8)
    )
    assert scan_parcel(done, RULES, NOW) == ()


def test_no_invitation_when_a_claim_exists_or_the_claim_window_closed() -> None:
    alerted = parcel(20, last=18, stalled_at=days_ago(5), merchant_alerted_at=days_ago(5))
    assert scan_parcel(replace(alerted, has_claim=True), RULES, NOW) == ()
    old = parcel(61, last=50, stalled_at=days_ago(5), merchant_alerted_at=days_ago(5))
    assert scan_parcel(old, RULES, NOW) == ()


def test_zero_grace_invites_in_the_same_scan_that_alerts() -> None:
    rules = replace(RULES, merchant_grace_days=0)
    assert scan_parcel(parcel(8), rules, NOW) == (
        ScanAction.MARK_STALLED,
        ScanAction.ALERT_MERCHANT,
        ScanAction.INVITE_SHOPPER,
    )


def test_a_stalled_parcel_that_moves_again_is_unflagged_but_not_alerted_twice() -> None:
    moved = parcel(12, last=1, stalled_at=days_ago(3), merchant_alerted_at=days_ago(3))
    assert scan_parcel(moved, RULES, NOW) == (ScanAction.CLEAR_STALLED,)
    stuck_again = parcel(20, last=6, stalled_at=None, merchant_alerted_at=days_ago(11))
    assert scan_parcel(stuck_again, RULES, NOW) == (ScanAction.MARK_STALLED, ScanAction.INVITE_SHOPPER)


def test_a_late_parcel_offers_the_delay_compensation_once_when_it_is_on() -> None:
    late = parcel(11, last=1)
    assert scan_parcel(late, RULES, NOW) == ()  # delay_compensation 0: off
    rules = replace(RULES, delay_compensation=500, delayed_after_days=10)
    assert scan_parcel(late, rules, NOW) == (ScanAction.NOTIFY_DELAY,)
    assert scan_parcel(replace(late, delay_notified_at=days_ago(1)), rules, NOW) == ()
    assert scan_parcel(parcel(9, last=1), rules, NOW) == ()
    assert scan_parcel(replace(late, delivered_at=days_ago(0.5)), rules, NOW) == ()


def test_the_rules_read_settings_and_ignore_other_claim_fields() -> None:
    rules = ScanRules.of({"lost_after_days": 3, "merchant_grace_days": 1, "auto_approve_up_to": 100})
    assert (rules.lost_after_days, rules.merchant_grace_days, rules.lost_no_update_days) == (3, 1, 5)
    assert rules.earliest_action_days() == 3
    assert replace(rules, delay_compensation=1, delayed_after_days=2).earliest_action_days() == 2
