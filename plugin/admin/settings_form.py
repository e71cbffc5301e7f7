"""Settings forms: the inputs' texts from a settings document, and a submitted form as a JSON Merge Patch.

The patch holds only what the merchant changed, and goes through the same `update_settings` as the API, so the
rules are the API's. A value the form cannot read (letters in an amount) is passed on as typed, for the API to
refuse with its own message; only what a patch cannot even express (a category listed twice, JSON that does not
parse) is refused here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext

from plugin.admin.settings_fields import (
    ELSEWHERE,
    OTHER_SLUG,
    OTHER_TITLE,
    PAGES,
    Field,
    Kind,
    Page,
    Rows,
    Section,
    page_items,
)
from plugin.admin.settings_words import explain, plain_amount
from plugin.domain.changes import leaves
from plugin.domain.money import parse_major_units
from plugin.domain.settings import PROVIDER_DEFAULT_CONFIG, SECRET_PATHS, compose
from plugin.iso_codes import currency_exponent

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_LIST_SEPARATORS = re.compile(r"[\n,，]")
_CONFIG = "insurer.config."


# ---- reading and writing one value ---------------------------------------------------------------------------


def shown(kind: Kind, value: Any, currency: str) -> str:
    """A setting's value as its input shows it."""
    if value is None or kind is Kind.SECRET:
        return ""
    if kind is Kind.PERCENT and isinstance(value, str):
        try:
            return format((Decimal(value) * 100).normalize(), "f")
        except InvalidOperation:
            return value
    if kind is Kind.MONEY and isinstance(value, int):
        return plain_amount(value, currency)
    if kind in (Kind.CODES, Kind.LINES) and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if kind is Kind.JSON:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Unreadable(ValueError):
    """An input no patch can carry (JSON that does not parse)."""


def read(kind: Kind, text: str, currency: str) -> Any:
    """An input's text as the setting's value: None when empty (the default), the text itself when it cannot
    be read (the API then says what is wrong)."""
    text = text.replace("\r\n", "\n").strip()
    if kind in (Kind.CODES, Kind.LINES):
        items = [item.strip() for item in _LIST_SEPARATORS.split(text)]
        return [item.upper() if kind is Kind.CODES else item for item in items if item]
    if not text:
        return None
    if kind is Kind.PERCENT:
        try:
            percent = Decimal(text.removesuffix("%").strip())
        except InvalidOperation:
            return text
        return format(percent.scaleb(-2).normalize(), "f") if percent.is_finite() else text
    if kind is Kind.MONEY:
        try:
            return parse_major_units(text.replace(",", "").replace(" ", ""), currency_exponent(currency))
        except ValueError:
            return text
    if kind is Kind.INTEGER:
        return int(text) if _INTEGER.fullmatch(text) else text
    if kind is Kind.JSON:
        try:
            return json.loads(text)
        except ValueError:
            raise Unreadable(gettext("Enter a value written in JSON.")) from None
    return text


def _same(kind: Kind, first: Any, second: Any) -> bool:
    if kind is Kind.PERCENT and isinstance(first, str) and isinstance(second, str):
        try:
            return Decimal(first) == Decimal(second)
        except InvalidOperation:
            return first == second
    return bool(first == second) and type(first) is type(second)


def get(document: Any, path: str) -> tuple[bool, Any]:
    """(whether the path is there, its value)."""
    node = document
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in a nested document."""
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


# ---- a page's inputs --------------------------------------------------------------------------------------------


def other_page(document: dict[str, Any]) -> Page | None:
    """Settings no page knows (added to the API after these pages), each with an input chosen by its value."""
    known = {item.path for page in PAGES for item in page_items(page)}
    fields: list[Field] = []
    for path, value in leaves(document):
        if path in known or path in SECRET_PATHS or path.split(".")[0] in ELSEWHERE:
            continue
        if path.startswith(_CONFIG):
            continue  # an insurer's settings: its own section of the insurer page
        if isinstance(value, bool):
            kind = Kind.BOOL
        elif isinstance(value, int):
            kind = Kind.INTEGER
        elif value is None or isinstance(value, str):
            kind = Kind.TEXT
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            kind = Kind.LINES
        else:
            kind = Kind.JSON
        fields.append(Field(path, kind, path))
    if not fields:
        return None
    intro = gettext("Settings these pages do not describe yet, by their names in the settings API.")
    return Page(OTHER_SLUG, OTHER_TITLE, intro, (Section(OTHER_TITLE, tuple(fields)),))


def visible_page(page: Page, document: dict[str, Any]) -> Page | None:
    """The page without the settings this server does not have (None when it has none of them)."""
    sections = []
    for section in page.sections:
        items = tuple(item for item in section.items if section.provider is not None or get(document, item.path)[0])
        if items:
            sections.append(Section(section.title, items, section.intro, section.provider, section.shown_when))
    if not sections:
        return None
    return Page(page.slug, page.title, page.intro, tuple(sections), page.preview)


def pages(document: dict[str, Any]) -> list[Page]:
    """The settings pages this document has, in order."""
    found = [shown_page for page in PAGES if (shown_page := visible_page(page, document)) is not None]
    other = other_page(document)
    return [*found, other] if other is not None else found


@dataclass
class FormState:
    """What a page's inputs show, and the problems found with them."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # how many rows a table shows
    masked: dict[str, str] = field(default_factory=dict)  # a secret input's saved value, masked
    errors: dict[str, list[str]] = field(default_factory=dict)  # input name (or a table's path) → messages
    summary: list[tuple[str, str, str | None]] = field(default_factory=list)  # (what, message, input id)

    def add_error(self, name: str, what: str, message: str, dom_id: str | None) -> None:
        """Note a problem next to an input and in the summary."""
        self.errors.setdefault(name, []).append(message)
        self.summary.append((what, message, dom_id))


