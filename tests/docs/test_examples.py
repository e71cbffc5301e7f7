"""Every example in README.md and docs/*.md runs, in the order written, against the app: a doc that lies fails here.

The format (docs/README.md explains it to writers):

- A request is a fenced ```http block: `METHOD /path`, header lines, a blank line, the body.
- The block right after it is its answer, also ```http: `HTTP/1.1 <status> …`, optional headers, a blank line and
  an optional JSON body. The status must match; every key the body shows must be in the answer with that value,
  where `…` inside a string stands for any text (`"qt_…"`, `"…"`), and lists must match element by element.
- `sk_…` and `pk_…` stand for the shop's secret and publishable keys, `shop_…` and `{shop_id}` for its id; every
  object an answer returns is remembered as `{<object>_id}` (`{policy_id}`, `{quote_id}`) for later examples.
- Each line of a ```sh block that runs `flask --app plugin …` is run through click's runner and must exit 0.
  Request examples are never written as curl commands (they would not be run).
Each document gets a fresh shop; its examples share it, in order.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
VARIABLE = re.compile(r"\{([a-z][a-z_]*)\}")
FLASK = ("flask", "--app", "plugin")
# Commands that serve or poll until stopped: documented, but a test cannot wait for them to end.
LONG_RUNNING = {("demo",), ("worker",)}


@dataclass
class Block:
    """One fenced block of a document."""

    document: Path
    line: int
    lang: str
    text: str

    def where(self) -> str:
        """file:line, for failure messages."""
        name = self.document.relative_to(ROOT) if self.document.is_relative_to(ROOT) else self.document.name
        return f"{name}:{self.line}"


@dataclass
class Exchange:
    """A documented request and the answer the document promises."""

    request: Block
    answer: Block


@dataclass
class Command:
    """A documented `flask --app plugin …` command line."""

    block: Block
    args: list[str]


@dataclass
class Session:
    """What the examples of one document share: the shop's keys and the ids of objects seen so far."""

    secret_key: str
    publishable_key: str
    variables: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str, where: str) -> str:
        """Placeholders replaced by this session's values."""
        text = text.replace("sk_…", self.secret_key).replace("pk_…", self.publishable_key)
        text = text.replace("shop_…", self.variables["shop_id"])

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.variables:
                pytest.fail(f"{where}: {{{name}}} is used before any example returned a {name[:-3]}")
            return self.variables[name]

        return VARIABLE.sub(value, text)

    def remember(self, answer: Any) -> None:
        """Every {"object": …, "id": …} in an answer becomes {<object>_id} for later examples."""
        if isinstance(answer, dict):
            if isinstance(answer.get("object"), str) and isinstance(answer.get("id"), str):
                self.variables[f"{answer['object']}_id"] = answer["id"]
            for item in answer.values():
                self.remember(item)
        elif isinstance(answer, list):
            for item in answer:
                self.remember(item)


def blocks(document: Path) -> list[Block]:
    """The document's fenced blocks, in order."""
    text = document.read_text(encoding="utf-8")
    return [
        Block(document, text.count("\n", 0, match.start()) + 1, match.group("lang"), match.group("body"))
        for match in FENCE.finditer(text)
    ]


def examples(document: Path) -> list[Exchange | Command]:
    """The runnable examples of a document, in order; a request without its answer block is a mistake."""
    found: list[Exchange | Command] = []
    fenced = blocks(document)
    for index, block in enumerate(fenced):
        if block.lang == "http" and not block.text.startswith("HTTP/"):
            following = fenced[index + 1] if index + 1 < len(fenced) else None
            if following is None or following.lang != "http" or not following.text.startswith("HTTP/"):
                pytest.fail(f"{block.where()}: a request example must be followed by its ```http answer block")
            found.append(Exchange(block, following))
        elif block.lang in ("sh", "bash", "shell", "console"):
            for line in block.text.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if "curl" in words:
                    pytest.fail(f"{block.where()}: write requests as ```http blocks, which the tests run")
                while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                    words.pop(0)  # VAR=value before the command: the environment
                if tuple(words[:3]) == FLASK:
                    found.append(Command(block, words[3:]))
    return found


