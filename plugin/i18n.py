"""The words people read (admin, claim portal, terms, widget), in English and Simplified Chinese, through
Flask-Babel and gettext catalogues.

The catalogues' source is the `.po` file kept in the repository (plugin/translations/); it is compiled in memory
when the app starts, so there is no build step and no compiled `.mo` file to fall out of date.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "en"
# The locales we ship (Babel's identifiers) and the short codes pages and users choose them by.
LOCALES = {"en": "en", "zh": "zh_Hans"}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


def load_catalogues(directory: Path = TRANSLATIONS_DIR) -> dict[str, Translations]:
    """Each shipped locale's catalogue, compiled from its .po file (fuzzy entries are left out, as msgfmt does)."""
    catalogues: dict[str, Translations] = {}
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        locale = po_path.parent.parent.name
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        catalogues[locale] = Translations(fp=compiled)
    return catalogues


class CatalogueDomain(Domain):
    """Flask-Babel's domain, answering from the catalogues compiled at start instead of reading .mo files."""

    def __init__(self, catalogues: dict[str, Translations]) -> None:
        super().__init__()
        self._catalogues = catalogues

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None:
            return NullTranslations()
        return self._catalogues.get(str(locale)) or NullTranslations()


def language_code(value: str | None) -> str | None:
    """Our short code ("en", "zh") for a language tag or locale ("zh-CN", "zh_Hans", "en-GB"), if we speak it."""
    if not value:
        return None
    primary = value.replace("_", "-").split("-")[0].lower()
    return primary if primary in LOCALES else None


def accepted_language() -> str:
    """The request's best language by Accept-Language, else English."""
    best = request.accept_languages.best_match(["en", "zh"]) if has_request_context() else None
    return language_code(best) or DEFAULT_LOCALE


# Who chooses a page's language when it is not the browser: the admin (the signed-in user's setting) and the
# portal (the shopper's choice) each register a chooser; the first that answers wins.
LanguageChooser = Callable[[], str | None]


def select_locale() -> str:
    """The request's locale: a page's own choice (g.language), else each registered chooser, else the browser."""
    chosen = g.get("language") if has_request_context() else None
    if chosen is None and has_request_context():
        for chooser in current_app.extensions.get("language_choosers", []):
            chosen = chooser()
            if chosen:
                break
    return LOCALES[language_code(chosen) or accepted_language()]


def page_language() -> str:
    """The short code of the language this request's page is shown in."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LOCALE
    return language_code(str(locale)) or DEFAULT_LOCALE


def catalogue(code: str) -> NullTranslations:
    """A language's compiled catalogue, for texts in a language other than the request's (the widget's offer)."""
    locale = LOCALES.get(code, LOCALES[DEFAULT_LOCALE])
    catalogues: dict[str, Translations] = current_app.extensions["catalogues"]
    return catalogues.get(locale) or NullTranslations()


T = TypeVar("T")


def built_once(name: str, key: Hashable, build: Callable[[], T]) -> T:
    """`build()`, run once per app and key and kept in the app's extensions under `name`: words drawn from the
    catalogues, which are compiled at start and never change while the app runs."""
    built: dict[Hashable, T] = current_app.extensions.setdefault(name, {})
    if key not in built:
        built[key] = build()
    return built[key]


def add_language_chooser(app: Flask, chooser: LanguageChooser) -> None:
    """Let a part of the app (the admin, the portal) choose the language of its pages."""
    app.extensions.setdefault("language_choosers", []).append(chooser)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our locale selection and the in-memory catalogues."""
    babel = Babel()
    babel.init_app(app, default_locale=DEFAULT_LOCALE, locale_selector=select_locale)
    catalogues = load_catalogues()
    app.extensions["catalogues"] = catalogues
    babel.domain_instance = CatalogueDomain(catalogues)  # replaces the cached default domain
    from plugin.catalogue_check import cli

    app.cli.add_command(cli)  # flask --app plugin i18n check

    @app.context_processor
    def language_context() -> dict[str, object]:
        code = page_language()
        return {"html_lang": HTML_LANG[code], "page_language": code, "language_names": LANGUAGE_NAMES}
