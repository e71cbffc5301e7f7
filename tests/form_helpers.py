"""Reading an HTML form as a browser would submit it, and the messages a page shows next to its inputs."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """The successful controls of one form: inputs with their values, checked boxes, selected options, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fieldsets: list[bool] = []  # whether each open fieldset is disabled
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        if tag == "fieldset":
            self.fieldsets.append("disabled" in a)
        if any(self.fieldsets) or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.fields[self._select] = value
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "fieldset" and self.fieldsets and self.inside:
            self.fieldsets.pop()
        elif tag == "select" and self._select is not None:
            if not self._selected and self._first_option is not None:
                self.fields[self._select] = self._first_option
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_fields(page: str, form_id: str) -> dict[str, str]:
    """What submitting the form `form_id` of an HTML page would send (without a submit button's name)."""
    reader = _FormReader(form_id)
    reader.feed(page)
    return reader.fields


def shown_error(page: str, name: str) -> str:
    """The message a page shows next to the input `name` ("" when none is shown)."""
    found = re.search(rf'data-error-for="{re.escape(name)}"(?P<hidden> hidden)?>(?P<text>[^<]*)<', page)
    if found is None or found["hidden"]:
        return ""
    return html.unescape(found["text"])
