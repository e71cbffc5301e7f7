"""The shopper's claim portal, /claims/<shop_id>: find the order (number and email), file a claim with photos,
then follow it through a signed, expiring status link. Server-rendered pages; every form carries a CSRF token.

The rules are the API's (plugin.services.claims): the same refusals, shown as words in the shopper's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from plugin.api.uploads import MAX_FORM_FIELD_BYTES, UPLOAD_BODY_LIMIT
from plugin.claim_links import status_path, verify_status_token
from plugin.domain.claims import FILED_TYPES, AffectedItem, ClaimType
from plugin.domain.untrusted_text import is_clean
from plugin.errors import ApiError, NotFoundError, RateLimitedError, ValidationFailedError
from plugin.extensions import db
from plugin.i18n import HTML_LANG, LANGUAGE_NAMES, LOCALES, add_language_chooser, page_language
from plugin.models import Claim, Shipment, Shop, utcnow
from plugin.portal import access
from plugin.portal.texts import CLAIM_TYPES, RESOLUTIONS, STATUSES, chosen_language, refusal_text
from plugin.services import claims as service
from plugin.services.claims import ClaimExistsError, ClaimRequest, FoundOrder, OrderNotFoundError
from plugin.services.evidence import MAX_FILE_BYTES, MAX_FILES, evidence_of_claim, inspect_uploads
from plugin.services.settings import effective_settings
from plugin.services.shops import get_shop
from plugin.terms import money

bp = Blueprint("portal", __name__, url_prefix="/claims")
log = logging.getLogger(__name__)

MAX_DESCRIPTION = 5000
MAX_MESSAGE = 5000
MAX_ORDER_NUMBER = 255
MAX_EMAIL = 320
# The claim form has a field per item line of a parcel (up to 500) besides its own few.
MAX_PORTAL_FORM_PARTS = 600
UPLOAD_ENDPOINTS = frozenset({"portal.claim_form", "portal.status_evidence"})


@bp.record_once
def _choose_language(state: Any) -> None:
    """The shopper's own choice of language (?lang=, then the session) comes before Accept-Language."""
    add_language_chooser(state.app, chosen_language)


@bp.url_value_preprocessor
def raise_upload_limits(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """The claim form and the evidence form carry files: only they may exceed 1 MiB, as the API's upload views.

    This runs before every before_request hook, so the CSRF check's own reading of the form already has the
    raised limit; every other page keeps the app's 1 MiB."""
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST" and request.mimetype == "multipart/form-data":
        request.max_content_length = UPLOAD_BODY_LIMIT
        request.max_form_memory_size = MAX_FORM_FIELD_BYTES
        request.max_form_parts = MAX_PORTAL_FORM_PARTS


@bp.before_request
def _record_queued_payments() -> None:
    """A shopper who just paid finds the order (STRIPE_RECORDING=queued: the shop's waiting deliveries first)."""
    shop_id = (request.view_args or {}).get("shop_id")
    if isinstance(shop_id, str):
        from plugin.services.stripe_inbox import catch_up_if_queued

        catch_up_if_queued(shop_id)


@bp.after_request
def page_headers(response: Response) -> Response:
    """Pages name an order or a claim: never cached; a shop's logo origin joins img-src on its pages only."""
    response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = access.content_security_policy(g.get("portal_logo_origin"))
        response.vary.add("Accept-Language")
    return response


# ---- rendering ------------------------------------------------------------------------------------------------


def _render(template: str, shop: Shop | None, status: int = 200, **context: Any) -> ResponseReturnValue:
    language = page_language()
    brand = access.branding(shop) if shop is not None else None
    g.portal_logo_origin = brand.logo_origin if brand else None
    response = current_app.make_response(
        (
            render_template(
                f"portal/{template}",
                lang=language,
                html_lang=HTML_LANG[language],
                languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES if code != language],
                type_names=CLAIM_TYPES,
                status_names=STATUSES,
                resolution_names=RESOLUTIONS,
                brand=brand,
                shop=shop,
                title=context.pop("title", None),
                here=context.pop("here", None) or request.path,
                notices=get_flashed_messages(),
                **context,
            ),
            status,
        )
    )
    response.headers["Content-Language"] = HTML_LANG[language]
    return response


