"""Keys and webhooks (/admin/keys, owners only): the API keys and rolling them, Stripe's webhook signing secret and
API key, the webhook URLs to paste into Stripe and the store, and what the webhooks did lately.

A new secret key is shown once, in the answer to the roll; it is never put in the session, a flash message, the
audit log or a log line. Every change is in the audit log with secrets masked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import or_, select

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.posted import posted, refuse
from plugin.api.settings import settings_context  # the settings API's: one secret box and SSRF policy
from plugin.crypto import SecretBox, mask
from plugin.domain.webhooks import ALL_EVENTS, EVENT_TYPES
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import ApiKey, Shop, utcnow
from plugin.payments.stripe import HANDLED_TYPES
from plugin.schemas import StripeSettingsSchema
from plugin.services import audit, webhook_activity, webhooks
from plugin.services.settings import read_secrets, update_settings
from plugin.services.shop_snapshots import forget_shop_caches
from plugin.services.shops import roll_keys

WEBHOOK_SECRET = "stripe.webhook_secret"  # noqa: S105 - settings paths, not secrets
PREVIOUS_WEBHOOK_SECRET = "stripe.previous_webhook_secret"  # noqa: S105
STRIPE_API_KEY = "stripe.api_key"
_STRIPE_SECRETS = (WEBHOOK_SECRET, PREVIOUS_WEBHOOK_SECRET, STRIPE_API_KEY)
_SECRET_MAX = 500

# How long the old keys keep working after a roll: the form's choices.
GRACE_PERIODS = {
    "0": (timedelta(0), lazy_gettext("Stop them now")),
    "1h": (timedelta(hours=1), lazy_gettext("1 hour")),
    "24h": (timedelta(hours=24), lazy_gettext("24 hours")),
    "7d": (timedelta(days=7), lazy_gettext("7 days")),
}
DEFAULT_GRACE = "24h"
# What the store platform (Shopify or a store speaking its format) sends; see plugin/platforms/shopify.py.
PLATFORM_TOPICS = (
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
    "orders/cancelled",
    "refunds/create",
)
MAX_ENDPOINTS = 10  # as many as the settings document takes (WebhooksSettingsSchema)
_stripe_schema = StripeSettingsSchema()


def secret_box() -> SecretBox:
    """The app's box for stored secrets."""
    box: SecretBox = current_app.extensions["secret_box"]
    return box


def absolute_url(endpoint: str, **values: Any) -> str:
    """A URL others call us at: on PUBLIC_BASE_URL when set, else on the host this page was asked for."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return f"{base}{url_for(endpoint, **values)}"
    return url_for(endpoint, _external=True, **values)


def _masked_stripe_secrets(shop: Shop) -> dict[str, str | None]:
    stored = read_secrets(shop, _STRIPE_SECRETS, secret_box())
    return {name: mask(stored[name]) if name in stored else None for name in _STRIPE_SECRETS}


def _live_keys(shop: Shop) -> list[ApiKey]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.shop_id == shop.id, or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
            .order_by(ApiKey.kind, ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def endpoint_rows(shop: Shop) -> list[dict[str, Any]]:
    """The shop's outbound endpoints, secrets masked."""
    box = secret_box()
    return [
        {
            "id": endpoint.id,
            "url": endpoint.url,
            "events": list(endpoint.events),
            "secret": mask(box.decrypt(endpoint.secret_ciphertext)),
        }
        for endpoint in webhooks.endpoints_of(shop.id)
    ]


