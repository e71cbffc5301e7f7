"""What every admin list shares: keyset pages in any order, filters read from the query string, CSV export.

Pages are keyset pages: the cursor carries the last row's sort values (and, for a list read in several segments,
which segment it was in), so the first page and the thousandth cost the same on a million rows, and a row that
leaves the list meanwhile (a failed job retried, a claim decided) does not break the next page. A list may be a
chain of segments read one after the other, each in its own index's order (failed policies first, then the
rest). CSV exports walk the same query in batches and stream, so an export of a year never sits in memory.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, request, stream_with_context
from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, TypeDecorator, and_, or_
from sqlalchemy.orm import QueryableAttribute

from plugin.extensions import db

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER_LENGTH = 200
MAX_CURSOR_LENGTH = 1000
CSV_BATCH = 1000
_CURSOR_PREFIX = "k1."
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Cells a spreadsheet would run as a formula (CSV injection): they are written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


# A statement of any columns (one entity, or an entity and its neighbours) and a column or an ORM attribute.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
SortExpression: TypeAlias = ColumnElement[Any] | QueryableAttribute[Any]


class BadFilter(Exception):
    """A filter in the query string that cannot be used; the page answers 400 with this message."""


@dataclass(frozen=True)
class Order:
    """One sort key of a list: an expression and its direction. The last key must be unique (the id).

    Sort keys must never be NULL (a NULL compares as nothing, so rows after it would be lost)."""

    expression: SortExpression
    descending: bool = True


@dataclass(frozen=True)
class Segment:
    """One part of a list: a statement (narrowed to the shop and the filters) and its order. A list of several
    segments shows all of the first, then all of the second…; each segment is read through its own index."""

    statement: AnySelect
    orders: Sequence[Order]


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next (None on the last)."""

    rows: list[Any]
    next_cursor: str | None


