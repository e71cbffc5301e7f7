"""The admin's lists: an index behind each list's default order and behind each of its filters, so a first page
reads a page's worth of rows even with a million protections.

On a large PostgreSQL database the indexes take a while to build (about a minute per million rows); writes to
these tables wait meanwhile, so run the upgrade when little is happening.

Revision ID: 0012_lists
Revises: 0011_reports
Create Date: 2026-11-23
"""

from alembic import op

revision = "0012_lists"
down_revision = "0011_reports"
branch_labels = None
depends_on = None

# (table, index, columns)
_INDEXES = (
    ("protections", "ix_protections_shop_id_status_created_at", ["shop_id", "status", "created_at"]),
    ("protections", "ix_protections_shop_id_customer_email", ["shop_id", "customer_email"]),
    ("protections", "ix_protections_shop_id_payment_intent", ["shop_id", "payment_intent"]),
    ("shipments", "ix_shipments_shop_id_created_at", ["shop_id", "created_at"]),
    ("shipments", "ix_shipments_shop_id_carrier_created_at", ["shop_id", "carrier", "created_at"]),
    ("shipments", "ix_shipments_shop_id_tracking_number", ["shop_id", "tracking_number"]),
    ("policies", "ix_policies_shop_id_status_created_at", ["shop_id", "status", "created_at"]),
    ("jobs", "ix_jobs_shop_id_status_created_at", ["shop_id", "status", "created_at"]),
    ("jobs", "ix_jobs_shop_id_kind_created_at", ["shop_id", "kind", "created_at"]),
    ("jobs", "ix_jobs_shop_id_created_at", ["shop_id", "created_at"]),
    ("webhook_deliveries", "ix_webhook_deliveries_shop_id_received_at", ["shop_id", "received_at"]),
    ("webhook_deliveries", "ix_webhook_deliveries_shop_id_source_received_at", ["shop_id", "source", "received_at"]),
    ("webhook_deliveries", "ix_webhook_deliveries_shop_id_outcome_received_at", ["shop_id", "outcome", "received_at"]),
)


def upgrade():
    for table, name, columns in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    # (shop_id, status, created_at) serves every query (shop_id, status) served.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_shop_id_status")


def downgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_shop_id_status", ["shop_id", "status"], unique=False)
    for table, name, _columns in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
