"""The Stripe inbox: verified deliveries acknowledged before they are recorded (STRIPE_RECORDING=queued).

Revision ID: 0018_stripe_inbox
Revises: 0017_request_ids
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_stripe_inbox"
down_revision = "0017_request_ids"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stripe_inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_stripe_inbox_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_inbox")),
        sa.UniqueConstraint("shop_id", "event_id", name=op.f("uq_stripe_inbox_shop_id")),
    )


def downgrade():
    op.drop_table("stripe_inbox")
