"""The offer's built-in words and the widget's (its terms link, what it announces), from the gettext catalogues, in
the language a quote asks for.

Each quote carries them (`offer.texts`), so the widget holds no words of its own: one catalogue for the admin, the
portal, the terms page and the checkout. The messages are marked here with `N_` and translated per quote, in the
quote's language rather than the request's (a quote request's `locale` may differ from its Accept-Language).
"""

from __future__ import annotations

from types import MappingProxyType

from flask import current_app

from plugin.i18n import DEFAULT_LOCALE, LOCALES, catalogue
from plugin.services.quotes import OfferTexts

# What the widget puts the formatted price in place of (it fills it with textContent, never as HTML).
PRICE_PLACEHOLDER = "{price}"


def N_(message: str) -> str:
    """Mark a message for extraction (N_ is one of babel's default keywords); it is translated per quote."""
    return message


TITLE = N_("Shipping protection")
DESCRIPTION = N_("Get a refund or a replacement if your parcel is lost, stolen or damaged in transit.")
WIDGET = {
    "terms": N_("Terms"),
    "price": N_("Shipping protection: %(price)s"),
    "added": N_("Shipping protection added for %(price)s"),
    "removed": N_("Shipping protection removed"),
    "changed": N_("The shipping protection price changed to %(price)s; select it again to add it."),
}


def _with_placeholder(translated: str, message: str) -> str:
    """The text with the widget's placeholder where the catalogue has %(price)s."""
    return translated % {"price": PRICE_PLACEHOLDER} if "%(price)s" in message else translated


def _build(language: str) -> OfferTexts:
    words = catalogue(language)
    widget = {key: _with_placeholder(words.gettext(message), message) for key, message in WIDGET.items()}
    return OfferTexts(
        language=language,
        title=words.gettext(TITLE),
        description=words.gettext(DESCRIPTION),
        widget=MappingProxyType(widget),
    )


def offer_texts(language: str) -> OfferTexts:
    """The built-in offer texts in a language we speak (else English), built once per language and app."""
    if language not in LOCALES:
        language = DEFAULT_LOCALE
    built: dict[str, OfferTexts] = current_app.extensions.setdefault("offer_texts", {})
    texts = built.get(language)
    if texts is None:
        texts = built[language] = _build(language)
    return texts
