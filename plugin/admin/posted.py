"""Reading the admin's posted forms: bounded text fields, and the 400 page for a form no page of ours sends."""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_babel import gettext

MAX_FIELD = 1024


def posted(name: str, limit: int = MAX_FIELD) -> str:
    """A form field, stripped; one longer than `limit` is cut one past it (so a length check still fails)."""
    return request.form.get(name, "")[: limit + 1].strip()


def posted_password(name: str, limit: int = MAX_FIELD) -> str:
    """A password field as typed: passwords keep their spaces."""
    return request.form.get(name, "")[: limit + 1]


def refuse(message: str | None = None, status: int = 400) -> None:
    """Stop with a problem page: a form our pages never send (a forged choice, a missing field)."""
    text = message or gettext("This form cannot be used as sent. Reload the page and try again.")
    page = render_template("admin/problem.html", title=gettext("This form cannot be used"), message=text)
    abort(make_response(page, status))
