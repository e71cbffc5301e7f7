"""/admin/returns: the shop's returns (by status, found by order, tracking or return id), each with its claim or
why the return cover does not pay it, and a "flag" form (swapped, empty); /admin/blocked-shoppers: the shoppers
whose return cover is blocked, with "lift". Staff and owners alike may flag and lift: both are in the audit log.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import or_, select

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.list_support import Formats, here, pager_links, zone_of
from plugin.admin.list_words import word
from plugin.admin.listing import Order, Segment, chained_page, choice_arg, cursor_arg, limit_arg, text_arg
from plugin.admin.posted import posted, refuse
from plugin.domain.returns import FlagReason, ReturnRules, ReturnStatus
from plugin.domain.untrusted_text import is_clean
from plugin.errors import ApiError, NotFoundError
from plugin.models import Claim, Return, utcnow
from plugin.services import blocked_shoppers as blocking
from plugin.services import returns as service
from plugin.services.claims import normalise_order_number
from plugin.services.settings import effective_settings

STATUSES = [status.value for status in ReturnStatus]
REASONS = [reason.value for reason in FlagReason]
NEWEST = (Order(Return.created_at), Order(Return.id))
UNCOVERED = {
    "not_covered": lazy_gettext("Not covered"),
    "shopper_blocked": lazy_gettext("Shopper blocked"),
}
FLAG_WORDS = {
    "swapped": lazy_gettext("Swapped: other goods came back"),
    "empty": lazy_gettext("Empty: nothing came back"),
}


def returns_list(shop_id: str, status: str | None, search: str | None) -> list[Segment]:
    """The shop's returns, newest first, with their claims (if any)."""
    statement = select(Return, Claim).outerjoin(Claim, Claim.return_id == Return.id).where(Return.shop_id == shop_id)
    if status is not None:
        statement = statement.where(Return.status == status)
    if search is not None:
        statement = statement.where(
            or_(
                Return.order_id == normalise_order_number(search),
                Return.tracking_number == search,
                Return.return_ref == search,
                Return.id == search,
            )
        )
    return [Segment(statement, NEWEST)]


@bp.get("/returns")
def returns() -> ResponseReturnValue:
    """Returns, newest first: `?status=`, `?q=` (an order, a tracking number, a return id)."""
    shop = access.current_shop()
    formats = Formats(zone_of(shop))
    status, search = choice_arg("status", STATUSES), text_arg("q")
    page = chained_page(returns_list(shop.id, status, search), cursor_arg(), limit_arg())
    raw = {name: request.args.get(name, "") for name in ("status", "q")}
    rules = ReturnRules.of(effective_settings(shop)["coverage"]["returns"])
    return render_template(
        "admin/returns.html",
        shop=shop,
        title=lazy_gettext("Returns"),
        rows=page.rows,
        links=pager_links("admin.returns", raw, page),
        filters=raw,
        statuses=[(value, word(value)) for value in STATUSES],
        reasons=[(value, FLAG_WORDS[value]) for value in REASONS],
        uncovered=UNCOVERED,
        overdue=service.overdue_return_claims(shop.id, utcnow(), rules.pay_within_hours),
        pay_within_hours=rules.pay_within_hours,
        here=here(),
        fmt=formats,
        word=word,
    )


def _back() -> ResponseReturnValue:
    target = posted("next", 2048)
    if not target.startswith("/admin/") or target.startswith("//"):
        target = url_for("admin.returns")
    return redirect(target, code=303)


@bp.post("/returns/<return_id>/flag")
def return_flag(return_id: str) -> ResponseReturnValue:
    """Flag a return swapped or empty: its claim is denied and the shopper's return cover blocked."""
    shop = access.current_shop()
    reason = posted("reason", 20)
    if reason not in REASONS:
        refuse()
    try:
        ret = service.flag_return(shop.id, return_id, FlagReason(reason), utcnow(), actor=access.actor())
    except NotFoundError:
        refuse(gettext("No such return."), 404)
        raise
    except ApiError as error:
        if error.code == "return_already_paid":
            refuse(gettext("This return's label was already paid back: the money has gone. Nothing was changed."), 409)
        refuse(error.message, error.status)
        raise
    flash(gettext("Return %(id)s flagged; the shopper's return cover is blocked.", id=ret.return_ref))
    return _back()


@bp.get("/blocked-shoppers")
def blocked_shoppers() -> ResponseReturnValue:
    """The shoppers whose return cover is blocked, newest first (`?q=` an email)."""
    shop = access.current_shop()
    search = text_arg("q")
    return render_template(
        "admin/blocked_shoppers.html",
        shop=shop,
        title=lazy_gettext("Blocked shoppers"),
        rows=blocking.list_blocked(shop.id, limit=200, search=search),
        filters={"q": request.args.get("q", "")},
        reasons=FLAG_WORDS,
        fmt=Formats(zone_of(shop)),
    )


@bp.post("/blocked-shoppers/lift")
def blocked_shopper_lift() -> ResponseReturnValue:
    """Lift a shopper's block: their next returns are covered again."""
    shop = access.current_shop()
    email = posted("email", 320)
    if not email or len(email) > 320 or not is_clean(email):
        refuse()
    try:
        blocking.lift_block(shop.id, email, utcnow(), actor=access.actor())
    except NotFoundError:
        refuse(gettext("This shopper is not blocked."), 404)
    flash(gettext("The block on %(email)s is lifted.", email=email.lower()))
    return redirect(url_for("admin.blocked_shoppers"), code=303)
