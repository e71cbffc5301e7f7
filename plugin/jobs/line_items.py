"""Job handler: confirm a Checkout Session's protection line with Stripe (never inside the webhook request)."""

from __future__ import annotations

from typing import Any

from plugin.extensions import db
from plugin.jobs.base import FailJob, JobKind, JobView, RetryJob
from plugin.models import Protection, Shop
from plugin.payments.stripe_api import StripeApiError
from plugin.services.purchases import CONFIRM_LINE_ITEMS, apply_line_items
from plugin.services.stripe_account import stripe_account


def confirm_line_items(job: JobView, ctx: Any) -> None:
    """Ask Stripe for the session's line items and check the protection line against sp_amount."""
    protection = db.session.get(Protection, job.subject)
    if protection is None or protection.line_item_check != "pending" or not protection.checkout_session:
        ctx.finish(job)  # checked already (by `flask stripe reconcile`), or nothing to check
        return
    shop = db.session.get(Shop, protection.shop_id)
    if shop is None:
        raise FailJob(f"shop {protection.shop_id} is gone")
    api = stripe_account(shop, ctx.app.extensions["secret_box"]).client(ctx.app.config["STRIPE_API_BASE"])
    if api is None:
        raise FailJob("the shop has no stripe.api_key in its settings")
    session_id = protection.checkout_session
    db.session.commit()  # no transaction stays open while Stripe is asked
    try:
        lines = api.checkout_line_items(session_id)
    except StripeApiError as exc:
        raise (RetryJob if exc.retryable else FailJob)(str(exc)) from exc
    ctx.finish(job, lambda: apply_line_items(job.subject, lines, ctx.now()))


KINDS = (JobKind(CONFIRM_LINE_ITEMS, confirm_line_items, 8),)
