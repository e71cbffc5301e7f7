"""marshmallow schemas for the HTTP boundary (they also write the OpenAPI document)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from plugin import iso_codes
from plugin.domain.settings import PROVIDERS, time_zone_names
from plugin.domain.webhooks import ALL_EVENTS
from plugin.domain.webhooks import EVENT_TYPES as WEBHOOK_EVENT_TYPES

# Bounds that keep every sum inside a signed 64-bit integer: 500 lines x 10,000 units x 10^11 minor units.
MAX_AMOUNT = 10**11
MAX_QUANTITY = 10_000
MAX_CART_LINES = 500
_DECIMAL_RATE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,8})?")  # ASCII digits only; matched whole

# How type errors read: what to send instead, in the API's own terms.
MONEY_MESSAGE = "Must be an integer of minor units (cents), such as 1999 for 19.99."
MONEY_RANGE_MESSAGE = "Must be an integer of minor units (cents) from {min} to {max}."
RATE_MESSAGE = 'Must be a decimal string such as "0.015", from 0 to 1.'
INTEGER_MESSAGE = "Must be an integer (a JSON number without a fraction, not a string)."
OBJECT_MESSAGE = "Must be a JSON object."
LIST_MESSAGE = "Must be a JSON array."
# Printable text: no control characters, no lone surrogates (\Z, not $: "$" would let a trailing newline through).
POSTAL_CODE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*\Z"
# A quote's shipping_method.carrier: printable text, at most 100 characters and 100 bytes of UTF-8 (it travels in the
# signed quote reference beside the longest destination, and that must fit Stripe's 500 characters).
CARRIER_PATTERN = POSTAL_CODE_PATTERN
MAX_CARRIER_LENGTH = 100
MAX_CARRIER_BYTES = 100


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, no floats, no booleans."""

    default_error_messages = {"invalid": INTEGER_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing that merely looks like one."""

    default_error_messages = {"invalid": "Must be true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class WebUrl(fields.Url):
    """An optional http(s) link of at most 2048 characters (a tracking page, a terms page)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("validate", validate.Length(max=2048))
        super().__init__(schemes={"https", "http"}, require_tld=False, **kwargs)


class UtcDateTime(fields.AwareDateTime):
    """An RFC 3339 time with its offset, that is also a time in UTC (9999-12-31T23:59:59-01:00 is not)."""

    default_error_messages = {
        "invalid": "Must be an RFC 3339 date-time with its offset, such as 2026-11-01T09:30:00Z.",
        "invalid_awareness": "Must carry its offset (Z or +08:00), such as 2026-11-01T09:30:00Z.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Must be a time between the years 1 and 9999 in UTC.") from exc


class MinorUnits(StrictInteger):
    """An amount in the currency's minor units, from 0 to 10^11 (or from `minimum`)."""

    default_error_messages = {"invalid": MONEY_MESSAGE}

    def __init__(self, minimum: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=minimum, max=MAX_AMOUNT, error=MONEY_RANGE_MESSAGE))
        kwargs.setdefault("metadata", {"description": "Integer minor units (cents; yen for JPY)."})
        super().__init__(**kwargs)


