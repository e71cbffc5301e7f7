"""The gettext catalogues against the code: every message the admin, the claim portal, the terms page and the widget
use (extracted with babel, as `pybabel extract -F babel.cfg -k lazy_gettext` does) has a Simplified Chinese
translation that is not empty, not fuzzy and has the same placeholders; and the catalogue keeps nothing else."""

from __future__ import annotations

from pathlib import Path

from plugin import catalogue_check
from plugin.catalogue_check import placeholders, problems, used_messages
from plugin.i18n import LOCALES, TRANSLATIONS_DIR, load_catalogues


def test_every_message_the_code_uses_is_translated_and_nothing_else_is_kept():
    found = [str(problem) for problem in problems()]
    assert found == [], "\n".join(found) + "\nSee docs/i18n.md: how to add a string."


def test_extraction_reaches_every_surface():
    used = used_messages()
    where = {location.split(":")[0] for locations in used.values() for location in locations}
    assert "plugin/portal/__init__.py" in where and "plugin/portal/texts.py" in where  # gettext, lazy_gettext
    assert "plugin/templates/portal/claim.html" in where and "plugin/templates/terms.html" in where  # Jinja _()
    assert "plugin/terms.py" in where and "plugin/templates/admin/base.html" in where
    assert "Shipping protection: %(price)s" in used  # the widget's words, marked N_ in plugin/offer_texts.py
    assert "It never arrived" in used and "virtual goods" in used


def test_every_shipped_locale_has_a_catalogue():
    assert set(load_catalogues()) == set(LOCALES.values()) - {"en"}  # English is the msgids themselves
    assert (TRANSLATIONS_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").is_file()


def test_placeholders_are_compared_as_a_translation_may_reorder_them():
    assert placeholders("Late parcels: %(amount)s after %(days)s days.") == placeholders("%(days)s 天后 %(amount)s")
    assert placeholders("%(count)s of %(total)s") != placeholders("%(count)s")
    assert placeholders("Shipping protection: %(price)s") != placeholders("运输保障：{price}")
    assert placeholders("100%% covered") != placeholders("100% 保障")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_check_finds_each_kind_of_disagreement(tmp_path):
    """A small tree with one of each mistake: the check names them all (so the test above can fail)."""
    write(
        tmp_path / "plugin" / "page.py",
        "from flask_babel import gettext, lazy_gettext\n"
        "A = gettext('Translated')\nB = lazy_gettext('Never translated')\nC = gettext('Fuzzy one')\n"
        "D = gettext('Hello %(name)s', name='x')\nE = gettext('Empty')\n",
    )
    write(tmp_path / "plugin" / "templates" / "page.html", "<p>{{ _('From a template %(n)s', n=1) }}</p>\n")
    write(
        tmp_path / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po",
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Translated"\nmsgstr "已翻译"\n\n'
        '#, fuzzy\nmsgid "Fuzzy one"\nmsgstr "模糊"\n\n'
        '#, python-format\nmsgid "Hello %(name)s"\nmsgstr "你好 %(nom)s"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        '#, python-format\nmsgid "From a template %(n)s"\nmsgstr "模板 %(n)s"\n\n'
        'msgid "Left behind"\nmsgstr "遗留"\n',
    )
    found = {(p.message, p.what.split(" (")[0]) for p in problems(tmp_path, tmp_path / "translations")}
    assert found == {
        ("Never translated", "missing"),
        ("Fuzzy one", "fuzzy"),
        ("Hello %(name)s", "placeholders differ"),
        ("Empty", "not translated"),
        ("Left behind", "no longer used by the code"),
    }


def test_the_command_reports_problems_and_fails(tmp_path, monkeypatch):
    from click.testing import CliRunner

    runner = CliRunner()
    assert runner.invoke(catalogue_check.cli, ["check"]).exit_code == 0
    write(tmp_path / "plugin" / "page.py", "from flask_babel import gettext\nA = gettext('New words')\n")
    write(tmp_path / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po", 'msgid ""\nmsgstr ""\n')
    monkeypatch.setattr(catalogue_check, "ROOT", tmp_path)
    monkeypatch.setattr(catalogue_check, "TRANSLATIONS_DIR", tmp_path / "translations")
    result = runner.invoke(catalogue_check.cli, ["check"])
    assert result.exit_code == 1 and "missing: 'New words'" in result.output
