"""Signing in and out of the admin, resetting a forgotten password, and choosing the admin's language."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, gettext

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.config import quote_signing_keys
from plugin.domain.notices import Notice
from plugin.extensions import db
from plugin.i18n import language_code, page_language
from plugin.models import utcnow
from plugin.services import audit
from plugin.services.notifications import enqueue_email
from plugin.services.users import (
    MAX_EMAIL_LENGTH,
    SignInRefused,
    UserInputError,
    authenticate,
    find_by_email,
    set_password,
    user_for_reset,
)

log = logging.getLogger(__name__)
MAX_FIELD = 1024


def _field(name: str) -> str:
    value = request.form.get(name, "")
    return value[: MAX_FIELD + 1]


def _limit(what: str) -> None:
    """Count one attempt from this address (RATE_LIMIT_ADMIN_LOGINS); RateLimitedError past it."""
    limiter = current_app.extensions["rate_limiter"]
    limiter.hit(current_app.config["RATE_LIMIT_ADMIN_LOGINS"], what, request.remote_addr or "-")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form; a wrong email and a wrong password get the same answer."""
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        _limit("admin_login")
        email = _field("email").strip()[:MAX_EMAIL_LENGTH]
        now = utcnow()
        try:
            user = authenticate(email, _field("password"), now)
        except SignInRefused as refused:
            db.session.commit()  # the failure counts toward the lock-out
            status = 401
            if refused.locked_until is not None:
                status = 429
                error = gettext(
                    "Too many failed attempts: this account is locked until %(time)s. Try again then, or reset "
                    "your password.",
                    time=format_datetime(refused.locked_until, "short"),
                )
            else:
                error = gettext("The email or the password is wrong.")
        else:
            db.session.commit()
            access.sign_in(user, now)
            return redirect(access.safe_next(request.args.get("next")))
    return render_template("admin/login.html", error=error, email=email), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (a form with a CSRF token, so another site cannot sign the merchant out)."""
    access.sign_out()
    flash(gettext("You are signed out."))
    return redirect(url_for("admin.login"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> ResponseReturnValue:
    """Ask for a reset link by email; the answer never says whether the address has an account."""
    if request.method == "POST":
        _limit("admin_reset")
        email = _field("email").strip()[:MAX_EMAIL_LENGTH]
        user = find_by_email(email) if email else None
        if user is not None:
            if current_app.config.get("PUBLIC_BASE_URL"):
                now = utcnow()
                # One email per user and minute at most: the key makes repeats within it one job.
                minute = now.strftime("%Y%m%d%H%M")
                enqueue_email(
                    user.shop_id,
                    Notice.ADMIN_PASSWORD_RESET,
                    f"reset:{user.id}:{user.password_hash[-12:]}:{minute}",
                    now,
                    user=user.id,
                    locale=page_language(),  # the language the person asking reads this page in
                )
                db.session.commit()
            else:
                # The link must not take its host from the request (a forged Host header would send it elsewhere).
                log.warning("password reset asked but PUBLIC_BASE_URL is not set; no email sent")
        return render_template(
            "admin/message.html",
            title=gettext("Check your email"),
            message=gettext(
                "If an account uses this address, we sent it a link to choose a new password. The link works for "
                "an hour."
            ),
        )
    return render_template("admin/reset_request.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password from an emailed link (valid for an hour, once)."""
    user = user_for_reset(token, quote_signing_keys(current_app.config))
    if user is None:
        message = gettext("This link has expired or was already used. Ask for a new one.")
        return render_template("admin/message.html", title=gettext("Link expired"), message=message), 404
    error = None
    if request.method == "POST":
        password = _field("password")
        if password != _field("password_confirm"):
            error = gettext("The two passwords differ.")
        else:
            try:
                set_password(user, password)
            except UserInputError:
                error = gettext("The password must have at least 12 characters.")
            else:
                now = utcnow()
                audit.record(user.shop_id, f"user:{user.id} {user.email}", "user.password_reset", now, target=user.id)
                db.session.commit()
                access.sign_in(user, now)
                flash(gettext("Your password is changed."))
                return redirect(url_for("admin.dashboard"))
    return render_template("admin/reset_password.html", error=error, token=token), 422 if error else 200


@bp.post("/language")
def choose_language() -> ResponseReturnValue:
    """Save the user's language (English or Chinese); until they choose, the browser's is used."""
    code = language_code(request.form.get("language", "")[:10])
    user = access.current()
    user.locale = code
    db.session.commit()
    return redirect(access.safe_next(request.form.get("next")))
