"""The default terms page a quote's offer links to, written from the shop's own claim rules."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from plugin.services.settings import effective_settings
from plugin.services.shops import get_shop

bp = Blueprint("terms", __name__)


@bp.get("/terms/<shop_id>")
def page(shop_id: str) -> ResponseReturnValue:
    """What the shipping protection covers at this shop, and how to claim."""
    shop = get_shop(shop_id)
    if shop is None:
        abort(404)
    settings = effective_settings(shop)
    return render_template("terms.html", shop=shop, claims=settings["claims"], offer=settings["offer"])
