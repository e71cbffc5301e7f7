"""Destinations: where a protection's quote and each shipment say the parcel goes (for the insurer).

Revision ID: 0005_destinations
Revises: 0004_consents
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_destinations"
down_revision = "0004_consents"
branch_labels = None
depends_on = None

_TABLES = ("protections", "shipments")


def upgrade():
    # Nullable columns without defaults: adding them rewrites no rows on PostgreSQL or SQLite.
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("destination_country", sa.String(length=2), nullable=True))
            batch.add_column(sa.Column("destination_region", sa.String(length=10), nullable=True))
            batch.add_column(sa.Column("destination_postal_code", sa.String(length=32), nullable=True))


def downgrade():
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("destination_postal_code")
            batch.drop_column("destination_region")
            batch.drop_column("destination_country")
