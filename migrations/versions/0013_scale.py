"""The admin at scale: the reports' pre-aggregates (report_rows, kept by triggers on PostgreSQL and filled from the
existing rows), and covering indexes for the reports' medians.

Revision ID: 0013_scale
Revises: 0012_lists
Create Date: 2026-11-23
"""

# ruff: noqa: S608 (the SQL here is built from this file's own names and rules, never from input)

import sqlalchemy as sa
from alembic import op

revision = "0013_scale"
down_revision = "0012_lists"
branch_labels = None
depends_on = None

BUCKET = 900  # seconds: a quarter hour
FIGURES = (
    "orders", "protected_orders", "priced_orders", "order_amount", "protections", "premium", "premium_collected",
    "merchant_contribution", "insurance_cost", "policies_bound", "policies_failed", "claims_filed", "claims_paid",
    "claims_paid_amount", "recovered_amount", "claims_decided", "claims_denied",
)  # fmt: skip


def _bucket(moment):
    return f"floor(extract(epoch FROM {moment}) / {BUCKET})::bigint"


def _append(version, moment, currency, values, sign):
    """An INSERT of one version's contribution (sign "-" takes it away), the figures not named being 0."""
    names = ", ".join(values)
    signed = ", ".join(f"{sign}({value})" for value in values.values())
    bucket = _bucket(moment)
    return (
        f"INSERT INTO report_rows (shop_id, bucket, currency, merged, {names}) "
        f"VALUES ({version}.shop_id, {bucket}, {currency}, false, {signed});"
    )


def _contribution(when, moment, currency, values):
    """Append the old version's contribution negated and the new one's, each when it counts."""

    def of(version, sign):
        named = {name: value.replace("{v}", version) for name, value in values.items()}
        return _append(version, moment.replace("{v}", version), currency.replace("{v}", version), named, sign)

    # A DELETE cascading from a deleted shop appends nothing: the shop's report_rows go with it.
    return f"""
    IF TG_OP <> 'INSERT' AND {when.replace("{v}", "OLD")}
        AND (TG_OP = 'UPDATE' OR EXISTS (SELECT 1 FROM shops WHERE id = OLD.shop_id)) THEN
        {of("OLD", "-")}
    END IF;
    IF TG_OP <> 'DELETE' AND {when.replace("{v}", "NEW")} THEN
        {of("NEW", "")}
    END IF;"""


# What each table's rows add to the figures, by the same rules as services/reports.py's live queries:
# (columns whose change matters, [(condition, the time it counts at, currency, {figure: value})]), "{v}" standing
# for the row (OLD or NEW in a trigger).
_SETTLED_AT = "CASE WHEN {v}.status = 'reshipped' THEN {v}.decided_at ELSE {v}.paid_at END"
RULES = {
    "payments": (
        ("shop_id", "status", "succeeded_at", "currency", "protected", "amount"),
        [("{v}.status = 'succeeded' AND {v}.succeeded_at IS NOT NULL", "{v}.succeeded_at",
          "coalesce({v}.currency, '')",
          {"orders": "1", "protected_orders": "{v}.protected::int", "priced_orders": "({v}.amount IS NOT NULL)::int",
           "order_amount": "coalesce({v}.amount, 0)"})],
    ),
    "protections": (
        ("shop_id", "status", "created_at", "currency", "premium_amount", "customer_price_amount",
         "merchant_contribution_amount"),
        [("{v}.status <> 'voided'", "{v}.created_at", "{v}.currency",
          {"protections": "1", "premium": "{v}.premium_amount", "premium_collected": "{v}.customer_price_amount",
           "merchant_contribution": "{v}.merchant_contribution_amount"})],
    ),
    "policies": (
        ("shop_id", "status", "created_at", "bound_at", "currency", "cost_amount"),
        [("{v}.status = 'bound' AND {v}.bound_at IS NOT NULL", "{v}.bound_at", "{v}.currency",
          {"insurance_cost": "coalesce({v}.cost_amount, 0)"}),
         ("({v}.bound_at IS NOT NULL OR {v}.status = 'failed')", "{v}.created_at", "{v}.currency",
          {"policies_bound": "({v}.bound_at IS NOT NULL)::int", "policies_failed": "({v}.status = 'failed')::int"})],
    ),
    "claims": (
        ("shop_id", "status", "created_at", "decided_at", "paid_at", "currency", "approved_amount",
         "reship_cost_amount", "recovery_status", "recovery_amount"),
        [("true", "{v}.created_at", "{v}.currency", {"claims_filed": "1"}),
         ("(({v}.status = 'paid' AND {v}.paid_at IS NOT NULL)"
          " OR ({v}.status = 'reshipped' AND {v}.decided_at IS NOT NULL))", _SETTLED_AT, "{v}.currency",
          {"claims_paid": "1",
           "claims_paid_amount": "CASE WHEN {v}.status = 'reshipped' THEN coalesce({v}.reship_cost_amount, 0)"
                                 " ELSE coalesce({v}.approved_amount, 0) END",
           "recovered_amount": "CASE WHEN {v}.recovery_status = 'paid' THEN coalesce({v}.recovery_amount, 0)"
                               " ELSE 0 END"}),
         ("{v}.decided_at IS NOT NULL", "{v}.decided_at", "{v}.currency",
          {"claims_decided": "1", "claims_denied": "({v}.status = 'denied')::int"})],
    ),
}  # fmt: skip


