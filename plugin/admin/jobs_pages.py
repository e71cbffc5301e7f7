"""/admin/jobs: the background jobs that failed (or every job, by filter), with their last error, and a retry
button on those a retry can help (see plugin.services.job_retries)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import ColumnElement, select

from plugin.admin.access import actor, current_shop
from plugin.admin.blueprint import bp
from plugin.admin.list_support import Formats, back_to, optional_url, problem, segmented_list, zone_of
from plugin.admin.list_words import kind_word, word
from plugin.admin.listing import (
    Order,
    Segment,
    choice_arg,
    date_range_args,
    text_arg,
    walk_chain,
)
from plugin.domain.jobs import JobStatus
from plugin.errors import ConflictError, NotFoundError
from plugin.extensions import db
from plugin.models import Job, utcnow
from plugin.services import audit
from plugin.services.job_retries import can_retry, retry_job

ALL = "all"
STATUSES = [status.value for status in JobStatus]
NEWEST_FIRST = (Order(Job.created_at), Order(Job.id))
FILTER_NAMES = ("status", "kind", "from", "to", "q")
CSV_HEADER = (
    "id",
    "kind",
    "subject",
    "status",
    "attempts",
    "max_attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "finished_at",
    "updated_at",
)


def known_kinds() -> list[str]:
    """Every kind of job the worker runs."""
    from plugin.jobs.registry import job_kinds  # the handlers import the services: loaded when a page needs them

    return sorted(job_kinds())


@dataclass(frozen=True)
class JobFilters:
    """What the list is narrowed to (by default: the failed jobs)."""

    status: str | None = JobStatus.FAILED.value  # None: every status
    kind: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    search: str | None = None  # the job's id, or its subject (pol_…, clm_…, evt_…)


def _search(text: str, kind: str | None) -> ColumnElement[bool]:
    if text.startswith("job_"):
        return Job.id == text
    # (kind, subject) is indexed: naming every kind lets the database look the subject up under each.
    kinds = [kind] if kind is not None else known_kinds()
    return Job.kind.in_(kinds) & (Job.subject == text)


def jobs_list(shop_id: str, filters: JobFilters) -> list[Segment]:
    """The shop's jobs narrowed by the filters, newest first (one segment)."""
    statement = select(Job).where(Job.shop_id == shop_id)
    if filters.status is not None:
        statement = statement.where(Job.status == filters.status)
    if filters.kind is not None:
        statement = statement.where(Job.kind == filters.kind)
    if filters.since is not None:
        statement = statement.where(Job.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Job.created_at < filters.until)
    if filters.search is not None:
        statement = statement.where(_search(filters.search, filters.kind))
    return [Segment(statement, NEWEST_FIRST)]


def _filters_from_request(formats: Formats) -> JobFilters:
    status = choice_arg("status", [*STATUSES, ALL]) or JobStatus.FAILED.value
    since, until = date_range_args(formats.zone)
    kind = choice_arg("kind", known_kinds())
    return JobFilters(None if status == ALL else status, kind, since, until, text_arg("q"))


def subject_url(subject: str) -> str | None:
    """The admin page of what a job works on, when there is one."""
    if subject.startswith("prot_"):
        return url_for("admin.protection", protection_id=subject)
    if subject.startswith("pol_"):
        return url_for("admin.policy", policy_id=subject)
    if subject.startswith("shp_"):
        return url_for("admin.shipment", shipment_id=subject)
    if subject.startswith("clm_"):
        return optional_url("admin.claim", claim_id=subject)
    if subject.startswith("evt_"):
        return url_for("admin.deliveries", tab="outbound", q=subject)
    return None


def _csv_rows(segments: list[Segment]) -> Iterator[list[Any]]:
    for job in walk_chain(segments):
        yield [
            job.id,
            job.kind,
            job.subject,
            job.status,
            job.attempts,
            job.max_attempts,
            job.last_error,
            job.created_at,
            job.next_attempt_at,
            job.finished_at,
            job.updated_at,
        ]


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    """Failed jobs (or every job with `?status=all`), newest first; `?format=csv` downloads them."""
    shop = current_shop()
    formats = Formats(zone_of(shop))
    filters = _filters_from_request(formats)
    segments = jobs_list(shop.id, filters)
    return segmented_list(
        endpoint="admin.jobs",
        template="admin/jobs.html",
        segments=segments,
        filter_names=FILTER_NAMES,
        csv_name="jobs.csv",
        csv_header=CSV_HEADER,
        csv_rows=_csv_rows,
        shop=shop,
        title=lazy_gettext("Failed jobs"),
        status=filters.status or ALL,
        statuses=[(status, word(status)) for status in STATUSES],
        kinds=[(kind, kind_word(kind)) for kind in known_kinds()],
        can_retry=can_retry,
        subject_url=subject_url,
        kind_word=kind_word,
        fmt=formats,
        word=word,
    )


def _conflict_message(error: ConflictError) -> str:
    messages = {
        "job_not_failed": gettext("Only a failed job can be retried."),
        "job_superseded": gettext("This work has been retried since; the newer attempt is the one to follow."),
        "job_not_retryable": gettext("This job cannot be retried from here."),
        "recovery_not_manual": gettext("The insurer claim is no longer waiting to be filed."),
        "refund_not_failed": gettext("Only a refund that failed can be asked again."),
        "refund_unavailable": gettext(
            "This payment cannot be refunded through Stripe; pay another way and record it on the claim."
        ),
    }
    return messages.get(error.code, gettext("The job's work is no longer in a state a retry can help."))


@bp.post("/jobs/<job_id>/retry", endpoint="retry_job")
def retry_job_page(job_id: str) -> ResponseReturnValue:
    """Retry a failed job now: staff and owners alike work this queue."""
    shop = current_shop()
    found = db.session.scalars(select(Job).where(Job.id == job_id, Job.shop_id == shop.id)).first()
    if found is None:
        abort(404)
    now = utcnow()
    before = {"kind": found.kind, "status": found.status, "attempts": found.attempts, "last_error": found.last_error}
    # The entry is committed with the retry itself, or rolled back with it.
    audit.record(shop.id, actor(), "job.retried", now, target=found.id, before=before)
    try:
        retry_job(shop.id, job_id, now)
    except NotFoundError:
        db.session.rollback()
        abort(404)
    except ConflictError as error:
        db.session.rollback()
        return problem(409, gettext("This job cannot be retried"), _conflict_message(error), shop)
    flash(gettext("The job %(job)s will run again now.", job=job_id))
    return redirect(back_to(url_for("admin.jobs")), code=303)
