"""The reports' pre-aggregates on PostgreSQL: the additive figures of payments, protections, policies and claims per
shop, currency and quarter hour (UTC) in `report_rows`, kept exact by triggers, so that a year's report reads
~35,000 small rows instead of millions.

How they stay exact:
- Each figure is counted by the same rule as the live queries of services/reports.py (the same filter, the same
  time). Triggers on payments, protections, policies and claims run in the transaction of every insert, update
  and delete: they append a row taking the old version's contribution away and one adding the new version's
  (nothing when no counted column changed). A report therefore sees exactly the committed rows, as a live query
  would: the deltas commit, or roll back, with the change that made them.
- Triggers only append (no row is updated in place), so concurrent webhooks and workers never wait on each other.
  `compact()` (a periodic task of the worker) folds each quarter hour's appended rows into one; until then a
  report sums a few more rows, with the same result.
- A quarter hour lies within one local day in every time zone whose UTC offsets (and changes of offset) fall on
  quarter hours, which is every zone in use since 1970. A period whose bounds or offsets are not on quarter
  hours reads the live tables for the part the buckets cannot cut exactly (`split`); SQLite always reads them.
- `rebuild()` recomputes every row from the tables (after a bulk load with triggers off, or to repair); the test
  suite checks the pre-aggregates against the rows after every kind of change.
- Claims are few (a few per cent of orders) but their figures are kept too, so that a year's report reads no
  table row by row except for the two medians (which no sum can give).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import text

from plugin.extensions import db

BUCKET_SECONDS = 900  # a quarter hour: every UTC offset in use is a multiple of it
SECONDS_PER_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The additive figures, as Tally names them: those counted in any currency, those in the shop's currency only.
ANY_CURRENCY = ("orders", "protected_orders", "claims_filed")
SHOP_CURRENCY = (
    "priced_orders", "order_amount", "protections", "premium", "premium_collected", "merchant_contribution",
    "insurance_cost", "claims_paid", "claims_paid_amount", "recovered_amount",
)  # fmt: skip
# Counts for the period's outcomes (any currency): policies by their created_at, claims by their decided_at.
OUTCOMES = ("policies_bound", "policies_failed", "claims_decided", "claims_denied")
FIGURES = ANY_CURRENCY + SHOP_CURRENCY + OUTCOMES
COMPACTION_LOCK = 0x5EB0_110B  # pg_advisory_xact_lock key: one compaction at a time
COMPACTION_TASK = "report_compaction"  # its turn among the workers (scheduled_tasks)
COMPACTION_INTERVAL = timedelta(minutes=5)


class OffsetSegment(Protocol):
    """A span of a time zone's UTC offset (domain.reports.OffsetSegment): until an epoch second, or for ever."""

    @property
    def until(self) -> int | None: ...

    @property
    def offset(self) -> int: ...


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since 1970-01-01T00:00:00Z, rounded down (as the reports' SQL rounds)."""
    return int((moment.astimezone(UTC) - _EPOCH) // timedelta(seconds=1))


def available() -> bool:
    """Whether this database keeps the pre-aggregates (PostgreSQL, where the triggers are)."""
    return db.session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Split:
    """A period cut in three: live [start, middle_start), buckets [middle_start, middle_end), live [middle_end, end)."""

    middle_start: datetime
    middle_end: datetime


def split(start: datetime, end: datetime, segments: Sequence[OffsetSegment]) -> Split | None:
    """Where the buckets can serve [start, end) exactly, or None (not PostgreSQL, an offset off the quarter
    hours, or too short a period to be worth it)."""
    if not available():
        return None
    if any(
        segment.offset % BUCKET_SECONDS or (segment.until is not None and segment.until % BUCKET_SECONDS)
        for segment in segments
    ):
        return None
    first = -(-epoch_seconds(start) // BUCKET_SECONDS) * BUCKET_SECONDS  # rounded up to a quarter hour
    last = epoch_seconds(end) // BUCKET_SECONDS * BUCKET_SECONDS
    if last - first < SECONDS_PER_DAY:
        return None  # a day or less: the live queries are as quick
    return Split(_EPOCH + timedelta(seconds=first), _EPOCH + timedelta(seconds=last))


def _day_sql(segments: Sequence[OffsetSegment]) -> str:
    """The local day number of a bucket, in integers (the offsets and their changes fall on bucket edges)."""
    per_day = SECONDS_PER_DAY // BUCKET_SECONDS
    if len(segments) == 1:
        offset = str(segments[0].offset // BUCKET_SECONDS)
    else:
        branches = " ".join(
            f"WHEN bucket < {int(segment.until) // BUCKET_SECONDS} THEN {int(segment.offset) // BUCKET_SECONDS}"
            for segment in segments
            if segment.until is not None
        )
        offset = f"(CASE {branches} ELSE {int(segments[-1].offset) // BUCKET_SECONDS} END)"
    return f"((bucket + {offset}) / {per_day})"


@dataclass(frozen=True)
class Kept:
    """What the buckets of [middle_start, middle_end) hold: each local day's additive figures, and the period's
    counts (OUTCOMES: policies bought and failed by when they were asked for, claims decided and denied)."""

    days: list[tuple[int, dict[str, int]]]
    counts: dict[str, int]


def read(shop_id: str, currency: str, middle: Split, segments: Sequence[OffsetSegment]) -> Kept:
    """The shop's buckets in [middle_start, middle_end), summed per local day in one pass."""
    day = _day_sql(segments)
    sums = [f"sum({name})" for name in ANY_CURRENCY]
    sums += [f"sum(CASE WHEN currency = :currency THEN {name} ELSE 0 END)" for name in SHOP_CURRENCY]
    sums += [f"sum({name})" for name in OUTCOMES]
    statement = text(
        f"SELECT {day} AS day, {', '.join(sums)} FROM report_rows"  # noqa: S608 (integers and our names only)
        " WHERE shop_id = :shop AND bucket >= :first AND bucket < :last GROUP BY 1"
    )
    # A year is ~35,000 buckets. The planner cannot know they fall on ~366 days and would sort them all; with
    # room for the groups it guesses, it hashes them in one pass (the hash table holds the real ~366). SET LOCAL
    # ends with the transaction, which ends with the request.
    db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    days: list[tuple[int, dict[str, int]]] = []
    outcomes = [0] * len(OUTCOMES)
    additive = ANY_CURRENCY + SHOP_CURRENCY
    for row in db.session.execute(statement, {"shop": shop_id, "currency": currency, **_bucket_range(middle)}):
        values = [int(value or 0) for value in row[1:]]
        days.append((int(row[0]), dict(zip(additive, values, strict=False))))
        for index, value in enumerate(values[len(additive) :]):
            outcomes[index] += value
    return Kept(days, dict(zip(OUTCOMES, outcomes, strict=True)))


def _bucket_range(middle: Split) -> dict[str, int]:
    return {
        "first": epoch_seconds(middle.middle_start) // BUCKET_SECONDS,
        "last": epoch_seconds(middle.middle_end) // BUCKET_SECONDS,
    }


# ---- upkeep ----------------------------------------------------------------------------------------------------

_SUMS = ", ".join(f"sum({name})" for name in FIGURES)
_NONZERO = " OR ".join(f"sum({name}) <> 0" for name in FIGURES)
_COLUMNS = ", ".join(FIGURES)

COMPACT_SQL = f"""
WITH keys AS (
    SELECT DISTINCT shop_id, bucket, currency FROM report_rows WHERE NOT merged
), gone AS (
    DELETE FROM report_rows r USING keys k
    WHERE r.shop_id = k.shop_id AND r.bucket = k.bucket AND r.currency = k.currency
    RETURNING r.*
)
INSERT INTO report_rows (shop_id, bucket, currency, merged, {_COLUMNS})
SELECT shop_id, bucket, currency, true, {_SUMS} FROM gone GROUP BY shop_id, bucket, currency HAVING {_NONZERO}
"""  # noqa: S608 (our column names only)


def compact() -> int:
    """Fold each quarter hour's appended rows into one (the caller commits); how many rows it wrote. Another
    compaction under way makes this one a no-op."""
    if not available():
        return 0
    if not db.session.scalar(text(f"SELECT pg_try_advisory_xact_lock({COMPACTION_LOCK})")):
        return 0
    return int(db.session.execute(text(COMPACT_SQL)).rowcount or 0)  # type: ignore[attr-defined]


def rebuild() -> int:
    """Recompute every pre-aggregate from the tables (the caller commits); how many rows there are now. The rules
    are the triggers' (report_rows_rebuild() is defined with them, in the migration that defines them)."""
    if not available():
        return 0
    db.session.execute(text(f"SELECT pg_advisory_xact_lock({COMPACTION_LOCK})"))
    db.session.execute(text("LOCK TABLE payments, protections, policies, claims IN SHARE MODE"))  # no change meanwhile
    return int(db.session.scalar(text("SELECT report_rows_rebuild()")) or 0)
