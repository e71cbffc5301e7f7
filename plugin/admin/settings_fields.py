"""The settings pages' catalogue: every setting of the API, grouped the way a merchant thinks about them, in words a
merchant reads (English and Simplified Chinese).

Each input is named after its settings path (`pricing.rate`), except the insurers' settings, named
`insurer.config.<provider>.<field>` since every insurer's form is on the page at once. Settings the catalogue does
not know (added to the API later) still get an input, on the "Other settings" page, from their current value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString  # type: ignore[import-untyped]


class Kind(StrEnum):
    """How an input reads and writes a setting."""

    CHOICE = "choice"  # a <select>
    PERCENT = "percent"  # a rate written as a percentage: "1.5" for "0.015"
    MONEY = "money"  # an amount in major units ("12.50"); empty: the default (often "no limit")
    INTEGER = "integer"
    BOOL = "bool"  # a checkbox
    TEXT = "text"
    LONG_TEXT = "long_text"
    URL = "url"
    EMAIL = "email"
    COLOR = "color"
    CODES = "codes"  # a list of ISO codes, one per line or separated by commas (upper-cased)
    LINES = "lines"  # a list of texts, one per line or separated by commas
    SECRET = "secret"  # noqa: S105 - a kind of input: write-only, shown masked, empty keeps it
    TIMEZONE = "timezone"
    JSON = "json"  # a setting the catalogue does not know whose value is not a plain one


Label: TypeAlias = str | LazyString


@dataclass(frozen=True)
class Field:
    """One input for one setting."""

    path: str
    kind: Kind
    label: Label
    help: Label | None = None
    choices: tuple[tuple[str, Label], ...] = ()
    unit: str = ""  # "days", "ms": how number messages name it
    provider: str | None = None  # an insurer's own setting (its input carries the provider in its name)
    placeholder: Label | None = None

    @property
    def name(self) -> str:
        """The input's name."""
        if self.provider is None:
            return self.path
        return f"insurer.config.{self.provider}.{self.path.rsplit('.', 1)[1]}"

    @property
    def dom_id(self) -> str:
        """The input's id (a CSS selector needs no escaping)."""
        return "f-" + self.name.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Column:
    """One column of a table of rows (a band's upper bound, a rule's insurer)."""

    key: str
    kind: Kind
    label: Label
    choices: tuple[tuple[str, Label], ...] = ()


@dataclass(frozen=True)
class Rows:
    """A list of objects (or an object of a merchant's keys), edited as rows; empty rows are left out."""

    path: str
    label: Label
    columns: tuple[Column, ...]
    help: Label | None = None
    most: int = 10
    spare: int = 3  # empty rows offered for additions
    as_map: bool = False  # {"<first column>": "<second column>"} instead of a list of objects
    omit_empty: bool = False  # an empty cell leaves its key out of the row's object (rather than null)

    def name(self, row: int, column: str) -> str:
        """An input's name: `pricing.bands.0.price`."""
        return f"{self.path}.{row}.{column}"

    def dom_id(self, row: int, column: str) -> str:
        """An input's id."""
        return "f-" + self.name(row, column).replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Section:
    """A fieldset of a page."""

    title: Label
    items: tuple[Field | Rows, ...]
    intro: Label | None = None
    provider: str | None = None  # an insurer's own settings: read only when it is the chosen insurer
    shown_when: tuple[str, str] | None = None  # (input name, value): hidden by the script otherwise


@dataclass(frozen=True)
class Page:
    """One settings page."""

    slug: str
    title: Label
    intro: Label
    sections: tuple[Section, ...]
    preview: bool = False  # shows the price table and the widget's preview
    extra: dict[str, Any] = field(default_factory=dict)


PROVIDER_NAMES: dict[str, Label] = {
    "sandbox": lazy_gettext("Sandbox (simulated insurer, for trying things out)"),
    "self_insured": lazy_gettext("Self-insured (you keep the premium and pay claims yourself)"),
    "xcover": lazy_gettext("XCover"),
    "loadsure": lazy_gettext("Loadsure"),
}
PROVIDER_CHOICES = tuple(PROVIDER_NAMES.items())
_ADDRESS_HELP = lazy_gettext(
    "Leave empty to use the insurer's own address. Change it only when the insurer tells you to."
)

