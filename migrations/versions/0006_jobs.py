"""Jobs: one table for every background effect (bind and cancel policies, confirm Stripe line items).

Policies no longer carry a worker's lease: their open work moves into jobs, written here for every policy
that was due or waiting to be cancelled. Stored cancel reasons become our own words (Loadsure's codes stay
inside its adapter).

Revision ID: 0006_jobs
Revises: 0005_destinations
Create Date: 2026-11-22
"""

import secrets
import string
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_jobs"
down_revision = "0005_destinations"
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_letters + string.digits


def _job_id() -> str:
    return "job_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def _naive(value, bind):
    if value is None or bind.dialect.name != "sqlite" or isinstance(value, str):
        return value
    return value.replace(tzinfo=None)


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_jobs_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_jobs_idempotency_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_jobs_kind_subject", ["kind", "subject"], unique=False)
        batch_op.create_index("ix_jobs_shop_id_status", ["shop_id", "status"], unique=False)

    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_status", sa.String(length=20), nullable=True))

    bind = op.get_bind()
    now = datetime.now(UTC)
    policies = sa.table(
        "policies",
        sa.column("id", sa.String),
        sa.column("shop_id", sa.String),
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("key_generation", sa.Integer),
        sa.column("last_error", sa.String),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.column("cancel_requested_at", sa.DateTime(timezone=True)),
        sa.column("cancel_reason", sa.String),
        sa.column("cancel_status", sa.String),
        sa.column("cancelled_at", sa.DateTime(timezone=True)),
    )
    jobs = sa.table(
        "jobs",
        *(sa.column(name) for name in ("id", "shop_id", "kind", "subject", "idempotency_key", "status", "last_error")),
        sa.column("payload", sa.JSON),
        sa.column("attempts", sa.Integer),
        sa.column("max_attempts", sa.Integer),
        *(sa.column(name, sa.DateTime) for name in ("next_attempt_at", "created_at", "updated_at")),
    )
    if bind.dialect.name == "sqlite":  # SQLite keeps naive UTC times (as the models' UTCDateTime does)
        now = now.replace(tzinfo=None)
    rows = []
    for policy in bind.execute(sa.select(policies).where(policies.c.status.in_(["pending", "retrying"]))):
        rows.append(
            {
                "id": _job_id(), "shop_id": policy.shop_id, "kind": "bind_policy", "subject": policy.id,
                "idempotency_key": f"sp-{policy.id}-{policy.key_generation}",
                "status": "retrying" if policy.status == "retrying" else "queued", "payload": {},
                "attempts": policy.attempts, "max_attempts": max(8, policy.attempts + 1),
                "next_attempt_at": _naive(policy.next_attempt_at, bind) or now, "last_error": policy.last_error,
                "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    waiting_cancel = sa.and_(
        policies.c.status == "bound", policies.c.cancel_requested_at.is_not(None), policies.c.cancelled_at.is_(None)
    )
    for policy in bind.execute(sa.select(policies).where(waiting_cancel)):
        rows.append(
            {
                "id": _job_id(), "shop_id": policy.shop_id, "kind": "cancel_policy", "subject": policy.id,
                "idempotency_key": f"cancel-{policy.id}", "status": "queued", "payload": {}, "attempts": 0,
                "max_attempts": 6, "next_attempt_at": _naive(policy.next_attempt_at, bind) or now, "last_error": None,
                "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    if rows:
        op.bulk_insert(jobs, rows)
    bind.execute(sa.update(policies).where(waiting_cancel).values(cancel_status="requested"))
    bind.execute(sa.update(policies).where(policies.c.cancel_reason.like("CAN%")).values(cancel_reason="requested"))

    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index("ix_policies_due")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("leased_until")


def downgrade():
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_policies_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_column("cancel_status")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_shop_id_status")
        batch_op.drop_index("ix_jobs_kind_subject")
        batch_op.drop_index("ix_jobs_due")
    op.drop_table("jobs")
