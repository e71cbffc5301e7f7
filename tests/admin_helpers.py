"""Helpers for the admin's page tests: users, CSRF tokens, signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from plugin.extensions import db
from plugin.models import Shop
from plugin.services.users import create_user

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class AdminUser:
    """A user made for a test, with the password to sign in."""

    id: str
    shop_id: str
    email: str
    role: str
    password: str = PASSWORD


def make_user(app: Flask, shop_id: str, email: str, role: str = "owner", password: str = PASSWORD) -> AdminUser:
    """Create a user of the shop."""
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        assert shop is not None
        user = create_user(shop, email, password, role)
        db.session.commit()
        made = AdminUser(user.id, shop_id, user.email, user.role, password)
        db.session.remove()
        return made


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    """The CSRF token of the form on a page."""
    page = client.get(path)
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: FlaskClient, user: AdminUser, password: str | None = None):
    """Post the sign-in form; returns the answer (a redirect when it worked)."""
    token = csrf_token(client)
    return client.post(
        "/admin/login",
        data={"email": user.email, "password": password or user.password, "csrf_token": token},
    )


def post_form(client: FlaskClient, path: str, data: dict[str, str], page: str | None = None, **kwargs):
    """Post a form of a signed-in page with the CSRF token taken from `page` (default: the dashboard)."""
    token = csrf_token(client, page or "/admin/")
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)