METRIC_CHOICES: tuple[tuple[str, Label], ...] = (
    ("", lazy_gettext("(no tier)")),
    ("on_time_rate", lazy_gettext("On-time deliveries (%)")),
    ("loss_ratio", lazy_gettext("Claims paid ÷ premiums (%)")),
    ("return_rate", lazy_gettext("Returns ÷ deliveries (%)")),
)


def tier_rows(path: str) -> Rows:
    """A coverage's performance tiers: each replaces the rate while the shop's last-30-day figure is in bounds."""
    return Rows(
        path,
        lazy_gettext("Rates by your record"),
        (
            Column("metric", Kind.CHOICE, lazy_gettext("When"), choices=METRIC_CHOICES),
            Column("at_least", Kind.PERCENT, lazy_gettext("is at least (%)")),
            Column("below", Kind.PERCENT, lazy_gettext("and below (%)")),
            Column("rate", Kind.PERCENT, lazy_gettext("use the rate (%)")),
        ),
        lazy_gettext(
            "The first row whose bounds hold your figure of the last 30 days replaces the rate above; empty bound: "
            "no bound. Rows apply only once 50 parcels were delivered in those 30 days. The Performance page shows "
            "your figures."
        ),
        most=20,
        omit_empty=True,
    )


PRICING = Page(
    "pricing",
    lazy_gettext("Price and who pays"),
    lazy_gettext("What protection costs the shopper, and how much of it you pay yourself."),
    (
        Section(
            lazy_gettext("How the price is set"),
            (
                Field(
                    "pricing.mode",
                    Kind.CHOICE,
                    lazy_gettext("Price by"),
                    lazy_gettext("A percentage of the order's value, or a fixed price for each range of values."),
                    choices=(
                        ("percent", lazy_gettext("Percentage of the order value")),
                        ("bands", lazy_gettext("Fixed price bands")),
                    ),
                ),
            ),
        ),
        Section(
            lazy_gettext("Percentage"),
            (
                Field(
                    "pricing.rate",
                    Kind.PERCENT,
                    lazy_gettext("Rate"),
                    lazy_gettext("The share of the value of the protected items, for example 2 for 2 %."),
                ),
                Field(
                    "pricing.minimum",
                    Kind.MONEY,
                    lazy_gettext("Lowest price"),
                    lazy_gettext("No order pays less than this. Empty: no lowest price."),
                ),
                Field(
                    "pricing.maximum",
                    Kind.MONEY,
                    lazy_gettext("Highest price"),
                    lazy_gettext("No order pays more than this. Empty: no highest price."),
                ),
                Field(
                    "pricing.round_up_to",
                    Kind.MONEY,
                    lazy_gettext("Round the price up to a multiple of"),
                    lazy_gettext("For example 0.05 turns 1.23 into 1.25. Empty: the smallest coin."),
                ),
                tier_rows("pricing.performance_tiers"),
                Rows(
                    "pricing.category_rates",
                    lazy_gettext("Other rates for some product categories"),
                    (
                        Column("category", Kind.TEXT, lazy_gettext("Product category")),
                        Column("rate", Kind.PERCENT, lazy_gettext("Rate (%)")),
                    ),
                    lazy_gettext(
                        "Items of these categories use this rate instead (the category your store sends, such "
                        "as jewelry)."
                    ),
                    most=200,
                    as_map=True,
                ),
            ),
            shown_when=("pricing.mode", "percent"),
        ),
        Section(
            lazy_gettext("Price bands"),
            (
                Rows(
                    "pricing.bands",
                    lazy_gettext("Bands"),
                    (
                        Column("up_to", Kind.MONEY, lazy_gettext("For order values up to")),
                        Column("price", Kind.MONEY, lazy_gettext("Price")),
                    ),
                    lazy_gettext(
                        "From the lowest value to the highest; leave “up to” empty on the last band so that it "
                        "covers every higher value."
                    ),
                    most=100,
                ),
            ),
            shown_when=("pricing.mode", "bands"),
        ),
        Section(
            lazy_gettext("Remote areas"),
            (
                Field(
                    "pricing.remote_surcharge.regions",
                    Kind.CODES,
                    lazy_gettext("Regions that cost more"),
                    lazy_gettext("Region codes, one per line or separated by commas, such as CN-XJ or US-AK."),
                ),
                Field(
                    "pricing.remote_surcharge.amount",
                    Kind.MONEY,
                    lazy_gettext("Extra charge for these regions"),
                    lazy_gettext("Added to the price of parcels going there. Empty: none."),
                ),
            ),
        ),
        Section(
            lazy_gettext("Who pays"),
            (
                Field(
                    "pricing.merchant_share",
                    Kind.PERCENT,
                    lazy_gettext("Your share of the price"),
                    lazy_gettext(
                        "The part of the price you pay for the shopper, from 0 (the shopper pays it all) to 100 "
                        "(protection is free for the shopper)."
                    ),
                ),
            ),
        ),
    ),
    preview=True,
)