class Rate(fields.String):
    """A decimal string in [0, 1] such as "0.015"."""

    default_error_messages = {"invalid": RATE_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _DECIMAL_RATE.fullmatch(text) or not Decimal(0) <= Decimal(text) <= Decimal(1):
            raise ValidationError(RATE_MESSAGE)
        return text


class CurrencyCode(fields.String):
    """An upper-case ISO 4217 code in use today."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not iso_codes.is_currency(code):
            raise ValidationError("Unknown currency: use an upper-case ISO 4217 code such as USD.")
        return code


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 code."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not iso_codes.is_country(code):
            raise ValidationError("Unknown country: use an upper-case ISO 3166-1 alpha-2 code such as US.")
        return code


class RegionCode(fields.String):
    """An ISO 3166-2 subdivision code such as CN-XJ."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not iso_codes.is_region(code):
            raise ValidationError("Unknown region: use an ISO 3166-2 code such as US-CA or CN-XJ.")
        return code


class Origin(fields.String):
    """A web origin: scheme, host and optional port, nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = urlsplit(text)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:  # an unclosed IPv6 bracket, a port out of range
            port_ok = False
            parts = urlsplit("")
        if not port_ok or parts.scheme not in {"https", "http"} or not parts.hostname or parts.path or parts.query:
            raise ValidationError("Must be an origin such as https://shop.example.com (no path).")
        return text.lower()


class Text(fields.String):
    """A JSON string."""

    default_error_messages = {"invalid": "Must be a string."}


def _short_text(maximum: int, **kwargs: Any) -> fields.String:
    return Text(validate=validate.Length(min=1, max=maximum), **kwargs)


# ---- settings -------------------------------------------------------------------------------------------


class _Part(Schema):
    """A group of settings: a JSON object whose type error says so."""

    error_messages = {"type": OBJECT_MESSAGE}


def _object(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, error_messages={"type": OBJECT_MESSAGE}, **kwargs)


def _list(item: fields.Field, **kwargs: Any) -> fields.List:
    return fields.List(item, error_messages={"invalid": LIST_MESSAGE}, **kwargs)


def _mapping(**kwargs: Any) -> fields.Dict:
    return fields.Dict(error_messages={"invalid": OBJECT_MESSAGE}, **kwargs)


class BandSchema(_Part):
    up_to = MinorUnits(required=True, allow_none=True)
    price = MinorUnits(required=True)


class RemoteSurchargeSchema(_Part):
    regions = _list(RegionCode(), validate=validate.Length(max=500))
    amount = MinorUnits()


class Ratio(fields.String):
    """A non-negative decimal string such as "0.98" or "1.25" (a loss ratio may pass 1)."""

    default_error_messages = {"invalid": 'Must be a decimal string such as "0.98", from 0 to 999999.'}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _DECIMAL_RATE.fullmatch(text):
            raise self.make_error("invalid")
        return text


PERFORMANCE_METRICS = ("on_time_rate", "loss_ratio", "return_rate")


class PerformanceTierSchema(_Part):
    metric = Text(required=True, validate=validate.OneOf(PERFORMANCE_METRICS))
    at_least = Ratio(metadata={"description": "Matches when the metric is at least this."})
    below = Ratio(metadata={"description": "Matches when the metric is below this."})
    rate = Rate(required=True, metadata={"description": "The rate that replaces `rate` while this tier matches."})

    @validates_schema(skip_on_field_errors=True)
    def _bounded(self, data: dict[str, Any], **_: Any) -> None:
        at_least, below = data.get("at_least"), data.get("below")
        if at_least is None and below is None:
            raise ValidationError({"at_least": ["Give at_least, below, or both."]})
        if at_least is not None and below is not None and Decimal(at_least) >= Decimal(below):
            raise ValidationError({"below": ["Must be above at_least."]})


class _PremiumRuleSchema(_Part):
    """How one coverage's premium is computed: percent (with category rates and tiers) or bands."""

    mode = Text(validate=validate.OneOf(["percent", "bands"]))
    rate = Rate()
    category_rates = _mapping(
        keys=Text(validate=validate.Length(min=1, max=64)),
        values=Rate(),
        validate=validate.Length(max=200),
    )
    minimum = MinorUnits()
    maximum = MinorUnits(allow_none=True)
    bands = _list(_object(BandSchema), validate=validate.Length(max=100))
    round_up_to = MinorUnits(minimum=1)
    merchant_share = Rate()
    performance_tiers = _list(
        _object(PerformanceTierSchema),
        validate=validate.Length(max=20),
        metadata={
            "description": "Ordered; the first tier whose bounds hold the shop's last-30-day figure replaces `rate` "
            "(ignored below 50 delivered parcels in the window). See GET /api/v1/reports/performance."
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        maximum = data.get("maximum")
        if maximum is not None and data.get("minimum", 0) > maximum:
            errors["minimum"] = ["Must not be above maximum."]
        bands = data.get("bands") or []
        if data.get("mode") == "bands" and not bands:
            errors["bands"] = ["Bands mode needs at least one band."]
        elif bands and all(isinstance(band, dict) and "up_to" in band for band in bands):
            bounds = [band["up_to"] for band in bands]
            if bounds[-1] is not None:
                errors["bands"] = ["The last band must have up_to null (no upper bound)."]
            elif None in bounds[:-1]:
                errors["bands"] = ["Only the last band may have up_to null."]
            elif any(lower >= upper for lower, upper in pairwise(bounds[:-1])):
                errors["bands"] = ["Bands must be in strictly ascending order of up_to."]
        if errors:
            raise ValidationError(errors)


class PricingSettingsSchema(_PremiumRuleSchema):
    max_declared_value = MinorUnits(allow_none=True)
    remote_surcharge = _object(RemoteSurchargeSchema)


class ReturnsPricingSchema(_PremiumRuleSchema):
    """The return cover's own price rule (the same fields as pricing, without the shipping-only ones)."""


class EligibilitySettingsSchema(_Part):
    excluded_countries = _list(CountryCode(), validate=validate.Length(max=300))
    excluded_categories = _list(_short_text(64), validate=validate.Length(max=200))
    excluded_skus = _list(_short_text(128), validate=validate.Length(max=10_000))
    excluded_carriers = _list(
        _short_text(100),
        validate=validate.Length(max=100),
        metadata={
            "description": "Carriers the insurer will not take (case-insensitive): such parcels are "
            "self-insured by the merchant and flagged `carrier_excluded`."
        },
    )


class OfferSettingsSchema(_Part):
    title = _short_text(120, allow_none=True)
    description = _short_text(500, allow_none=True)
    terms_url = fields.Url(schemes={"https", "http"}, allow_none=True, require_tld=False)
    terms_version = _short_text(40)


class CorsSettingsSchema(_Part):
    allowed_origins = _list(Origin(), validate=validate.Length(max=50))


def _secret_format(pattern: str, error: str) -> Any:
    """A write-only secret's format, checked on input. Not a `pattern` in the OpenAPI document: answers show
    the secret masked (`whsec_…1234`), which the same field describes."""
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.match(value):
            raise ValidationError(error)

    return check


_WEBHOOK_SECRET = _secret_format(r"^whsec_[A-Za-z0-9_]{8,200}$", "Must be a whsec_… secret.")
_MASKED = "Write-only: answers show it masked, e.g. `whsec_…1234`."


class StripeSettingsSchema(_Part):
    webhook_secret = Text(allow_none=True, validate=_WEBHOOK_SECRET, metadata={"description": _MASKED})
    previous_webhook_secret = Text(
        allow_none=True,
        validate=_WEBHOOK_SECRET,
        metadata={
            "description": "Also accepted while the endpoint's secret is rolled; set to null when done. " + _MASKED
        },
    )
    api_key = Text(
        allow_none=True,
        validate=_secret_format(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,200}$", "Must be an sk_… or rk_… key."),
        metadata={"description": _MASKED},
    )


class ProviderRuleSchema(_Part):
    max_value = MinorUnits(required=True, allow_none=True)
    provider = Text(required=True, validate=validate.OneOf(PROVIDERS))


class InsurerSettingsSchema(_Part):
    provider = Text(validate=validate.OneOf(PROVIDERS))
    config = _mapping(keys=Text())
    scope = Text(validate=validate.OneOf(["protected_orders", "all_orders"]))
    rules = _list(
        _object(ProviderRuleSchema),
        validate=validate.Length(max=10),
        metadata={
            "description": "Ordered; the first rule whose max_value admits the parcel's value picks the provider."
        },
    )


class ClaimsSettingsSchema(_Part):
    max_claims_per_customer = StrictInteger(validate=validate.Range(min=0, max=1000))
    customer_limit_days = StrictInteger(validate=validate.Range(min=1, max=3650))
    lost_after_days = StrictInteger(validate=validate.Range(min=0, max=365))
    lost_no_update_days = StrictInteger(validate=validate.Range(min=0, max=365))
    lost_until_days = StrictInteger(validate=validate.Range(min=1, max=3650))
    stolen_within_days = StrictInteger(validate=validate.Range(min=1, max=365))
    damaged_within_days = StrictInteger(validate=validate.Range(min=1, max=365))
    damaged_requires_photo = StrictBoolean()
    delayed_after_days = StrictInteger(validate=validate.Range(min=1, max=365))
    delay_compensation = MinorUnits()
    auto_approve_up_to = MinorUnits()
    merchant_grace_days = StrictInteger(
        validate=validate.Range(min=0, max=60),
        metadata={"description": "Days between the merchant's stalled-parcel alert and the shopper's invitation."},
    )
    evidence_retention_days = StrictInteger(
        validate=validate.Range(min=30, max=3650),
        metadata={"description": "Days evidence files are kept after their claim was decided (or the parcel shipped)."},
    )

    @validates_schema(skip_on_field_errors=False)
    def _windows(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("lost_after_days", 0) >= data.get("lost_until_days", 1):
            raise ValidationError({"lost_until_days": ["Must be after lost_after_days."]})


ACCENT_COLOR_PATTERN = r"^#[0-9a-fA-F]{6}\Z"  # \Z, not $: "$" would let a trailing newline through
# The logo's origin goes into the portal's Content-Security-Policy (img-src): only characters a host and port use.
LOGO_ORIGIN_PATTERN = re.compile(r"https://[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?")


class LogoUrl(fields.Url):
    """An https image URL on a plain ASCII host, without credentials (it is shown to shoppers as an <img>)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            schemes={"https"},
            require_tld=True,
            allow_none=True,
            validate=validate.Length(max=2048),
            error_messages={"invalid": "Must be an https URL such as https://cdn.example.com/logo.png."},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        if logo_origin(url) is None:
            raise ValidationError("Must be an https URL on a plain host name, without user name or password.")
        return url


def logo_origin(url: str) -> str | None:
    """The https origin of a logo URL, or None when it is not one the page may name in its CSP."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    if any(char.isspace() or char in "\"'<>;,`" for char in url):
        return None
    origin = f"https://{parts.hostname}" + (f":{port}" if port is not None else "")
    return origin if LOGO_ORIGIN_PATTERN.fullmatch(origin) and parts.netloc.lower() == origin[8:] else None


class BrandingSettingsSchema(_Part):
    """How the shop's claim portal looks."""

    logo_url = LogoUrl(metadata={"description": "An https image URL shown at the top of the claim portal."})
    accent_color = Text(
        allow_none=True,
        validate=validate.Regexp(ACCENT_COLOR_PATTERN, error="Must be a colour written #rrggbb, such as #0f766e."),
        metadata={"description": "The portal's accent colour, #rrggbb."},
    )


class NotificationsSettingsSchema(_Part):
    merchant_email = Text(
        allow_none=True,
        validate=[validate.Length(max=320), validate.Email(error="Must be an email address.")],
        metadata={"description": "Where stalled-parcel and claim-review alerts go (null: no alerts by email)."},
    )
    merchant_locale = Text(validate=validate.OneOf(["en", "zh"]))


class TimeZoneName(Text):
    """An IANA time zone name such as Asia/Shanghai."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in time_zone_names():
            raise ValidationError("Unknown time zone: use an IANA name such as Europe/Paris, Asia/Shanghai or UTC.")
        return name


class ShopSettingsSchema(_Part):
    timezone = TimeZoneName(
        metadata={"description": "IANA time zone; reports read plain dates and draw days in it (default UTC)."}
    )


class WebhookEndpointSettingsSchema(_Part):
    id = Text(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "whe_…: given by the server; send it back to keep the endpoint and its secret."},
    )
    url = Text(required=True, validate=validate.Length(min=1, max=2048))
    events = _list(
        Text(validate=validate.OneOf([*WEBHOOK_EVENT_TYPES, ALL_EVENTS])),
        required=True,
        validate=validate.Length(min=1, max=len(WEBHOOK_EVENT_TYPES) + 1),
    )
    secret = Text(
        allow_none=True,
        metadata={
            "description": "whsec_…: generated by the server, shown whole in the answer that created it, then "
            "masked; null rolls it (the new one is shown once)."
        },
    )


class WebhooksSettingsSchema(_Part):
    endpoints = _list(_object(WebhookEndpointSettingsSchema), validate=validate.Length(max=10))


class ShippingCoverageSchema(_Part):
    enabled = StrictBoolean()


class ReturnsCoverageSchema(_Part):
    enabled = StrictBoolean()
    pricing = _object(ReturnsPricingSchema)
    payout_ratio = Rate(metadata={"description": "The share of the return label's cost paid back."})
    max_payout = MinorUnits(allow_none=True, metadata={"description": "The most one return is paid; null: no cap."})
    frequent_after = StrictInteger(
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "A shopper with more returns than this in 30 days is paid frequent_payout_ratio."},
    )
    frequent_payout_ratio = Rate()
    pay_within_hours = StrictInteger(
        validate=validate.Range(min=1, max=24 * 30),
        metadata={"description": "A received return's claim is paid within this many hours."},
    )


class CoverageSettingsSchema(_Part):
    shipping = _object(ShippingCoverageSchema)
    returns = _object(ReturnsCoverageSchema)


class SettingsSchema(_Part):
    """The whole settings document (GET answers it; PATCH takes any part of it as a JSON Merge Patch)."""

    pricing = _object(PricingSettingsSchema)
    eligibility = _object(EligibilitySettingsSchema)
    offer = _object(OfferSettingsSchema)
    cors = _object(CorsSettingsSchema)
    stripe = _object(StripeSettingsSchema)
    insurer = _object(InsurerSettingsSchema)
    claims = _object(ClaimsSettingsSchema)
    branding = _object(BrandingSettingsSchema)
    notifications = _object(NotificationsSettingsSchema)
    shop = _object(ShopSettingsSchema)
    webhooks = _object(WebhooksSettingsSchema)
    coverage = _object(CoverageSettingsSchema)


class SandboxConfigSchema(_Part):
    base_url = Text(allow_none=True, validate=validate.Length(min=1, max=2048))
    latency_ms = StrictInteger(validate=validate.Range(min=0, max=60_000))
    failure_rate = Rate()


class SelfInsuredConfigSchema(_Part):
    base_url = Text(allow_none=True, validate=validate.Length(min=1, max=2048))


class XcoverConfigSchema(_Part):
    base_url = Text(required=True, validate=validate.Length(min=1, max=2048))
    partner_code = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    claims_base_url = Text(validate=validate.Length(min=1, max=2048))


class LoadsureConfigSchema(_Part):
    base_url = Text(required=True, validate=validate.Length(min=1, max=2048))


INSURER_CONFIG_SCHEMAS: dict[str, type[Schema]] = {
    "sandbox": SandboxConfigSchema,
    "self_insured": SelfInsuredConfigSchema,
    "xcover": XcoverConfigSchema,
    "loadsure": LoadsureConfigSchema,
}


# ---- quotes ---------------------------------------------------------------------------------------------


class DestinationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    country = CountryCode(required=True)
    region = RegionCode(allow_none=True, load_default=None)
    postal_code = fields.String(
        allow_none=True,
        load_default=None,
        validate=[
            validate.Length(max=32),
            # A control character is no part of an address, and (escaped as \u00XX) it would make the signed
            # quote reference that carries the destination too long for Stripe metadata.
            validate.Regexp(POSTAL_CODE_PATTERN, error="Must be printable text, without control characters."),
        ],
    )

    @validates_schema
    def _region_in_country(self, data: dict[str, Any], **_: Any) -> None:
        region = data.get("region")
        if region and not region.startswith(f"{data.get('country')}-"):
            raise ValidationError({"region": ["Must be a region of the destination country."]})


class ShipmentDestinationSchema(DestinationSchema):
    line1 = fields.String(
        allow_none=True,
        load_default=None,
        validate=[validate.Length(max=300), validate.Regexp(POSTAL_CODE_PATTERN, error="Must be printable text.")],
        metadata={"description": "The street line; only a digest of it is kept (claims' repeat-address signal)."},
    )


class CartItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sku = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=300))
    category = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    unit_price = MinorUnits(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


def _carrier_fits(value: str) -> bool:
    if len(value.encode("utf-8", "surrogatepass")) > MAX_CARRIER_BYTES:
        raise ValidationError(f"Must take at most {MAX_CARRIER_BYTES} bytes of UTF-8.")
    return True


class ShippingMethodSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    carrier = fields.String(
        allow_none=True,
        load_default=None,
        validate=[
            validate.Length(min=1, max=MAX_CARRIER_LENGTH),
            validate.Regexp(CARRIER_PATTERN, error="Must be printable text, without control characters."),
            _carrier_fits,
        ],
        metadata={
            "description": "The carrier the shopper chose (at most 100 characters and 100 bytes of UTF-8); "
            "recorded on the protection."
        },
    )


class QuoteRequestSchema(Schema):
    """A cart to price: the shop's currency, where it goes, what is in it."""

    class Meta:
        unknown = EXCLUDE

    currency = CurrencyCode(required=True)
    destination = fields.Nested(DestinationSchema, required=True)
    items = fields.List(fields.Nested(CartItemSchema), required=True, validate=validate.Length(max=MAX_CART_LINES))
    shipping_amount = MinorUnits(allow_none=True, load_default=None)
    locale = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=35),
        metadata={"description": "The shopper's language (BCP 47, e.g. zh-CN) for the offer texts."},
    )
    shipping_method = fields.Nested(ShippingMethodSchema, allow_none=True, load_default=None)


class ExcludedItemSchema(Schema):
    sku = fields.String()
    reason = fields.String(metadata={"enum": ["category_excluded", "sku_excluded"]})


class OfferTextsSchema(Schema):
    """The built-in words of the offer in `offer.language`, from the same catalogue as the admin, the claim portal
    and the terms page: what the widget shows and announces. `{price}` stands for the formatted price; fill it as
    text, never as HTML."""

    title = fields.String(metadata={"description": "The built-in title (the merchant's `offer.title` aside)."})
    description = fields.String(metadata={"description": "The built-in description."})
    terms = fields.String(metadata={"description": "The terms link's label."})
    price = fields.String(
        metadata={"description": "Announced when a price is shown, e.g. `Shipping protection: {price}`."}
    )
    added = fields.String(metadata={"description": "Announced when the shopper selects the offer."})
    removed = fields.String(metadata={"description": "Announced when the shopper unselects it."})
    changed = fields.String(
        metadata={"description": "Shown when the price changed after the shopper selected it (selection undone)."}
    )


class OfferSchema(Schema):
    title = fields.String(metadata={"description": "The merchant's title, else the built-in one in `language`."})
    description = fields.String(
        metadata={"description": "The merchant's description, else the built-in one in `language`."}
    )
    terms_url = fields.String()
    terms_version = fields.String()
    language = fields.String(
        metadata={
            "enum": ["en", "zh"],
            "description": "The language of the built-in texts: the request's `locale` if spoken, else the best "
            "of Accept-Language, else English.",
        }
    )
    texts = fields.Nested(OfferTextsSchema)


class CoveragePriceSchema(Schema):
    type = fields.String(metadata={"enum": ["shipping", "returns"]})
    premium = fields.Integer()
    customer_price = fields.Integer()
    merchant_contribution = fields.Integer()
    rate = fields.String(
        allow_none=True, metadata={"description": "The base rate used (a decimal string); null in bands mode."}
    )
    rate_tier = fields.Integer(
        allow_none=True,
        metadata={"description": "The performance tier that set the rate (an index into its performance_tiers)."},
    )


class QuoteSchema(Schema):
    """A priced offer; `id` is a signed reference to put in Stripe metadata as `sp_quote`."""

    id = fields.String(allow_none=True, metadata={"description": "Signed quote reference; null when not eligible."})
    object = fields.String(dump_default="quote")
    eligible = fields.Boolean()
    reasons = fields.List(
        fields.String(
            metadata={"enum": ["destination_excluded", "no_eligible_items", "value_above_limit", "coverage_disabled"]}
        )
    )
    currency = fields.String()
    declared_value = fields.Integer()
    coverages = fields.List(
        fields.Nested(CoveragePriceSchema),
        metadata={"description": "Each enabled coverage's part (empty when not eligible); the amounts are their sums."},
    )
    premium = fields.Integer()
    customer_price = fields.Integer()
    merchant_contribution = fields.Integer()
    rate_tier = fields.Integer(
        allow_none=True, metadata={"description": "The shipping coverage's tier, else the returns coverage's."}
    )
    excluded_items = fields.List(fields.Nested(ExcludedItemSchema))
    expires_at = fields.String(allow_none=True)
    offer = fields.Nested(OfferSchema)


class ErrorDetailSchema(Schema):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))
    claim = fields.String(metadata={"description": "claim_exists: the parcel's claim."})
    suggested_type = fields.String(metadata={"description": "parcel_delivered: the claim type that fits."})


