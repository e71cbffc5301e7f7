"""The settings pages, /admin/settings/<page>: every setting of the API but the Stripe secrets and the outbound
webhook endpoints (the keys page has those), grouped the way a merchant thinks about them.

A saved form is a JSON Merge Patch of what changed, through the API's own `update_settings` (one code path, one
set of rules) and into the audit log. Owners change settings; staff see them read-only. The pricing pages show a
price table and the offer on an example cart, computed from the draft before it is saved: by a "Preview" button
without JavaScript, and as the merchant types with it (settings.js posts the draft to /admin/settings/preview).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.price_preview import Example, default_example, preview, read_example
from plugin.admin.settings_fields import Kind, Page
from plugin.admin.settings_form import Draft, FormState, current_state, pages, read_form
from plugin.admin.settings_words import plain_amount
from plugin.api.settings import settings_context
from plugin.domain.performance import PerformanceFigures
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.i18n import page_language
from plugin.models import Shop, ShopPerformance, utcnow
from plugin.services.performance import stored_figures
from plugin.services.settings import draft_settings, effective_settings, public_settings, update_settings
from plugin.services.shop_snapshots import forget_shop_caches

# Groups whose problems keep the preview from pricing anything (the rules it prices with are not usable).
PREVIEW_GROUPS = frozenset({"pricing", "eligibility", "offer", "body"})
FIRST_PAGE = "pricing"


def _page(shop: Shop, slug: str) -> tuple[Page, list[Page], dict[str, Any]]:
    document = public_settings(shop, settings_context().box)
    shown = pages(document)
    found = next((page for page in shown if page.slug == slug), None)
    if found is None:
        abort(404)
    return found, shown, document


def page_url(slug: str) -> str:
    """A settings page's address (the first page is /admin/settings itself)."""
    return url_for("admin.settings") if slug == FIRST_PAGE else url_for("admin.settings", slug=slug)


def _terms_url(shop: Shop) -> str:
    return url_for("terms.page", shop_id=shop.id, _external=True)


def _figures(shop: Shop) -> PerformanceFigures | None:
    """The shop's figures as quotes read them (the worker's last measure), so the preview uses the same tier."""
    return stored_figures(db.session.get(ShopPerformance, shop.id))


def _blocks_preview(errors: Mapping[str, Any]) -> bool:
    return any(path.split(".")[0] in PREVIEW_GROUPS for path in errors)


@dataclass
class Submitted:
    """A posted settings page: the draft it makes and the example cart it previews."""

    shop: Shop
    page: Page
    draft: Draft
    example: Example
    example_texts: dict[str, str]
    example_errors: dict[str, str]

    @classmethod
    def read(cls, shop: Shop, page: Page, document: dict[str, Any]) -> Submitted:
        draft = read_form(page, request.form, document, shop.currency)
        example, texts, problems = read_example(request.form, shop.currency)
        return cls(shop, page, draft, example, texts, problems)

    def prices(self, errors: Mapping[str, Any]) -> dict[str, Any] | None:
        """The draft's prices: none when the page has none, or when the draft's pricing rules are not usable."""
        if not self.page.preview or not self.draft.readable or _blocks_preview(errors):
            return None
        document, draft_errors = draft_settings(self.shop, self.draft.patch)
        if _blocks_preview(draft_errors):
            return None
        return preview(
            document, self.shop.currency, self.example, _terms_url(self.shop), page_language(), _figures(self.shop)
        )


def _zone_suggestions() -> list[str]:
    # Places (Asia/Shanghai) and UTC: not the zone directory's other files (localtime, posixrules, Factory).
    places = (name for name in available_timezones() if "/" in name and not name.startswith(("posix", "right")))
    return [*sorted(places), "UTC"]


def _render(
    page: Page,
    shown: list[Page],
    state: FormState,
    prices: dict[str, Any] | None,
    example: dict[str, str],
    example_errors: dict[str, str],
    status: int = 200,
) -> ResponseReturnValue:
    shop = access.current_shop()
    body = render_template(
        "admin/settings.html",
        title=page.title,
        page=page,
        pages=shown,
        shop=shop,
        state=state,
        prices=prices,
        example=example,
        example_errors=example_errors,
        currency=shop.currency,
        readonly=not access.is_owner(),
        Kind=Kind,
        timezones=_zone_suggestions() if page.slug == "shop" else [],
        page_url=page_url,
    )
    return body, status


def _render_submitted(
    form: Submitted, shown: list[Page], errors: Mapping[str, Any], status: int
) -> ResponseReturnValue:
    """The page as submitted: what the merchant typed, the problems next to it, the draft's prices if usable."""
    prices = form.prices(errors)
    return _render(form.page, shown, form.draft.state, prices, form.example_texts, form.example_errors, status)


# One endpoint for every page, so that the navigation marks "Settings" on each.
@bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
@bp.route("/settings/<slug>", methods=["GET", "POST"], endpoint="settings")
def settings(slug: str = FIRST_PAGE) -> ResponseReturnValue:
    """A settings page; its form saves (owners only) or previews the draft's prices (the "Preview" button)."""
    shop = access.current_shop()
    page, shown, document = _page(shop, slug)
    currency = shop.currency
    if request.method == "GET":
        example = default_example(currency)
        prices = None
        if page.preview:
            prices = preview(
                effective_settings(shop), currency, example, _terms_url(shop), page_language(), _figures(shop)
            )
        texts = {"value": plain_amount(example.value, currency)}
        return _render(page, shown, current_state(page, document, currency), prices, texts, {})
    if not access.is_owner():
        abort(403)
    form = Submitted.read(shop, page, document)
    draft = form.draft
    if request.form.get("action") == "preview":
        _, errors = draft_settings(shop, draft.patch)
        draft.place(errors)
        return _render_submitted(form, shown, errors, 200 if draft.readable and not errors else 422)
    if not draft.readable:
        return _render_submitted(form, shown, {}, 422)
    if not draft.patch:
        flash(gettext("Nothing to save: no setting was changed."))
        return redirect(page_url(page.slug))
    try:
        update_settings(shop, draft.patch, settings_context(), actor=access.actor(), now=utcnow())
    except ValidationFailedError as refused:
        draft.place(refused.fields)
        return _render_submitted(form, shown, refused.fields, 422)
    forget_shop_caches(current_app.extensions, shop.id)  # quotes see the change now, as after a PATCH
    flash(gettext("Saved. Shoppers see the new settings from their next quote."))
    return redirect(page_url(page.slug))


@bp.post("/settings/preview")
@access.owner_required
def settings_preview() -> ResponseReturnValue:
    """The draft's price table and offer as JSON, for settings.js; nothing is saved."""
    shop = access.current_shop()
    page, _, document = _page(shop, request.form.get("page", "")[:40])
    form = Submitted.read(shop, page, document)
    _, errors = draft_settings(shop, form.draft.patch)
    form.draft.place(errors)
    return jsonify(
        {
            "ok": not form.draft.state.errors and not form.example_errors,
            "errors": form.draft.state.errors,
            "example_errors": form.example_errors,
            "preview": form.prices(errors),
        }
    )