ELIGIBILITY = Page(
    "eligibility",
    lazy_gettext("Which orders are covered"),
    lazy_gettext("Orders, destinations and products that are never offered protection."),
    (
        Section(
            lazy_gettext("Destinations"),
            (
                Field(
                    "eligibility.excluded_countries",
                    Kind.CODES,
                    lazy_gettext("Countries and regions without protection"),
                    lazy_gettext("Two-letter country codes, one per line or separated by commas, such as HK or US."),
                ),
            ),
        ),
        Section(
            lazy_gettext("Products"),
            (
                Field(
                    "eligibility.excluded_categories",
                    Kind.LINES,
                    lazy_gettext("Product categories without protection"),
                    lazy_gettext(
                        "As your store names them, one per line. These items are left out of the protected value."
                    ),
                ),
                Field(
                    "eligibility.excluded_skus",
                    Kind.LINES,
                    lazy_gettext("Products (SKUs) without protection"),
                    lazy_gettext("One SKU per line. These items are left out of the protected value."),
                ),
            ),
        ),
        Section(
            lazy_gettext("Carriers"),
            (
                Field(
                    "eligibility.excluded_carriers",
                    Kind.LINES,
                    lazy_gettext("Carriers the insurer does not take"),
                    lazy_gettext(
                        "One per line, as your store names them (upper or lower case alike). Their parcels are still "
                        "protected, but you cover them yourself."
                    ),
                ),
            ),
        ),
        Section(
            lazy_gettext("Order value"),
            (
                Field(
                    "pricing.max_declared_value",
                    Kind.MONEY,
                    lazy_gettext("Largest order value to protect"),
                    lazy_gettext("Orders worth more than this are offered no protection. Empty: no limit."),
                ),
            ),
        ),
    ),
    preview=True,
)

OFFER = Page(
    "offer",
    lazy_gettext("What shoppers see"),
    lazy_gettext("The offer shown at checkout and the page of terms it links to."),
    (
        Section(
            lazy_gettext("The offer"),
            (
                Field(
                    "offer.title",
                    Kind.TEXT,
                    lazy_gettext("Title"),
                    lazy_gettext(
                        "Empty: “Shipping protection”, in the shopper's language. Your own text is shown to shoppers "
                        "who read English; shoppers who read Chinese see the built-in Chinese text."
                    ),
                ),
                Field(
                    "offer.description",
                    Kind.LONG_TEXT,
                    lazy_gettext("Description"),
                    lazy_gettext("Empty: the built-in text."),
                ),
                Field(
                    "offer.terms_url",
                    Kind.URL,
                    lazy_gettext("Your own terms page"),
                    lazy_gettext("Empty: the terms page written for you from these settings."),
                    placeholder="https://",
                ),
                Field(
                    "offer.terms_version",
                    Kind.TEXT,
                    lazy_gettext("Version of the terms"),
                    lazy_gettext("Recorded with each shopper's consent: change it when you change the terms."),
                ),
            ),
        ),
        Section(
            lazy_gettext("Where the offer may appear"),
            (
                Field(
                    "cors.allowed_origins",
                    Kind.LINES,
                    lazy_gettext("Your store's web addresses"),
                    lazy_gettext(
                        "One per line, such as https://shop.example.com. Empty: any site may show your offer."
                    ),
                ),
            ),
        ),
    ),
    preview=True,
)

