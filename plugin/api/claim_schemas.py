"""marshmallow schemas of the claims API (requests, answers, list filters)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from plugin.api.protections import PageQuery
from plugin.domain.claims import FILED_TYPES, ClaimStatus, ClaimType, Resolution
from plugin.schemas import (
    MAX_AMOUNT,
    MAX_QUANTITY,
    ExternalId,
    ListSchema,
    MinorUnits,
    StrictInteger,
    Text,
)

CLAIM_TYPES = [kind.value for kind in ClaimType]
# What a claim may be filed as: a return_shipping claim is opened only by a return (POST /api/v1/returns).
FILED_CLAIM_TYPES = [kind.value for kind in FILED_TYPES]
CLAIM_STATUSES = [status.value for status in ClaimStatus]
MAX_DESCRIPTION = 5000
MAX_MESSAGE = 5000


class AffectedItemSchema(Schema):
    sku = Text(required=True, validate=validate.Length(min=1, max=128))
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class ClaimRequestSchema(Schema):
    """A claim on one parcel (JSON; or multipart with these as form fields, `items` as a JSON string)."""

    order_id = ExternalId(required=True, metadata={"description": "The order number; a leading # is ignored."})
    email = Text(required=True, validate=validate.Length(min=3, max=320))
    type = Text(required=True, validate=validate.OneOf(FILED_CLAIM_TYPES))
    description = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_DESCRIPTION))
    shipment_id = ExternalId(
        load_default=None,
        allow_none=True,
        metadata={"description": "The store's id of the parcel; required when the order has several."},
    )
    items = fields.List(
        fields.Nested(AffectedItemSchema),
        load_default=list,
        validate=validate.Length(max=500),
        metadata={"description": "The affected lines; default: the whole parcel."},
    )
    locale = Text(load_default="en", validate=validate.OneOf(["en", "zh"]))


class ApproveRequestSchema(Schema):
    resolution = Text(required=True, validate=validate.OneOf([r.value for r in Resolution]))
    amount = MinorUnits(
        load_default=None, allow_none=True, metadata={"description": "Default: the claim's amount; at most covered."}
    )
    replacement_order_id = ExternalId(load_default=None, allow_none=True, metadata={"description": "reship"})
    cost = MinorUnits(load_default=None, allow_none=True, metadata={"description": "reship: what it cost"})
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_MESSAGE))


class DenyRequestSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=1000))


class MessageRequestSchema(Schema):
    body = Text(required=True, validate=validate.Length(min=1, max=MAX_MESSAGE))
    visibility = Text(load_default="internal", validate=validate.OneOf(["shopper", "internal"]))


class MarkPaidRequestSchema(Schema):
    method = Text(required=True, validate=validate.Length(min=1, max=40))
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=255))
    amount = MinorUnits(load_default=None, allow_none=True)


class ClaimListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(CLAIM_STATUSES))
    type = fields.String(validate=validate.OneOf(CLAIM_TYPES))
    order_id = fields.String(validate=validate.Length(min=1, max=255))
    email = fields.String(validate=validate.Length(min=1, max=320))


class EvidenceSchema(Schema):
    id = fields.String()
    object = fields.String()
    kind = fields.String(metadata={"enum": ["image", "pdf"]})
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    filename = fields.String(allow_none=True)
    uploaded_by = fields.String(metadata={"enum": ["shopper", "merchant"]})
    created_at = fields.String()


class CodedTextSchema(Schema):
    code = fields.String()
    message = fields.String()


class SignalSchema(Schema):
    code = fields.String()
    detail = fields.String()


class RecoverySchema(Schema):
    status = fields.String(allow_none=True)
    provider = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    amount = fields.Integer(allow_none=True)
    link = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class RefundSchema(Schema):
    id = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class ClaimSchema(Schema):
    id = fields.String()
    object = fields.String()
    order_id = fields.String()
    shipment = fields.String()
    shipment_id = fields.String(metadata={"description": "The store's id of the parcel."})
    protection = fields.String(allow_none=True)
    policy = fields.String(allow_none=True)
    type = fields.String(metadata={"enum": CLAIM_TYPES})
    status = fields.String(metadata={"enum": CLAIM_STATUSES})
    source = fields.String()
    email = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    items = fields.List(fields.Dict())
    currency = fields.String()
    amount = fields.Integer(validate=validate.Range(min=0, max=MAX_AMOUNT))
    covered_amount = fields.Integer()
    signals = fields.List(fields.String(), metadata={"description": "The fraud signals' codes."})
    signal_details = fields.List(fields.Nested(SignalSchema))
    reasons = fields.List(fields.Nested(CodedTextSchema))
    review_reason = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True, metadata={"enum": ["auto", "merchant", None]})
    decided_at = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    approved_amount = fields.Integer(allow_none=True)
    deny_reason = fields.String(allow_none=True)
    replacement_order_id = fields.String(allow_none=True)
    reship_cost = fields.Integer(allow_none=True)
    refund = fields.Nested(RefundSchema, allow_none=True)
    paid_at = fields.String(allow_none=True)
    paid_method = fields.String(allow_none=True)
    paid_reference = fields.String(allow_none=True)
    recovery = fields.Nested(RecoverySchema, allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceSchema))
    created_at = fields.String()
    updated_at = fields.String()


class ClaimListSchema(ListSchema):
    data = fields.List(fields.Nested(ClaimSchema), required=True)


class MessageSchema(Schema):
    id = fields.String()
    object = fields.String()
    claim = fields.String()
    author = fields.String(metadata={"enum": ["merchant", "shopper", "system"]})
    visibility = fields.String(metadata={"enum": ["shopper", "internal"]})
    body = fields.String()
    created_at = fields.String()


class MessageListSchema(ListSchema):
    data = fields.List(fields.Nested(MessageSchema), required=True)


class EvidenceListSchema(ListSchema):
    data = fields.List(fields.Nested(EvidenceSchema), required=True)
