"""What every admin list shares: keyset pages in any order, filters read from the query string, CSV export.

Pages are keyset pages (the cursor is the last row's id; the next page starts after that row's sort values),
so the first page and the thousandth cost the same on a million rows. CSV exports walk the same query in
batches and stream, so an export of a year never sits in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, request, stream_with_context
from flask_babel import gettext
from sqlalchemy import ColumnElement, Integer, Select, and_, or_

from plugin.extensions import db

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER_LENGTH = 200
CSV_BATCH = 1000
# Cells a spreadsheet would run as a formula (CSV injection): they are written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class BadFilter(Exception):
    """A filter in the query string that cannot be used; the page answers 400 with this message."""


@dataclass(frozen=True)
class Order:
    """One sort key of a list: an expression and its direction. The last key must be unique (the id)."""

    expression: ColumnElement[Any]
    descending: bool = True


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next (None on the last)."""

    rows: list[Any]
    next_cursor: str | None


def _after(orders: Sequence[Order], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after a row with these sort values, in the list's order (lexicographic)."""
    clauses = []
    for index, order in enumerate(orders):
        equal = [orders[i].expression == values[i] for i in range(index)]
        beyond = order.expression < values[index] if order.descending else order.expression > values[index]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def keyset_page(
    statement: Select[Any],
    orders: Sequence[Order],
    id_column: ColumnElement[Any],
    cursor: str | None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A page of `statement` (already narrowed to the shop and the filters) after the row named by `cursor`.

    The cursor row is looked up through the same statement, so a cursor from another shop, or one the filters
    exclude, finds nothing and the page answers 400."""
    if cursor is not None:
        if len(cursor) > MAX_FILTER_LENGTH:
            raise BadFilter(gettext("The page cursor is not valid."))
        key: str | int = cursor
        if isinstance(id_column.type, Integer):  # integer ids (audit entries, jobs): PostgreSQL compares no text
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
                raise BadFilter(gettext("The page cursor is not valid."))
            key = int(cursor)
        found = db.session.execute(
            statement.with_only_columns(*(order.expression for order in orders)).where(id_column == key)
        ).first()
        if found is None:
            raise BadFilter(gettext("The page cursor is not valid."))
        statement = statement.where(_after(orders, tuple(found)))
    ordered = statement.order_by(
        *(order.expression.desc() if order.descending else order.expression.asc() for order in orders)
    )
    rows = list(db.session.execute(ordered.limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = str(_row_id(last))
    return Page([_entity(row) for row in rows], next_cursor)


def _entity(row: Any) -> Any:
    # A statement selecting one entity yields 1-tuples; one selecting several columns keeps the row.
    return row[0] if len(row) == 1 else row


def _row_id(row: Any) -> Any:
    first = row[0]
    return getattr(first, "id", first)


def walk(statement: Select[Any], orders: Sequence[Order], id_column: ColumnElement[Any]) -> Iterator[Any]:
    """Every row of `statement` in the list's order, read a batch at a time (for CSV exports)."""
    cursor: str | None = None
    while True:
        page = keyset_page(statement, orders, id_column, cursor, CSV_BATCH)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
        db.session.expunge_all()  # a year of rows must not pile up in the session


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: times in RFC 3339, None empty, formula-like text defused."""
    if value is None:
        return ""
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


def text_arg(name: str) -> str | None:
    """A free-text filter (search), trimmed; None when empty."""
    value = request.args.get(name, "").strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise BadFilter(gettext("The filter %(name)s is too long.", name=name))
    return value or None


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
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def date_arg(name: str, zone: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A date filter (YYYY-MM-DD) as the start of that day in the shop's zone (or the next day's, for an end)."""
    value = text_arg(name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadFilter(gettext("The date %(name)s must look like 2026-11-23.", name=name)) from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def limit_arg() -> int:
    """The page size asked for (?limit=), within bounds."""
    raw = request.args.get("limit", "")
    if not raw:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise BadFilter(gettext("The page size must be a whole number from 1 to %(most)s.", most=MAX_PAGE_SIZE))
    return int(raw)
