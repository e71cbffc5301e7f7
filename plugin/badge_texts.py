"""The trust badge's words (`<shipping-protection-badge>`, GET /api/v1/badge), from the gettext catalogues, in the
language the badge asks for.

Like the offer's (plugin/offer_texts.py), the messages are marked with `N_` and translated per language, so the
widget holds no words of its own. Which lines the badge shows depends on the shop's settings: one per enabled
coverage, and "Free returns" only when `returns_are_free` says the words are true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.domain.settings import returns_are_free
from plugin.i18n import DEFAULT_LOCALE, LOCALES, built_once, catalogue
from plugin.offer_texts import N_, WIDGET

LABEL = N_("Shopping protections")  # the list's accessible name
SHIPPING = N_("Insured shipping")
FREE_RETURNS = N_("Free returns")
RETURN_SHIPPING = N_("Return shipping covered")
TERMS = WIDGET["terms"]  # the terms link's label is the offer's


@dataclass(frozen=True)
class BadgeTexts:
    """The badge's words in one language."""

    language: str  # "en" or "zh"
    label: str
    shipping: str
    free_returns: str
    return_shipping: str
    terms: str  # the terms link's label: the offer's


@dataclass(frozen=True)
class BadgeItem:
    """One line of the badge: a coverage and what it says."""

    coverage: str  # "shipping" | "returns"
    text: str


def _build(language: str) -> BadgeTexts:
    words = catalogue(language)
    return BadgeTexts(
        language=language,
        label=words.gettext(LABEL),
        shipping=words.gettext(SHIPPING),
        free_returns=words.gettext(FREE_RETURNS),
        return_shipping=words.gettext(RETURN_SHIPPING),
        terms=words.gettext(TERMS),
    )


def badge_texts(language: str) -> BadgeTexts:
    """The badge's words in a language we speak (else English), built once per language and app."""
    if language not in LOCALES:
        language = DEFAULT_LOCALE
    return built_once("badge_texts", language, lambda: _build(language))


def badge_items(settings: Mapping[str, Any], texts: BadgeTexts) -> list[BadgeItem]:
    """A line per enabled coverage, shipping first; the returns line says "free" only when it is."""
    coverage = settings["coverage"]
    items = []
    if coverage["shipping"]["enabled"]:
        items.append(BadgeItem("shipping", texts.shipping))
    if coverage["returns"]["enabled"]:
        free = returns_are_free(dict(settings))
        items.append(BadgeItem("returns", texts.free_returns if free else texts.return_shipping))
    return items
