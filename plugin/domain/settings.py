"""A shop's settings document: its defaults, its secret fields, and the pricing rules it yields."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from plugin.domain.coverages import CoveragePlan, CoverageRule, CoverageType
from plugin.domain.merge_patch import deep_merge
from plugin.domain.performance import tiers_from_settings
from plugin.domain.pricing import Band, PricingMode, PricingRules, normalise_category

PROVIDERS = ("sandbox", "self_insured", "xcover", "loadsure")

# Where each insurer's API lives when the merchant names no other host.
PROVIDER_DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    "sandbox": {"base_url": None, "latency_ms": 0, "failure_rate": "0"},
    "self_insured": {"base_url": None},
    "xcover": {
        "base_url": "https://api.xcover.com/xcover",
        "partner_code": None,
        # XClaim, XCover's claims API (staging: https://staging.api.xclaim.xcover.com)
        "claims_base_url": "https://api.xclaim.xcover.com",
    },
    "loadsure": {"base_url": "https://portal.loadsure.net"},
}

# Credentials each provider needs before it can be chosen (secret ones are stored encrypted).
PROVIDER_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "sandbox": (),
    "self_insured": (),
    "xcover": ("partner_code", "api_key", "api_secret"),
    "loadsure": ("api_key",),
}

# Write-only fields: stored encrypted, shown masked, never logged.
SECRET_PATHS = frozenset(
    {
        "stripe.webhook_secret",
        "stripe.previous_webhook_secret",
        "stripe.api_key",
        "insurer.config.api_key",
        "insurer.config.api_secret",
    }
)

DEFAULT_SETTINGS: dict[str, Any] = {
    "pricing": {
        "mode": "percent",
        "rate": "0.02",
        "category_rates": {},
        "minimum": 0,
        "maximum": None,
        "bands": [],
        "round_up_to": 1,
        "merchant_share": "0",
        "max_declared_value": None,
        "remote_surcharge": {"regions": [], "amount": 0},
        # [{"metric", "at_least"?, "below"?, "rate"}]: the first that matches the shop's last 30 days replaces rate.
        "performance_tiers": [],
    },
    "eligibility": {
        "excluded_countries": [],
        "excluded_categories": ["virtual", "custom", "second_hand"],
        "excluded_skus": [],
        # Carriers the insurer will not take (compared case-insensitively): their parcels are self-insured, flagged.
        "excluded_carriers": [],
    },
    # What the offer covers: the parcel (priced by `pricing`), and the freight of a return (运费险), priced by its own
    # rule and carried by the merchant (self-insured).
    "coverage": {
        "shipping": {"enabled": True},
        "returns": {
            "enabled": False,
            "pricing": {
                "mode": "percent",
                "rate": "0.01",
                "category_rates": {},
                "minimum": 0,
                "maximum": None,
                "bands": [],
                "round_up_to": 1,
                "merchant_share": "0",
                "performance_tiers": [],
            },
            "payout_ratio": "1",  # the share of the return label's cost paid back
            "max_payout": None,
            "frequent_after": 5,  # returns in 30 days before a shopper is paid frequent_payout_ratio instead
            "frequent_payout_ratio": "0.5",
            "pay_within_hours": 48,
        },
    },
    "offer": {
        # None: the built-in text in the shopper's language.
        "title": None,
        "description": None,
        "terms_url": None,
        "terms_version": "1",
    },
    "cors": {"allowed_origins": []},
    # previous_webhook_secret: still accepted while the endpoint's secret is being rolled.
    "stripe": {"webhook_secret": None, "previous_webhook_secret": None, "api_key": None},
    # rules: [{"max_value": minor units or None, "provider": …}], first match wins; none: `provider`.
    "insurer": {"provider": "sandbox", "config": {}, "scope": "protected_orders", "rules": []},
    "claims": {
        "max_claims_per_customer": 3,
        "customer_limit_days": 30,
        "lost_after_days": 7,
        "lost_no_update_days": 5,
        "lost_until_days": 60,
        "stolen_within_days": 15,
        "damaged_within_days": 15,
        "damaged_requires_photo": True,
        "delayed_after_days": 10,
        "delay_compensation": 0,
        "auto_approve_up_to": 0,
        # The tracking scan alerts the merchant of a stalled parcel first, the shopper this many days later.
        "merchant_grace_days": 2,
        # Evidence files are deleted this many days after their claim was decided (packing evidence: after the
        # parcel shipped, unless a claim on it is undecided or decided more recently).
        "evidence_retention_days": 730,
    },
    # The claim portal's look: an https logo and an accent colour (#rrggbb); null: the plain default look.
    "branding": {"logo_url": None, "accent_color": None},
    # merchant_email: stalled-parcel and claim-review alerts (None: none by email).
    "notifications": {"merchant_email": None, "merchant_locale": "en"},
    # timezone: an IANA name; the reports' plain dates and days are read in it.
    "shop": {"timezone": "UTC"},
}

# Names in the system's zone directory that are not places: the host's own zone, and placeholders.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "posix", "right"})


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names zoneinfo can load here (read once: it walks the zone directory)."""
    return frozenset(name for name in available_timezones() if name not in _NOT_ZONES)


