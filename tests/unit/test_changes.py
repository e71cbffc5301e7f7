"""The audit log's before and after: only the fields that changed, each on the side where it exists."""

from __future__ import annotations

from plugin.domain.changes import changed_fields, leaves


def test_only_changed_fields_are_kept_on_both_sides() -> None:
    before = {"pricing": {"rate": "0.02", "minimum": 0, "category_rates": {"jewelry": "0.03"}}, "claims": {"n": 1}}
    after = {"pricing": {"rate": "0.03", "minimum": 0, "category_rates": {"jewelry": "0.04"}}, "claims": {"n": 1}}
    assert changed_fields(before, after) == (
        {"pricing": {"rate": "0.02", "category_rates": {"jewelry": "0.03"}}},
        {"pricing": {"rate": "0.03", "category_rates": {"jewelry": "0.04"}}},
    )


def test_a_field_that_appears_or_goes_is_on_one_side_only() -> None:
    before = {"insurer": {"provider": "sandbox", "config": {"latency_ms": 0}}}
    after = {"insurer": {"provider": "loadsure", "config": {"api_key": "ls_…abcd"}}}
    assert changed_fields(before, after) == (
        {"insurer": {"provider": "sandbox", "config": {"latency_ms": 0}}},
        {"insurer": {"provider": "loadsure", "config": {"api_key": "ls_…abcd"}}},
    )


def test_equal_documents_change_nothing_unless_a_path_must_count() -> None:
    document = {"stripe": {"webhook_secret": "whsec_…abcd"}, "eligibility": {"excluded_countries": ["HK"]}}
    assert changed_fields(document, document) == ({}, {})
    assert changed_fields(document, document, always=["stripe.webhook_secret"]) == (
        {"stripe": {"webhook_secret": "whsec_…abcd"}},
        {"stripe": {"webhook_secret": "whsec_…abcd"}},
    )


def test_lists_and_merchant_keyed_objects_are_single_values() -> None:
    document = {"eligibility": {"excluded_skus": ["A", "B"]}, "pricing": {"category_rates": {"a.b": "0.1"}}}
    assert dict(leaves(document)) == {
        "eligibility.excluded_skus": ["A", "B"],
        "pricing.category_rates": {"a.b": "0.1"},
    }
