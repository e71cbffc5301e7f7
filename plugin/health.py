"""GET /healthz: is the service up and its database answering; GET /readyz: is it also keeping up with its jobs."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from plugin.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers a query, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check failed", extra={"error": type(exc).__name__})
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 when the database answers and no due job, nor queued Stripe delivery, has waited
    READY_MAX_JOB_AGE_SECONDS; else 503 naming why."""
    from plugin.metrics import oldest_due_age_seconds, oldest_queued_delivery_age_seconds
    from plugin.models import utcnow

    limit = current_app.config.get("READY_MAX_JOB_AGE_SECONDS", 900)
    checks: dict[str, Any] = {}
    failed: list[str] = []
    try:
        db.session.execute(text("SELECT 1"))
        now = utcnow()
        age = oldest_due_age_seconds(now)
        waiting = oldest_queued_delivery_age_seconds(now)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        checks["database"] = {"status": "unavailable"}
        failed.append("database")
    else:
        checks["database"] = {"status": "ok"}
        # Queued Stripe deliveries (STRIPE_RECORDING=queued) are the same promise: Stripe was told we have them.
        for name, field, seconds in (
            ("job_queue", "oldest_due_age_seconds", age),
            ("stripe_deliveries", "oldest_waiting_seconds", waiting),
        ):
            stale = seconds >= limit
            checks[name] = {"status": "stale" if stale else "ok", field: round(seconds, 3), "max_age_seconds": limit}
            if stale:
                failed.append(name)
    if failed:
        return jsonify(status="unavailable", failed=failed, checks=checks), 503
    return jsonify(status="ok", checks=checks)
