"""Consents: what a shopper was shown and agreed to when choosing protection.

Revision ID: 0004_consents
Revises: 0003_shipments_policies
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_consents"
down_revision = "0003_shipments_policies"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("quote_reference", sa.String(length=500), nullable=False),
        sa.Column("price_shown_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("text_shown", sa.Text(), nullable=False),
        sa.Column("terms_version", sa.String(length=40), nullable=False),
        sa.Column("terms_url", sa.String(length=2048), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("page_origin", sa.String(length=255), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_consents_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_shop_id_created_at", "consents", ["shop_id", "created_at"], unique=False)


def downgrade():
    op.drop_index("ix_consents_shop_id_created_at", table_name="consents")
    op.drop_table("consents")
