"""Claims: claims on parcels, their evidence (and its bytes when the database stores them), their messages;
the customer's email on payments (claims find orders by it); the tracking scan's marks on shipments.

Revision ID: 0007_claims
Revises: 0006_jobs
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_claims"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence_blobs",
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("storage_key", name=op.f("pk_evidence_blobs")),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.Column("protection_id", sa.String(length=40), nullable=True),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("policy_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "items", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("covered_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "signals", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("review_reason", sa.String(length=60), nullable=True),
        sa.Column("decided_by", sa.String(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("approved_amount", sa.BigInteger(), nullable=True),
        sa.Column("deny_reason", sa.String(length=1000), nullable=True),
        sa.Column("replacement_order_id", sa.String(length=255), nullable=True),
        sa.Column("reship_cost_amount", sa.BigInteger(), nullable=True),
        sa.Column("refund_generation", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("refund_status", sa.String(length=30), nullable=True),
        sa.Column("refund_error", sa.String(length=1000), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_method", sa.String(length=40), nullable=True),
        sa.Column("paid_reference", sa.String(length=255), nullable=True),
        sa.Column("recovery_status", sa.String(length=30), nullable=True),
        sa.Column("recovery_provider", sa.String(length=30), nullable=True),
        sa.Column("recovery_reference", sa.String(length=255), nullable=True),
        sa.Column("recovery_amount", sa.BigInteger(), nullable=True),
        sa.Column("recovery_link", sa.String(length=2048), nullable=True),
        sa.Column("recovery_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_claims_payment_id_payments")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_claims_policy_id_policies")),
        sa.ForeignKeyConstraint(
            ["protection_id"], ["protections.id"], name=op.f("fk_claims_protection_id_protections")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_claims_shipment_id_shipments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_claims_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_claims_shipment_id")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_shop_id_address_key", ["shop_id", "address_key"], unique=False)
        batch_op.create_index("ix_claims_shop_id_created_at", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_claims_shop_id_email", ["shop_id", "email"], unique=False)
        batch_op.create_index("ix_claims_shop_id_status", ["shop_id", "status"], unique=False)

    op.create_table(
        "claim_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=20), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_messages_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_claim_messages_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_messages")),
    )
    with op.batch_alter_table("claim_messages", schema=None) as batch_op:
        batch_op.create_index("ix_claim_messages_claim_id_created_at", ["claim_id", "created_at"], unique=False)

    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=True),
        sa.Column("shipment_id", sa.String(length=40), nullable=True),
        sa.Column("uploaded_by", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("perceptual_hash", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_evidence_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_evidence_shipment_id_shipments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_evidence_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_claim_id", ["claim_id"], unique=False)
        batch_op.create_index("ix_evidence_shipment_id", ["shipment_id"], unique=False)
        batch_op.create_index("ix_evidence_shop_id_sha256", ["shop_id", "sha256"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_email", sa.String(length=320), nullable=True))

    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("stalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("merchant_alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("shopper_invited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("shopper_invited_at")
        batch_op.drop_column("merchant_alerted_at")
        batch_op.drop_column("stalled_at")
        batch_op.drop_column("address_key")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("customer_email")

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_shop_id_sha256")
        batch_op.drop_index("ix_evidence_shipment_id")
        batch_op.drop_index("ix_evidence_claim_id")

    op.drop_table("evidence")
    with op.batch_alter_table("claim_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_messages_claim_id_created_at")

    op.drop_table("claim_messages")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_shop_id_status")
        batch_op.drop_index("ix_claims_shop_id_email")
        batch_op.drop_index("ix_claims_shop_id_created_at")
        batch_op.drop_index("ix_claims_shop_id_address_key")

    op.drop_table("claims")
    op.drop_table("evidence_blobs")