def compose(overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with overrides, the provider's config defaults included; never raises, even on
    nonsense (a config that is not an object stays as it is, for validation to name)."""
    document = deep_merge(DEFAULT_SETTINGS, overrides)
    insurer = document.get("insurer")
    if not isinstance(insurer, dict):
        return document
    provider = insurer.get("provider")
    config = insurer.get("config")
    if isinstance(provider, str) and provider in PROVIDER_DEFAULT_CONFIG and isinstance(config, dict):
        insurer["config"] = deep_merge(PROVIDER_DEFAULT_CONFIG[provider], config)
    return document


def split_path(path: str) -> list[str]:
    """A dotted settings path as its keys."""
    return path.split(".")


def _category(name: str) -> str:
    """A category name of a validated document, normalised (the schema refuses blank names)."""
    return normalise_category(name) or name


def pricing_rules(settings: dict[str, Any]) -> PricingRules:
    """The pricing rules of a complete, validated settings document."""
    pricing = settings["pricing"]
    eligibility = settings["eligibility"]
    surcharge = pricing["remote_surcharge"]
    return PricingRules(
        mode=PricingMode(pricing["mode"]),
        rate=Decimal(pricing["rate"]),
        category_rates={_category(name): Decimal(rate) for name, rate in pricing["category_rates"].items()},
        minimum=pricing["minimum"],
        maximum=pricing["maximum"],
        bands=tuple(Band(band["up_to"], band["price"]) for band in pricing["bands"]),
        round_up_to=pricing["round_up_to"],
        merchant_share=Decimal(pricing["merchant_share"]),
        max_declared_value=pricing["max_declared_value"],
        surcharge_regions=frozenset(surcharge["regions"]),
        surcharge_amount=surcharge["amount"],
        excluded_countries=frozenset(eligibility["excluded_countries"]),
        excluded_categories=frozenset(_category(name) for name in eligibility["excluded_categories"]),
        excluded_skus=frozenset(eligibility["excluded_skus"]),
    )


def _premium_rule(pricing: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": PricingMode(pricing["mode"]),
        "rate": Decimal(pricing["rate"]),
        "category_rates": {_category(name): Decimal(rate) for name, rate in pricing["category_rates"].items()},
        "minimum": pricing["minimum"],
        "maximum": pricing["maximum"],
        "bands": tuple(Band(band["up_to"], band["price"]) for band in pricing["bands"]),
        "round_up_to": pricing["round_up_to"],
        "merchant_share": Decimal(pricing["merchant_share"]),
    }


def coverage_plan(settings: dict[str, Any]) -> CoveragePlan:
    """Each enabled coverage's premium rule and tiers, and the eligibility rules they share (those of `pricing`
    and `eligibility`: the returns coverage has no remote surcharge and no declared-value limit of its own)."""
    shipping = pricing_rules(settings)
    coverage = settings["coverage"]
    rules: list[CoverageRule] = []
    if coverage["shipping"]["enabled"]:
        tiers = tiers_from_settings(settings["pricing"]["performance_tiers"])
        rules.append(CoverageRule(CoverageType.SHIPPING, shipping, tiers))
    returns = coverage["returns"]
    if returns["enabled"]:
        returns_rules = PricingRules(**_premium_rule(returns["pricing"]))
        tiers = tiers_from_settings(returns["pricing"]["performance_tiers"])
        rules.append(CoverageRule(CoverageType.RETURNS, returns_rules, tiers))
    return CoveragePlan(eligibility=shipping, coverages=tuple(rules))


def returns_are_free(settings: dict[str, Any]) -> bool:
    """Whether shopper-facing words may say "free returns": the whole label paid back, with no cap."""
    returns = settings["coverage"]["returns"]
    return Decimal(returns["payout_ratio"]) == 1 and returns["max_payout"] is None