def _function(table):
    columns, rules = RULES[table]
    unchanged = " AND ".join(f"OLD.{column} IS NOT DISTINCT FROM NEW.{column}" for column in columns)
    body = "".join(_contribution(*rule) for rule in rules)
    return f"""
CREATE OR REPLACE FUNCTION report_rows_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {unchanged} THEN
        RETURN NULL;
    END IF;{body}
    RETURN NULL;
END
$$;
CREATE TRIGGER report_rows_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION report_rows_{table}();
"""


def _rebuild_function():
    """report_rows_rebuild(): every row's contribution summed afresh (the backfill below, a repair, a bulk load)."""
    sums = ", ".join(f"sum({name})" for name in FIGURES)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in FIGURES)
    parts = []
    for table, (_, rules) in RULES.items():
        for condition, moment, currency, values in rules:
            row = ", ".join(values.get(name, "0").replace("{v}", table) + f" AS {name}" for name in FIGURES)
            parts.append(
                f"SELECT shop_id, {_bucket(moment.replace('{v}', table))} AS bucket,"
                f" {currency.replace('{v}', table)} AS currency, {row}"
                f" FROM {table} WHERE {condition.replace('{v}', table)}"
            )
    return f"""
CREATE OR REPLACE FUNCTION report_rows_rebuild() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM report_rows;
    INSERT INTO report_rows (shop_id, bucket, currency, merged, {", ".join(FIGURES)})
    SELECT shop_id, bucket, currency, true, {sums} FROM ({" UNION ALL ".join(parts)}) contributions
    GROUP BY shop_id, bucket, currency HAVING {nonzero};
    SELECT count(*) FROM report_rows;
$$;
"""


def upgrade():
    op.create_table(
        "report_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in FIGURES),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_report_rows_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_rows")),
    )  # fmt: skip
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.create_index("ix_report_rows_shop_id_bucket", ["shop_id", "bucket"], unique=False)
        batch_op.create_index(
            "ix_report_rows_unmerged",
            ["shop_id", "bucket", "currency"],
            unique=False,
            postgresql_where=sa.text("NOT merged"),
            sqlite_where=sa.text("NOT merged"),
        )
    # The reports' medians read claims by (shop, decided_at) and (shop, paid_at): covering indexes (PostgreSQL)
    # let them read the index alone.
    with op.batch_alter_table("claims", schema=None) as batch_op:
        for column in ("decided_at", "paid_at"):
            batch_op.drop_index(f"ix_claims_shop_id_{column}")
            batch_op.create_index(
                f"ix_claims_shop_id_{column}",
                ["shop_id", column],
                unique=False,
                postgresql_include=["created_at", "status", "currency"],
            )
    if op.get_bind().dialect.name == "postgresql":
        for table in RULES:
            op.execute(_function(table))
        op.execute(_rebuild_function())
        op.execute("SELECT report_rows_rebuild()")
        op.execute("ANALYZE report_rows")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in RULES:
            op.execute(f"DROP TRIGGER IF EXISTS report_rows_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS report_rows_{table}()")
        op.execute("DROP FUNCTION IF EXISTS report_rows_rebuild()")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        for column in ("decided_at", "paid_at"):
            batch_op.drop_index(f"ix_claims_shop_id_{column}")
            batch_op.create_index(f"ix_claims_shop_id_{column}", ["shop_id", column], unique=False)
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_report_rows_unmerged")
        batch_op.drop_index("ix_report_rows_shop_id_bucket")
    op.drop_table("report_rows")
