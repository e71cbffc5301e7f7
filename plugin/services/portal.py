"""The claim portal's memory of a found order: a signed proof that the shopper knew its email, not the email.

The portal's session cookie holds the shop, the order and an HMAC of the email the shopper typed (see
plugin/portal/access.py); each step finds the order again with the one email on record that the proof matches, so
a cookie can neither name another order nor reveal an address.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Payment, Protection
from plugin.services.claims import FoundOrder, OrderNotFoundError, find_order, normalise_email


def emails_on_record(shop_id: str, order_id: str) -> list[str]:
    """The customer emails the order carries (its protection's and its payment's), normalised."""
    protection_emails = db.session.scalars(
        select(Protection.customer_email)
        .where(Protection.shop_id == shop_id, Protection.order_id == order_id)
        .order_by(Protection.created_at.desc())
        .limit(1)
    ).all()
    payment_emails = db.session.scalars(
        select(Payment.customer_email)
        .where(Payment.shop_id == shop_id, Payment.order_id == order_id)
        .order_by(Payment.id.desc())
        .limit(5)
    ).all()
    found: list[str] = []
    for email in (*protection_emails, *payment_emails):
        if email and normalise_email(email) not in found:
            found.append(normalise_email(email))
    return found


def resume_order(shop_id: str, order_id: str, proves: Callable[[str], bool]) -> tuple[FoundOrder, str] | None:
    """The order again, and the email the proof stands for; None when no email on record matches it (any more)."""
    for email in emails_on_record(shop_id, order_id):
        if proves(email):
            try:
                return find_order(shop_id, order_id, email), email
            except OrderNotFoundError:  # find_order is the one judge of which emails open the order
                continue
    return None
