"""The job drain: lease due jobs, run each one's handler outside any transaction, record how it ended.

A worker killed at any point loses nothing: its lease lapses, another worker takes the job again, and the
idempotency key (or, for insurers without one, a look-up by our reference) stops a second purchase. One
job's failure, even an unexpected exception, is recorded on that job and never stops the others.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from plugin import logs, metrics
from plugin.domain.jobs import JobStatus
from plugin.errors import database_unreachable
from plugin.extensions import db
from plugin.insurers.base import Insurer
from plugin.insurers.registry import insurer_for
from plugin.jobs.base import FailJob, JobError, JobKind, JobView, LeaseLostError
from plugin.jobs.registry import job_kinds
from plugin.models import utcnow
from plugin.services import jobs

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """What a worker did since it started: policy outcomes, job outcomes, and every failed attempt."""

    bound: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    lost_lease: int = 0
    jobs_succeeded: int = 0
    jobs_retrying: int = 0
    jobs_failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every job run did its work."""
        return not self.failures

    def report(self) -> dict[str, Any]:
        """The stats as one JSON-ready object."""
        return {**self.__dict__, "failures": list(self.failures)}


@dataclass
class Worker:
    """Drains due jobs in batches; many of these may run at once, on many machines."""

    app: Flask
    batch_size: int = 10
    delivery_batch_size: int = 50  # queued Stripe deliveries per turn: each is a short local transaction
    lease: timedelta | None = None  # default: WORKER_LEASE_SECONDS
    retry_base: timedelta | None = None  # default: JOB_RETRY_BASE_SECONDS
    clock: Callable[[], datetime] = utcnow
    jitter: Callable[[], float] = random.random
    insurer_factory: Callable[..., Insurer] = insurer_for
    kinds: Mapping[str, JobKind] = field(default_factory=job_kinds)
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    stats: WorkerStats = field(default_factory=WorkerStats)
    scan_interval: timedelta | None = None  # default: CLAIMS_SCAN_INTERVAL_SECONDS
    _next_schedule_check: datetime | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.lease is None:
            self.lease = timedelta(seconds=self.app.config["WORKER_LEASE_SECONDS"])
        if self.retry_base is None:
            self.retry_base = timedelta(seconds=self.app.config["JOB_RETRY_BASE_SECONDS"])
        if self.scan_interval is None:
            self.scan_interval = timedelta(seconds=self.app.config.get("CLAIMS_SCAN_INTERVAL_SECONDS", 3600))

    # ---- what handlers see (plugin.jobs.base.JobContext) ---------------------------------------------------

    def now(self) -> datetime:
        """The worker's clock."""
        return self.clock()

    def count(self, what: str) -> None:
        """Add one to a counter of the report."""
        setattr(self.stats, what, getattr(self.stats, what) + 1)

    def finish(self, job: JobView, apply: Callable[[], None] | None = None) -> None:
        """Record the job's success and its effect on the subject in one transaction."""
        row = jobs.held(job.id, self.token)
        if row is None:
            db.session.rollback()
            raise LeaseLostError(job.id)
        if apply is not None:
            apply()
        jobs.succeed(row, self.clock())
        db.session.commit()
        log.info("job succeeded", extra={"attempt": job.attempts})
        self.stats.jobs_succeeded += 1
        metrics.job_finished(job.kind, str(JobStatus.SUCCEEDED))

    # ---- the loop --------------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Record a batch of queued Stripe deliveries, lease one batch of jobs and work through it; how many of
        both it took."""
        assert self.lease is not None
        with self.app.app_context():
            recorded = self._record_deliveries()
            leased = [
                (JobView.of(row), row.leased_until)
                for row in jobs.lease_due(self.clock(), limit=self.batch_size, lease=self.lease, token=self.token)
            ]
            db.session.rollback()  # the leased rows are read: no transaction stays open while handlers call out
            for job, leased_until in leased:
                self._run(job, leased_until)
                db.session.remove()
            return recorded + len(leased)

    def _record_deliveries(self) -> int:
        """Record a batch of queued Stripe deliveries (first: a payment's jobs are queued as it is recorded)."""
        from plugin.services import stripe_inbox

        assert self.lease is not None and self.retry_base is not None
        try:
            return stripe_inbox.record_due(
                self.clock(), limit=self.delivery_batch_size, lease=self.lease, retry_base=self.retry_base
            )
        finally:
            db.session.remove()

    def run_periodic(self) -> bool:
        """Run the tracking scan if its interval has passed and no other worker took this turn; whether it ran.

        The shared clock is a row (scheduled_tasks): of many workers, the one that moves it forward scans. Each
        worker asks at most once a minute.
        """
        assert self.scan_interval is not None
        now = self.clock()
        if self._next_schedule_check is not None and now < self._next_schedule_check:
            return False
        self._next_schedule_check = now + min(self.scan_interval, timedelta(seconds=60))
        self._compact_reports(now)
        self._refresh_performance(now)
        self._purge_evidence(now)
        from plugin.services.tracking_scan import TRACKING_SCAN, claim_periodic_run, scan_tracking

        with self.app.app_context():
            try:
                if not claim_periodic_run(TRACKING_SCAN, now, self.scan_interval):
                    return False
                scan_tracking(now)
                return True
            except Exception:  # a failed scan must not end the loop: the next turn scans again
                log.exception("tracking scan failed; continuing")
                db.session.rollback()
                return False
            finally:
                db.session.remove()

    def _compact_reports(self, now: datetime) -> None:
        """Fold the reports' appended pre-aggregate rows (PostgreSQL); the reports are exact either way, compaction
        only keeps them quick to read."""
        from plugin.services import report_rollup

        with self.app.app_context():
            available = report_rollup.available()
        if available:
            self._periodic(report_rollup.COMPACTION_TASK, now, report_rollup.COMPACTION_INTERVAL, report_rollup.compact)

    def _refresh_performance(self, now: datetime) -> None:
        """Measure every shop's last 30 days and store its price tiers (quotes read the stored tiers)."""
        from plugin.services import performance

        self._periodic(
            performance.REFRESH_TASK, now, performance.REFRESH_INTERVAL, lambda: performance.refresh_all(now)
        )

    def _purge_evidence(self, now: datetime) -> None:
        """Delete evidence past each shop's `claims.evidence_retention_days`, in batches."""
        from plugin.services import evidence_retention

        self._periodic(
            evidence_retention.PURGE_TASK, now, evidence_retention.PURGE_INTERVAL, lambda: evidence_retention.purge(now)
        )

    def _periodic(self, task: str, now: datetime, interval: timedelta, action: Callable[[], object]) -> None:
        """Run `action` when `task`'s interval has passed and no other worker took this turn (the shared clock is a
        row of scheduled_tasks). A failure is logged and left to the next turn: it must not end the loop."""
        from plugin.services.tracking_scan import claim_periodic_run

        with self.app.app_context():
            try:
                if claim_periodic_run(task, now, interval):
                    action()
                    db.session.commit()
            except Exception:
                log.exception("periodic task failed; continuing", extra={"task": task})
                db.session.rollback()
            finally:
                db.session.remove()

    def drain(self) -> WorkerStats:
        """Everything due now, then return (a job that failed is not due again before its backoff)."""
        while self.run_once():
            pass
        return self.stats

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> WorkerStats:
        """Work until `stop` is set, sleeping `poll_seconds` when nothing is due."""
        while not stop.is_set():
            self.run_periodic()
            try:
                worked = self.run_once()
            except Exception as exc:  # a lost database must not end the loop: leases lapse, we go on
                if database_unreachable(exc):  # a restart or failover: expected, and nothing is lost
                    log.warning("database unavailable; the worker goes on", extra={"error": type(exc).__name__})
                else:
                    log.exception("worker batch failed; continuing")
                worked = 0
            if not worked:
                stop.wait(poll_seconds)
        return self.stats

    # ---- one job ---------------------------------------------------------------------------------------------

    def _lease_is_fresh(self, leased_until: datetime | None) -> bool:
        """Whether the batch's lease still has more than half its time to run: then no other worker can hold the
        job yet, even with a clock somewhat ahead of ours, and it need not be read again before it runs."""
        assert self.lease is not None
        return leased_until is not None and self.clock() < leased_until - self.lease / 2

    def _run(self, job: JobView, leased_until: datetime | None) -> None:
        if not self._lease_is_fresh(leased_until):  # earlier jobs of the batch took long: is the lease still ours?
            row = jobs.held(job.id, self.token)
            if row is None:
                self.stats.lost_lease += 1
                db.session.rollback()
                return
            job = JobView.of(row)
            db.session.commit()  # the lease is ours; no lock is kept while the handler calls out
        # Every line logged while it runs names the job and the request that queued it.
        with logs.job_context(job.id, job.kind, job.request_id):
            self._attempt(job)

    def _attempt(self, job: JobView) -> None:
        kind = self.kinds.get(job.kind)
        try:
            if kind is None:
                raise FailJob(f"no handler for job kind {job.kind!r}")
            kind.run(job, self)
        except LeaseLostError:
            self.stats.lost_lease += 1
            db.session.rollback()
        except JobError as exc:
            self._record_error(job, kind, exc, exc.message)
        except Exception as exc:  # the loop boundary: a bug or bad stored data stalls this job only
            if database_unreachable(exc):
                # A restart or failover ended the attempt: its transaction rolled back and the job is tried again
                # (the insurer and Stripe calls carry idempotency keys). Worth a warning, not a traceback.
                log.warning(
                    "job interrupted: database unavailable",
                    extra={"job": job.id, "kind": job.kind, "error": type(exc).__name__},
                )
            else:
                log.exception("job raised", extra={"job": job.id, "kind": job.kind, "subject": job.subject})
            self._record_error(job, kind, None, f"unexpected error: {type(exc).__name__}: {exc}")

    def _record_error(self, job: JobView, kind: JobKind | None, error: JobError | None, message: str) -> None:
        """Back the job off or fail it, and tell its subject, in one transaction."""
        assert self.retry_base is not None
        db.session.rollback()
        for with_subject in (True, False):
            row = jobs.held(job.id, self.token)
            if row is None:
                self.stats.lost_lease += 1
                db.session.rollback()
                return
            retryable = error.retryable if error is not None else True
            status = jobs.record_error(
                row, message, retryable=retryable, now=self.clock(), retry_base=self.retry_base, jitter=self.jitter
            )
            if with_subject and kind is not None and kind.on_error is not None:
                try:
                    kind.on_error(job, error, message, status, row.next_attempt_at, self)
                except Exception:  # the subject's own row is what is broken: record the error on the job alone
                    log.exception("job error not recorded on its subject", extra={"job": job.id})
                    db.session.rollback()
                    continue
            db.session.commit()
            break
        metrics.job_finished(job.kind, str(status))
        if status == JobStatus.FAILED:
            self.stats.jobs_failed += 1
        else:
            self.stats.jobs_retrying += 1
        self.stats.failures.append(
            {"job": job.id, "kind": job.kind, "subject": job.subject, "status": str(status), "error": message[:300]}
        )
        log.warning("job failed", extra={"job": job.id, "kind": job.kind, "status": str(status), "error": message})


def run(app: Flask, *, drain: bool, stop: threading.Event | None = None, poll_seconds: float = 1.0) -> WorkerStats:
    """The `flask worker` loop."""
    worker = Worker(app)
    if drain:
        return worker.drain()
    return worker.run_forever(stop or threading.Event(), poll_seconds)
