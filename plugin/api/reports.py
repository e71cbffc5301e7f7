"""GET /api/v1/reports/summary?from=…&to=… (secret key): the shop's figures for a period, as the dashboard shows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from plugin.api.blueprint import Blueprint
from plugin.auth import KeyKind, current_shop, require_key
from plugin.domain.performance import MIN_DELIVERED, WINDOW_DAYS, PerformanceFigures
from plugin.domain.reports import Bound, Tally, ratio_text
from plugin.models import ShopPerformance, rfc3339, utcnow
from plugin.services import performance
from plugin.services.reports import Report, summary
from plugin.services.settings import effective_settings

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="The shop's figures for a period.")

_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})")
_BOUND_ERROR = "Must be a date such as 2026-11-01 (in the shop's time zone) or an RFC 3339 date-time such as " \
    "2026-11-01T00:00:00Z."  # fmt: skip


class PeriodBound(fields.Field):
    """A period's bound: a plain date (read in the shop's `shop.timezone`) or an RFC 3339 date-time."""

    def __init__(self, *, description: str, **kwargs: Any) -> None:
        described = f"YYYY-MM-DD (a day in the shop's `shop.timezone`) or an RFC 3339 date-time. {description}"
        super().__init__(metadata={"type": "string", "description": described}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Bound:
        if not isinstance(value, str):
            raise ValidationError(_BOUND_ERROR)
        try:
            if _PLAIN_DATE.fullmatch(value):
                return date.fromisoformat(value)
            text = value.upper()  # RFC 3339 allows t and z
            if not _RFC3339.fullmatch(text):
                raise ValidationError(_BOUND_ERROR)
            return datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError) as exc:  # 2026-02-30, year 0, an offset past year 9999
            raise ValidationError(_BOUND_ERROR) from exc


class SummaryQuery(Schema):
    start = PeriodBound(data_key="from", description="Inclusive; default: the shop's first record.")
    end = PeriodBound(data_key="to", description="Exclusive; default: the end of today (all time).")


def _rate(description: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": f"{description}; a decimal string, null: no data"})


def _money(description: str) -> fields.Integer:
    return fields.Integer(metadata={"description": f"{description} (minor units)"})


class CoverageFiguresSchema(Schema):
    protected_orders = fields.Integer(metadata={"description": "Protections that bought this coverage, any status."})
    protections = fields.Integer(metadata={"description": "Protections with this coverage, not voided."})
    premium_collected = _money("Customer prices of those protections")
    merchant_contribution = _money("The merchant's part of their premiums")
    insurance_cost = _money("Cost of the policies bound, insurer and platform fees included")
    claims_filed = fields.Integer()
    claims_paid = fields.Integer(metadata={"description": "Claims settled: paid, or reshipped."})
    claims_paid_amount = _money("Refunds and payments of paid claims, reship costs of reshipped ones")
    recovered_amount = _money("Paid back by insurers on those claims")
    margin = _money("premium_collected − insurance_cost − claims_paid_amount + recovered_amount")
    loss_ratio = _rate("claims_paid_amount ÷ premium_collected")


class DayFiguresSchema(Schema):
    date = fields.String(metadata={"description": "A day in the shop's time zone, YYYY-MM-DD."})
    orders = fields.Integer()
    protected_orders = fields.Integer()
    premium_collected = fields.Integer()
    merchant_contribution = fields.Integer()
    insurance_cost = fields.Integer()
    claims_filed = fields.Integer()
    claims_paid = fields.Integer()
    claims_paid_amount = fields.Integer()
    recovered_amount = fields.Integer()
    margin = fields.Integer()


class AlertSchema(Schema):
    code = fields.String(metadata={"enum": ["policy_bind_success_below_target", "protection_cost_share_above_target"]})
    metric = fields.String(metadata={"description": "The figure judged."})
    value = fields.String(metadata={"description": "Its value (a decimal string)."})
    threshold = fields.String(metadata={"description": "The target it misses: 0.95 or 0.03."})
    message = fields.String()


class ReportSchema(Schema):
    object = fields.String(metadata={"enum": ["report"]})
    start = fields.String(data_key="from", metadata={"description": "The period's start, RFC 3339 (inclusive)."})
    end = fields.String(data_key="to", metadata={"description": "The period's end, RFC 3339 (exclusive)."})
    timezone = fields.String(metadata={"description": "The shop's `shop.timezone`, in which days are counted."})
    currency = fields.String()
    orders = fields.Integer(metadata={"description": "Succeeded payments, protected or not."})
    protected_orders = fields.Integer(metadata={"description": "Payments that carried `sp_quote`."})
    attach_rate = _rate("protected_orders ÷ orders")
    average_order_value = fields.Integer(allow_none=True, metadata={"description": "Minor units; null: no order."})
    protections = fields.Integer(metadata={"description": "Protections not voided."})
    average_premium = fields.Integer(allow_none=True, metadata={"description": "Minor units; null: none."})
    premium_collected = _money("Σ customer_price of protections not voided")
    merchant_contribution = _money("Σ merchant_contribution of protections not voided")
    insurance_cost = _money("Σ cost of bound policies, insurer and platform fees included")
    claims_filed = fields.Integer()
    claims_paid = fields.Integer(metadata={"description": "Claims settled: paid, or reshipped."})
    claims_paid_amount = _money("Σ refunds and payments of paid claims and reship costs")
    recovered_amount = _money("Σ paid by insurers on claims")
    margin = _money("premium_collected − insurance_cost − claims_paid_amount + recovered_amount")
    loss_ratio = _rate("claims_paid_amount ÷ premium_collected")
    policies_bound = fields.Integer()
    policies_failed = fields.Integer()
    policy_bind_success_rate = _rate("policies_bound ÷ (policies_bound + policies_failed)")
    claims_decided = fields.Integer()
    claims_denied = fields.Integer()
    claim_rejection_rate = _rate("claims_denied ÷ claims_decided")
    protection_cost_share = _rate("average premium ÷ average order value")
    median_seconds_to_decide = fields.Integer(allow_none=True)
    median_seconds_to_pay = fields.Integer(allow_none=True)
    coverages = fields.Dict(
        keys=fields.String(metadata={"enum": ["shipping", "returns"]}),
        values=fields.Nested(CoverageFiguresSchema),
        metadata={
            "description": "The figures of each coverage: `shipping` and `returns` (return_shipping claims are the "
            "return cover's, every other claim the parcel's); a protection bundling both counts in each."
        },
    )
    daily = fields.List(fields.Nested(DayFiguresSchema), metadata={"description": "One entry per day of the period."})
    alerts = fields.List(fields.Nested(AlertSchema))


def _time(moment: datetime) -> str:
    """RFC 3339 in UTC, with the fraction of a second only when there is one."""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _coverage_body(tally: Tally) -> dict[str, Any]:
    return {
        "protected_orders": tally.protected_orders,
        "protections": tally.protections,
        "premium_collected": tally.premium_collected,
        "merchant_contribution": tally.merchant_contribution,
        "insurance_cost": tally.insurance_cost,
        "claims_filed": tally.claims_filed,
        "claims_paid": tally.claims_paid,
        "claims_paid_amount": tally.claims_paid_amount,
        "recovered_amount": tally.recovered_amount,
        "margin": tally.margin,
        "loss_ratio": ratio_text(tally.loss_ratio),
    }


def _day_body(day: date, tally: Tally) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "orders": tally.orders,
        "protected_orders": tally.protected_orders,
        "premium_collected": tally.premium_collected,
        "merchant_contribution": tally.merchant_contribution,
        "insurance_cost": tally.insurance_cost,
        "claims_filed": tally.claims_filed,
        "claims_paid": tally.claims_paid,
        "claims_paid_amount": tally.claims_paid_amount,
        "recovered_amount": tally.recovered_amount,
        "margin": tally.margin,
    }


def report_body(report: Report) -> dict[str, Any]:
    """A report as the API answers it."""
    totals, outcomes = report.totals, report.outcomes
    return {
        "object": "report",
        "start": _time(report.period.start),
        "end": _time(report.period.end),
        "timezone": report.timezone,
        "currency": report.currency,
        "orders": totals.orders,
        "protected_orders": totals.protected_orders,
        "attach_rate": ratio_text(totals.attach_rate),
        "average_order_value": totals.average_order_value,
        "average_premium": totals.average_premium,
        **_coverage_body(totals),
        "policies_bound": outcomes.policies_bound,
        "policies_failed": outcomes.policies_failed,
        "policy_bind_success_rate": ratio_text(outcomes.policy_bind_success_rate),
        "claims_decided": outcomes.claims_decided,
        "claims_denied": outcomes.claims_denied,
        "claim_rejection_rate": ratio_text(outcomes.claim_rejection_rate),
        "protection_cost_share": ratio_text(totals.protection_cost_share),
        "median_seconds_to_decide": outcomes.median_seconds_to_decide,
        "median_seconds_to_pay": outcomes.median_seconds_to_pay,
        "coverages": {name: _coverage_body(tally) for name, tally in report.coverages.items()},
        "daily": [_day_body(day, tally) for day, tally in report.daily],
        "alerts": [
            {
                "code": alert.code,
                "metric": alert.metric,
                "value": ratio_text(alert.value),
                "threshold": ratio_text(alert.threshold),
                "message": alert.message,
            }
            for alert in report.alerts
        ],
    }


@bp.route("/summary", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(SummaryQuery, location="query", as_kwargs=True, unknown=RAISE)  # a mistyped bound is no "all time"
@bp.response(200, ReportSchema)
@bp.documents_errors(401, 403, 422)
def show_summary(start: Bound | None = None, end: Bound | None = None) -> dict[str, Any]:
    """The shop's figures for [from, to): both optional (all time); a plain date is a day in `shop.timezone`."""
    return report_body(summary(current_shop(), start, end, utcnow()))