def split_message(text: str) -> tuple[str, dict[str, str], str]:
    """First line, headers and body of an HTTP message as written in a document."""
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return first.strip(), headers, body.strip()


def matches(expected: Any, actual: Any) -> bool:
    """Whether an answer agrees with what the document shows of it."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, str) and "…" in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split("…"))
        return isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL) is not None
    return type(expected) is type(actual) and expected == actual


def run_exchange(app: Flask, session: Session, exchange: Exchange) -> None:
    """Send the documented request and hold the answer to what the document shows."""
    where = exchange.request.where()
    first, headers, body = split_message(session.substitute(exchange.request.text, where))
    method, path = first.split(" ", 1)
    response = app.test_client().open(path.strip(), method=method, headers=headers, data=body.encode())
    status_line, expected_headers, expected_body = split_message(session.substitute(exchange.answer.text, where))
    status = int(status_line.split()[1])
    shown = response.get_data(as_text=True)
    assert response.status_code == status, f"{where}: {method} {path} answered {response.status_code}: {shown}"
    for name, value in expected_headers.items():
        assert matches(value, response.headers.get(name)), f"{where}: header {name} is {response.headers.get(name)}"
    answer = response.get_json(silent=True)
    if expected_body:
        try:
            promised = json.loads(expected_body)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{exchange.answer.where()}: the answer shown is not JSON ({exc})")
        assert matches(promised, answer), f"{where}: the answer differs from the document:\n{shown}"
    session.remember(answer)


def run_command(app: Flask, session: Session, command: Command) -> None:
    """Run a documented `flask --app plugin …` line; it must succeed."""
    where = command.block.where()
    args = [session.substitute(arg, where) for arg in command.args]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, f"{where}: flask --app plugin {' '.join(args)} failed:\n{result.output}"
    for line in result.output.splitlines():
        try:
            session.remember(json.loads(line))
        except json.JSONDecodeError:
            continue


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_documents_examples_do_what_they_say(app, shop, document: Path) -> None:
    session = Session(shop.keys.secret_key, shop.keys.publishable_key, {"shop_id": shop.shop.id})
    for example in examples(document):
        if isinstance(example, Command):
            if tuple(example.args[:1]) in LONG_RUNNING and "--drain" not in example.args:
                continue
            run_command(app, session, example)
        else:
            run_exchange(app, session, example)


def test_every_document_has_runnable_examples_where_it_shows_requests() -> None:
    """The documents that describe the HTTP API carry examples (a parser that finds none would prove nothing)."""
    counted = {path.name: sum(isinstance(e, Exchange) for e in examples(path)) for path in DOCUMENTS}
    assert counted["api.md"] >= 5 and counted["settings.md"] >= 2, counted


def test_a_broken_example_fails(app, shop, tmp_path: Path) -> None:
    """The checker itself: a wrong status, a wrong value or a wrong key in a document is caught."""
    session = Session(shop.keys.secret_key, shop.keys.publishable_key, {"shop_id": shop.shop.id})
    document = tmp_path / "broken.md"
    good = "```http\nGET /api/v1/settings\nAuthorization: Bearer sk_…\n```\n\n"
    for answer in ('HTTP/1.1 201 Created\n\n{"pricing": {}}', 'HTTP/1.1 200 OK\n\n{"pricing": {"rate": "0.03"}}',
                   'HTTP/1.1 200 OK\n\n{"nonsense": "…"}'):  # fmt: skip
        document.write_text(f"{good}```http\n{answer}\n```\n")
        [exchange] = examples(document)
        with pytest.raises(AssertionError):
            run_exchange(app, session, exchange)
    document.write_text(f"{good}```http\nHTTP/1.1 200 OK\n\n" + '{"pricing": {"rate": "0.02"}, "cors": "…"}\n```\n')
    [exchange] = examples(document)
    with pytest.raises(AssertionError):  # "…" stands for any *string*; cors is an object
        run_exchange(app, session, exchange)
