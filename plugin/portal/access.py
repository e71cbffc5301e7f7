"""What the portal remembers between steps (the found order, in the signed session) and how it dresses a page."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, session

from plugin import CONTENT_SECURITY_POLICY
from plugin.config import quote_signing_keys
from plugin.models import Shop
from plugin.schemas import ACCENT_COLOR_PATTERN, logo_origin
from plugin.services.claims import FoundOrder
from plugin.services.portal import resume_order
from plugin.services.settings import effective_settings

FOUND_ORDER = "claim_portal"
FILED_CLAIM = "claim_portal_filed"
# Long enough to photograph a parcel and fill the form, short enough that a shared computer forgets the order.
FOUND_ORDER_SECONDS = 2 * 3600
_ACCENT = re.compile(ACCENT_COLOR_PATTERN)


def signing_keys() -> list[str]:
    """SECRET_KEY first, then SECRET_KEY_FALLBACKS: the newest signs, all verify."""
    return quote_signing_keys(current_app.config)


def email_proof(key: str, shop_id: str, order_id: str, email: str) -> str:
    """An HMAC standing for "this browser typed this order's email", without the email."""
    message = "\x00".join(("claim-portal-email", shop_id, order_id, email)).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def remember_order(shop_id: str, order_id: str, email: str) -> None:
    """Keep the found order for the next steps (the session cookie is signed; it holds no email)."""
    session.pop(FILED_CLAIM, None)
    session[FOUND_ORDER] = {
        "shop": shop_id,
        "order": order_id,
        "proof": email_proof(signing_keys()[0], shop_id, order_id, email),
        "until": int(time.time()) + FOUND_ORDER_SECONDS,
    }


def forget_order() -> None:
    """Start over."""
    session.pop(FOUND_ORDER, None)


def recall_order(shop_id: str) -> tuple[FoundOrder, str] | None:
    """The order this browser found for this shop and its email, if the proof still holds and has not expired."""
    held: Any = session.get(FOUND_ORDER)
    if not isinstance(held, dict) or held.get("shop") != shop_id:
        return None
    order_id, proof, until = held.get("order"), held.get("proof"), held.get("until")
    if not isinstance(order_id, str) or not isinstance(proof, str) or not isinstance(until, int):
        return None
    if until < time.time():
        forget_order()
        return None
    keys = signing_keys()

    def proves(email: str) -> bool:
        return any(hmac.compare_digest(proof, email_proof(key, shop_id, order_id, email)) for key in keys)

    return resume_order(shop_id, order_id, proves)


@dataclass(frozen=True, slots=True)
class Branding:
    """The shop's look on its portal, every value checked again here (a stored document may predate the schema)."""

    shop_name: str
    logo_url: str | None
    logo_origin: str | None
    accent: str | None
    accent_ink: str | None  # text colour readable on the accent


def _ink_on(color: str) -> str:
    """Black or white, whichever reads better on the colour (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def branding(shop: Shop) -> Branding:
    """The shop's name, logo and accent colour as the pages may use them."""
    settings = effective_settings(shop).get("branding") or {}
    logo = settings.get("logo_url")
    origin = logo_origin(logo) if isinstance(logo, str) else None
    accent = settings.get("accent_color")
    accent = accent.lower() if isinstance(accent, str) and _ACCENT.match(accent) else None
    return Branding(
        shop_name=shop.name,
        logo_url=logo if origin else None,
        logo_origin=origin,
        accent=accent,
        accent_ink=_ink_on(accent) if accent else None,
    )


def content_security_policy(logo: str | None) -> str:
    """The pages' policy, with the logo's https origin (and only it) added to img-src."""
    if logo is None:
        return CONTENT_SECURITY_POLICY
    directives = [
        f"{directive} {logo}" if directive.startswith("img-src ") else directive
        for directive in CONTENT_SECURITY_POLICY.split("; ")
    ]
    return "; ".join(directives)