class PerformanceSchema(Schema):
    window_days = fields.Integer(metadata={"description": "The figures' window: the last 30 days, up to now."})
    delivered = fields.Integer(metadata={"description": "Parcels delivered in the window (not cancelled)."})
    minimum_delivered = fields.Integer(metadata={"description": "Tiers apply only from this many delivered parcels."})
    on_time_rate = _rate("Delivered within `claims.delayed_after_days` of shipping ÷ delivered")
    loss_ratio = _rate("claims_paid_amount ÷ premium_collected over the window, as the summary counts them")
    return_rate = _rate("Returns opened in the window ÷ delivered")
    tier = fields.Integer(
        allow_none=True,
        metadata={"description": "Index of the `pricing.performance_tiers` tier these figures earn; null: none."},
    )
    returns_tier = fields.Integer(
        allow_none=True,
        metadata={"description": "Index of the `coverage.returns.pricing.performance_tiers` tier; null: none."},
    )
    rate = fields.Dict(
        keys=fields.String(metadata={"enum": ["shipping", "returns"]}),
        values=fields.String(),
        metadata={"description": "The rate each coverage's price uses with these figures (a decimal string)."},
    )
    tier_changed_at = fields.String(
        allow_none=True, metadata={"description": "When the stored shipping tier last changed (RFC 3339); null: never."}
    )
    returns_tier_changed_at = fields.String(
        allow_none=True, metadata={"description": "When the stored returns tier last changed (RFC 3339); null: never."}
    )
    computed_at = fields.String(
        allow_none=True,
        metadata={"description": "When the worker last stored the figures that quotes use (RFC 3339); null: never."},
    )


