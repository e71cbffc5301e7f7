"""SQLAlchemy 2.0 models. Money is *_amount BIGINT next to a CHAR(3) currency; times are aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.extensions import db

if TYPE_CHECKING:  # flask-sqlalchemy builds db.Model at run time; the type checker sees the declarative base
    from plugin.extensions import Base as Model
else:
    Model = db.Model

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def rfc3339(value: datetime | None) -> str | None:
    """A time as the API shows it: RFC 3339 in UTC, to the second (`2026-11-21T06:00:00Z`)."""
    if not value:
        return None
    moment = value.astimezone(UTC)
    if moment.year < 1000:  # strftime does not pad such years on every platform: keep its spelling
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Formatted directly: strftime was the slowest step of building a quote's answer.
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it is added back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Shop(Model):
    """A merchant's store: its currency and its settings (overrides of the defaults)."""

    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="shop", cascade="all, delete-orphan")
    secrets: Mapped[list[ShopSecret]] = relationship(cascade="all, delete-orphan")


class ApiKey(Model):
    """A publishable (`pk_`) or secret (`sk_`) key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_shop_id_kind", "shop_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "publishable" | "secret"
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The whole key for publishable keys (they are public), `sk_…abcd` for secret ones.
    display: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    shop: Mapped[Shop] = relationship(back_populates="api_keys")


class ShopSecret(Model):
    """A write-only setting of a shop, encrypted with ENCRYPTION_KEY."""

    __tablename__ = "shop_secrets"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Model):
    """An accepted webhook delivery, stored in the transaction of its effect: a repeat finds it and stops."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("shop_id", "source", "delivery_id"),
        # The admin's list of deliveries: newest first, by source, by outcome.
        Index("ix_webhook_deliveries_shop_id_received_at", "shop_id", "received_at"),
        Index("ix_webhook_deliveries_shop_id_source_received_at", "shop_id", "source", "received_at"),
        Index("ix_webhook_deliveries_shop_id_outcome_received_at", "shop_id", "outcome", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # "stripe" | "platform"
    delivery_id: Mapped[str] = mapped_column(String(255))  # Stripe event id, Shopify webhook id
    topic: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(40))  # what it did: "applied", "ignored", …
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The id of the request that brought it (X-Request-ID): its log lines, and its jobs', carry the same.
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class QueuedStripeDelivery(Model):
    """A verified Stripe delivery acknowledged but not yet recorded (STRIPE_RECORDING=queued): the worker, or the
    next request that reads the shop's payments, records it and deletes this row in the recording's wake."""

    __tablename__ = "stripe_inbox"
    # Only the two keys: acknowledging a delivery is one row and two index entries (the admin's lists and the
    # reports read webhook_deliveries, written when it is recorded).
    __table_args__ = (UniqueConstraint("shop_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))  # fit as webhook_deliveries.delivery_id is
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the signed bytes, exactly as received
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # a quote's expiry is judged at this time
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Not before this: a worker's lease, or the backoff after a failed recording.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Payment(Model):
    """A succeeded payment of the shop (protected or not): every one counts as an order."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("shop_id", "payment_key"),
        Index("ix_payments_shop_id_charge_id", "shop_id", "charge_id"),
        Index("ix_payments_shop_id_checkout_session", "shop_id", "checkout_session"),
        Index("ix_payments_shop_id_succeeded_at", "shop_id", "succeeded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # The PaymentIntent id if any, else the session id: a session and its PaymentIntent are one payment.
    payment_key: Mapped[str] = mapped_column(String(255))
    payment_intent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    checkout_session: Mapped[str | None] = mapped_column(String(255), nullable=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # "succeeded" | "failed" | "unknown" (only refunds seen yet)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    disputed: Mapped[bool] = mapped_column(default=False)
    order_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    protected: Mapped[bool] = mapped_column(default=False)  # carried sp_quote, whatever became of it
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)  # finds the order for a claim
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StripeRefund(Model):
    """One Stripe refund, so that refund.* events are counted once each."""

    __tablename__ = "stripe_refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    refund_id: Mapped[str] = mapped_column(String(255))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(30))


class Protection(Model):
    """Shipping protection bought with one payment."""

    __tablename__ = "protections"
    __table_args__ = (
        UniqueConstraint("payment_id"),
        Index("ix_protections_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_protections_shop_id_order_id", "shop_id", "order_id"),
        # The admin's list: by status, newest first; found by the shopper's email or the PaymentIntent.
        Index("ix_protections_shop_id_status_created_at", "shop_id", "status", "created_at"),
        Index("ix_protections_shop_id_customer_email", "shop_id", "customer_email"),
        Index("ix_protections_shop_id_payment_intent", "shop_id", "payment_intent"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    order_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # "active" | "voided" | "needs_review"
    review_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    disputed: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str] = mapped_column(String(3))
    declared_value_amount: Mapped[int] = mapped_column(BigInteger)
    premium_amount: Mapped[int] = mapped_column(BigInteger)
    customer_price_amount: Mapped[int] = mapped_column(BigInteger)
    merchant_contribution_amount: Mapped[int] = mapped_column(BigInteger)
    charged_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # sp_amount as paid
    # The amounts above are the sums over the coverages bought; the return cover's own part (0 when not bought):
    # the shipping cover's part is the sum less this.
    covers_shipping: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    covers_returns: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    returns_premium_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    returns_customer_price_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    returns_merchant_contribution_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # The performance tier each coverage's price used (an index into its performance_tiers), as quoted.
    rate_tier: Mapped[int | None] = mapped_column(nullable=True)
    returns_rate_tier: Mapped[int | None] = mapped_column(nullable=True)
    shipping_carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the quote's shipping_method
    quote_reference: Mapped[str] = mapped_column(String(500))
    quote_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payment_intent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    checkout_session: Mapped[str | None] = mapped_column(String(255), nullable=True)
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # Where the quote said the parcel goes (carried in the signed reference); null for older references.
    destination_country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166-1 alpha-2
    destination_region: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO 3166-2
    destination_postal_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    line_item_check: Mapped[str] = mapped_column(String(20), default="not_applicable")
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    payment: Mapped[Payment] = relationship()


class Shipment(Model):
    """A parcel of an order, as the store shipped it, with its tracking."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("shop_id", "shipment_ref"),
        Index("ix_shipments_shop_id_order_id", "shop_id", "order_id"),
        Index("ix_shipments_shop_id_shipped_at", "shop_id", "shipped_at"),  # the tracking scan's range
        # The admin's list: newest first, by carrier; found by tracking number.
        Index("ix_shipments_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_shipments_shop_id_carrier_created_at", "shop_id", "carrier", "created_at"),
        Index("ix_shipments_shop_id_tracking_number", "shop_id", "tracking_number"),
        Index("ix_shipments_shop_id_delivered_at", "shop_id", "delivered_at"),  # the performance figures' range
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shipment_ref: Mapped[str] = mapped_column(String(255))  # the store's shipment (fulfillment) id
    order_id: Mapped[str] = mapped_column(String(255))
    protection_id: Mapped[str | None] = mapped_column(ForeignKey("protections.id"), nullable=True)
    carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tracking_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tracking_status: Mapped[str] = mapped_column(String(40), default="shipped")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    currency: Mapped[str] = mapped_column(String(3))
    items_value_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_tracking_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    uninsured_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # Where the parcel goes: as the store said, else as the protection's quote said; null when nobody said.
    destination_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    destination_region: Mapped[str | None] = mapped_column(String(10), nullable=True)
    destination_postal_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A digest of the full shipping address when the store sent one (the repeat-address fraud signal).
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The tracking scan: when the parcel was found stalled, the merchant alerted, the shopper invited to claim.
    stalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    merchant_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shopper_invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delay_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # told of delay cover
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TrackingEvent(Model):
    """One carrier status update of a shipment."""

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    location: Mapped[str | None] = mapped_column(String(255), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Policy(Model):
    """Cargo insurance for one shipment, bought by the worker, never twice."""

    __tablename__ = "policies"
    __table_args__ = (
        # The dashboard counts flagged parcels (carrier_excluded): few rows, so a partial index finds them at once.
        Index(
            "ix_policies_shop_id_flag",
            "shop_id",
            "flag",
            sqlite_where=text("flag IS NOT NULL"),
            postgresql_where=text("flag IS NOT NULL"),
        ),
        UniqueConstraint("shipment_id"),
        Index("ix_policies_shop_id_order_id", "shop_id", "order_id"),
        # The reports: insurance cost by bind time, purchase success by creation.
        Index("ix_policies_shop_id_bound_at", "shop_id", "bound_at"),
        Index("ix_policies_shop_id_created_at", "shop_id", "created_at"),
        # The admin's shipments list reads failed, retrying and pending policies first, each newest first (the
        # reports' failed-policies count uses it too).
        Index("ix_policies_shop_id_status_created_at", "shop_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(255))
    protection_id: Mapped[str | None] = mapped_column(ForeignKey("protections.id"), nullable=True)
    provider: Mapped[str] = mapped_column(String(30))
    # pending | retrying | bound | failed | cancelled
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    sum_insured_amount: Mapped[int] = mapped_column(BigInteger)
    cost_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reserve_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # self-insurance
    certificate: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provider_reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    certificate_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # Where a claim on it is filed by hand (Loadsure's fileClaimLink), for insurers without a claims API.
    claim_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # Part of the idempotency key: a merchant's retry of a refused policy asks the insurer afresh.
    key_generation: Mapped[int] = mapped_column(default=0)
    # Why a parcel is covered otherwise than the merchant chose: "carrier_excluded" (self-insured instead).
    flag: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # When its purchase job is next due (shown to the merchant; the job row is what the worker reads).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set before an insurer call whose outcome may be lost; cleared when the outcome is recorded.
    in_doubt_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)  # a CancelReason
    cancel_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # a CancelStatus
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    shipment: Mapped[Shipment] = relationship()


class Job(Model):
    """One external effect to carry out in the background, written in the transaction that needs it.

    Workers lease due jobs (FOR UPDATE SKIP LOCKED on PostgreSQL) and run them outside any transaction;
    a dead worker's lease lapses and another takes the job again. The idempotency key is unique: asking for
    the same effect twice queues it once, and handlers pass it on to Stripe or the insurer.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_jobs_due", "status", "next_attempt_at"),
        Index("ix_jobs_kind_subject", "kind", "subject"),
        # The admin's list of jobs (failed ones by default), newest first, by status or kind.
        Index("ix_jobs_shop_id_status_created_at", "shop_id", "status", "created_at"),
        Index("ix_jobs_shop_id_kind_created_at", "shop_id", "kind", "created_at"),
        Index("ix_jobs_shop_id_created_at", "shop_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # a handler's name: "bind_policy", "cancel_policy", …
    subject: Mapped[str] = mapped_column(String(255))  # the id of the row the job acts on (pol_…, prot_…)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))  # a JobStatus
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)  # leases taken, a dead worker's included
    max_attempts: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The request that queued it (or queued the job that queued it): the worker logs its lines under this id.
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SandboxBooking(Model):
    """The built-in simulated insurer's own ledger (what an external insurer would keep on its side)."""

    __tablename__ = "sandbox_bookings"

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    certificate: Mapped[str] = mapped_column(String(64))
    shop_id: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(255))
    sum_insured_amount: Mapped[int] = mapped_column(BigInteger)
    cost_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Model):
    """What a shopper was shown and agreed to when choosing protection (evidence for the merchant)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_shop_id_created_at", "shop_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    quote_reference: Mapped[str] = mapped_column(String(500))
    price_shown_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    text_shown: Mapped[str] = mapped_column(Text)
    terms_version: Mapped[str] = mapped_column(String(40))
    terms_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(35), nullable=True)
    page_origin: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # as the browser reported it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_CLAIM_TIMES = ["created_at", "status", "currency"]


class Claim(Model):
    """A shopper's claim on one parcel: what happened, the amount, the decision and how it was settled."""

    __tablename__ = "claims"
    __table_args__ = (
        # One claim per parcel (a second is a 409 naming the first); return-shipping claims name the parcel the
        # returned items came in but are one per return instead.
        Index(
            "uq_claims_shipment_id",
            "shipment_id",
            unique=True,
            sqlite_where=text("return_id IS NULL"),
            postgresql_where=text("return_id IS NULL"),
        ),
        UniqueConstraint("return_id"),
        Index("ix_claims_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_claims_shop_id_status", "shop_id", "status"),
        Index("ix_claims_shop_id_email", "shop_id", "email"),
        Index("ix_claims_shop_id_address_key", "shop_id", "address_key"),
        # The reports: decisions and payouts by their time.
        # Covering (PostgreSQL): the reports' medians read only the index.
        Index("ix_claims_shop_id_decided_at", "shop_id", "decided_at", postgresql_include=_CLAIM_TIMES),
        Index("ix_claims_shop_id_paid_at", "shop_id", "paid_at", postgresql_include=_CLAIM_TIMES),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(255))
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    protection_id: Mapped[str | None] = mapped_column(ForeignKey("protections.id"), nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    policy_id: Mapped[str | None] = mapped_column(ForeignKey("policies.id"), nullable=True)
    type: Mapped[str] = mapped_column(String(20))  # a ClaimType
    return_id: Mapped[str | None] = mapped_column(ForeignKey("returns.id"), nullable=True)  # return_shipping only
    status: Mapped[str] = mapped_column(String(20))  # a ClaimStatus
    source: Mapped[str] = mapped_column(String(20))  # "api" | "portal"
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)  # lower case; erased on request
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # digest of the shipping address
    locale: Mapped[str] = mapped_column(String(10), default="en")  # the shopper's language for emails
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)  # [{sku, quantity}]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)  # claimed: the affected items' covered value
    covered_amount: Mapped[int] = mapped_column(BigInteger)  # the most it may be settled for
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)  # [{code, detail}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)  # [{code, message}]
    review_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)  # a Resolution
    approved_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deny_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    replacement_order_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reship_cost_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The Stripe refund: asked by a job keyed on the claim and this generation (a refund that failed and is
    # approved again is a new request to Stripe).
    refund_generation: Mapped[int] = mapped_column(default=0)
    refund_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    refund_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    refund_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_method: Mapped[str | None] = mapped_column(String(40), nullable=True)  # "stripe_refund", "bank_transfer", …
    paid_reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Recovery from the insurer that covered the parcel (none for self-insurance: the reserve pays).
    recovery_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    recovery_provider: Mapped[str | None] = mapped_column(String(30), nullable=True)
    recovery_reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    recovery_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recovery_link: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    recovery_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    shipment: Mapped[Shipment] = relationship()


class Evidence(Model):
    """A file sent with a claim (by the shopper or the merchant) or a parcel's packing evidence."""

    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_shop_id_sha256", "shop_id", "sha256"),
        Index("ix_evidence_claim_id", "claim_id"),
        Index("ix_evidence_shipment_id", "shipment_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    claim_id: Mapped[str | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=True)
    shipment_id: Mapped[str | None] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), nullable=True)
    uploaded_by: Mapped[str] = mapped_column(String(20))  # "shopper" | "merchant"
    kind: Mapped[str] = mapped_column(String(10))  # "image" | "pdf"
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # of the bytes as received
    perceptual_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # images only
    storage_key: Mapped[str] = mapped_column(String(255))  # random; never the uploaded name
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)  # as uploaded, for display only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceBlob(Model):
    """The bytes of an evidence file when the database is the store (EVIDENCE_STORAGE_URL unset)."""

    __tablename__ = "evidence_blobs"

    storage_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClaimMessage(Model):
    """A note on a claim: to the shopper, or internal to the shop's staff."""

    __tablename__ = "claim_messages"
    __table_args__ = (Index("ix_claim_messages_claim_id_created_at", "claim_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(20))  # "merchant" | "shopper" | "system"
    visibility: Mapped[str] = mapped_column(String(20))  # "shopper" | "internal"
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Model):
    """A merchant's URL that receives our events, signed with its own secret (generated here, kept encrypted)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_shop_id", "shop_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # whe_…
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JsonDocument, default=list)  # event types, or ["*"]
    secret_ciphertext: Mapped[str] = mapped_column(Text)  # whsec_…, encrypted with ENCRYPTION_KEY
    position: Mapped[int] = mapped_column(default=0)  # the order the merchant listed them in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookEvent(Model):
    """One event for the merchant's endpoints, recorded once: every delivery and every retry sends these bytes."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_shop_id_created_at", "shop_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_…
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(60))
    # The JSON body as sent: {"id", "object": "event", "type", "created", "data": the object as the API shows it}.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledTask(Model):
    """When a periodic task last started: the worker that moves the time forward runs it, the others do not."""

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Model):
    """A member of a shop's staff who signs in to the admin; emails are unique per server."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_shop_id", "shop_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # usr_…
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower case
    password_hash: Mapped[str] = mapped_column(String(255))  # Argon2id, in its PHC string form
    role: Mapped[str] = mapped_column(String(10))  # "owner" | "staff"
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)  # unset until the user chooses
    # Bumped when the password changes or the user is signed out everywhere: older sessions stop working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)  # consecutive, reset by a sign-in
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(Model):
    """One change made to a shop, by whom and when, with the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_shop_id_created_at", "shop_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # Who: "user:<usr_…> <email>" for a person, "api_key:<display>" for the API, "cli" for a command.
    actor: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(60))  # "settings.updated", "keys.rolled", "user.created", …
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the changed object's id, if any
    before: Mapped[Any] = mapped_column(JsonDocument, nullable=True)
    after: Mapped[Any] = mapped_column(JsonDocument, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRow(Model):
    """The reports' additive figures for one shop, currency and quarter hour (UTC), on PostgreSQL.

    Written only by triggers on payments, protections, policies and claims (a row per change: the old version's
    contribution taken away, the new one's added) and folded into one merged row per quarter hour by the worker;
    services/report_rollup.py says how they stay exactly equal to the live figures."""

    __tablename__ = "report_rows"
    __table_args__ = (
        Index("ix_report_rows_shop_id_bucket", "shop_id", "bucket"),
        Index(
            "ix_report_rows_unmerged",
            "shop_id",
            "bucket",
            "currency",
            postgresql_where=text("NOT merged"),
            sqlite_where=text("NOT merged"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    bucket: Mapped[int] = mapped_column(BigInteger)  # epoch seconds // 900
    currency: Mapped[str] = mapped_column(String(3))  # the rows' own currency ("" for a payment without one)
    merged: Mapped[bool] = mapped_column(Boolean)  # a compacted row; false: a change appended by a trigger
    orders: Mapped[int] = mapped_column(BigInteger, server_default="0")
    protected_orders: Mapped[int] = mapped_column(BigInteger, server_default="0")
    priced_orders: Mapped[int] = mapped_column(BigInteger, server_default="0")
    order_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    protections: Mapped[int] = mapped_column(BigInteger, server_default="0")
    premium: Mapped[int] = mapped_column(BigInteger, server_default="0")
    premium_collected: Mapped[int] = mapped_column(BigInteger, server_default="0")
    merchant_contribution: Mapped[int] = mapped_column(BigInteger, server_default="0")
    insurance_cost: Mapped[int] = mapped_column(BigInteger, server_default="0")
    policies_bound: Mapped[int] = mapped_column(BigInteger, server_default="0")  # by the policy's created_at
    policies_failed: Mapped[int] = mapped_column(BigInteger, server_default="0")  # by the policy's created_at
    claims_filed: Mapped[int] = mapped_column(BigInteger, server_default="0")  # by the claim's created_at
    claims_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")  # by when it was settled
    claims_paid_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    recovered_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    claims_decided: Mapped[int] = mapped_column(BigInteger, server_default="0")  # by the claim's decided_at
    claims_denied: Mapped[int] = mapped_column(BigInteger, server_default="0")


class Return(Model):
    """A shopper's return of an order's items: its label, its tracking, and whether the return cover pays it."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("shop_id", "return_ref"),
        Index("ix_returns_shop_id_order_id", "shop_id", "order_id"),
        Index("ix_returns_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_returns_shop_id_email_created_at", "shop_id", "email", "created_at"),  # frequent returners
        Index("ix_returns_shop_id_tracking_number", "shop_id", "tracking_number"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ret_…
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    return_ref: Mapped[str] = mapped_column(String(255))  # the store's return id
    order_id: Mapped[str] = mapped_column(String(255))
    protection_id: Mapped[str | None] = mapped_column(ForeignKey("protections.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(20))  # "api" | "platform"
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)  # lower case; erased on request
    carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(255), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    label_cost_amount: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)  # [{sku, quantity}]
    status: Mapped[str] = mapped_column(String(20))  # "in_transit" | "received" | "flagged"
    uncovered_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # not_covered, shopper_blocked
    flag_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)  # "swapped" | "empty"
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BlockedShopper(Model):
    """A shopper whose return cover the merchant switched off (a swapped or empty return); deleting lifts it."""

    __tablename__ = "blocked_shoppers"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    reason: Mapped[str] = mapped_column(String(20))  # "swapped" | "empty"
    return_id: Mapped[str | None] = mapped_column(ForeignKey("returns.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopPerformance(Model):
    """A shop's last-30-day figures as the worker last measured them, and the price tier each coverage earns: quotes
    read this row (through the shop's snapshot) rather than measure anything."""

    __tablename__ = "shop_performance"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered: Mapped[int] = mapped_column(Integer)
    # Ratios as decimal strings ("0.9800"); None when the denominator was zero.
    on_time_rate: Mapped[str | None] = mapped_column(String(24), nullable=True)
    loss_ratio: Mapped[str | None] = mapped_column(String(24), nullable=True)
    return_rate: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # The index of the performance tier in force for each coverage (None: none), and since when.
    shipping_tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    returns_tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shipping_tier_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returns_tier_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PerformanceTierChange(Model):
    """A coverage's performance tier changed: from which to which, on what figures, when."""

    __tablename__ = "performance_tier_changes"
    __table_args__ = (Index("ix_performance_tier_changes_shop_id_changed_at", "shop_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    coverage: Mapped[str] = mapped_column(String(20))  # "shipping" | "returns"
    from_tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered: Mapped[int] = mapped_column(Integer)
    on_time_rate: Mapped[str | None] = mapped_column(String(24), nullable=True)
    loss_ratio: Mapped[str | None] = mapped_column(String(24), nullable=True)
    return_rate: Mapped[str | None] = mapped_column(String(24), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlatformReturn(Model):
    """A return the store platform told of (returns/request, returns/approve): which order it is for, so that the
    reverse delivery that later carries its tracking (naming only the return) can open it."""

    __tablename__ = "platform_returns"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    return_ref: Mapped[str] = mapped_column(String(255), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
