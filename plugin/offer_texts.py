"""The offer's built-in words and the widget's (its terms link, what it announces), from the gettext catalogues, in
the language a quote asks for.

Each quote carries them (`offer.texts`), so the widget holds no words of its own: one catalogue for the admin, the
portal, the terms page and the checkout. The messages are marked here with `N_` and translated per quote, in the
quote's language rather than the request's (a quote request's `locale` may differ from its Accept-Language).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from plugin.domain.settings import returns_are_free
from plugin.i18n import DEFAULT_LOCALE, LOCALES, built_once, catalogue
from plugin.services.quotes import OfferTexts

# What the widget puts the formatted price in place of (it fills it with textContent, never as HTML).
PRICE_PLACEHOLDER = "{price}"


def N_(message: str) -> str:
    """Mark a message for extraction (N_ is one of babel's default keywords); it is translated per quote."""
    return message


class OfferKind(StrEnum):
    """Which coverages the offer bundles, and whether the return cover may be called free returns."""

    SHIPPING = "shipping"
    SHIPPING_FREE_RETURNS = "shipping_free_returns"
    SHIPPING_RETURNS_COVERED = "shipping_returns_covered"
    FREE_RETURNS = "free_returns"
    RETURNS_COVERED = "returns_covered"


TITLE = N_("Shipping protection")
DESCRIPTION = N_("Get a refund or a replacement if your parcel is lost, stolen or damaged in transit.")
# One title and one description per combination of coverages: the words say exactly what is covered.
TEXTS: dict[OfferKind, tuple[str, str]] = {
    OfferKind.SHIPPING: (TITLE, DESCRIPTION),
    OfferKind.SHIPPING_FREE_RETURNS: (
        N_("Shipping protection + free returns"),
        N_(
            "Get a refund or a replacement if your parcel is lost, stolen or damaged in transit, and we refund the "
            "return shipping label if you send items back."
        ),
    ),
    OfferKind.SHIPPING_RETURNS_COVERED: (
        N_("Shipping protection + return shipping covered"),
        N_(
            "Get a refund or a replacement if your parcel is lost, stolen or damaged in transit, and we pay back "
            "part or all of the return shipping label if you send items back, within the limits in the terms."
        ),
    ),
    OfferKind.FREE_RETURNS: (
        N_("Free returns"),
        N_("We refund the return shipping label if you send items back."),
    ),
    OfferKind.RETURNS_COVERED: (
        N_("Return shipping covered"),
        N_(
            "We pay back part or all of the return shipping label if you send items back, within the limits in the "
            "terms."
        ),
    ),
}
WIDGET = {
    "terms": N_("Terms"),
    "price": N_("Shipping protection: %(price)s"),
    "added": N_("Shipping protection added for %(price)s"),
    "removed": N_("Shipping protection removed"),
    "changed": N_("The shipping protection price changed to %(price)s; select it again to add it."),
}


# The same announcements for a bundle or the return cover alone, naming the offer by its title.
WIDGET_TITLED = {
    "terms": N_("Terms"),
    "price": N_("%(title)s: %(price)s"),
    "added": N_("%(title)s added for %(price)s"),
    "removed": N_("%(title)s removed"),
    "changed": N_("The price of %(title)s changed to %(price)s; select it again to add it."),
}


def _with_placeholder(translated: str, message: str, title: str = "") -> str:
    """The text with the widget's placeholder where the catalogue has %(price)s, and the offer's title."""
    values = {"price": PRICE_PLACEHOLDER, "title": title}
    return translated % values if "%(" in message else translated


def offer_kind(settings: Mapping[str, Any]) -> OfferKind:
    """The combination of coverages a shop's settings offer (both off: the shipping words; no offer is made)."""
    coverage = settings["coverage"]
    returns = coverage["returns"]["enabled"]
    if not returns:
        return OfferKind.SHIPPING
    free = returns_are_free(dict(settings))
    if coverage["shipping"]["enabled"]:
        return OfferKind.SHIPPING_FREE_RETURNS if free else OfferKind.SHIPPING_RETURNS_COVERED
    return OfferKind.FREE_RETURNS if free else OfferKind.RETURNS_COVERED


def _build(language: str, kind: OfferKind) -> OfferTexts:
    words = catalogue(language)
    title, description = (words.gettext(message) for message in TEXTS[kind])
    messages = WIDGET if kind is OfferKind.SHIPPING else WIDGET_TITLED
    widget = {key: _with_placeholder(words.gettext(message), message, title) for key, message in messages.items()}
    return OfferTexts(
        language=language,
        title=title,
        description=description,
        widget=MappingProxyType(widget),
    )


_BUILT = "offer_texts"  # the app's extensions key of the texts built so far


def _texts_key(language: str, kind: OfferKind) -> tuple[str, OfferKind]:
    """Which texts a language and a combination get: a language we speak, else English."""
    return (language if language in LOCALES else DEFAULT_LOCALE, kind)


def offer_texts(language: str, kind: OfferKind = OfferKind.SHIPPING) -> OfferTexts:
    """The built-in offer texts for a combination of coverages in a language we speak (else English), built once
    per language, combination and app."""
    key = _texts_key(language, kind)
    return built_once(_BUILT, key, lambda: _build(*key))


def built_offer_texts(extensions: Mapping[str, Any], language: str, kind: OfferKind) -> OfferTexts | None:
    """offer_texts() as already built for the app with these `extensions`, else None: for a caller outside the app
    context, which cannot build them (the catalogues are the app's)."""
    return extensions.get(_BUILT, {}).get(_texts_key(language, kind))
