"""Do the code and the catalogues agree? Every message the code uses (Python under plugin/, the Jinja templates,
the widget's words in plugin/offer_texts.py) has a translation in each shipped catalogue: not empty, not fuzzy, with
the same placeholders; and no catalogue keeps a message the code no longer uses.

Run by tests/unit/test_catalogues.py and by `flask --app plugin i18n check` (see docs/i18n.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from plugin.i18n import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
# What `pybabel extract -F babel.cfg -k lazy_gettext` reads (babel.cfg says the same for the command line).
METHOD_MAP = [("plugin/**.py", "python"), ("plugin/templates/**.html", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
# %(name)s and %% in gettext's python-format; {name} would be a str.format field left in by mistake.
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%%|\{\w*\}")


@dataclass(frozen=True)
class Problem:
    """One disagreement between the code and a catalogue."""

    locale: str
    message: str
    what: str

    def __str__(self) -> str:
        return f"{self.locale}: {self.what}: {self.message!r}"


def used_messages(root: Path | None = None) -> dict[str, list[str]]:
    """Every message the code marks for translation, with where it is used ("path:line")."""
    used: dict[str, list[str]] = {}
    for path, line, message, _comments, _context in extract_from_dir(
        str(root or ROOT), METHOD_MAP, keywords=KEYWORDS, strip_comment_tags=True
    ):
        text = message[0] if isinstance(message, tuple) else message  # a plural is filed under its singular
        if text:
            used.setdefault(text, []).append(f"{path}:{line}")
    return used


def catalogues(directory: Path | None = None) -> dict[str, Catalog]:
    """Each shipped catalogue as babel reads it (fuzzy flags and all)."""
    found = {}
    for po_path in sorted((directory or TRANSLATIONS_DIR).glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as source:
            found[po_path.parent.parent.name] = read_po(source, locale=po_path.parent.parent.name)
    return found


def placeholders(text: str) -> list[str]:
    """The format fields of a message, sorted (a translation may put them in another order)."""
    return sorted(_PLACEHOLDER.findall(text))


def problems(root: Path | None = None, directory: Path | None = None) -> Iterator[Problem]:
    """Every disagreement between the code under root and the catalogues in directory (default: this tree's)."""
    used = used_messages(root or ROOT)
    for locale, catalog in catalogues(directory or TRANSLATIONS_DIR).items():
        for message in sorted(used):
            entry = catalog.get(message)
            if entry is None:
                yield Problem(locale, message, "missing")
                continue
            translated = entry.string if isinstance(entry.string, str) else ""
            if not translated.strip():
                yield Problem(locale, message, "not translated")
            elif entry.fuzzy:
                yield Problem(locale, message, "fuzzy")
            elif placeholders(translated) != placeholders(message):
                yield Problem(locale, message, f"placeholders differ ({translated!r})")
        for entry in catalog:
            key = entry.id[0] if isinstance(entry.id, tuple) else entry.id
            if key and key not in used:
                yield Problem(locale, str(key), "no longer used by the code")


@click.group("i18n")
def cli() -> None:
    """The gettext catalogues (plugin/translations)."""


@cli.command("check")
def check() -> None:
    """Fail when a message the code uses is untranslated, fuzzy or has other placeholders, or when a catalogue
    keeps a message the code no longer uses."""
    found = list(problems())
    for problem in found:
        click.echo(str(problem), err=True)
    if found:
        raise click.ClickException(f"{len(found)} problem(s) in the catalogues; see docs/i18n.md")
    click.echo("catalogues complete: every message the code uses is translated, and nothing else is kept")
