"""Background jobs: their states, how long to wait after a failure, and when to give up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum

from plugin.domain.transitions import move


class JobStatus(StrEnum):
    """Where a job stands; a job is due while queued or retrying and its next attempt time has come."""

    QUEUED = "queued"
    RETRYING = "retrying"  # failed at least once; due again after a backoff
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # refused, or out of attempts: shown with its last error
    CANCELLED = "cancelled"  # no longer needed


OPEN_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RETRYING)

_ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RETRYING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.RETRYING: frozenset({JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}),
    # Re-armed by hand (a merchant's retry, a reconcile).
    JobStatus.FAILED: frozenset({JobStatus.QUEUED, JobStatus.CANCELLED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

DEFAULT_RETRY_BASE = timedelta(seconds=600)
BACKOFF_CAP = timedelta(hours=12)
LOST_ANSWER_RETRIES = 2  # a call whose answer was lost is repeated at once this many times, same key


def job_transition(current: str, target: JobStatus) -> JobStatus:
    """The new status, or ForbiddenTransitionError."""
    return move("job", _ALLOWED, current, target)


def backoff(attempts: int, base: timedelta, random: Callable[[], float], cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Exponential backoff with jitter (x0.75 to x1.25) after the n-th failed attempt: base, 2 base, 4 base …"""
    exponent = min(max(0, attempts - 1), 32)
    delay = min(base * (2**exponent), cap)
    return delay * (0.75 + 0.5 * random())


def after_error(attempts: int, max_attempts: int, retryable: bool) -> JobStatus:
    """The job's status after a failed attempt: retry a transient failure until attempts run out."""
    if retryable and attempts < max_attempts:
        return JobStatus.RETRYING
    return JobStatus.FAILED
