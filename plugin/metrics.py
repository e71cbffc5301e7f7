"""Prometheus metrics: counted where things happen, scraped at GET /metrics.

Counters and histograms live in this module and count in the process that does the work. Under gunicorn each
worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets a fresh one) every process
writes its values to files there and a scrape sums them all, whichever worker answers it. The gauges that read
the database (the oldest due job's age, claims by status) are computed at scrape time by the process scraped.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from plugin.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

UNMATCHED = "<unmatched>"  # every path no URL rule matched: one label value, whatever the path
# A client picks the method too: any other (`BREW`, `FOO1`…) counts as OTHER, so the label values stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "plugin_http_requests_total",
    "HTTP requests answered, by URL rule, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "plugin_http_request_duration_seconds",
    "Time from the request's start to its answer, by URL rule and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOBS = Counter(
    "plugin_jobs_total", "Background job attempts finished, by kind and resulting status.", ["kind", "status"]
)
WEBHOOKS = Counter(
    "plugin_webhooks_total", "Inbound webhook deliveries recorded, by source and outcome.", ["source", "outcome"]
)


# Outbound calls: an insurer answers in tens of milliseconds to tens of seconds (its read timeout is 20 s).
CALL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
INSURER_DURATION = Histogram(
    "plugin_insurer_call_duration_seconds",
    "Time an insurer adapter call took (failed ones too), by insurer and operation.",
    ["insurer", "operation"],
    buckets=CALL_BUCKETS,
)
INSURER_ERRORS = Counter(
    "plugin_insurer_errors_total",
    "Insurer adapter calls that failed, by insurer, operation and kind of error.",
    ["insurer", "operation", "error"],
)
STRIPE_DURATION = Histogram(
    "plugin_stripe_call_duration_seconds",
    "Time a Stripe API call took (its client's own quick retries included), by operation.",
    ["operation"],
    buckets=CALL_BUCKETS,
)
STRIPE_ERRORS = Counter(
    "plugin_stripe_errors_total",
    "Stripe API calls that failed, by operation and kind of error.",
    ["operation", "error"],
)


@contextmanager
def _call_measured(
    duration: Histogram, errors: Counter, labels: tuple[str, ...], error_kind: Callable[[BaseException], str]
) -> Iterator[None]:
    """Time an outbound call into `duration`, and count it in `errors` by `error_kind(exc)` if it raised."""
    started = time.perf_counter()
    error: str | None = None
    try:
        yield
    except Exception as exc:
        error = error_kind(exc)
        raise
    finally:
        duration.labels(*labels).observe(time.perf_counter() - started)
        if error is not None:
            errors.labels(*labels, error).inc()


def insurer_call(
    insurer: str, operation: str, error_kind: Callable[[BaseException], str]
) -> AbstractContextManager[None]:
    """Measure one insurer adapter call (plugin_insurer_call_duration_seconds, plugin_insurer_errors_total)."""
    return _call_measured(INSURER_DURATION, INSURER_ERRORS, (insurer, operation), error_kind)


def stripe_call(operation: str, error_kind: Callable[[BaseException], str]) -> AbstractContextManager[None]:
    """Measure one Stripe API call (plugin_stripe_call_duration_seconds, plugin_stripe_errors_total)."""
    return _call_measured(STRIPE_DURATION, STRIPE_ERRORS, (operation,), error_kind)


def job_finished(kind: str, status: str) -> None:
    """Count a job attempt's end: succeeded, retrying or failed."""
    JOBS.labels(kind, status).inc()


def webhook_recorded(source: str, outcome: str) -> None:
    """Count an inbound delivery by what it did (a repeat counts as `duplicate`)."""
    WEBHOOKS.labels(source, outcome).inc()


# ---- requests -----------------------------------------------------------------------------------------------


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


# The labelled children, looked up once per label set: `labels()` validates and locks on every call, and this hook
# runs on every request. The label values are bounded (URL rules, METHODS, status codes), and so are these.
_request_counters: dict[tuple[str, str, int], Any] = {}
_request_timers: dict[tuple[str, str], Any] = {}


def count_request(route: str, method: str, status: int, started: float | None) -> None:
    """Count one answered request and, when its start is known, time it (shared by the quote fast path)."""
    counter = _request_counters.get((route, method, status))
    if counter is None:
        counter = _request_counters[(route, method, status)] = HTTP_REQUESTS.labels(route, method, str(status))
    counter.inc()
    if started is not None:
        timer = _request_timers.get((route, method))
        if timer is None:
            timer = _request_timers[(route, method)] = HTTP_DURATION.labels(route, method)
        timer.observe(time.perf_counter() - started)


def _count_request(response: Response) -> Response:
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy hop, not three
    rule = current.url_rule
    count_request(
        rule.rule if rule is not None else UNMATCHED,
        current.method if current.method in METHODS else "OTHER",
        response.status_code,
        g.get("metrics_started"),
    )
    return response


def init_app(app: Flask) -> None:
    """Time and count every request (two cheap hooks), and serve /metrics."""
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(bp)


# ---- scrape-time figures from the database ------------------------------------------------------------------


def _seconds_since(then: datetime | None, now: datetime) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def oldest_due_age_seconds(now: datetime) -> float:
    """How long the longest-waiting due job has been due (0 when none is)."""
    from plugin.services import jobs

    return _seconds_since(jobs.oldest_due(now), now)


def oldest_queued_delivery_age_seconds(now: datetime) -> float:
    """How long the longest-waiting queued Stripe delivery has waited to be recorded (0 when none is)."""
    from plugin.services import stripe_inbox

    return _seconds_since(stripe_inbox.oldest_waiting(), now)


class DatabaseCollector:
    """Gauges read from the database when scraped; a database that does not answer leaves them out."""

    def collect(self) -> Iterator[Metric]:
        from plugin.models import Claim, utcnow

        up = GaugeMetricFamily("plugin_metrics_database_up", "1 when the scrape could read the database, else 0.")
        try:
            now = utcnow()
            age = oldest_due_age_seconds(now)
            waiting = oldest_queued_delivery_age_seconds(now)
            counts = db.session.execute(select(Claim.status, func.count()).group_by(Claim.status)).all()
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("metrics could not read the database", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        oldest = GaugeMetricFamily(
            "plugin_job_oldest_due_age_seconds", "Seconds the longest-waiting due job has been due (0: none due)."
        )
        oldest.add_metric([], age)
        yield oldest
        inbox = GaugeMetricFamily(
            "plugin_stripe_queued_oldest_age_seconds",
            "Seconds the longest-waiting queued Stripe delivery has waited to be recorded (0: none waiting).",
        )
        inbox.add_metric([], waiting)
        yield inbox
        claims = GaugeMetricFamily("plugin_claims", "Claims by status, all shops.", labels=["status"])
        for status, count in counts:
            claims.add_metric([str(status)], count)
        yield claims


class _Scrape:
    """This process's registry, or every process's files, plus the database's gauges."""

    def __init__(self, multiprocess_dir: str | None) -> None:
        self.multiprocess_dir = multiprocess_dir

    def collect(self) -> Iterator[Metric]:
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        yield from DatabaseCollector().collect()


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition; a Bearer token when METRICS_TOKEN is set."""
    if not _authorized():
        return Response(
            "unauthorized\n", status=401, mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
        )
    body = generate_latest(_Scrape(os.environ.get("PROMETHEUS_MULTIPROC_DIR")))
    return Response(body, status=200, headers={"Content-Type": CONTENT_TYPE_LATEST})
