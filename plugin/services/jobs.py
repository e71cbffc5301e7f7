"""The job queue: enqueue in the caller's transaction, lease due jobs, and record how each attempt ended."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from plugin.domain.ids import new_id
from plugin.domain.jobs import OPEN_JOB_STATUSES, JobStatus, after_error, backoff, job_transition
from plugin.errors import ConflictError
from plugin.extensions import db
from plugin.logs import current_request_id
from plugin.models import Job


def enqueue(
    *,
    shop_id: str,
    kind: str,
    subject: str,
    idempotency_key: str,
    now: datetime,
    max_attempts: int = 8,
    payload: Mapping[str, Any] | None = None,
) -> Job:
    """Queue a job in the caller's transaction (the caller commits it with the effect that needs it).

    The same idempotency key asks for the same effect: the job already queued (or done) is returned. The job
    keeps the id of the request (or of the job) that queued it, so the worker's lines about it carry that id.
    """
    pending = next(
        (
            job
            for job in db.session.new
            if isinstance(job, Job) and job.idempotency_key == idempotency_key  # queued earlier, same transaction
        ),
        None,
    )
    existing = pending or db.session.scalars(select(Job).where(Job.idempotency_key == idempotency_key)).first()
    if existing is not None:
        return existing
    job = Job(
        id=new_id("job"),
        shop_id=shop_id,
        kind=kind,
        subject=subject,
        idempotency_key=idempotency_key,
        status=JobStatus.QUEUED,
        payload=dict(payload or {}),
        attempts=0,
        max_attempts=max_attempts,
        next_attempt_at=now,
        request_id=current_request_id(),
    )
    db.session.add(job)
    return job


class JobNotFailedError(ConflictError):
    """Only a failed job can be queued again by hand."""

    code = "job_not_failed"


def retry_failed(job: Job, now: datetime) -> Job:
    """Queue a failed job again, due now, with its attempts counted afresh (the caller commits).

    Its last error stays on it until the next attempt ends, so the person who retried can still read it."""
    if job.status != JobStatus.FAILED:
        raise JobNotFailedError(f"Only a failed job can be retried; this one is {job.status}.")
    job.status = job_transition(job.status, JobStatus.QUEUED)
    job.attempts = 0
    job.finished_at = None
    job.lease_token = None
    job.leased_until = None
    job.next_attempt_at = now
    return job


def supersede(idempotency_key: str, now: datetime) -> Job | None:
    """A failed job whose work a newer job (under a new key) takes over is closed as cancelled: the list of
    failed jobs shows what still needs a person, not what was retried already (the caller commits)."""
    job = db.session.scalars(select(Job).where(Job.idempotency_key == idempotency_key)).first()
    if job is not None and job.status == JobStatus.FAILED:
        job.status = job_transition(job.status, JobStatus.CANCELLED)
        job.finished_at = job.finished_at or now
    return job


def make_due(idempotency_key: str, now: datetime) -> Job | None:
    """Run the job now (a merchant's retry): an open job skips its backoff, a failed one is queued again."""
    job = db.session.scalars(select(Job).where(Job.idempotency_key == idempotency_key)).first()
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        return job
    if job.status == JobStatus.FAILED:
        return retry_failed(job, now)
    job.next_attempt_at = now
    return job


def cancel_jobs(kind: str, subject: str, now: datetime) -> None:
    """Jobs of this kind for the subject are no longer needed (the caller commits)."""
    for job in db.session.scalars(
        select(Job).where(Job.kind == kind, Job.subject == subject, Job.status.in_([str(s) for s in OPEN_JOB_STATUSES]))
    ):
        job.status = job_transition(job.status, JobStatus.CANCELLED)
        job.next_attempt_at = None
        job.finished_at = now


def _due(now: datetime) -> Any:
    lease_free = or_(Job.leased_until.is_(None), Job.leased_until < now)
    return and_(Job.status.in_([str(s) for s in OPEN_JOB_STATUSES]), Job.next_attempt_at <= now, lease_free)


def lease_due(now: datetime, *, limit: int, lease: timedelta, token: str) -> list[Job]:
    """Lease up to `limit` due jobs to this worker; no two workers ever hold the same one.

    On PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent workers pass over
    each other's rows instead of waiting; on SQLite the database's single writer does the same. The lease
    (and the attempt it starts) is committed at once: handlers call out with no transaction open, and a
    dead worker's lease lapses, its attempt counted. The leased rows are read back in a new transaction that
    the caller ends.
    """
    statement = select(Job.id).where(_due(now)).order_by(Job.next_attempt_at).limit(limit)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    candidates = list(db.session.scalars(statement))
    if not candidates:
        db.session.rollback()
        return []
    db.session.execute(
        update(Job)
        .where(Job.id.in_(candidates), _due(now))
        .values(lease_token=token, leased_until=now + lease, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    leased = db.session.scalars(
        select(Job).where(Job.id.in_(candidates), Job.lease_token == token).order_by(Job.next_attempt_at)
    )
    return list(leased)


def held(job_id: str, token: str) -> Job | None:
    """The job, locked for writing, if this worker still holds its lease."""
    statement = select(Job).where(Job.id == job_id, Job.lease_token == token)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return db.session.scalars(statement).first()


def _release(job: Job) -> None:
    job.lease_token = None
    job.leased_until = None


def succeed(job: Job, now: datetime) -> None:
    """The job did its work (the caller commits, with the subject's change)."""
    job.status = job_transition(job.status, JobStatus.SUCCEEDED)
    job.last_error = None
    job.next_attempt_at = None
    job.finished_at = now
    _release(job)


def record_error(
    job: Job, message: str, *, retryable: bool, now: datetime, retry_base: timedelta, jitter: Callable[[], float]
) -> JobStatus:
    """Note a failed attempt: back off and retry, or fail for good; the new status (the caller commits)."""
    status = after_error(job.attempts, job.max_attempts, retryable)
    job.status = job_transition(job.status, status)
    job.last_error = message[:1000]
    if status == JobStatus.FAILED:
        job.next_attempt_at = None
        job.finished_at = now
    else:
        job.next_attempt_at = now + backoff(job.attempts, retry_base, jitter)
    _release(job)
    return status


def oldest_due(now: datetime) -> datetime | None:
    """When the longest-waiting due job became due (for health checks and metrics)."""
    return db.session.scalar(
        select(Job.next_attempt_at)
        .where(Job.status.in_([str(s) for s in OPEN_JOB_STATUSES]), Job.next_attempt_at <= now)
        .order_by(Job.next_attempt_at)
        .limit(1)
    )
