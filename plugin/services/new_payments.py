"""The common Stripe delivery, a payment seen for the first time, recorded in one statement on PostgreSQL.

Most deliveries are a new `payment_intent.succeeded` (with or without a protection). Recorded through the ORM it
costs a look-up, three inserts and a transaction around them; here the look-up and the inserts are one statement
of CTEs, run on its own (autocommitted: a single statement is atomic), so a delivery is one round trip:

- `existing`: any payment of the shop that one of the delivery's ids names (as the ORM path's `find_payment`);
- `delivery`: the delivery, unless a payment exists, `ON CONFLICT DO NOTHING` (a concurrent repeat waits on the
  unique key for the first one's statement to end, then inserts nothing);
- `payment` and `protection`: inserted only if the delivery was (they read its RETURNING).

Whenever this does not record the delivery in full (the payment exists already, the delivery was seen before, a
concurrent delivery created the same payment first, a value the database refuses), nothing at all was written,
and the caller records it the usual way (`record_delivery`), which decides each of those cases. SQLite, and any
delivery that queues a job (a Checkout line-item check), always take the usual way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Table
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from plugin import metrics
from plugin.domain.purchases import QUOTE_KEY, PaymentSucceeded
from plugin.domain.untrusted_text import fit_id, fit_text
from plugin.extensions import db, run_autocommitted
from plugin.logs import current_request_id
from plugin.models import Payment, Protection, WebhookDelivery
from plugin.services.purchases import (
    DELIVERY_ID_LIMIT,
    TOPIC_LIMIT,
    PurchaseContext,
    Recorded,
    ShopRef,
    order_id_of,
    protection_values,
)

PROTECTION_CREATED, ORDER_RECORDED = "protection_created", "order_recorded"
# Each inserted column's value: a parameter (by name) or an SQL constant. The rows share what they have in common,
# so that the statement keeps under psycopg's 50 parameters, past which it parses the query anew on every call.
_DELIVERY = {
    "shop_id": "shop_id",
    "source": "source",
    "delivery_id": "delivery_id",
    "topic": "topic",
    "outcome": "outcome",
    "received_at": "now",
    "request_id": "request_id",
}
_PAYMENT = {
    "shop_id": "shop_id",
    "payment_key": "payment_key",
    "payment_intent": "payment_intent",
    "checkout_session": "checkout_session",
    "charge_id": "charge_id",
    "status": "'succeeded'",
    "amount": "amount",
    "currency": "currency",
    "amount_refunded": "0",
    "disputed": "false",
    "order_id": "order_id",
    "protected": "protected",
    "customer_email": "customer_email",
    "succeeded_at": "succeeded_at",
    "created_at": "now",
    "updated_at": "now",
}
# The protection's own values are parameters `r_<column>` (protection_values); these come from its payment.
_PROTECTION_SHARED = {
    "shop_id": "shop_id",
    "order_id": "order_id",
    "payment_intent": "payment_intent",
    "checkout_session": "checkout_session",
    "customer_email": "customer_email",
    "disputed": "false",
    "voided_at": "NULL",
    "created_at": "now",
    "updated_at": "now",
}


def _cast(table: Table, column: str) -> str:
    """The SQL type a parameter is cast to: the column's type without its length (too long stays an error)."""
    kind = table.c[column].type
    kind = getattr(kind, "impl_instance", kind)  # UTCDateTime: its DateTime(timezone=True)
    if isinstance(kind, DateTime):
        return "timestamptz"
    if isinstance(kind, BigInteger):
        return "bigint"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no cast for {table.name}.{column}")


