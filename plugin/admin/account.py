"""Each signed-in user's own account (/admin/account, owners and staff): their password and their language."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, gettext, lazy_gettext

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.posted import posted, posted_password, refuse
from plugin.admin.users import ROLE_NAMES, explain
from plugin.extensions import db
from plugin.i18n import LANGUAGE_NAMES
from plugin.models import utcnow
from plugin.services import audit
from plugin.services.users import (
    MAX_PASSWORD_LENGTH,
    SignInRefused,
    UserInputError,
    check_current_password,
    set_password,
)

BROWSER_LANGUAGE = ""  # the form's value for "no choice: follow the browser"
_LANGUAGES = {BROWSER_LANGUAGE: lazy_gettext("The browser's language"), **LANGUAGE_NAMES}


def _page(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    user = access.current()
    page = render_template(
        "admin/account.html",
        shop=access.current_shop(),
        title=gettext("Your account"),
        user=user,
        role_name=ROLE_NAMES.get(user.role, user.role),
        languages=_LANGUAGES,
        chosen_language=user.locale or BROWSER_LANGUAGE,
        errors=errors or {},
    )
    return page, status


@bp.get("/account")
def account() -> ResponseReturnValue:
    """The signed-in user's email, role, language and password form."""
    return _page()


@bp.post("/account/password")
def change_own_password() -> ResponseReturnValue:
    """Change one's password (the current one is asked for); every other session ends, this one goes on."""
    limiter = current_app.extensions["rate_limiter"]
    limiter.hit(current_app.config["RATE_LIMIT_ADMIN_LOGINS"], "admin_password_change", request.remote_addr or "-")
    user = access.current()
    now = utcnow()
    new = posted_password("new_password", MAX_PASSWORD_LENGTH)
    try:
        check_current_password(user, posted_password("current_password", MAX_PASSWORD_LENGTH), now)
    except SignInRefused as refused:
        db.session.commit()  # a wrong current password counts toward the lock-out, as at sign-in
        if refused.locked_until is not None:
            until = format_datetime(refused.locked_until, "short")
            message = gettext("Too many wrong passwords: try again after %(time)s.", time=until)
            return _page({"current_password": message}, 429)
        return _page({"current_password": gettext("That is not your current password.")}, 422)
    if new != posted_password("new_password_confirm", MAX_PASSWORD_LENGTH):
        return _page({"new_password": gettext("The two passwords differ.")}, 422)
    try:
        set_password(user, new)  # bumps the session epoch: every session, this one included, ends
    except UserInputError as exc:
        db.session.rollback()
        return _page({"new_password": explain(exc)[1]}, 422)
    audit.record(user.shop_id, access.actor(), "user.password_changed", now, target=user.id)
    db.session.commit()
    access.sign_in(user, now)  # this session continues under the new epoch
    flash(gettext("Your password is changed. Every other session is signed out."))
    return redirect(url_for("admin.account"))


@bp.post("/account/language")
def save_own_language() -> ResponseReturnValue:
    """The language of the admin for this user (or the browser's, when none is chosen)."""
    chosen = posted("language", 10)
    if chosen not in _LANGUAGES:
        refuse()
    user = access.current()
    before = user.locale
    user.locale = chosen or None
    if before != user.locale:
        audit.record(
            user.shop_id, access.actor(), "user.language_changed", utcnow(), target=user.id,
            before={"language": before}, after={"language": user.locale},
        )  # fmt: skip
    db.session.commit()
    flash(gettext("Your language is saved."))
    return redirect(url_for("admin.account"))
