"""A person's retry of a failed job, from the admin's list of failed jobs.

A job that failed has usually left its mark on its subject (a policy `failed`, a claim's refund `failed`, an
insurer claim to file by hand), and its handler only works on a subject in the right state. So a retry goes
through the subject's own retry where there is one (a policy is asked afresh under a new key, a refund under the
next generation), resets the subject's mark where the job alone can make good (a cancellation, an insurer claim),
and otherwise queues the job again as it was (emails, webhook deliveries, line-item checks, insurer polls).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.domain.jobs import JobStatus
from plugin.domain.policies import CancelStatus, PolicyStatus
from plugin.errors import ConflictError, NotFoundError
from plugin.extensions import db
from plugin.models import Claim, Job, Policy
from plugin.services import claim_payouts, jobs, policies
from plugin.services.claim_payouts import FILE_INSURER_CLAIM, POLL_INSURER_CLAIM, REFUND_CLAIM, recovery_key
from plugin.services.notifications import SEND_EMAIL
from plugin.services.purchases import CONFIRM_LINE_ITEMS
from plugin.services.webhooks import DELIVER_WEBHOOK

# Kinds whose handler redoes its work from the subject as it is now: queueing the job again is the retry.
REQUEUED_KINDS = frozenset({SEND_EMAIL, DELIVER_WEBHOOK, CONFIRM_LINE_ITEMS, POLL_INSURER_CLAIM})
RETRYABLE_KINDS = REQUEUED_KINDS | {
    policies.BIND_POLICY,
    policies.CANCEL_POLICY,
    REFUND_CLAIM,
    FILE_INSURER_CLAIM,
}


class SupersededJobError(ConflictError):
    """A newer job does this work now (the merchant retried the policy or the refund already)."""

    code = "job_superseded"


class NotRetryableError(ConflictError):
    """A kind of job that cannot be retried from the list."""

    code = "job_not_retryable"


def shop_job(shop_id: str, job_id: str) -> Job:
    """One job of this shop, locked for the change (another shop's is as unknown as a missing one)."""
    statement = select(Job).where(Job.id == job_id, Job.shop_id == shop_id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    job = db.session.scalars(statement).first()
    if job is None:
        raise NotFoundError("No such job.")
    return job


def can_retry(job: Job) -> bool:
    """Whether the list offers a retry button for this job."""
    return job.status == JobStatus.FAILED and job.kind in RETRYABLE_KINDS


def retry_job(shop_id: str, job_id: str, now: datetime) -> Job:
    """Retry a failed job of the shop as its kind requires (see the module's note); commits.

    NotFoundError for another shop's job, ConflictError when it is not failed, not retryable or superseded."""
    job = shop_job(shop_id, job_id)
    try:
        if job.status != JobStatus.FAILED:
            raise jobs.JobNotFailedError(f"Only a failed job can be retried; this one is {job.status}.")
        if job.kind == policies.BIND_POLICY:
            _retry_purchase(job, now)
        elif job.kind == REFUND_CLAIM:
            _retry_refund(job, now)
        elif job.kind == policies.CANCEL_POLICY:
            _retry_cancellation(job, now)
        elif job.kind == FILE_INSURER_CLAIM:
            _retry_filing(job, now)
        elif job.kind in REQUEUED_KINDS:
            jobs.retry_failed(job, now)
        else:
            raise NotRetryableError(f"A {job.kind} job cannot be retried from here.")
    except ConflictError:
        db.session.rollback()
        raise
    db.session.commit()
    return job


def _retry_purchase(job: Job, now: datetime) -> None:
    # The policy is asked afresh under its next key: a new job does the work, this one stays as the record.
    policy = db.session.get(Policy, job.subject)
    if policy is None or policy.shop_id != job.shop_id:
        raise NotRetryableError("The policy of this job is gone.")
    if policies.bind_key(policy) != job.idempotency_key:
        raise SupersededJobError("The policy has been retried since; the newer attempt is the one to follow.")
    policies.retry_policy(job.shop_id, policy.id, now)


def _retry_refund(job: Job, now: datetime) -> None:
    claim = db.session.get(Claim, job.subject)
    if claim is None or claim.shop_id != job.shop_id:
        raise NotRetryableError("The claim of this job is gone.")
    if claim_payouts.refund_key(claim) != job.idempotency_key:
        raise SupersededJobError("The refund has been retried since; the newer attempt is the one to follow.")
    claim_payouts.retry_refund(job.shop_id, claim.id, now)


def _retry_cancellation(job: Job, now: datetime) -> None:
    policy = db.session.get(Policy, job.subject)
    if policy is None or policy.shop_id != job.shop_id or policy.status != PolicyStatus.BOUND:
        raise NotRetryableError("The policy is no longer bound: there is nothing to cancel.")
    policy.cancel_status = CancelStatus.REQUESTED
    jobs.retry_failed(job, now)


def _retry_filing(job: Job, now: datetime) -> None:
    # A filing that failed for good handed the claim to the merchant ("manual"); a retry hands it back.
    claim = db.session.get(Claim, job.subject)
    if claim is None or claim.shop_id != job.shop_id or recovery_key(claim) != job.idempotency_key:
        raise NotRetryableError("The claim of this job is gone.")
    if claim.recovery_status != "manual":
        raise ConflictError(
            f"The insurer claim is {claim.recovery_status or 'not open'}: filing it again is not needed.",
            code="recovery_not_manual",
        )
    claim.recovery_status = "pending"
    claim.recovery_error = None
    jobs.retry_failed(job, now)
