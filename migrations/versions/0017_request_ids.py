"""Request ids: the request that queued a job, and the one that brought a webhook delivery, so the worker's log
lines about a delivery's jobs carry the delivery's X-Request-ID.

Revision ID: 0017_request_ids
Revises: 0016_returns
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_request_ids"
down_revision = "0016_returns"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: adding the columns rewrites no row (PostgreSQL), and older rows simply have none.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))


def downgrade():
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("request_id")