def _insert(table: Table, values: dict[str, str], source: str) -> str:
    """`INSERT INTO table (columns) SELECT values<source>`: a value is a parameter's name, or SQL (quoted,
    a number, NULL, a boolean, a column of another CTE)."""

    def value(column: str, given: str) -> str:
        if given.isidentifier() and given not in {"NULL", "false", "true"}:
            return f"%({given})s::{_cast(table, column)}"
        return given

    columns = ", ".join(values)
    selected = ", ".join(value(column, given) for column, given in values.items())
    return f"INSERT INTO {table.name} ({columns}) SELECT {selected}{source}"


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@cache
def _statement(protected: bool) -> str:
    """The statement for a new payment (and its protection): built once from the tables, for psycopg."""
    payments, protections = _table(Payment), _table(Protection)
    protection = {column.name: f"r_{column.name}" for column in protections.c if column.name != "payment_id"}
    protection.update(_PROTECTION_SHARED)
    protection["payment_id"] = "payment.id"
    protection_cte = (
        f", protection AS ({_insert(protections, protection, ' FROM payment')} RETURNING id)" if protected else ""
    )
    # Only the tables' own table and column names are formatted in; every value is a parameter.
    # The look-up is one index probe per kind of id: as one OR of the three, a plan made generic on a prepared
    # statement can scan all the shop's payments (seen at 30,000: 12 ms instead of 0.1).
    existing = " UNION ALL ".join(
        f"SELECT 1 FROM {payments.name} WHERE shop_id = %(shop_id)s::text AND {column} = ANY(%(refs)s::text[])"  # noqa: S608
        for column in ("payment_key", "charge_id", "checkout_session")
    )
    return (
        f"WITH existing AS ({existing} LIMIT 1),"  # noqa: S608
        f" delivery AS ({_insert(_table(WebhookDelivery), _DELIVERY, ' WHERE NOT EXISTS (SELECT 1 FROM existing)')}"
        " ON CONFLICT (shop_id, source, delivery_id) DO NOTHING RETURNING id),"
        f" payment AS ({_insert(payments, _PAYMENT, ' FROM delivery')} RETURNING id)"
        f"{protection_cte}"
        " SELECT (SELECT count(*) FROM payment)"
    )


def applies(fact: object, ctx: PurchaseContext) -> bool:
    """Whether a delivery may try the one-statement way: a succeeded payment that queues no job, on PostgreSQL."""
    return (
        isinstance(fact, PaymentSucceeded)
        and bool(fact.payment_key)
        and not (fact.checkout_session and ctx.line_items_checkable)
        and db.engine.dialect.name == "postgresql"
    )


def record_new_payment(
    shop: ShopRef, source: str, delivery_id: str, topic: str, fact: PaymentSucceeded, ctx: PurchaseContext
) -> Recorded | None:
    """Record the delivery of a payment not seen before, in one statement; None, having written nothing, when it
    is not that (the caller then records it with `record_delivery`)."""
    now = datetime.now(UTC)
    protected = QUOTE_KEY in fact.metadata
    params: dict[str, Any] = {
        "refs": [ref for ref in (fact.payment_key, fact.checkout_session, fact.charge) if ref],
        "shop_id": shop.id,
        "now": now,
        "source": source,
        "delivery_id": fit_id(delivery_id, DELIVERY_ID_LIMIT),
        "topic": fit_text(topic, TOPIC_LIMIT),
        "outcome": PROTECTION_CREATED if protected else ORDER_RECORDED,
        "request_id": current_request_id(),
        "payment_key": fact.payment_key,
        "payment_intent": fact.payment_intent,
        "checkout_session": fact.checkout_session,
        "charge_id": fact.charge,
        "amount": fact.amount,
        "currency": fact.currency or None,
        "order_id": order_id_of(fact.metadata),
        "protected": protected,
        "customer_email": fact.customer_email,
        "succeeded_at": fact.occurred_at,
    }
    if protected:
        values = protection_values(shop.id, fact, ctx.quote_secrets)
        params.update({f"r_{name}": value for name, value in values.items() if name not in _PROTECTION_SHARED})
    try:
        try:
            inserted = run_autocommitted(_statement(protected), params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The pooled connection was dropped (a restart the pool's check could not see yet): once more on a
            # new one. Had the first run committed before its answer was lost, this one finds its payment and
            # the usual way answers it as a repeat.
            inserted = run_autocommitted(_statement(protected), params)
    except (IntegrityError, DataError):
        # A concurrent delivery created the payment first, or the database refuses a value: the statement wrote
        # nothing; the usual way decides (retrying against the committed payment, or storing `unstorable`).
        return None
    if not inserted:
        return None
    outcome = params["outcome"]
    metrics.webhook_recorded(source, outcome)
    return Recorded(outcome, protection_id=params["r_id"] if protected else None)
