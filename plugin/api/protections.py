"""GET /api/v1/protections and /api/v1/protections/<id> (secret key)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from plugin.api.blueprint import Blueprint
from plugin.api.presenters import protection_body, protection_page_body
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.schemas import DestinationSchema, ListSchema, PolicySchema, ShipmentSchema
from plugin.services.protections import ProtectionFilter, get_protection, list_protections

bp = Blueprint("protections", __name__, url_prefix="/api/v1/protections", description="Protected purchases.")


_PLAIN_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})")
_DATE_ERROR = "Must be a date such as 2026-11-01 or an RFC 3339 date-time such as 2026-11-01T00:00:00Z."


class DateBound(fields.Field):
    """A time filter's bound: a plain date (UTC; the start of the day, or with `end_of_day` its last
    microsecond) or an RFC 3339 date-time with its offset; always an aware UTC datetime."""

    def __init__(self, *, end_of_day: bool, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"type": "string", "description": "YYYY-MM-DD (UTC) or an RFC 3339 date-time"})
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError(_DATE_ERROR)
        try:
            if match := _PLAIN_DATE.fullmatch(value):
                day = date(*(int(part) for part in match.groups()))
                if self.end_of_day:
                    return datetime.combine(day, time.max, tzinfo=UTC)
                return datetime.combine(day, time.min, tzinfo=UTC)
            text = value.upper()  # RFC 3339 allows t and z
            if not _RFC3339.fullmatch(text):
                raise ValidationError(_DATE_ERROR)
            return datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError) as exc:  # 2026-02-30, year 0, an offset past year 9999
            raise ValidationError(_DATE_ERROR) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value


class PageQuery(Schema):
    """What every newest-first list takes: a creation window, a page size and a cursor."""

    created_gte = DateBound(data_key="created[gte]", end_of_day=False)
    created_lte = DateBound(data_key="created[lte]", end_of_day=True)
    limit = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=100, error="Must be a whole number from 1 to 100."),
        error_messages={"invalid": "Must be a whole number from 1 to 100."},
    )
    starting_after = fields.String(validate=validate.Length(min=1, max=40))


class ProtectionListQuery(PageQuery):
    order_id = fields.String(validate=validate.Length(min=1, max=255))
    status = fields.String(validate=validate.OneOf(["active", "voided", "needs_review"]))


class ProtectionCoverageSchema(Schema):
    type = fields.String(metadata={"enum": ["shipping", "returns"]})
    premium = fields.Integer()
    customer_price = fields.Integer()
    merchant_contribution = fields.Integer()
    rate_tier = fields.Integer(allow_none=True)


class ProtectionSchema(Schema):
    id = fields.String()
    object = fields.String()
    order_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["active", "voided", "needs_review"]})
    review_reason = fields.String(allow_none=True)
    disputed = fields.Boolean()
    currency = fields.String()
    declared_value = fields.Integer()
    premium = fields.Integer()
    customer_price = fields.Integer()
    merchant_contribution = fields.Integer()
    coverages = fields.List(
        fields.Nested(ProtectionCoverageSchema),
        metadata={"description": "The coverages bought, from the quote; the amounts above are their sums."},
    )
    rate_tier = fields.Integer(allow_none=True, metadata={"description": "As the quote's `rate_tier`."})
    shipping_carrier = fields.String(allow_none=True, metadata={"description": "The quote's shipping_method.carrier."})
    amount_charged = fields.Integer(allow_none=True)
    amount_refunded = fields.Integer()
    payment_intent = fields.String(allow_none=True)
    checkout_session = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    destination = fields.Nested(DestinationSchema, allow_none=True, metadata={"description": "From the quote."})
    consent = fields.String(allow_none=True)
    consent_verified = fields.Boolean()
    quote = fields.String()
    quote_expires_at = fields.String(allow_none=True)
    line_item_check = fields.String()
    voided_at = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    shipments = fields.List(fields.Nested(ShipmentSchema))
    policies = fields.List(fields.Nested(PolicySchema))


class ProtectionListSchema(ListSchema):
    data = fields.List(fields.Nested(ProtectionSchema), required=True)


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(ProtectionListQuery, location="query", as_kwargs=True)
@bp.response(200, ProtectionListSchema)
@bp.documents_errors(401, 403, 422)
def index(**query: Any) -> dict[str, Any]:
    """The shop's protections, newest first; page on with `starting_after` while `has_more`."""
    return protection_page_body(list_protections(current_snapshot().id, ProtectionFilter(**query)))


@bp.route("/<protection_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, ProtectionSchema)
@bp.documents_errors(401, 403, 404)
def show(protection_id: str) -> dict[str, Any]:
    """One protection."""
    page = get_protection(current_snapshot().id, protection_id)
    return protection_body(page.rows[0], page.related)
