"""The return cover's payout and the frequent-returner rule, in pure terms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.domain.claims import FILED_TYPES, ClaimStatus, ClaimType, claim_transition
from plugin.domain.returns import ReturnRules, is_frequent, payout_ratio, return_payout


@pytest.mark.parametrize(
    ("label_cost", "ratio", "cap", "expected"),
    [
        (800, "1", None, 800),
        (999, "0.5", None, 500),  # 499.5 rounds half up
        (999, "0.25", None, 250),  # 249.75
        (1001, "0.5", None, 501),  # 500.5
        (999, "0.5", 300, 300),  # capped
        (100, "0.5", 300, 50),  # under the cap
        (0, "1", None, 0),
        (800, "0", None, 0),
        (800, "1", 0, 0),
    ],
)
def test_return_payout(label_cost, ratio, cap, expected):
    assert return_payout(label_cost, Decimal(ratio), cap) == expected


def test_a_shopper_is_frequent_from_frequent_after_earlier_returns():
    rules = ReturnRules.of({"frequent_after": 5, "payout_ratio": "1", "frequent_payout_ratio": "0.5"})
    assert [is_frequent(n, rules) for n in (0, 4, 5, 6)] == [False, False, True, True]
    assert payout_ratio(4, rules) == Decimal(1) and payout_ratio(5, rules) == Decimal("0.5")


def test_rules_from_settings_defaults():
    rules = ReturnRules.of({"enabled": True, "max_payout": 1500})
    assert (rules.enabled, rules.max_payout, rules.frequent_after, rules.pay_within_hours) == (True, 1500, 5, 48)


def test_return_shipping_is_a_claim_type_never_filed_and_an_approved_claim_may_still_be_denied():
    assert ClaimType.RETURN_SHIPPING not in FILED_TYPES and ClaimType.LOST in FILED_TYPES
    assert claim_transition("approved", ClaimStatus.DENIED) is ClaimStatus.DENIED
