"""GET and PATCH (JSON Merge Patch) of the shop's settings."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy import select

from plugin.api.blueprint import Blueprint
from plugin.auth import KeyKind, bearer_token, current_shop, hash_key, require_key
from plugin.crypto import mask
from plugin.extensions import db
from plugin.models import ApiKey, utcnow
from plugin.schemas import SettingsSchema
from plugin.services.settings import SettingsContext, public_settings, update_settings
from plugin.services.shop_snapshots import forget_shop_caches
from plugin.validation import loads_storable

bp = Blueprint("settings", __name__, url_prefix="/api/v1/settings", description="The shop's settings.")


def settings_context() -> SettingsContext:
    """The secret box and the SSRF policy of this app, for settings updates from the API and the admin."""
    return SettingsContext(
        box=current_app.extensions["secret_box"],
        allow_private_insurer_hosts=current_app.config["ALLOW_PRIVATE_INSURER_HOSTS"],
        resolve_hosts=current_app.config.get("RESOLVE_INSURER_HOSTS", True),
        allow_private_webhook_hosts=current_app.config["ALLOW_PRIVATE_WEBHOOK_HOSTS"],
    )


def _actor() -> str:
    """How the audit log names the API key of this request (as the keys page shows it: `sk_…abcd`)."""
    token = bearer_token() or ""
    display = db.session.scalar(select(ApiKey.display).where(ApiKey.key_hash == hash_key(token)))
    return f"api_key:{display or mask(token)}"


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, SettingsSchema)
@bp.documents_errors(401, 403)
def get_settings() -> dict[str, Any]:
    """The shop's settings; write-only secrets come back masked."""
    return public_settings(current_shop(), settings_context().box)


@bp.route("", methods=["PATCH"])
@require_key(KeyKind.SECRET)
@bp.doc(
    requestBody={
        "description": "A JSON Merge Patch (RFC 7396): absent fields keep their values, null resets a field "
        "to its default, lists are replaced whole. Unknown fields are rejected.",
        "content": {
            "application/merge-patch+json": {"schema": SettingsSchema},
            "application/json": {"schema": SettingsSchema},
        },
        "required": True,
    }
)
@bp.response(200, SettingsSchema)
@bp.documents_errors(400, 401, 403, 413, 415, 422)
def patch_settings() -> dict[str, Any]:
    """Change some settings; the result is validated whole and saved only if all of it is valid (and the change
    goes into the shop's audit log)."""
    patch = loads_storable(request.get_data(cache=True))
    shop = current_shop()
    updated = update_settings(shop, patch, settings_context(), actor=_actor(), now=utcnow())
    forget_shop_caches(current_app.extensions, shop.id)
    return updated
