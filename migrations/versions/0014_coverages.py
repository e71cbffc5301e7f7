"""Coverages and returns: the return cover's part of each protection, returns and blocked shoppers, return-shipping
claims (one per return rather than per parcel), and the flag on a policy covered otherwise than chosen.

Revision ID: 0014_coverages
Revises: 0013_scale
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_coverages"
down_revision = "0013_scale"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


_PROTECTION_AMOUNTS = (
    "returns_premium_amount",
    "returns_customer_price_amount",
    "returns_merchant_contribution_amount",
)


def upgrade():
    with op.batch_alter_table("protections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("covers_shipping", sa.Boolean(), server_default=sa.text("true"), nullable=False))
        batch_op.add_column(sa.Column("covers_returns", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        for name in _PROTECTION_AMOUNTS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("rate_tier", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("returns_rate_tier", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shipping_carrier", sa.String(length=100), nullable=True))
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flag", sa.String(length=40), nullable=True))
        batch_op.create_index(
            "ix_policies_shop_id_flag",
            ["shop_id", "flag"],
            unique=False,
            sqlite_where=sa.text("flag IS NOT NULL"),
            postgresql_where=sa.text("flag IS NOT NULL"),
        )

    op.create_table(
        "returns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("return_ref", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("protection_id", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("label_cost_amount", sa.BigInteger(), nullable=False),
        sa.Column("items", _json(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("uncovered_reason", sa.String(length=40), nullable=True),
        sa.Column("flag_reason", sa.String(length=20), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["protection_id"], ["protections.id"], name=op.f("fk_returns_protection_id_protections")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_returns_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("shop_id", "return_ref", name=op.f("uq_returns_shop_id")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index("ix_returns_shop_id_order_id", ["shop_id", "order_id"], unique=False)
        batch_op.create_index("ix_returns_shop_id_created_at", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_returns_shop_id_email_created_at", ["shop_id", "email", "created_at"], unique=False)
        batch_op.create_index("ix_returns_shop_id_tracking_number", ["shop_id", "tracking_number"], unique=False)

    op.create_table(
        "blocked_shoppers",
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("return_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_blocked_shoppers_return_id_returns"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_blocked_shoppers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "email", name=op.f("pk_blocked_shoppers")),
    )

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(op.f("fk_claims_return_id_returns"), "returns", ["return_id"], ["id"])
        batch_op.create_unique_constraint(op.f("uq_claims_return_id"), ["return_id"])
        batch_op.drop_constraint("uq_claims_shipment_id", type_="unique")
        batch_op.create_index(
            "uq_claims_shipment_id",
            ["shipment_id"],
            unique=True,
            sqlite_where=sa.text("return_id IS NULL"),
            postgresql_where=sa.text("return_id IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("uq_claims_shipment_id")
        batch_op.create_unique_constraint("uq_claims_shipment_id", ["shipment_id"])
        batch_op.drop_constraint(op.f("uq_claims_return_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_claims_return_id_returns"), type_="foreignkey")
        batch_op.drop_column("return_id")
    op.drop_table("blocked_shoppers")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        for name in (
            "ix_returns_shop_id_tracking_number",
            "ix_returns_shop_id_email_created_at",
            "ix_returns_shop_id_created_at",
            "ix_returns_shop_id_order_id",
        ):
            batch_op.drop_index(name)
    op.drop_table("returns")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index("ix_policies_shop_id_flag")
        batch_op.drop_column("flag")
    with op.batch_alter_table("protections", schema=None) as batch_op:
        for name in ("shipping_carrier", "returns_rate_tier", "rate_tier", *reversed(_PROTECTION_AMOUNTS)):
            batch_op.drop_column(name)
        batch_op.drop_column("covers_returns")
        batch_op.drop_column("covers_shipping")