def _shop_or_404(shop_id: str) -> Shop | None:
    shop = get_shop(shop_id) if len(shop_id) <= 64 else None
    return shop


def _message_page(
    shop: Shop | None, status: int, title: str, message: str, *, back_to_lookup: bool = True
) -> ResponseReturnValue:
    """A page that only says something (a title and a sentence, already in the shopper's language)."""
    here = url_for("portal.lookup", shop_id=shop.id) if shop is not None and back_to_lookup else None
    return _render("message.html", shop, status, title=title, message=message, here=here)


def _not_found(shop: Shop | None) -> ResponseReturnValue:
    message = gettext(
        "This link is not valid or has expired. Use the link from your confirmation, or find your order again."
    )
    return _message_page(shop, 404, gettext("Link not valid"), message)


def _shop_of_request() -> Shop | None:
    return _shop_or_404((request.view_args or {}).get("shop_id", ""))


@bp.errorhandler(CSRFError)
def csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    """A form without its token (or with a stale one): a page that says what to do, nothing changed."""
    message = gettext("This form expired or was not sent from this page. Go back, reload the page and try again.")
    return _message_page(_shop_of_request(), 400, gettext("Please try again"), message)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Uploads above the limit are refused before they are read whole."""
    message = gettext("The files are too large: send at most 10 files of 10 MB each.")
    return _message_page(_shop_of_request(), 413, gettext("Files too large"), message)


# ---- step 1: find the order -----------------------------------------------------------------------------------


def _hit_lookup_limit(shop_id: str, what: str = "claim_lookup") -> None:
    """Count a lookup (or a write on a claim's status page) against every rate of RATE_LIMIT_CLAIM_LOOKUPS, per
    shop or claim and client address."""
    rates = current_app.config["RATE_LIMIT_CLAIM_LOOKUPS"]
    current_app.extensions["rate_limiter"].hit(rates, what, shop_id, request.remote_addr or "-")


def _limited_page(shop: Shop, limited: RateLimitedError) -> ResponseReturnValue:
    """The 429 page, with Retry-After."""
    log.info("claim portal requests limited", extra={"shop_id": shop.id, "path": request.path})
    message = gettext(
        "Too many attempts to find an order from this connection. Please wait a few minutes and try again."
    )
    page = _message_page(shop, 429, gettext("Too many attempts"), message, back_to_lookup=False)
    response = current_app.make_response(page)
    response.headers.update(limited.headers)
    return response


def _find(shop: Shop, order_number: str, email: str) -> FoundOrder:
    """The order, or OrderNotFoundError for anything that cannot be one (the same answer as a wrong pair)."""
    if not (0 < len(order_number) <= MAX_ORDER_NUMBER and 0 < len(email) <= MAX_EMAIL):
        raise OrderNotFoundError()
    if not is_clean(order_number) or not is_clean(email):
        raise OrderNotFoundError()
    return service.find_order(shop.id, order_number, email)


@bp.get("")
def single_shop() -> ResponseReturnValue:
    """/claims on a one-shop installation: that shop's portal (with several shops, each has its own link)."""
    ids = db.session.scalars(select(Shop.id).order_by(Shop.created_at).limit(2)).all()
    if len(ids) == 1:
        return redirect(url_for("portal.lookup", shop_id=ids[0]), 302)
    return _not_found(None)


@bp.route("/<shop_id>", methods=["GET", "POST"])
def lookup(shop_id: str) -> ResponseReturnValue:
    """Find the order by its number and the checkout email."""
    shop = _shop_or_404(shop_id)
    if shop is None:
        return _not_found(None)
    if request.method == "GET":
        expired = request.args.get("expired") == "1"
        error = gettext("For your security, please find your order again.") if expired else None
        return _render("lookup.html", shop, values={}, error=error)
    values = {"order_number": request.form.get("order_number", ""), "email": request.form.get("email", "")}
    try:
        _hit_lookup_limit(shop.id)
    except RateLimitedError as limited:
        return _limited_page(shop, limited)
    try:
        found = _find(shop, values["order_number"], values["email"])
    except OrderNotFoundError:
        error = gettext("No order matches this order number and email. Check both and try again.")
        return _render("lookup.html", shop, 404, values=values, error=error)
    access.remember_order(shop.id, found.order_id, service.normalise_email(values["email"]))
    return redirect(url_for("portal.claim_form", shop_id=shop.id), 303)


@bp.post("/<shop_id>/start-over")
def start_over(shop_id: str) -> ResponseReturnValue:
    """Forget the found order."""
    access.forget_order()
    return redirect(url_for("portal.lookup", shop_id=shop_id), 303)


# ---- step 2: the claim ----------------------------------------------------------------------------------------


@dataclass
class ClaimForm:
    """What the shopper entered (kept when the claim is refused; files are not)."""

    parcel: str = ""
    type: str = ""
    description: str = ""
    quantities: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _parcel_rows(found: FoundOrder) -> list[dict[str, Any]]:
    rows = []
    for index, shipment in enumerate(found.shipments):
        if shipment.cancelled_at is not None:
            continue
        lines = [
            {
                "field": f"qty-{index}-{line}",
                "label": str(item.get("name") or item.get("sku") or ""),
                "sku": str(item.get("sku") or ""),
                "quantity": int(item.get("quantity") or 0),
            }
            for line, item in enumerate(shipment.items or ())
            if int(item.get("quantity") or 0) > 0
        ]
        rows.append({"index": index, "shipment": shipment, "lines": lines})
    return rows


def _claim_types(shop: Shop) -> list[str]:
    types = [kind.value for kind in FILED_TYPES]  # a return_shipping claim comes only from a return
    if effective_settings(shop)["claims"]["delay_compensation"] <= 0:
        types.remove(ClaimType.DELAYED.value)  # the shop pays nothing for late parcels: not offered at all
    return types


def _render_claim(
    shop: Shop, found: FoundOrder, form: ClaimForm, status: int = 200, **context: Any
) -> ResponseReturnValue:
    parcels = _parcel_rows(found)
    return _render(
        "claim.html",
        shop,
        status,
        title=gettext("Order %(order)s", order=found.order_id),
        order_id=found.order_id,
        parcels=parcels,
        types=_claim_types(shop),
        form=form,
        max_files=MAX_FILES,
        **context,
    )


def _read_uploads() -> list[tuple[str | None, bytes]]:
    """The chosen files (an empty file input sends one nameless, empty part: not a file)."""
    parts = [part for part in request.files.getlist("evidence") if part.filename]
    if len(parts) > MAX_FILES:
        raise _FormError("evidence", gettext("Send at most 10 files at a time."))
    uploads: list[tuple[str | None, bytes]] = []
    for part in parts:
        data = part.stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise _FormError("evidence", gettext("%(name)s is larger than 10 MB.", name=part.filename))
        uploads.append((part.filename, data))
    return uploads


def _one_newline(text: str) -> str:
    """Browsers send a textarea's line breaks as CRLF and count them as one character against maxlength."""
    return text.replace("\r\n", "\n")


class _FormError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


def _files_refused(details: str) -> str:
    heading = gettext("A file could not be accepted:")
    return f"{heading} {details}"


def _inspected(uploads: list[tuple[str | None, bytes]]) -> list[Any]:
    try:
        return inspect_uploads(uploads)
    except ValidationFailedError as refused:
        details = " ".join(message for messages in refused.fields.values() for message in messages)
        raise _FormError("evidence", _files_refused(details or refused.message)) from None


def _claim_request(language: str, shop: Shop, found: FoundOrder, email: str, form: ClaimForm) -> ClaimRequest:
    """The claim as the rules take it, built from the form and the found order (never from hidden fields)."""
    parcels = _parcel_rows(found)
    chosen = next((row for row in parcels if row["shipment"].shipment_ref == form.parcel), None)
    if chosen is None and len(parcels) == 1:
        chosen = parcels[0]
    if chosen is None and parcels:
        raise _FormError("parcel", gettext("Please choose the parcel."))
    if form.type not in _claim_types(shop):
        raise _FormError("type", gettext("Please choose what happened."))
    description = _one_newline(form.description).strip()
    if not description:
        raise _FormError("description", gettext("Please describe what happened."))
    if len(description) > MAX_DESCRIPTION:
        raise _FormError("description", gettext("Please keep the description under 5,000 characters."))
    if not is_clean(description):
        raise _FormError("description", _text_unusable())
    items: list[AffectedItem] = []
    for line in chosen["lines"] if chosen else ():
        raw = form.quantities.get(line["field"], "0").strip() or "0"
        if not raw.isascii() or not raw.isdigit() or int(raw) > line["quantity"]:
            raise _FormError(line["field"], gettext("Choose a number from 0 to %(count)s.", count=line["quantity"]))
        if int(raw) > 0:
            items.append(AffectedItem(line["sku"], int(raw)))
    shipment: Shipment | None = chosen["shipment"] if chosen else None
    return ClaimRequest(
        order_id=found.order_id,
        email=email,
        type=ClaimType(form.type),
        description=description,
        shipment_ref=shipment.shipment_ref if shipment is not None and len(found.shipments) > 1 else None,
        items=tuple(items),
        source="portal",
        locale=language,
    )


def _text_unusable() -> str:
    return gettext("This text contains characters that cannot be stored; please retype it.")


def _refusal(shop: Shop, error: ApiError, claim_type: str) -> dict[str, Any]:
    """How a refusal of the rules reads on the form (claim_exists links the claim: the email was proven)."""
    if isinstance(error, ClaimExistsError):
        claim_id = str(error.extra["claim"])
        return {
            "error": refusal_text(error.code, error.message, claim_type),
            "existing_link": status_path(claim_id, shop.id, access.signing_keys()),
        }
    if isinstance(error, ValidationFailedError) and error.code == "validation_error":
        details = " ".join(message for messages in error.fields.values() for message in messages)
        return {"error": gettext("This claim cannot be filed: %(message)s", message=details or error.message)}
    return {"error": refusal_text(error.code, error.message, claim_type)}


@bp.route("/<shop_id>/claim", methods=["GET", "POST"])
def claim_form(shop_id: str) -> ResponseReturnValue:
    """Choose the parcel, say what happened, add photos, submit."""
    shop = _shop_or_404(shop_id)
    if shop is None:
        return _not_found(None)
    recalled = access.recall_order(shop.id)
    if recalled is None:
        return redirect(url_for("portal.lookup", shop_id=shop.id, expired=1), 303)
    found, email = recalled
    if request.method == "GET":
        return _render_claim(shop, found, ClaimForm())
    form = ClaimForm(
        parcel=request.form.get("parcel", ""),
        type=request.form.get("type", ""),
        description=request.form.get("description", ""),
        quantities={name: value for name, value in request.form.items() if name.startswith("qty-")},
    )
    try:
        claim_request = _claim_request(page_language(), shop, found, email, form)
        files = _inspected(_read_uploads())
    except _FormError as invalid:
        form.errors[invalid.field_name] = invalid.message
        return _render_claim(shop, found, form, 422)
    try:
        claim = service.file_claim(shop, claim_request, files, utcnow())
    except OrderNotFoundError:
        access.forget_order()
        return redirect(url_for("portal.lookup", shop_id=shop.id, expired=1), 303)
    except ApiError as refused:
        log.info("portal claim refused", extra={"shop_id": shop.id, "code": refused.code})
        return _render_claim(shop, found, form, refused.status, **_refusal(shop, refused, form.type))
    session[access.FILED_CLAIM] = claim.id
    return redirect(url_for("portal.filed", shop_id=shop.id), 303)


@bp.get("/<shop_id>/filed")
def filed(shop_id: str) -> ResponseReturnValue:
    """The confirmation: the claim number and its status link."""
    shop = _shop_or_404(shop_id)
    claim_id = session.get(access.FILED_CLAIM)
    if shop is None or not isinstance(claim_id, str):
        return _not_found(shop)
    try:
        claim = service.get_claim(shop.id, claim_id)
    except NotFoundError:
        return _not_found(shop)
    path = status_path(claim.id, shop.id, access.signing_keys())
    return _render(
        "filed.html",
        shop,
        title=gettext("Claim received"),
        claim=claim,
        status_link=path,
        status_url=request.host_url.rstrip("/") + path,
    )


# ---- the status page ------------------------------------------------------------------------------------------


def _claim_of(shop: Shop | None, token: str) -> Claim | None:
    if shop is None:
        return None
    claim_id = verify_status_token(token, shop.id, access.signing_keys())
    if claim_id is None:
        return None
    try:
        return service.get_claim(shop.id, claim_id)
    except NotFoundError:
        return None


def _render_status(shop: Shop, claim: Claim, token: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    language = page_language()
    shipment = db.session.get(Shipment, claim.shipment_id)
    evidence = evidence_of_claim(claim)
    return _render(
        "status.html",
        shop,
        status,
        title=gettext("Claim %(claim)s", claim=claim.id),
        here=url_for("portal.status", shop_id=shop.id, token=token),
        claim=claim,
        token=token,
        shipment=shipment,
        evidence=evidence,
        messages=service.claim_messages(claim, shopper_only=True),
        amount=money(claim.amount, claim.currency, language),
        approved_amount=(
            money(claim.approved_amount, claim.currency, language) if claim.approved_amount is not None else None
        ),
        max_files=MAX_FILES,
        **context,
    )


@bp.get("/<shop_id>/status/<token>")
def status(shop_id: str, token: str) -> ResponseReturnValue:
    """The claim as the shopper may see it: status, amount, decision, the messages meant for them."""
    shop = _shop_or_404(shop_id)
    claim = _claim_of(shop, token)
    if shop is None or claim is None:
        return _not_found(shop)
    return _render_status(shop, claim, token)


@bp.post("/<shop_id>/status/<token>/messages")
def status_message(shop_id: str, token: str) -> ResponseReturnValue:
    """The shopper's reply, visible to them and the merchant."""
    shop = _shop_or_404(shop_id)
    claim = _claim_of(shop, token)
    if shop is None or claim is None:
        return _not_found(shop)
    try:
        _hit_lookup_limit(claim.id, "claim_status_write")  # replies and uploads: no flooding of a claim
    except RateLimitedError as limited:
        return _limited_page(shop, limited)
    body = _one_newline(request.form.get("body", "")).strip()
    problem = None
    if not body:
        problem = gettext("Please write a message.")
    elif len(body) > MAX_MESSAGE:
        problem = gettext("Please keep the message under 5,000 characters.")
    elif not is_clean(body):
        problem = _text_unusable()
    if problem is not None:
        return _render_status(shop, claim, token, 422, message_error=problem, message_body=body)
    service.add_message(claim, body, "shopper", "shopper", utcnow())
    flash(gettext("Your message was sent."))
    return redirect(url_for("portal.status", shop_id=shop.id, token=token), 303)


@bp.post("/<shop_id>/status/<token>/evidence")
def status_evidence(shop_id: str, token: str) -> ResponseReturnValue:
    """More photos or PDFs for the claim, checked as the API checks them."""
    shop = _shop_or_404(shop_id)
    claim = _claim_of(shop, token)
    if shop is None or claim is None:
        return _not_found(shop)
    try:
        _hit_lookup_limit(claim.id, "claim_status_write")
    except RateLimitedError as limited:
        return _limited_page(shop, limited)
    try:
        uploads = _read_uploads()
        if not uploads:
            raise _FormError("evidence", gettext("Choose at least one file."))
        files = _inspected(uploads)
        service.add_claim_evidence(shop.id, claim.id, files, by="shopper")
    except _FormError as invalid:
        return _render_status(shop, claim, token, 422, evidence_error=invalid.message)
    except ValidationFailedError as refused:
        details = " ".join(message for messages in refused.fields.values() for message in messages)
        return _render_status(shop, claim, token, 422, evidence_error=_files_refused(details))
    flash(gettext("Your files were added to the claim."))
    return redirect(url_for("portal.status", shop_id=shop.id, token=token), 303)