def _after(orders: Sequence[Order], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after a row with these sort values, in the list's order (lexicographic).

    The first key's bound is repeated on its own (`a <= x and (a < x or a = x and …)`): the database seeks
    to it in the index instead of reading every row before it."""
    clauses = []
    for index, order in enumerate(orders):
        equal = [orders[i].expression == values[i] for i in range(index)]
        beyond = order.expression < values[index] if order.descending else order.expression > values[index]
        clauses.append(and_(*equal, beyond))
    first = orders[0]
    seek = first.expression <= values[0] if first.descending else first.expression >= values[0]
    return and_(seek, or_(*clauses))


def page_statement(segment: Segment, after: Sequence[Any] | None, limit: int) -> AnySelect:
    """The SQL of one page of a segment: its rows after `after`, in order, with the sort values appended."""
    orders = segment.orders
    statement = segment.statement.add_columns(*(order.expression for order in orders))
    if after is not None:
        statement = statement.where(_after(orders, after))
    ordered = statement.order_by(
        *(order.expression.desc() if order.descending else order.expression.asc() for order in orders)
    )
    return ordered.limit(limit)


# ---- cursors ---------------------------------------------------------------------------------------------------


def _python_type(expression: SortExpression) -> type:
    sql_type = expression.type
    if isinstance(sql_type, TypeDecorator):  # e.g. UTCDateTime: what it stores is its implementation's type
        sql_type = sql_type.impl_instance
    try:
        return sql_type.python_type
    except NotImplementedError:
        return str


def _encode_value(value: Any) -> Any:
    if value is None:
        raise ValueError("a sort key of an admin list is NULL; sort on a NOT NULL expression")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, bool | int | str):
        return value
    raise ValueError(f"a sort key of type {type(value).__name__} cannot go in a cursor")


def _decode_value(expression: SortExpression, raw: Any) -> Any:
    kind = _python_type(expression)
    if kind is datetime and isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=raw)
        except OverflowError:
            raise BadFilter(gettext("The page cursor is not valid.")) from None
    if kind is bool and isinstance(raw, bool):
        return raw
    if kind is int and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if kind is str and isinstance(raw, str) and "\x00" not in raw:
        return raw
    raise BadFilter(gettext("The page cursor is not valid."))


def encode_cursor(segment: int, values: Sequence[Any]) -> str:
    """The cursor after a row: its segment and its sort values (opaque to the browser)."""
    document = json.dumps([segment, [_encode_value(value) for value in values]], separators=(",", ":"))
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, segments: Sequence[Segment]) -> tuple[int, tuple[Any, ...]]:
    bad = BadFilter(gettext("The page cursor is not valid."))
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        document = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not (isinstance(document, list) and len(document) == 2 and isinstance(document[1], list)):
        raise bad
    index, raw_values = document
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(segments):
        raise bad
    orders = segments[index].orders
    if len(raw_values) != len(orders):
        raise bad
    return index, tuple(_decode_value(order.expression, raw) for order, raw in zip(orders, raw_values, strict=True))


def _cursor_of_id(cursor: str, segment: Segment, id_column: SortExpression) -> tuple[Any, ...]:
    """The sort values of the row with this id (cursors that name a row, as the first lists made them)."""
    bad = BadFilter(gettext("The page cursor is not valid."))
    kind = _python_type(id_column)
    if kind is int:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 19):
            raise bad
        key: Any = int(cursor)
    else:
        key = cursor
    found = db.session.execute(
        segment.statement.with_only_columns(*(order.expression for order in segment.orders)).where(id_column == key)
    ).first()
    if found is None:
        raise bad
    return tuple(found)


def chained_page(
    segments: Sequence[Segment],
    cursor: str | None,
    limit: int = PAGE_SIZE,
    *,
    id_column: SortExpression | None = None,
) -> Page:
    """A page of a list made of segments, after the row named by `cursor` (None: the first page).

    A cursor that cannot be read answers 400 (BadFilter). The statements carry the shop and the filters, so a
    cursor never reaches another shop's rows: at worst it starts the page somewhere in this shop's list."""
    start, after = 0, None
    if cursor is not None:
        if len(cursor) > MAX_CURSOR_LENGTH or "\x00" in cursor:
            raise BadFilter(gettext("The page cursor is not valid."))
        if cursor.startswith(_CURSOR_PREFIX):
            start, after = _decode_cursor(cursor, segments)
        elif id_column is not None and len(segments) == 1:
            after = _cursor_of_id(cursor, segments[0], id_column)
        else:
            raise BadFilter(gettext("The page cursor is not valid."))
    found: list[tuple[Any, int, tuple[Any, ...]]] = []
    for index in range(start, len(segments)):
        segment = segments[index]
        width = len(segment.orders)
        statement = page_statement(segment, after if index == start else None, limit + 1 - len(found))
        for row in db.session.execute(statement):
            found.append((_entity(tuple(row[:-width])), index, tuple(row[-width:])))
        if len(found) > limit:
            break
    next_cursor = None
    if len(found) > limit:
        _row, index, values = found[limit - 1]
        next_cursor = encode_cursor(index, values)
    return Page([row for row, _index, _values in found[:limit]], next_cursor)


def keyset_page(
    statement: AnySelect,
    orders: Sequence[Order],
    id_column: SortExpression,
    cursor: str | None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A page of `statement` (already narrowed to the shop and the filters) after the row named by `cursor`.

    Here the cursor is the last row's id, as the first lists made it (callers read it as an id): it is looked up
    through the same statement, so another shop's id, or one the filters now exclude, answers 400. A cursor made
    by `chained_page` is taken too. New lists use `chained_page`, whose cursors survive a row leaving the list."""
    page = chained_page([Segment(statement, orders)], cursor, limit, id_column=id_column)
    if page.next_cursor is None:
        return page
    last = page.rows[-1]
    first = last[0] if isinstance(last, tuple) else last
    return Page(page.rows, str(getattr(first, "id", first)))


def _entity(row: tuple[Any, ...]) -> Any:
    # A statement selecting one entity yields 1-tuples; one selecting several columns keeps the tuple.
    return row[0] if len(row) == 1 else row


def walk_chain(segments: Sequence[Segment]) -> Iterator[Any]:
    """Every row of the segments in the list's order, read a batch at a time (for CSV exports)."""
    cursor: str | None = None
    while True:
        page = chained_page(segments, cursor, CSV_BATCH)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
        db.session.expunge_all()  # a year of rows must not pile up in the session


def walk(statement: AnySelect, orders: Sequence[Order], id_column: SortExpression) -> Iterator[Any]:
    """Every row of `statement` in the list's order, read a batch at a time (for CSV exports)."""
    return walk_chain([Segment(statement, orders)])


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: times in RFC 3339, None empty, numbers as they are, formula-like text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)  # a negative amount is a number, not a formula
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A streamed CSV download (UTF-8 with a BOM, so spreadsheet programs read the Chinese right)."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---- filters from the query string ----------------------------------------------------------------------------


