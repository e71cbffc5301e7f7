"""The admin at scale: the reports' pre-aggregates (report_rows, kept by triggers on PostgreSQL and filled from the
existing rows) and the indexes the dashboard and the lists' first pages read through.

Revision ID: 0011_scale
Revises: 0010_admin
Create Date: 2026-11-23
"""

# ruff: noqa: S608 (the SQL here is built from this file's own names and rules, never from input)

import sqlalchemy as sa
from alembic import op

revision = "0011_scale"
down_revision = "0010_admin"
branch_labels = None
depends_on = None

BUCKET = 900  # seconds: a quarter hour
FIGURES = (
    "orders", "protected_orders", "priced_orders", "order_amount", "protections", "premium", "premium_collected",
    "merchant_contribution", "insurance_cost", "policies_bound", "policies_failed",
)  # fmt: skip


def _bucket(column):
    return f"floor(extract(epoch FROM {column}) / {BUCKET})::bigint"


def _append(version, bucket_column, currency, values, sign):
    """An INSERT of one version's contribution (sign "-" takes it away), the figures not named being 0."""
    names = ", ".join(values)
    signed = ", ".join(f"{sign}({value})" for value in values.values())
    bucket = _bucket(f"{version}.{bucket_column}")
    return (
        f"INSERT INTO report_rows (shop_id, bucket, currency, merged, {names}) "
        f"VALUES ({version}.shop_id, {bucket}, {currency}, false, {signed});"
    )


def _contribution(when, bucket_column, currency, values):
    """Append the old version's contribution negated and the new one's, each when it counts."""

    def of(version, sign):
        named = {name: value.replace("{v}", version) for name, value in values.items()}
        return _append(version, bucket_column, currency.replace("{v}", version), named, sign)

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
# (columns whose change matters, [(condition, time column, currency, {figure: value})]).
RULES = {
    "payments": (
        ("shop_id", "status", "succeeded_at", "currency", "protected", "amount"),
        [("{v}.status = 'succeeded' AND {v}.succeeded_at IS NOT NULL", "succeeded_at", "coalesce({v}.currency, '')",
          {"orders": "1", "protected_orders": "{v}.protected::int", "priced_orders": "({v}.amount IS NOT NULL)::int",
           "order_amount": "coalesce({v}.amount, 0)"})],
    ),
    "protections": (
        ("shop_id", "status", "created_at", "currency", "premium_amount", "customer_price_amount",
         "merchant_contribution_amount"),
        [("{v}.status <> 'voided'", "created_at", "{v}.currency",
          {"protections": "1", "premium": "{v}.premium_amount", "premium_collected": "{v}.customer_price_amount",
           "merchant_contribution": "{v}.merchant_contribution_amount"})],
    ),
    "policies": (
        ("shop_id", "status", "created_at", "bound_at", "currency", "cost_amount"),
        [("{v}.status = 'bound' AND {v}.bound_at IS NOT NULL", "bound_at", "{v}.currency",
          {"insurance_cost": "coalesce({v}.cost_amount, 0)"}),
         ("({v}.bound_at IS NOT NULL OR {v}.status = 'failed')", "created_at", "{v}.currency",
          {"policies_bound": "({v}.bound_at IS NOT NULL)::int", "policies_failed": "({v}.status = 'failed')::int"})],
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


def _rebuild_sql():
    sums = ", ".join(f"sum({name})" for name in FIGURES)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in FIGURES)
    parts = []
    for table, (_, rules) in RULES.items():
        for condition, column, currency, values in rules:
            row = ", ".join(values.get(name, "0").replace("{v}", table) + f" AS {name}" for name in FIGURES)
            parts.append(
                f"SELECT shop_id, {_bucket(column)} AS bucket, {currency.replace('{v}', table)} AS currency, {row}"
                f" FROM {table} WHERE {condition.replace('{v}', table)}"
            )
    return (
        f"INSERT INTO report_rows (shop_id, bucket, currency, merged, {', '.join(FIGURES)}) "
        f"SELECT shop_id, bucket, currency, true, {sums} FROM ({' UNION ALL '.join(parts)}) contributions "
        f"GROUP BY shop_id, bucket, currency HAVING {nonzero}"
    )


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
    if op.get_bind().dialect.name == "postgresql":
        for table in RULES:
            op.execute(_function(table))
        op.execute(_rebuild_sql())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in RULES:
            op.execute(f"DROP TRIGGER IF EXISTS report_rows_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS report_rows_{table}()")
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_report_rows_unmerged")
        batch_op.drop_index("ix_report_rows_shop_id_bucket")
    op.drop_table("report_rows")