class ErrorSchema(Schema):
    """Every 4xx answers this shape."""

    error = fields.Nested(ErrorDetailSchema)
    claim = fields.String(metadata={"description": "claim_exists: the parcel's claim (also in `error`)."})


# ---- shipments and policies ---------------------------------------------------------------------------------


class ExternalId(fields.Field):
    """An id from the store: a string, or an integer compared as its decimal string (Shopify's)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if isinstance(value, str) and value.strip() and len(value) <= 255:
            return value.strip()
        raise ValidationError("Must be a non-empty string (or a non-negative integer) of at most 255 characters.")


class ShipmentItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sku = fields.String(required=True, validate=validate.Length(min=1, max=128))
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))
    unit_price = MinorUnits(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=300))


class ShipmentRequestSchema(Schema):
    """A parcel the store shipped."""

    order_id = ExternalId(required=True)
    shipment_id = ExternalId(required=True, metadata={"description": "The store's own id for this parcel."})
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=100))
    tracking_number = fields.String(required=True, validate=validate.Length(min=1, max=255))
    tracking_url = WebUrl()
    shipped_at = UtcDateTime(allow_none=True, load_default=None)
    items = fields.List(
        fields.Nested(ShipmentItemSchema),
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=MAX_CART_LINES),
    )
    destination = fields.Nested(
        ShipmentDestinationSchema,
        allow_none=True,
        load_default=None,
        metadata={"description": "Where the parcel goes; default: the destination of the order's quote."},
    )


class PolicySchema(Schema):
    id = fields.String()
    object = fields.String()
    shipment = fields.String(metadata={"description": "The shipment object's id (shp_…)."})
    shipment_id = fields.String(metadata={"description": "The store's id for the shipment."})
    order_id = fields.String()
    protection = fields.String(allow_none=True)
    provider = fields.String()
    status = fields.String(metadata={"enum": ["pending", "retrying", "bound", "failed", "cancelled"]})
    flag = fields.String(
        allow_none=True,
        metadata={
            "enum": ["carrier_excluded"],
            "description": "Why the policy is not the usual one: `carrier_excluded` means the insurer excludes "
            "the parcel's carrier (eligibility.excluded_carriers), so the merchant covers it (`self_insured`).",
        },
    )
    certificate = fields.String(allow_none=True)
    certificate_url = fields.String(allow_none=True)
    sum_insured = fields.Integer()
    cost = fields.Integer(allow_none=True)
    reserve = fields.Integer(allow_none=True)
    currency = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    cancel_requested_at = fields.String(allow_none=True)
    cancel_reason = fields.String(
        allow_none=True,
        metadata={"enum": ["refunded", "items_refunded", "order_cancelled", "shipment_cancelled", "requested"]},
    )
    cancel_status = fields.String(allow_none=True, metadata={"enum": ["requested", "done", "refused", "failed"]})
    bound_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    created_at = fields.String()


class ShipmentSchema(Schema):
    id = fields.String()
    object = fields.String()
    shipment_id = fields.String()
    order_id = fields.String()
    protection = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)
    tracking_status = fields.String()
    last_tracking_at = fields.String()
    shipped_at = fields.String()
    delivered_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    items = fields.List(fields.Dict())
    items_value = fields.Integer(allow_none=True)
    currency = fields.String()
    uninsured_reason = fields.String(allow_none=True)
    destination = fields.Nested(DestinationSchema, allow_none=True)
    policy = fields.Nested(PolicySchema, allow_none=True)


class ListSchema(Schema):
    """A list object, as every list endpoint answers it."""

    object = fields.String(required=True, metadata={"enum": ["list"]})
    has_more = fields.Boolean(required=True)


class PolicyListSchema(ListSchema):
    data = fields.List(fields.Nested(PolicySchema), required=True)


class ShipmentListSchema(ListSchema):
    data = fields.List(fields.Nested(ShipmentSchema), required=True)


class WebhookReceiptSchema(Schema):
    """What an accepted webhook delivery answers (200, first or repeated)."""

    received = fields.Boolean(required=True)
    duplicate = fields.Boolean(required=True, metadata={"description": "This delivery id was seen before."})
    outcome = fields.String(
        required=True,
        metadata={
            "description": "What the delivery did, e.g. `protection_created` or `unreadable`; with "
            "STRIPE_RECORDING=queued, `queued` (stored, recorded moments later) or `duplicate`."
        },
    )


class OrderQuerySchema(Schema):
    order_id = ExternalId(required=True)


class ConsentRequestSchema(Schema):
    """What the widget showed when the shopper chose protection."""

    class Meta:
        unknown = EXCLUDE

    quote = fields.String(required=True, validate=validate.Length(min=1, max=500))
    price_shown = MinorUnits(required=True)
    currency = CurrencyCode(required=True)
    text_shown = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    terms_version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    terms_url = WebUrl()
    locale = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=35))
    shown_at = UtcDateTime(allow_none=True, load_default=None)


class ConsentSchema(Schema):
    id = fields.String()
    object = fields.String()
    quote = fields.String()
    price_shown = fields.Integer(metadata={"description": "The quote's whole customer_price (all its coverages)."})
    coverages = fields.List(
        fields.String(metadata={"enum": ["shipping", "returns"]}),
        metadata={"description": "What the quote shown bundled, read from its signed reference."},
    )
    currency = fields.String()
    text_shown = fields.String()
    terms_version = fields.String()
    terms_url = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    page_origin = fields.String(allow_none=True)
    shown_at = fields.String(allow_none=True)
    created_at = fields.String()
