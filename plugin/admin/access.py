"""Who is signed in to the admin, for how long, and what they may do.

Every admin view except sign-in and password reset needs a signed-in user, and everything a view reads or
changes belongs to that user's shop: views take the shop from `current_shop()`, never from the URL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import NullSession
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from plugin.extensions import db
from plugin.models import Shop, User, utcnow
from plugin.services.users import Role

F = TypeVar("F", bound=Callable[..., Any])

# Views anyone may open: the sign-in form and the password reset pages.
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.reset_request", "admin.reset_password"})
_SIGNED_IN_AT = "admin_signed_in_at"
_SEEN_AT = "admin_seen_at"
_PICKED_LANGUAGE = "admin_lang"

login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.session_protection = "basic"


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees it; the session names the user and the password's epoch."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        # A password change bumps the epoch: sessions made before it stop matching and end.
        return f"{self.user.id}:{self.user.session_epoch}"


@login_manager.user_loader
def _load(session_id: str) -> SignedIn | None:
    user_id, _, epoch = session_id.partition(":")
    user = db.session.get(User, user_id)
    if user is None or str(user.session_epoch) != epoch:
        return None
    return SignedIn(user)


def sign_in(user: User, now: datetime) -> None:
    """Start a fresh session for the user (the old cookie's contents, a shopper's found order included, go)."""
    session.clear()
    login_user(SignedIn(user))
    session[_SIGNED_IN_AT] = now.timestamp()
    session[_SEEN_AT] = now.timestamp()


def sign_out() -> None:
    """End the session."""
    logout_user()
    session.clear()


def current() -> User:
    """The signed-in user (admin views only run with one)."""
    user: User = current_user.user
    return user


def current_shop() -> Shop:
    """The signed-in user's shop: the only shop an admin page ever reads or changes."""
    shop = g.get("admin_shop")
    if shop is None:
        shop = db.session.get(Shop, current().shop_id)
        if shop is None:
            abort(404)
        g.admin_shop = shop
    return shop


def is_owner() -> bool:
    """Whether the signed-in user may change settings, keys and users."""
    return bool(current_user.is_authenticated and current().role == Role.OWNER)


def owner_required(view: F) -> F:
    """Refuse the view (403) to staff: only owners change settings, keys and users."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_owner():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def actor() -> str:
    """How the audit log names the signed-in user."""
    user = current()
    return f"user:{user.id} {user.email}"


def _session_expired(now: float) -> bool:
    config = current_app.config
    idle = timedelta(minutes=config["ADMIN_SESSION_IDLE_MINUTES"]).total_seconds()
    longest = timedelta(hours=config["ADMIN_SESSION_MAX_HOURS"]).total_seconds()
    signed_in_at = session.get(_SIGNED_IN_AT)
    seen_at = session.get(_SEEN_AT)
    if not isinstance(signed_in_at, int | float) or not isinstance(seen_at, int | float):
        return True
    return now - seen_at > idle or now - signed_in_at > longest


def require_sign_in() -> Any:
    """Send anyone not signed in (or whose session has expired) to the sign-in page."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    now = utcnow().timestamp()
    if not current_user.is_authenticated or _session_expired(now):
        sign_out()
        return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
    session[_SEEN_AT] = now
    return None


def user_language() -> str | None:
    """The signed-in user's chosen language, if they chose one; before sign-in, the one picked on the page."""
    if request.blueprint != "admin":
        return None
    if current_user.is_authenticated:
        return current().locale
    picked = request.args.get("lang", "")[:10]
    if picked:
        session[_PICKED_LANGUAGE] = picked
    value = session.get(_PICKED_LANGUAGE)
    return value if isinstance(value, str) else None


def init_app(app: Flask) -> None:
    """Bind Flask-Login (its own "remember me" cookie stays off: sessions end)."""
    login_manager.init_app(app)
    # Flask-Login's after-request hook reads and may write the cookie session; API and webhook paths have a null
    # session (plugin/sessions.py), where the hook can only do nothing, so those requests skip it (and its bound
    # method is no longer re-checked for `async def` on every request).
    update_remember_cookie = login_manager._update_remember_cookie

    def remember_cookie(response: Response) -> Response:
        if isinstance(session._get_current_object(), NullSession):  # type: ignore[attr-defined]
            return response
        return update_remember_cookie(response)

    hooks = app.after_request_funcs[None]
    hooks[hooks.index(update_remember_cookie)] = remember_cookie


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the admin, never another site."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")
