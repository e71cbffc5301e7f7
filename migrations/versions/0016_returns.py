"""Platform returns: the store platform's return id and its order, noted from returns/* webhooks so that a later
reverse_deliveries/attach_deliverable (which names only the return) can open the return with its tracking.

Revision ID: 0016_returns
Revises: 0015_performance
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_returns"
down_revision = "0015_performance"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "platform_returns",
        sa.Column("shop_id", sa.String(40), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("return_ref", sa.String(255), primary_key=True),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("platform_returns")
