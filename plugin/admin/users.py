"""The shop's users (/admin/users, owners only): who can sign in, with which role; add, change a role, remove,
unlock after failed sign-ins, and sign out everywhere. A shop always keeps an owner, and nobody removes themself.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy.exc import IntegrityError

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.posted import posted, posted_password, refuse
from plugin.domain.notices import Notice
from plugin.extensions import db
from plugin.i18n import page_language
from plugin.models import User, utcnow
from plugin.services import audit
from plugin.services.notifications import enqueue_email
from plugin.services.users import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    Role,
    UserInputError,
    change_role,
    create_user,
    end_sessions,
    remove_user,
    unlock,
    unusable_password,
    user_of_shop,
    users_of,
)

# The service's reasons (plugin/services/users.py), by the form field they concern, in the page's language.
SERVICE_MESSAGES = {
    "Give a valid email address, such as owner@example.com.": (
        "email",
        lazy_gettext("Give a valid email address, such as owner@example.com."),
    ),
    "A user with this email already exists.": ("email", lazy_gettext("A user with this email already exists.")),
    "The role must be owner or staff.": ("role", lazy_gettext("The role must be owner or staff.")),
    "The password must have at least 12 characters.": (
        "password",
        lazy_gettext("The password must have at least 12 characters."),
    ),
    "The password must have at most 1024 characters.": (
        "password",
        lazy_gettext("The password must have at most 1024 characters."),
    ),
    "A shop needs at least one owner.": ("role", lazy_gettext("A shop needs at least one owner.")),
}
ROLE_NAMES = {Role.OWNER.value: lazy_gettext("owner"), Role.STAFF.value: lazy_gettext("staff")}


def explain(error: UserInputError) -> tuple[str, str]:
    """(form field, message in the page's language) for a refusal of the users service."""
    field, message = SERVICE_MESSAGES.get(str(error), ("email", str(error)))
    return field, str(message)


def emailed_links() -> bool:
    """Whether a set-password link can be emailed: links need PUBLIC_BASE_URL, sending needs SMTP_URL."""
    config = current_app.config
    return bool(config.get("PUBLIC_BASE_URL") and config.get("SMTP_URL"))


def _user(user_id: str) -> User:
    user = user_of_shop(access.current_shop().id, user_id)
    if user is None:
        abort(404)
    return user


def _role_posted() -> str:
    role = posted("role", 10)
    if role not in ROLE_NAMES:
        refuse()
    return role


def _users_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    shop = access.current_shop()
    page = render_template(
        "admin/users.html",
        shop=shop,
        title=gettext("Users"),
        users=users_of(shop.id),
        me=access.current().id,
        now=utcnow(),
        role_names=ROLE_NAMES,
        error=error,
    )
    return page, status


@bp.get("/users")
@access.owner_required
def users() -> ResponseReturnValue:
    """The shop's users: email, role, last sign-in, whether they are locked out; and what an owner can change."""
    return _users_page()


def _new_user_form(values: dict[str, str], errors: dict[str, str], status: int) -> ResponseReturnValue:
    page = render_template(
        "admin/user_new.html",
        shop=access.current_shop(),
        title=gettext("Add a user"),
        values=values,
        errors=errors,
        role_names=ROLE_NAMES,
        emailed_links=emailed_links(),
    )
    return page, status


@bp.route("/users/new", methods=["GET", "POST"])
@access.owner_required
def user_new() -> ResponseReturnValue:
    """Add a user with a role: the owner sets a first password, or (when email is set up) the user gets a link."""
    if request.method == "GET":
        return _new_user_form({"email": "", "role": Role.STAFF.value, "method": "password"}, {}, 200)
    values = {"email": posted("email", MAX_EMAIL_LENGTH), "role": _role_posted(), "method": posted("method", 10)}
    if values["method"] not in ("password", "email"):
        refuse()
    errors: dict[str, str] = {}
    password = posted_password("password", MAX_PASSWORD_LENGTH)
    if values["method"] == "email":
        if not emailed_links():
            errors["method"] = gettext(
                "Emailed links need PUBLIC_BASE_URL and SMTP_URL to be set on the server: set a password instead."
            )
        password = unusable_password()
    elif password != posted_password("password_confirm", MAX_PASSWORD_LENGTH):
        errors["password"] = gettext("The two passwords differ.")
    if errors:
        return _new_user_form(values, errors, 422)
    shop = access.current_shop()
    try:
        user = create_user(shop, values["email"], password, values["role"])
    except UserInputError as exc:
        field, message = explain(exc)
        return _new_user_form(values, {field: message}, 422)
    except IntegrityError:  # the same address added at the same moment elsewhere
        db.session.rollback()
        return _new_user_form(values, {"email": gettext("A user with this email already exists.")}, 422)
    now = utcnow()
    after = {"email": user.email, "role": user.role, "first_password": values["method"]}
    audit.record(shop.id, access.actor(), "user.created", now, target=user.id, after=after)
    if values["method"] == "email":
        # The link is signed when the job runs (the job holds no token) and works once, for an hour.
        enqueue_email(shop.id, Notice.ADMIN_INVITATION, f"invite:{user.id}", now, user=user.id, locale=page_language())
    db.session.commit()
    email = user.email
    if values["method"] == "email":
        flash(gettext("%(email)s is added: an email with a link to choose a password is on its way.", email=email))
    else:
        flash(gettext("%(email)s is added: give them their password in person or by another channel.", email=email))
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/role")
@access.owner_required
def user_role(user_id: str) -> ResponseReturnValue:
    """Make a user an owner or staff; the shop's last owner stays an owner."""
    user = _user(user_id)
    role = _role_posted()
    before = user.role
    try:
        change_role(user, role)
    except UserInputError as exc:
        db.session.rollback()
        return _users_page(explain(exc)[1], 422)
    if before != role:
        audit.record(
            user.shop_id, access.actor(), "user.role_changed", utcnow(), target=user.id,
            before={"email": user.email, "role": before}, after={"email": user.email, "role": role},
        )  # fmt: skip
    db.session.commit()
    flash(gettext("%(email)s is now %(role)s.", email=user.email, role=ROLE_NAMES[role]))
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/remove")
@access.owner_required
def user_remove(user_id: str) -> ResponseReturnValue:
    """Remove a user (never yourself, never the last owner); their sessions end with them."""
    user = _user(user_id)
    if user.id == access.current().id:
        return _users_page(gettext("You cannot remove yourself; another owner can."), 422)
    before = {"email": user.email, "role": user.role}
    try:
        remove_user(user)
    except UserInputError as exc:
        db.session.rollback()
        return _users_page(explain(exc)[1], 422)
    audit.record(user.shop_id, access.actor(), "user.removed", utcnow(), target=user_id, before=before)
    db.session.commit()
    flash(gettext("%(email)s is removed.", email=before["email"]))
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/unlock")
@access.owner_required
def user_unlock(user_id: str) -> ResponseReturnValue:
    """End a lock-out after failed sign-ins, so the user can try again at once."""
    user = _user(user_id)
    before = {"locked_until": user.locked_until.isoformat() if user.locked_until else None}
    unlock(user)
    audit.record(user.shop_id, access.actor(), "user.unlocked", utcnow(), target=user.id, before=before)
    db.session.commit()
    flash(gettext("%(email)s can sign in again.", email=user.email))
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/sign-out")
@access.owner_required
def user_sign_out(user_id: str) -> ResponseReturnValue:
    """End every session of the user (a lost laptop, a shared computer); they sign in again with their password."""
    user = _user(user_id)
    end_sessions(user)
    audit.record(user.shop_id, access.actor(), "user.signed_out_everywhere", utcnow(), target=user.id)
    db.session.commit()
    flash(gettext("%(email)s is signed out everywhere.", email=user.email))
    return redirect(url_for("admin.users"))
