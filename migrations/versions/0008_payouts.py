"""Claim payouts: where a claim on a policy is filed by hand (Loadsure's fileClaimLink).

Revision ID: 0008_payouts
Revises: 0007_claims
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_payouts"
down_revision = "0007_claims"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("claim_url", sa.String(length=2048), nullable=True))


def downgrade():
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("claim_url")