def text_arg(name: str, *, longest: int = MAX_FILTER_LENGTH) -> str | None:
    """A free-text filter (search), trimmed; None when empty. Control characters (a NUL would reach the
    database) are refused."""
    value = request.args.get(name, "").strip()
    if len(value) > longest:
        raise BadFilter(gettext("The filter %(name)s is too long.", name=name))
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise BadFilter(gettext("The filter %(name)s holds characters that cannot be searched for.", name=name))
    return value or None


def cursor_arg(name: str = "after") -> str | None:
    """The page cursor from the query string (longer than a filter: it carries the last row's sort values)."""
    return text_arg(name, longest=MAX_CURSOR_LENGTH)


def choice_arg(name: str, choices: Iterable[str]) -> str | None:
    """A filter that must be one of `choices`; None when empty."""
    value = text_arg(name)
    allowed = list(choices)
    if value is not None and value not in allowed:
        raise BadFilter(
            gettext("The filter %(name)s must be one of: %(choices)s.", name=name, choices=", ".join(allowed))
        )
    return value


def shop_zone(name: str | None) -> ZoneInfo:
    """The shop's time zone (settings `shop.timezone`), UTC when unset or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def date_arg(name: str, zone: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A date filter (YYYY-MM-DD) as the start of that day in the shop's zone (or the next day's, for an end)."""
    value = text_arg(name)
    if value is None:
        return None
    try:
        if not _DAY.fullmatch(value):  # fromisoformat also takes 20261123 and 2026-W48-1
            raise ValueError(value)
        day = date.fromisoformat(value)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), zone).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one at the calendar's edge (9999-12-31)
        raise BadFilter(gettext("The date %(name)s must look like 2026-11-23.", name=name)) from None


def date_range_args(zone: ZoneInfo, start: str = "from", end: str = "to") -> tuple[datetime | None, datetime | None]:
    """A range of whole days in the shop's zone: from the start of `start` to the end of `end` (both inclusive)."""
    since, until = date_arg(start, zone), date_arg(end, zone, end=True)
    if since is not None and until is not None and since >= until:
        raise BadFilter(gettext("The date %(start)s must come before the date %(end)s.", start=start, end=end))
    return since, until


def limit_arg() -> int:
    """The page size asked for (?limit=), within bounds."""
    raw = request.args.get("limit", "")
    if not raw:
        return PAGE_SIZE
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_PAGE_SIZE):
        raise BadFilter(gettext("The page size must be a whole number from 1 to %(most)s.", most=MAX_PAGE_SIZE))
    return int(raw)


def format_arg() -> str:
    """What the list is asked for as: the page (`html`, the default) or a CSV download (`?format=csv`)."""
    return choice_arg("format", ("html", "csv")) or "html"