_RETURNS = "coverage.returns."
COVERAGE = Page(
    "coverage",
    lazy_gettext("Coverages"),
    lazy_gettext("What shoppers may protect: the parcel on its way, and the cost of sending a return back."),
    (
        Section(
            lazy_gettext("Shipping protection"),
            (
                Field(
                    "coverage.shipping.enabled",
                    Kind.BOOL,
                    lazy_gettext("Offer shipping protection"),
                    lazy_gettext("Lost, stolen, damaged and late parcels, priced on the “Price and who pays” page."),
                ),
            ),
        ),
        Section(
            lazy_gettext("Return shipping cover"),
            (
                Field(
                    _RETURNS + "enabled",
                    Kind.BOOL,
                    lazy_gettext("Offer return shipping cover"),
                    lazy_gettext("Pays back the shopper's return label. You carry this cover yourself."),
                ),
                Field(
                    _RETURNS + "pricing.mode",
                    Kind.CHOICE,
                    lazy_gettext("Price by"),
                    choices=(
                        ("percent", lazy_gettext("Percentage of the order value")),
                        ("bands", lazy_gettext("Fixed price bands")),
                    ),
                ),
                Field(
                    _RETURNS + "pricing.rate",
                    Kind.PERCENT,
                    lazy_gettext("Rate"),
                    lazy_gettext("The share of the order's value, for example 1 for 1 %."),
                ),
                tier_rows(_RETURNS + "pricing.performance_tiers"),
                Field(
                    _RETURNS + "pricing.minimum",
                    Kind.MONEY,
                    lazy_gettext("Lowest price"),
                    lazy_gettext("No order pays less than this. Empty: no lowest price."),
                ),
                Field(
                    _RETURNS + "pricing.maximum",
                    Kind.MONEY,
                    lazy_gettext("Highest price"),
                    lazy_gettext("No order pays more than this. Empty: no highest price."),
                ),
                Field(
                    _RETURNS + "pricing.round_up_to",
                    Kind.MONEY,
                    lazy_gettext("Round the price up to a multiple of"),
                    lazy_gettext("For example 0.05 turns 1.23 into 1.25. Empty: the smallest coin."),
                ),
                Field(
                    _RETURNS + "pricing.merchant_share",
                    Kind.PERCENT,
                    lazy_gettext("Your share of the price"),
                    lazy_gettext("From 0 (the shopper pays it all) to 100 (the cover is free for the shopper)."),
                ),
                Rows(
                    _RETURNS + "pricing.category_rates",
                    lazy_gettext("Other rates for some product categories"),
                    (
                        Column("category", Kind.TEXT, lazy_gettext("Product category")),
                        Column("rate", Kind.PERCENT, lazy_gettext("Rate (%)")),
                    ),
                    most=200,
                    as_map=True,
                ),
                Rows(
                    _RETURNS + "pricing.bands",
                    lazy_gettext("Bands"),
                    (
                        Column("up_to", Kind.MONEY, lazy_gettext("For order values up to")),
                        Column("price", Kind.MONEY, lazy_gettext("Price")),
                    ),
                    lazy_gettext("Used when the price is set by bands; leave “up to” empty on the last band."),
                    most=100,
                ),
            ),
        ),
        Section(
            lazy_gettext("What a return is paid"),
            (
                Field(
                    _RETURNS + "payout_ratio",
                    Kind.PERCENT,
                    lazy_gettext("Share of the label's cost paid back"),
                    lazy_gettext("100 with no cap lets the offer say “free returns”."),
                ),
                Field(
                    _RETURNS + "max_payout",
                    Kind.MONEY,
                    lazy_gettext("Most paid for one return"),
                    lazy_gettext("Empty: no cap."),
                ),
                Field(
                    _RETURNS + "frequent_after",
                    Kind.INTEGER,
                    lazy_gettext("A shopper returns often after this many returns in 30 days"),
                ),
                Field(
                    _RETURNS + "frequent_payout_ratio",
                    Kind.PERCENT,
                    lazy_gettext("Share paid back to a shopper who returns often"),
                ),
                Field(
                    _RETURNS + "pay_within_hours",
                    Kind.INTEGER,
                    lazy_gettext("Pay within this many hours of the return arriving"),
                    unit="hours",
                ),
            ),
        ),
    ),
)

