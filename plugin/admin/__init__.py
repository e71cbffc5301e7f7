"""The merchant admin, /admin: sign-in, the dashboard, settings, keys and webhooks, and the queues that need a
person. Server-rendered pages in English and Simplified Chinese; every form carries a CSRF token.

Each page module adds its views to the one blueprint; `init_app` binds sign-in and the language choice.
"""

from __future__ import annotations

from flask import Flask, render_template, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from plugin import i18n
from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.listing import BadFilter

# The navigation, in order: (endpoint, label, owners only). A page module not yet present is left out.
NAV = [
    ("admin.dashboard", lazy_gettext("Dashboard"), False),
    ("admin.performance", lazy_gettext("Performance"), False),
    ("admin.protections", lazy_gettext("Protections"), False),
    ("admin.shipments", lazy_gettext("Shipments"), False),
    ("admin.claims", lazy_gettext("Claims"), False),
    ("admin.returns", lazy_gettext("Returns"), False),
    ("admin.blocked_shoppers", lazy_gettext("Blocked shoppers"), False),
    ("admin.jobs", lazy_gettext("Failed jobs"), False),
    ("admin.deliveries", lazy_gettext("Webhook deliveries"), False),
    ("admin.settings", lazy_gettext("Settings"), True),
    ("admin.keys", lazy_gettext("Keys and webhooks"), True),
    ("admin.users", lazy_gettext("Users"), True),
    ("admin.audit", lazy_gettext("Audit log"), True),
]


def _views() -> None:
    # Importing a page module registers its views on `bp`.
    from plugin.admin import (  # noqa: F401
        account,
        audit_pages,
        auth,
        claim_actions,
        claim_detail,
        claims_pages,
        deliveries_pages,
        endpoints,
        home,
        jobs_pages,
        keys,
        performance_pages,
        protections_pages,
        returns_pages,
        settings_pages,
        shipments_pages,
        users,
    )


@bp.before_request
def _signed_in_only() -> Response | None:
    refused = access.require_sign_in()
    if refused is None and current_user.is_authenticated:
        # The pages must show every Stripe delivery already acknowledged (STRIPE_RECORDING=queued).
        from plugin.services.stripe_inbox import catch_up_if_queued

        catch_up_if_queued(access.current().shop_id)
    return refused


@bp.errorhandler(BadFilter)
def _bad_filter(error: BadFilter) -> tuple[str, int]:
    # A list's query string that cannot be used (a wrong date, an unknown status): said on the page, 400.
    return render_template("admin/problem.html", title=gettext("This list cannot be shown"), message=str(error)), 400


@bp.errorhandler(403)
def _forbidden(_error: Exception) -> tuple[str, int]:
    message = gettext("Only the shop's owners can do this.")
    return render_template("admin/problem.html", title=gettext("Not allowed"), message=message), 403


@bp.after_request
def _no_store(response: Response) -> Response:
    # Admin pages show orders, customers and keys: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.context_processor
def _admin_context() -> dict[str, object]:
    from flask import current_app
    from flask_login import current_user

    items = []
    if current_user.is_authenticated:
        owner = access.is_owner()
        for endpoint, label, owners_only in NAV:
            if endpoint in current_app.view_functions and (owner or not owners_only):
                items.append((endpoint, url_for(endpoint), label))
    return {"nav": items, "is_owner": access.is_owner()}


def init_app(app: Flask) -> None:
    """Register the admin's views, sign-in and its language chooser."""
    _views()
    app.register_blueprint(bp)
    access.init_app(app)
    i18n.add_language_chooser(app, access.user_language)
