"""The catalogue's words, for tests that read a page in Chinese: `zh("English msgid", name=value)`."""

from __future__ import annotations

from functools import cache

from babel.support import Translations

from plugin.i18n import load_catalogues


@cache
def _chinese() -> Translations:
    return load_catalogues()["zh_Hans"]


def zh(message: str, **values: object) -> str:
    """The Simplified Chinese of an English message (failing when there is none), its placeholders filled."""
    translated = _chinese().gettext(message)
    assert translated != message, f"no Chinese for {message!r}"
    return translated % values if values else translated
