"""The admin's landing page (the dashboard module replaces it with the figures)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """What the shop earns and what waits for a person."""
    return render_template("admin/dashboard.html", shop=current_shop())