def _row_values(rows: Rows, value: Any, currency: str) -> list[dict[str, str]]:
    if rows.as_map and isinstance(value, dict):
        first, second = rows.columns
        return [{first.key: str(key), second.key: shown(second.kind, rate, currency)} for key, rate in value.items()]
    if isinstance(value, list):
        return [
            {column.key: shown(column.kind, item.get(column.key), currency) for column in rows.columns}
            for item in value
            if isinstance(item, dict)
        ]
    return []


def _fill_rows(state: FormState, rows: Rows, entries: list[dict[str, str]]) -> None:
    count = min(max(len(entries) + rows.spare, rows.spare), max(rows.most, len(entries)))
    for index, entry in enumerate(entries):
        for column in rows.columns:
            state.values[rows.name(index, column.key)] = entry.get(column.key, "")
    state.rows[rows.path] = count


def current_state(page: Page, document: dict[str, Any], currency: str) -> FormState:
    """The inputs as the saved settings fill them."""
    state = FormState()
    provider = document["insurer"]["provider"]
    for section in page.sections:
        for item in section.items:
            if isinstance(item, Rows):
                _fill_rows(state, item, _row_values(item, get(document, item.path)[1], currency))
                continue
            if item.provider is not None and item.provider != provider:
                config = PROVIDER_DEFAULT_CONFIG.get(item.provider, {})
                state.values[item.name] = shown(item.kind, config.get(item.path.rsplit(".", 1)[1]), currency)
                continue
            value = get(document, item.path)[1]
            if item.kind is Kind.SECRET and value:
                state.masked[item.name] = str(value)
            if item.kind is Kind.BOOL:
                state.values[item.name] = "on" if value else ""
            else:
                state.values[item.name] = shown(item.kind, value, currency)
    return state


# ---- a submitted form -----------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A submitted form: the patch it makes, what it showed, and where each setting's problems belong."""

    patch: dict[str, Any]
    state: FormState
    # settings path → (input name, what it is called, input id, the kind of input, the list it holds if any)
    places: dict[str, tuple[str, str, str | None, Kind, list[Any] | None]] = field(default_factory=dict)
    currency: str = "USD"
    readable: bool = True  # whether every input could be read into the patch (nothing the form itself refused)

    def refuse(self, name: str, what: str, message: str, dom_id: str | None) -> None:
        """An input the form cannot turn into a patch."""
        self.readable = False
        self.state.add_error(name, what, message, dom_id)

    def place(self, errors: Mapping[str, Iterable[str]]) -> None:
        """Put the API's field errors next to their inputs, in the merchant's words."""
        for path, messages in errors.items():
            name, what, dom_id, kind, items = self._locate(path)
            for message in messages:
                said = explain(message, kind, self.currency)
                suffix = path[len(name) + 1 :] if path.startswith(name + ".") else ""
                if items is not None and suffix.isdigit() and int(suffix) < len(items):
                    said = gettext("“%(item)s”: %(problem)s", item=items[int(suffix)], problem=said)
                self.state.add_error(name, what, said, dom_id)

    def _locate(self, path: str) -> tuple[str, str, str | None, Kind, list[Any] | None]:
        probe = path
        while probe:
            if probe in self.places:
                return self.places[probe]
            probe = probe.rpartition(".")[0]
        return path, path, None, Kind.TEXT, None


def _selected_provider(page: Page, form: Mapping[str, str], document: dict[str, Any]) -> str:
    for item in page_items(page):
        if isinstance(item, Field) and item.path == "insurer.provider":
            return form.get(item.name, "").strip()
    return str(document["insurer"]["provider"])


def _default(path: str, provider: str | None) -> Any:
    if provider is not None:
        return PROVIDER_DEFAULT_CONFIG.get(provider, {}).get(path.rsplit(".", 1)[1])
    return get(compose({}), path)[1]


