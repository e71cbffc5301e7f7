"""Payments (every succeeded one is an order), their protections, refunds and webhook deliveries.

Revision ID: 0002_payments
Revises: 0001_shops_and_keys
Create Date: 2026-11-21 06:15:48.580614

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002_payments"
down_revision = "0001_shops_and_keys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("payment_key", sa.String(length=255), nullable=False),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("checkout_session", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_payments_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("shop_id", "payment_key", name=op.f("uq_payments_shop_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_shop_id_charge_id", ["shop_id", "charge_id"], unique=False)
        batch_op.create_index("ix_payments_shop_id_checkout_session", ["shop_id", "checkout_session"], unique=False)
        batch_op.create_index("ix_payments_shop_id_succeeded_at", ["shop_id", "succeeded_at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_webhook_deliveries_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("shop_id", "source", "delivery_id", name=op.f("uq_webhook_deliveries_shop_id")),
    )
    op.create_table(
        "protections",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("review_reason", sa.String(length=60), nullable=True),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("declared_value_amount", sa.BigInteger(), nullable=False),
        sa.Column("premium_amount", sa.BigInteger(), nullable=False),
        sa.Column("customer_price_amount", sa.BigInteger(), nullable=False),
        sa.Column("merchant_contribution_amount", sa.BigInteger(), nullable=False),
        sa.Column("charged_amount", sa.BigInteger(), nullable=True),
        sa.Column("quote_reference", sa.String(length=500), nullable=False),
        sa.Column("quote_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_id", sa.String(length=255), nullable=True),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("checkout_session", sa.String(length=255), nullable=True),
        sa.Column("customer_email", sa.String(length=320), nullable=True),
        sa.Column("line_item_check", sa.String(length=20), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_protections_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_protections_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protections")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_protections_payment_id")),
    )
    with op.batch_alter_table("protections", schema=None) as batch_op:
        batch_op.create_index("ix_protections_shop_id_created_at", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_protections_shop_id_order_id", ["shop_id", "order_id"], unique=False)

    op.create_table(
        "stripe_refunds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_stripe_refunds_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stripe_refunds_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_refunds")),
        sa.UniqueConstraint("shop_id", "refund_id", name=op.f("uq_stripe_refunds_shop_id")),
    )
    with op.batch_alter_table("stripe_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_refunds_payment_id"), ["payment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("stripe_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_refunds_payment_id"))

    op.drop_table("stripe_refunds")
    with op.batch_alter_table("protections", schema=None) as batch_op:
        batch_op.drop_index("ix_protections_shop_id_order_id")
        batch_op.drop_index("ix_protections_shop_id_created_at")

    op.drop_table("protections")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_shop_id_succeeded_at")
        batch_op.drop_index("ix_payments_shop_id_checkout_session")
        batch_op.drop_index("ix_payments_shop_id_charge_id")

    op.drop_table("payments")
