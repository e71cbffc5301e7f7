"""What a job handler sees and raises, and the contract between handlers and the worker that runs them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from plugin.domain.jobs import LOST_ANSWER_RETRIES, JobStatus
from plugin.models import Job

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


@dataclass(frozen=True, slots=True)
class JobView:
    """A leased job as its handler reads it (a snapshot: the row itself is not held during the work)."""

    id: str
    kind: str
    subject: str
    shop_id: str
    idempotency_key: str
    attempts: int
    max_attempts: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None  # the request that queued it, for the worker's log lines

    @classmethod
    def of(cls, job: Job) -> JobView:
        """The snapshot of a job row."""
        return cls(
            job.id, job.kind, job.subject, job.shop_id, job.idempotency_key, job.attempts, job.max_attempts,
            dict(job.payload or {}), job.request_id,
        )  # fmt: skip


class JobError(Exception):
    """An attempt that did not do its work; `retryable` says whether a later attempt may."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryJob(JobError):
    """A transient failure (a timeout, a 5xx, a 429): back off and try again, until attempts run out."""

    retryable = True


class FailJob(JobError):
    """A definitive failure (a refusal, missing settings): the job fails at once, visibly."""


class LeaseLostError(Exception):
    """Another worker took the job over (our lease lapsed): it will record the outcome, not us."""


class JobContext(Protocol):
    """What the worker gives handlers: the time, collaborators, and the one way to record success."""

    def now(self) -> datetime:
        """The worker's clock."""
        ...

    def finish(self, job: JobView, apply: Callable[[], None] | None = None) -> None:
        """Record success, with `apply`'s change to the subject, in one transaction (LeaseLostError if lost)."""
        ...

    def count(self, what: str) -> None:
        """Add one to a named counter of the worker's report."""
        ...


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its handler, how many attempts it gets, and what a failed attempt does to its subject.

    `on_error(job, error, status, next_attempt_at, ctx)` runs in the transaction that records the failure;
    `error` is None for an unexpected exception (a bug or bad stored data).
    """

    name: str
    run: Callable[[JobView, Any], None]
    max_attempts: int = 8
    on_error: Callable[[JobView, JobError | None, str, JobStatus, datetime | None, Any], None] | None = None


def with_lost_answer_retries(call: Callable[[], T], errors: type[E], answer_lost: Callable[[E], bool]) -> T:
    """`call()`, repeated at once (up to LOST_ANSWER_RETRIES times) while it raises an `errors` whose answer
    was lost; the caller makes every repeat safe (the same idempotency key, or a look-up first)."""
    for attempt in range(LOST_ANSWER_RETRIES + 1):
        try:
            return call()
        except errors as exc:
            if attempt == LOST_ANSWER_RETRIES or not answer_lost(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
