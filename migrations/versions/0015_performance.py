"""Performance tiers: each shop's last-30-day figures and the tier each coverage earns, kept by the worker; the
history of tier changes; and the index the figures' range reads (shipments by delivery time).

Revision ID: 0015_performance
Revises: 0014_coverages
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_performance"
down_revision = "0014_coverages"
branch_labels = None
depends_on = None


def _figures():
    return [
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("on_time_rate", sa.String(length=24), nullable=True),
        sa.Column("loss_ratio", sa.String(length=24), nullable=True),
        sa.Column("return_rate", sa.String(length=24), nullable=True),
    ]


def upgrade():
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_shop_id_delivered_at", ["shop_id", "delivered_at"], unique=False)
    op.create_table(
        "shop_performance",
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        sa.Column("shipping_tier", sa.Integer(), nullable=True),
        sa.Column("returns_tier", sa.Integer(), nullable=True),
        sa.Column("shipping_tier_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returns_tier_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_performance_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_shop_performance")),
    )
    op.create_table(
        "performance_tier_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("coverage", sa.String(length=20), nullable=False),
        sa.Column("from_tier", sa.Integer(), nullable=True),
        sa.Column("to_tier", sa.Integer(), nullable=True),
        *_figures(),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_performance_tier_changes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_tier_changes")),
    )
    with op.batch_alter_table("performance_tier_changes", schema=None) as batch_op:
        batch_op.create_index("ix_performance_tier_changes_shop_id_changed_at", ["shop_id", "changed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("performance_tier_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_tier_changes_shop_id_changed_at")
    op.drop_table("performance_tier_changes")
    op.drop_table("shop_performance")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_shop_id_delivered_at")