_DAYS = "days"
CLAIMS = Page(
    "claims",
    lazy_gettext("Claim rules"),
    lazy_gettext("When shoppers may claim, for what, and which claims are approved without you."),
    (
        Section(
            lazy_gettext("Lost parcels"),
            (
                Field(
                    "claims.lost_after_days",
                    Kind.INTEGER,
                    lazy_gettext("A lost parcel may be claimed from this many days after shipping"),
                    unit=_DAYS,
                ),
                Field(
                    "claims.lost_no_update_days",
                    Kind.INTEGER,
                    lazy_gettext("…once tracking has shown nothing new for this many days"),
                    unit=_DAYS,
                ),
                Field(
                    "claims.lost_until_days",
                    Kind.INTEGER,
                    lazy_gettext("…and until this many days after shipping"),
                    unit=_DAYS,
                ),
                Field(
                    "claims.merchant_grace_days",
                    Kind.INTEGER,
                    lazy_gettext(
                        "Days between our alert to you about a stalled parcel and the shopper's invitation to claim"
                    ),
                    unit=_DAYS,
                ),
                Field(
                    "claims.evidence_retention_days",
                    Kind.INTEGER,
                    lazy_gettext("Days evidence files are kept after their claim is decided"),
                    unit=_DAYS,
                ),
            ),
        ),
        Section(
            lazy_gettext("Stolen and damaged parcels"),
            (
                Field(
                    "claims.stolen_within_days",
                    Kind.INTEGER,
                    lazy_gettext("A parcel may be claimed stolen within this many days of delivery"),
                    unit=_DAYS,
                ),
                Field(
                    "claims.damaged_within_days",
                    Kind.INTEGER,
                    lazy_gettext("Damaged or missing items may be claimed within this many days of delivery"),
                    unit=_DAYS,
                ),
                Field("claims.damaged_requires_photo", Kind.BOOL, lazy_gettext("A damage claim needs a photo")),
            ),
        ),
        Section(
            lazy_gettext("Late parcels"),
            (
                Field(
                    "claims.delay_compensation",
                    Kind.MONEY,
                    lazy_gettext("Compensation for a late parcel"),
                    lazy_gettext("Empty or 0: late parcels are not covered."),
                ),
                Field(
                    "claims.delayed_after_days",
                    Kind.INTEGER,
                    lazy_gettext("A parcel is late when not delivered this many days after shipping"),
                    unit=_DAYS,
                ),
            ),
        ),
        Section(
            lazy_gettext("Limits and automatic approval"),
            (
                Field(
                    "claims.max_claims_per_customer",
                    Kind.INTEGER,
                    lazy_gettext("Claims one shopper may make"),
                    lazy_gettext("0: no limit. Refused claims do not count."),
                ),
                Field(
                    "claims.customer_limit_days",
                    Kind.INTEGER,
                    lazy_gettext("…within this many days"),
                    unit=_DAYS,
                ),
                Field(
                    "claims.auto_approve_up_to",
                    Kind.MONEY,
                    lazy_gettext("Approve and refund claims up to this amount without review"),
                    lazy_gettext("Only claims with no warning sign. Empty or 0: you review every claim."),
                ),
            ),
        ),
    ),
)


def _provider_section(provider: str, items: tuple[Field, ...]) -> Section:
    return Section(PROVIDER_NAMES[provider], items, provider=provider, shown_when=("insurer.provider", provider))