def performance_body(
    shop_settings: dict[str, Any], figures: PerformanceFigures, row: ShopPerformance | None
) -> dict[str, Any]:
    """The shop's figures as the API answers them."""
    tiers = performance.standings(shop_settings, figures)
    return {
        "window_days": WINDOW_DAYS,
        "delivered": figures.delivered,
        "minimum_delivered": MIN_DELIVERED,
        "on_time_rate": ratio_text(figures.on_time_rate),
        "loss_ratio": ratio_text(figures.loss_ratio),
        "return_rate": ratio_text(figures.return_rate),
        "tier": tiers[performance.SHIPPING].index,
        "returns_tier": tiers[performance.RETURNS].index,
        "rate": {coverage: format(standing.rate, "f") for coverage, standing in tiers.items()},
        "tier_changed_at": rfc3339(row.shipping_tier_changed_at) if row else None,
        "returns_tier_changed_at": rfc3339(row.returns_tier_changed_at) if row else None,
        "computed_at": rfc3339(row.computed_at) if row else None,
    }


@bp.route("/performance", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, PerformanceSchema)
@bp.documents_errors(401, 403)
def show_performance() -> dict[str, Any]:
    """The shop's last 30 days, measured now: on-time rate, loss ratio, return rate, and the price tier they earn
    (tiers apply from 50 delivered parcels)."""
    shop = current_shop()
    figures = performance.measure(shop, utcnow())
    return performance_body(effective_settings(shop), figures, performance.stored(shop.id))
