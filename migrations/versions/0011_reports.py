"""The reports: indexes for figures counted by a time other than creation (policies by bind time, claims by
decision and payment time).

Revision ID: 0011_reports
Revises: 0010_admin
Create Date: 2026-11-24
"""

from alembic import op

revision = "0011_reports"
down_revision = "0010_admin"
branch_labels = None
depends_on = None

_INDEXES = {
    "policies": [("bound_at",), ("created_at",)],  # (shop_id, status, …): 0012_lists
    "claims": [("decided_at",), ("paid_at",)],
}


def _name(table, columns):
    return f"ix_{table}_shop_id_{'_'.join(columns)}"


def upgrade():
    for table, indexes in _INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for columns in indexes:
                batch_op.create_index(_name(table, columns), ["shop_id", *columns], unique=False)


def downgrade():
    for table, indexes in _INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for columns in indexes:
                batch_op.drop_index(_name(table, columns))