INSURER = Page(
    "insurer",
    lazy_gettext("Insurer"),
    lazy_gettext("Who covers the parcels your shoppers protect."),
    (
        Section(
            lazy_gettext("Insurer"),
            (
                Field("insurer.provider", Kind.CHOICE, lazy_gettext("Insurer"), choices=PROVIDER_CHOICES),
                Field(
                    "insurer.scope",
                    Kind.CHOICE,
                    lazy_gettext("Parcels to insure"),
                    choices=(
                        ("protected_orders", lazy_gettext("Only orders whose shopper bought protection")),
                        ("all_orders", lazy_gettext("Every order (at your cost)")),
                    ),
                ),
            ),
        ),
        _provider_section(
            "sandbox",
            (
                Field(
                    "insurer.config.latency_ms",
                    Kind.INTEGER,
                    lazy_gettext("Simulated delay"),
                    unit="ms",
                    provider="sandbox",
                ),
                Field(
                    "insurer.config.failure_rate",
                    Kind.PERCENT,
                    lazy_gettext("Simulated failures (%)"),
                    lazy_gettext("The share of purchases the sandbox refuses, to try out retries."),
                    provider="sandbox",
                ),
                Field(
                    "insurer.config.base_url", Kind.URL, lazy_gettext("API address"), _ADDRESS_HELP, provider="sandbox"
                ),
            ),
        ),
        _provider_section(
            "self_insured",
            (
                Field(
                    "insurer.config.base_url",
                    Kind.URL,
                    lazy_gettext("API address"),
                    _ADDRESS_HELP,
                    provider="self_insured",
                ),
            ),
        ),
        _provider_section(
            "xcover",
            (
                Field("insurer.config.partner_code", Kind.TEXT, lazy_gettext("Partner code"), provider="xcover"),
                Field("insurer.config.api_key", Kind.SECRET, lazy_gettext("API key"), provider="xcover"),
                Field("insurer.config.api_secret", Kind.SECRET, lazy_gettext("API secret"), provider="xcover"),
                Field(
                    "insurer.config.base_url", Kind.URL, lazy_gettext("API address"), _ADDRESS_HELP, provider="xcover"
                ),
                Field(
                    "insurer.config.claims_base_url",
                    Kind.URL,
                    lazy_gettext("Claims API address"),
                    _ADDRESS_HELP,
                    provider="xcover",
                ),
            ),
        ),
        _provider_section(
            "loadsure",
            (
                Field("insurer.config.api_key", Kind.SECRET, lazy_gettext("API key"), provider="loadsure"),
                Field(
                    "insurer.config.base_url",
                    Kind.URL,
                    lazy_gettext("API address"),
                    lazy_gettext("The address Loadsure gives your account."),
                    provider="loadsure",
                ),
            ),
        ),
        Section(
            lazy_gettext("Insurer by parcel value"),
            (
                Rows(
                    "insurer.rules",
                    lazy_gettext("Rules"),
                    (
                        Column("max_value", Kind.MONEY, lazy_gettext("For parcels worth up to")),
                        Column(
                            "provider",
                            Kind.CHOICE,
                            lazy_gettext("Use"),
                            choices=(("", lazy_gettext("(no rule)")), *PROVIDER_CHOICES),
                        ),
                    ),
                    lazy_gettext(
                        "The first rule that fits a parcel's value picks its insurer; parcels no rule fits go to the "
                        "insurer above. Empty “up to”: any value."
                    ),
                    most=10,
                ),
            ),
        ),
    ),
)

BRANDING = Page(
    "branding",
    lazy_gettext("Claim portal look"),
    lazy_gettext("How the page where shoppers make claims looks."),
    (
        Section(
            lazy_gettext("Look"),
            (
                Field(
                    "branding.logo_url",
                    Kind.URL,
                    lazy_gettext("Logo"),
                    lazy_gettext("The https address of your logo image. Empty: no logo."),
                    placeholder="https://",
                ),
                Field(
                    "branding.accent_color",
                    Kind.COLOR,
                    lazy_gettext("Accent colour"),
                    lazy_gettext("# and six hex digits, such as #0f766e. Empty: the plain default look."),
                    placeholder="#0f766e",
                ),
            ),
        ),
    ),
)

NOTIFICATIONS = Page(
    "notifications",
    lazy_gettext("Notifications"),
    lazy_gettext("Where we tell you about parcels and claims that need you."),
    (
        Section(
            lazy_gettext("Emails to you"),
            (
                Field(
                    "notifications.merchant_email",
                    Kind.EMAIL,
                    lazy_gettext("Email address for alerts"),
                    lazy_gettext("Stalled parcels and claims waiting for your decision. Empty: no alerts by email."),
                ),
                Field(
                    "notifications.merchant_locale",
                    Kind.CHOICE,
                    lazy_gettext("Language of these emails"),
                    choices=(("en", "English"), ("zh", "中文")),
                ),
            ),
        ),
    ),
)

SHOP = Page(
    "shop",
    lazy_gettext("Shop"),
    lazy_gettext("Settings of the shop as a whole."),
    (
        Section(
            lazy_gettext("Shop"),
            (
                Field(
                    "shop.timezone",
                    Kind.TIMEZONE,
                    lazy_gettext("Time zone"),
                    lazy_gettext("Days in reports and claim windows start at midnight here, such as Asia/Shanghai."),
                ),
            ),
        ),
    ),
)

PAGES = (PRICING, COVERAGE, ELIGIBILITY, OFFER, CLAIMS, INSURER, BRANDING, NOTIFICATIONS, SHOP)
OTHER_SLUG = "other"
OTHER_TITLE = lazy_gettext("Other settings")
# Settings kept off these pages: the Stripe secrets and the outbound webhook endpoints have the keys page.
ELSEWHERE = ("stripe", "webhooks")


def page_items(page: Page) -> list[Field | Rows]:
    """Every input group of a page, in order."""
    return [item for section in page.sections for item in section.items]


def known_paths() -> set[str]:
    """The settings paths some page edits (the insurers' settings as `insurer.config.<field>`)."""
    return {item.path for page in PAGES for item in page_items(page)}
