"""SQL expressions the reports need on both SQLite and PostgreSQL: a time's local day in the shop's zone, and the
seconds between two times. Both render as plain text with integer literals only (no bound parameters), so the
same expression in SELECT and GROUP BY is the same text, which PostgreSQL requires to group by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from plugin.domain.reports import SECONDS_PER_DAY, OffsetSegment


class EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01T00:00:00Z of an aware time (rounded down)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(EpochSeconds)
def _epoch_sqlite(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    # UTCDateTime stores SQLite times as naive UTC text, `YYYY-MM-DD HH:MM:SS.ffffff`; strftime('%s') reads them
    # as UTC but rounds the fraction to the millisecond (23:59:59.9999 would be the next day): cut it off first.
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


def _integer(value: int) -> str:
    return str(int(value))  # only integers this module computed ever reach the SQL text


class LocalDay(ColumnElement[int]):
    """The local day number (days since 1970-01-01 in the shop's zone) of a time: its epoch seconds plus the UTC
    offset in force then (a CASE over the period's offset segments), divided by 86,400, rounded down."""

    type = BigInteger()
    inherit_cache = False  # the segments are part of the text: such statements are compiled afresh

    def __init__(self, moment: Any, segments: Sequence[OffsetSegment]) -> None:
        self.moment = moment
        self.segments = tuple(segments)


@compiles(LocalDay)
def _local_day(element: LocalDay, compiler: Any, **kw: Any) -> str:
    # Values inside the time expression (a CASE on a status) are written inline too, for the same reason.
    epoch = compiler.process(EpochSeconds(element.moment), **{**kw, "literal_binds": True})
    if len(element.segments) == 1:
        offset = _integer(element.segments[0].offset)
    else:
        branches = " ".join(
            f"WHEN {epoch} < {_integer(segment.until)} THEN {_integer(segment.offset)}"
            for segment in element.segments
            if segment.until is not None
        )
        offset = f"(CASE {branches} ELSE {_integer(element.segments[-1].offset)} END)"
    # Integer division on both databases; times are after 1970 (the period's bounds say so), so it rounds down.
    return f"(({epoch} + {offset}) / {SECONDS_PER_DAY})"


def local_day(moment: Any, segments: Sequence[OffsetSegment]) -> LocalDay:
    """The local day number of a time column or expression."""
    return LocalDay(moment, segments)


def seconds_between(later: Any, earlier: Any) -> ColumnElement[int]:
    """later - earlier in whole seconds (each time rounded down to its second first, on both databases)."""
    return EpochSeconds(later) - EpochSeconds(earlier)
