"""The claim rules, pure: each window's edges, evidence, the limit, the amount, the signals and the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugin.domain.claims import (
    AffectedItem,
    ClaimRefused,
    ClaimRules,
    ClaimStatus,
    ClaimType,
    DecidedBy,
    FraudFacts,
    ParcelFacts,
    ParcelLine,
    Signal,
    check_approvable,
    check_approved_amount,
    check_customer_limit,
    check_evidence,
    check_window,
    claim_amount,
    claim_transition,
    decide,
    fraud_signals,
)
from plugin.domain.transitions import ForbiddenTransitionError

SHIPPED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RULES = ClaimRules()
SECOND = timedelta(seconds=1)


def parcel(last: datetime = SHIPPED, delivered: datetime | None = None, value: int = 50000, lines=()) -> ParcelFacts:
    return ParcelFacts(SHIPPED, last, delivered, value, tuple(lines))


def refusal(kind: ClaimType, facts: ParcelFacts, now: datetime, rules: ClaimRules = RULES) -> str | None:
    try:
        check_window(kind, facts, rules, now)
    except ClaimRefused as refused:
        return refused.code
    return None


def test_lost_opens_seven_days_after_shipping_when_tracking_is_quiet():
    opens = SHIPPED + timedelta(days=7)
    assert refusal(ClaimType.LOST, parcel(), opens - SECOND) == "outside_claim_window"
    assert refusal(ClaimType.LOST, parcel(), opens) is None


def test_lost_waits_five_days_after_the_last_tracking_update():
    last = SHIPPED + timedelta(days=4)
    opens = last + timedelta(days=5)  # day 9: later than day 7
    assert refusal(ClaimType.LOST, parcel(last), opens - SECOND) == "outside_claim_window"
    assert refusal(ClaimType.LOST, parcel(last), opens) is None


def test_lost_closes_sixty_days_after_shipping():
    closes = SHIPPED + timedelta(days=60)
    assert refusal(ClaimType.LOST, parcel(), closes) is None
    assert refusal(ClaimType.LOST, parcel(), closes + SECOND) == "outside_claim_window"


def test_the_window_message_names_the_date():
    with pytest.raises(ClaimRefused) as refused:
        check_window(ClaimType.LOST, parcel(), RULES, SHIPPED + timedelta(days=1))
    assert "2026-11-08" in refused.value.message


def test_lost_on_a_delivered_parcel_points_to_stolen():
    with pytest.raises(ClaimRefused) as refused:
        check_window(ClaimType.LOST, parcel(delivered=SHIPPED + timedelta(days=2)), RULES, SHIPPED + timedelta(days=9))
    assert refused.value.code == "parcel_delivered" and refused.value.extra["suggested_type"] == "stolen"


def test_stolen_within_fifteen_days_of_delivery_only():
    delivered = SHIPPED + timedelta(days=3)
    facts = parcel(delivered, delivered)
    assert refusal(ClaimType.STOLEN, facts, delivered + timedelta(days=15)) is None
    assert refusal(ClaimType.STOLEN, facts, delivered + timedelta(days=15) + SECOND) == "outside_claim_window"
    assert refusal(ClaimType.STOLEN, parcel(), SHIPPED + timedelta(days=3)) == "outside_claim_window"


@pytest.mark.parametrize("kind", [ClaimType.DAMAGED, ClaimType.MISSING_ITEMS])
def test_damaged_and_missing_items_share_the_damaged_window(kind):
    delivered = SHIPPED + timedelta(days=3)
    rules = ClaimRules(damaged_within_days=5)
    assert refusal(kind, parcel(delivered, delivered), delivered + timedelta(days=5), rules) is None
    assert refusal(kind, parcel(delivered, delivered), delivered + timedelta(days=5, seconds=1), rules)
    # no delivered scan: counted from the last tracking update
    assert refusal(kind, parcel(delivered), delivered + timedelta(days=5, seconds=1), rules) == "outside_claim_window"


def test_delayed_opens_when_the_parcel_is_late():
    rules = ClaimRules(delay_compensation=500)
    due = SHIPPED + timedelta(days=10)
    assert refusal(ClaimType.DELAYED, parcel(), due - SECOND, rules) == "outside_claim_window"
    assert refusal(ClaimType.DELAYED, parcel(), due, rules) is None
    on_time = SHIPPED + timedelta(days=9)
    assert refusal(ClaimType.DELAYED, parcel(on_time, on_time), due + SECOND, rules) == "outside_claim_window"
    late = SHIPPED + timedelta(days=12)
    assert refusal(ClaimType.DELAYED, parcel(late, late), late, rules) is None


def test_a_damaged_claim_needs_a_photo_unless_the_shop_waives_it():
    with pytest.raises(ClaimRefused) as refused:
        check_evidence(ClaimType.DAMAGED, 0, RULES)
    assert refused.value.code == "evidence_required"
    check_evidence(ClaimType.DAMAGED, 1, RULES)
    check_evidence(ClaimType.DAMAGED, 0, ClaimRules(damaged_requires_photo=False))
    check_evidence(ClaimType.LOST, 0, RULES)


def test_the_customer_limit():
    check_customer_limit(2, RULES)
    with pytest.raises(ClaimRefused) as refused:
        check_customer_limit(3, RULES)
    assert refused.value.code == "claim_limit_reached"
    check_customer_limit(50, ClaimRules(max_claims_per_customer=0))  # 0: no limit


def test_the_amount_is_the_affected_items_capped_at_cover():
    lines = [ParcelLine("A", 2, 10000), ParcelLine("B", 1, 30000)]
    facts = parcel(value=35000, lines=lines)
    assert claim_amount(ClaimType.DAMAGED, facts, [AffectedItem("A", 1)], RULES) == (10000, {})
    assert claim_amount(ClaimType.DAMAGED, facts, [AffectedItem("A", 2), AffectedItem("B", 1)], RULES) == (35000, {})
    assert claim_amount(ClaimType.LOST, facts, [], RULES) == (35000, {})
    _, errors = claim_amount(ClaimType.DAMAGED, facts, [AffectedItem("A", 3)], RULES)
    assert "items.0.quantity" in errors
    _, errors = claim_amount(ClaimType.DAMAGED, facts, [AffectedItem("Z", 1)], RULES)
    assert "items.0.sku" in errors


def test_unpriced_items_claim_the_parcels_cover_and_delay_pays_the_flat_amount():
    facts = parcel(value=20000, lines=[ParcelLine("A", 1, None)])
    assert claim_amount(ClaimType.DAMAGED, facts, [AffectedItem("A", 1)], RULES) == (20000, {})
    assert claim_amount(ClaimType.DELAYED, facts, [], ClaimRules(delay_compensation=500)) == (500, {})


def test_signals():
    delivered = SHIPPED + timedelta(days=2)
    facts = FraudFacts(
        earlier_claims_by_email=["clm_a"],
        earlier_claims_at_address=["clm_b"],
        reused_evidence={"box.jpg": "clm_c"},
        similar_evidence={"box2.jpg": "clm_d"},
        recent_order_values=[1000, 2000, 3000, 4000, 5000],
    )
    found = fraud_signals(
        ClaimType.STOLEN, 20000, parcel(delivered, delivered), facts, delivered + timedelta(minutes=29)
    )
    assert [f.signal for f in found] == [
        Signal.REPEAT_CLAIMANT,
        Signal.REPEAT_ADDRESS,
        Signal.EVIDENCE_REUSED,
        Signal.EVIDENCE_SIMILAR,
        Signal.FILED_RIGHT_AFTER_DELIVERY,
        Signal.HIGH_VALUE,
    ]
    late = fraud_signals(
        ClaimType.STOLEN, 15000, parcel(delivered, delivered), FraudFacts(), delivered + timedelta(minutes=31)
    )
    assert late == []


def test_high_value_needs_enough_orders_to_know_the_median():
    few = FraudFacts(recent_order_values=[100, 100, 100, 100])
    assert fraud_signals(ClaimType.LOST, 10**6, parcel(), few, SHIPPED) == []


def test_decisions():
    clean = decide(1000, [], disputed=False, refundable=True, rules=ClaimRules(auto_approve_up_to=1000))
    assert (clean.status, clean.decided_by) == (ClaimStatus.APPROVED, DecidedBy.AUTO)
    above = decide(1001, [], disputed=False, refundable=True, rules=ClaimRules(auto_approve_up_to=1000))
    assert above.status is ClaimStatus.SUBMITTED and above.reasons[0].code == "above_auto_approval"
    no_stripe = decide(10, [], disputed=False, refundable=False, rules=ClaimRules(auto_approve_up_to=1000))
    assert no_stripe.status is ClaimStatus.SUBMITTED
    flagged = fraud_signals(ClaimType.LOST, 10, parcel(), FraudFacts(earlier_claims_by_email=["clm_x"]), SHIPPED)
    review = decide(10, flagged, disputed=False, refundable=True, rules=ClaimRules(auto_approve_up_to=1000))
    assert review.status is ClaimStatus.NEEDS_REVIEW and review.reasons[0].code == "repeat_claimant"
    disputed = decide(10, [], disputed=True, refundable=True, rules=ClaimRules(auto_approve_up_to=1000))
    assert disputed.status is ClaimStatus.NEEDS_REVIEW and disputed.reasons[0].code == "payment_disputed"


def test_a_claim_is_decided_once_and_never_while_disputed():
    for status in ("approved", "denied", "paid", "reshipped"):
        with pytest.raises(ClaimRefused) as refused:
            check_approvable(status, False)
        assert refused.value.code == "claim_already_decided" and refused.value.status == 409
    with pytest.raises(ClaimRefused) as refused:
        check_approvable("needs_review", True)
    assert refused.value.code == "payment_disputed"
    check_approvable("submitted", False)


def test_an_approved_amount_never_exceeds_cover():
    assert check_approved_amount(None, 300, 500) == 300
    assert check_approved_amount(500, 300, 500) == 500
    with pytest.raises(ClaimRefused):
        check_approved_amount(501, 300, 500)


def test_claim_states():
    assert claim_transition("submitted", ClaimStatus.APPROVED) is ClaimStatus.APPROVED
    assert claim_transition("paid", ClaimStatus.APPROVED) is ClaimStatus.APPROVED  # refund.failed
    with pytest.raises(ForbiddenTransitionError):
        claim_transition("denied", ClaimStatus.APPROVED)
    with pytest.raises(ForbiddenTransitionError):
        claim_transition("reshipped", ClaimStatus.PAID)