def render_keys_page(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    """The page, with the messages of a form that could not be saved."""
    shop = access.current_shop()
    context = {
        "shop": shop,
        "keys": _live_keys(shop),
        "now": utcnow(),
        "grace_periods": GRACE_PERIODS,
        "default_grace": DEFAULT_GRACE,
        "stripe_secrets": _masked_stripe_secrets(shop),
        "stripe_url": absolute_url("stripe_webhooks.receive", shop_id=shop.id),
        "platform_url": absolute_url("platform_webhooks.receive", shop_id=shop.id),
        "stripe_events": HANDLED_TYPES,
        "platform_topics": PLATFORM_TOPICS,
        "endpoints": endpoint_rows(shop),
        "max_endpoints": MAX_ENDPOINTS,
        "event_types": EVENT_TYPES,
        "all_events": ALL_EVENTS,
        "received": webhook_activity.recent_received(shop.id),
        "sent": webhook_activity.recent_sent(shop.id),
        "errors": errors or {},
    }
    return render_template("admin/keys.html", **context), status


@bp.get("/keys")
@access.owner_required
def keys() -> ResponseReturnValue:
    """The keys, the webhook URLs and secrets, the outbound endpoints, and the latest deliveries both ways."""
    return render_keys_page()


@bp.post("/keys/roll")
@access.owner_required
def roll_api_keys() -> ResponseReturnValue:
    """New publishable and secret keys; the old ones stop after the chosen grace period. Shown once, here."""
    choice = posted("grace", 10)
    if choice not in GRACE_PERIODS:
        refuse()
    grace = GRACE_PERIODS[choice][0]
    shop = access.current_shop()
    now = utcnow()
    before = [key.display for key in _live_keys(shop)]
    # The audit entry joins the roll's own commit: the log and the change are saved together or not at all.
    entry = audit.record(
        shop.id,
        access.actor(),
        "keys.rolled",
        now,
        target=shop.id,
        before={"keys": before},
        after={"old_keys_expire_at": (now + grace).isoformat()},
    )
    issued = roll_keys(shop, now, grace)
    forget_shop_caches(current_app.extensions, shop.id)
    entry.after = {**entry.after, "publishable_key": issued.publishable_key, "secret_key": mask(issued.secret_key)}
    db.session.commit()
    return render_template(
        "admin/keys_rolled.html",
        shop=shop,
        title=gettext("New API keys"),
        publishable_key=issued.publishable_key,
        secret_key=issued.secret_key,
        old_keys_expire_at=now + grace if grace else None,
    )


def _secret_problem(name: str, value: str) -> str | None:
    """A translated reason a pasted Stripe secret cannot be saved, or None."""
    if not value:
        return gettext("Paste the value first.")
    if "…" in value:
        return gettext("That is the masked value shown on this page; paste the whole secret.")
    if len(value) > _SECRET_MAX:
        return gettext("That is too long to be a Stripe secret.")
    if _stripe_schema.validate({name: value}):
        if name == "webhook_secret":
            return gettext(
                "A webhook signing secret starts with whsec_ followed by letters and digits, as Stripe shows it on "
                "the endpoint's page."
            )
        return gettext("A Stripe API key starts with sk_test_, sk_live_, rk_test_ or rk_live_.")
    return None


def _save_stripe(patch: dict[str, Any], action: str, field: str) -> ResponseReturnValue | None:
    """Save a `stripe` patch through the settings service (audited, secrets masked); an error page or None."""
    shop = access.current_shop()
    before = _masked_stripe_secrets(shop)
    if all(value is None and before[f"stripe.{name}"] is None for name, value in patch.items()):
        return None  # removing what is not there: nothing changes, nothing to log
    now = utcnow()
    entry = audit.record(shop.id, access.actor(), action, now, target=shop.id, before=before)
    try:
        update_settings(shop, {"stripe": patch}, settings_context())  # commits, the audit entry with it
    except ValidationFailedError as exc:
        db.session.rollback()  # the audit entry goes with the refused change
        fields = exc.fields or {}
        message = next(iter(fields.values()), [gettext("This value cannot be saved.")])[0]
        return render_keys_page({field: message}, 422)
    entry.after = _masked_stripe_secrets(shop)
    db.session.commit()
    forget_shop_caches(current_app.extensions, shop.id)
    return None


@bp.post("/keys/stripe/webhook-secret")
@access.owner_required
def save_webhook_secret() -> ResponseReturnValue:
    """Save the signing secret of the Stripe endpoint; the one it replaces stays accepted if asked (rolling)."""
    value = posted("webhook_secret", _SECRET_MAX)
    if (problem := _secret_problem("webhook_secret", value)) is not None:
        return render_keys_page({"webhook_secret": problem}, 422)
    shop = access.current_shop()
    current = read_secrets(shop, [WEBHOOK_SECRET], secret_box()).get(WEBHOOK_SECRET)
    patch: dict[str, Any] = {"webhook_secret": value}
    if current is not None and current != value:
        # While Stripe rolls its secret, deliveries signed with the old one still arrive: keep accepting it.
        patch["previous_webhook_secret"] = current if _keeps_previous() else None
    failed = _save_stripe(patch, "stripe.webhook_secret_set", "webhook_secret")
    if failed is not None:
        return failed
    flash(gettext("Stripe's webhook signing secret is saved."))
    return redirect(url_for("admin.keys", _anchor="stripe"))


def _keeps_previous() -> bool:
    """Whether the form asks to keep accepting the secret being replaced."""
    return posted("keep_previous", 10) == "1"


@bp.post("/keys/stripe/previous-secret/forget")
@access.owner_required
def forget_previous_webhook_secret() -> ResponseReturnValue:
    """Stop accepting the previous signing secret (Stripe's roll is over)."""
    failed = _save_stripe({"previous_webhook_secret": None}, "stripe.previous_webhook_secret_removed", "previous")
    if failed is not None:
        return failed
    flash(gettext("The previous signing secret is no longer accepted."))
    return redirect(url_for("admin.keys", _anchor="stripe"))


@bp.post("/keys/stripe/api-key")
@access.owner_required
def save_stripe_api_key() -> ResponseReturnValue:
    """Save (or remove) the merchant's Stripe API key, used for claim refunds and Checkout line items."""
    if posted("action", 10) == "remove":
        failed = _save_stripe({"api_key": None}, "stripe.api_key_removed", "api_key")
        message = gettext("The Stripe API key is removed.")
    else:
        value = posted("api_key", _SECRET_MAX)
        if (problem := _secret_problem("api_key", value)) is not None:
            return render_keys_page({"api_key": problem}, 422)
        failed = _save_stripe({"api_key": value}, "stripe.api_key_set", "api_key")
        message = gettext("The Stripe API key is saved.")
    if failed is not None:
        return failed
    flash(message)
    return redirect(url_for("admin.keys", _anchor="stripe"))