def _read_rows(rows: Rows, form: Mapping[str, str], draft: Draft) -> Any:
    """A table's rows as the setting's value (a list, or an object of the merchant's keys)."""
    state, currency = draft.state, draft.currency
    entries: list[dict[str, str]] = []
    index = 0
    while index < rows.most + rows.spare and any(rows.name(index, c.key) in form for c in rows.columns):
        entries.append({c.key: form.get(rows.name(index, c.key), "") for c in rows.columns})
        index += 1
    for row, entry in enumerate(entries):
        for column in rows.columns:
            state.values[rows.name(row, column.key)] = entry[column.key]
    state.rows[rows.path] = min(max(len(entries), rows.spare), rows.most + rows.spare)
    draft.places[rows.path] = (rows.path, str(rows.label), None, Kind.TEXT, None)
    filled = [(row, entry) for row, entry in enumerate(entries) if any(text.strip() for text in entry.values())]
    if rows.as_map:
        first, second = rows.columns
        mapping: dict[str, Any] = {}
        for row, entry in filled:
            key = entry[first.key].strip()
            what = f"{rows.label} {row + 1}"
            if not key or key in mapping:
                message = gettext("Name the category.") if not key else gettext("This category is listed twice.")
                draft.refuse(rows.name(row, first.key), what, message, rows.dom_id(row, first.key))
                continue
            if not entry[second.key].strip():  # null would remove the category, not give it a rate
                draft.refuse(
                    rows.name(row, second.key), what, gettext("Fill in this field."), rows.dom_id(row, second.key)
                )
                continue
            mapping[key] = read(second.kind, entry[second.key], currency)
            draft.places[f"{rows.path}.{key}"] = (
                rows.name(row, first.key),
                what,
                rows.dom_id(row, first.key),
                first.kind,
                None,
            )
            draft.places[f"{rows.path}.{key}.value"] = (
                rows.name(row, second.key),
                what,
                rows.dom_id(row, second.key),
                second.kind,
                None,
            )
        return mapping
    items = []
    for position, (row, entry) in enumerate(filled):
        item = {column.key: read(column.kind, entry[column.key], currency) for column in rows.columns}
        items.append({key: value for key, value in item.items() if value is not None} if rows.omit_empty else item)
        for column in rows.columns:
            draft.places[f"{rows.path}.{position}.{column.key}"] = (
                rows.name(row, column.key),
                f"{rows.label} {row + 1}: {column.label}",
                rows.dom_id(row, column.key),
                column.kind,
                None,
            )
        first_column = rows.columns[0].key
        draft.places[f"{rows.path}.{position}"] = draft.places[f"{rows.path}.{position}.{first_column}"]
    return items


def _map_patch(current: Any, desired: dict[str, Any]) -> dict[str, Any]:
    """A merge patch turning one object of the merchant's keys into another (removed keys as null)."""
    before = current if isinstance(current, dict) else {}
    patch: dict[str, Any] = {key: None for key in before if key not in desired}
    patch.update({key: value for key, value in desired.items() if before.get(key) != value})
    return patch


def read_form(page: Page, form: Mapping[str, str], document: dict[str, Any], currency: str) -> Draft:
    """The merge patch a submitted page makes: only the settings whose value the merchant changed."""
    draft = Draft({}, FormState(), currency=currency)
    state = draft.state
    provider_now = str(document["insurer"]["provider"])
    provider = _selected_provider(page, form, document)
    switched = provider != provider_now
    for section in page.sections:
        if section.provider is not None and section.provider != provider:
            for item in section.items:  # another insurer's form: shown again as it was, never saved
                if isinstance(item, Field) and item.kind is not Kind.SECRET:
                    state.values[item.name] = form.get(item.name, "")
            continue
        for item in section.items:
            if isinstance(item, Rows):
                desired = _read_rows(item, form, draft)
                current = get(document, item.path)[1]
                if item.as_map:
                    if changes := _map_patch(current, desired):
                        put(draft.patch, item.path, changes)
                elif desired != current:
                    put(draft.patch, item.path, desired)
                continue
            # Read whole (the request is at most 1 MiB): a cut value would be saved as something nobody typed.
            raw = form.get(item.name, "")
            state.values[item.name] = "on" if item.kind is Kind.BOOL and item.name in form else raw
            items = read(item.kind, raw, currency) if item.kind in (Kind.CODES, Kind.LINES) else None
            draft.places[item.path] = (item.name, str(item.label), item.dom_id, item.kind, items)
            if item.kind is Kind.SECRET:
                if item.provider is not None:
                    saved = get(document, item.path)[1]
                    if saved and not switched:
                        state.masked[item.name] = str(saved)
                if raw.strip():
                    put(draft.patch, item.path, raw.strip())
                continue
            try:
                value = item.name in form if item.kind is Kind.BOOL else read(item.kind, raw, currency)
            except Unreadable as error:
                draft.refuse(item.name, str(item.label), str(error), item.dom_id)
                continue
            current = get(document, item.path)[1]
            if item.provider is not None and switched:
                current = _default(item.path, item.provider)  # a new insurer starts from its own defaults
            target = _default(item.path, item.provider) if value is None else value
            if not _same(item.kind, target, current):
                put(draft.patch, item.path, value)
    return draft
