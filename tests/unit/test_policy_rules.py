from datetime import timedelta

import pytest

from plugin.domain.jobs import DEFAULT_RETRY_BASE, backoff
from plugin.domain.policies import (
    MAX_ATTEMPTS,
    PolicyStatus,
    ProviderRule,
    after_failure,
    choose_provider,
    insured_value,
    prorated,
)


def retry_delay(attempts, random):
    return backoff(attempts, DEFAULT_RETRY_BASE, random)


def test_backoff_doubles_with_jitter_and_spans_about_a_day():
    assert retry_delay(1, lambda: 0.5) == timedelta(minutes=10)
    assert retry_delay(2, lambda: 0.5) == timedelta(minutes=20)
    assert retry_delay(3, lambda: 0.0) == timedelta(minutes=30)  # 40 x 0.75
    assert retry_delay(3, lambda: 1.0) == timedelta(minutes=50)  # 40 x 1.25
    assert retry_delay(30, lambda: 0.5) == timedelta(hours=12)  # capped
    total = sum((retry_delay(n, lambda: 0.5) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert timedelta(hours=18) < total < timedelta(hours=30)


@pytest.mark.parametrize(
    ("attempts", "retryable", "status"),
    [(1, True, PolicyStatus.RETRYING), (7, True, PolicyStatus.RETRYING), (8, True, PolicyStatus.FAILED),
     (1, False, PolicyStatus.FAILED)],
)  # fmt: skip
def test_after_failure(attempts, retryable, status):
    assert after_failure(attempts, retryable) is status


@pytest.mark.parametrize(
    ("items", "declared", "already", "expected"),
    [
        (30_000, 50_000, 0, 30_000),  # the parcel's own items
        (30_000, 50_000, 30_000, 20_000),  # capped at what is left of the order
        (None, 50_000, 30_000, 20_000),  # no prices: all that is left
        (10_000, 50_000, 50_000, 0),  # nothing left
        (10_000, None, 0, 10_000),  # not protected (all-orders scope): the items' value
        (None, None, 0, None),  # nothing says what it is worth
    ],
)
def test_insured_value(items, declared, already, expected):
    assert insured_value(items, declared, already) == expected


def test_choose_provider_by_value():
    rules = [ProviderRule(100_000, "self_insured"), ProviderRule(None, "loadsure")]
    assert choose_provider(100_000, rules, "sandbox") == "self_insured"
    assert choose_provider(100_001, rules, "sandbox") == "loadsure"
    assert choose_provider(5, [], "sandbox") == "sandbox"
    assert choose_provider(500, [ProviderRule(100, "self_insured")], "xcover") == "xcover"


def test_prorated_is_exact_and_rounds_down():
    assert prorated(1000, 30_000, 50_000) == 600
    assert prorated(999, 1, 3) == 333
    assert prorated(1000, 1, 0) == 0
