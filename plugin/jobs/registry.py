"""Every kind of job the worker runs, by name: policies, line items, claims (refunds, insurer claims), notices."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.jobs import claims, line_items, notifications, policies
from plugin.jobs.base import JobKind


def job_kinds() -> Mapping[str, JobKind]:
    """The handlers by job kind."""
    return {kind.name: kind for kind in (*policies.KINDS, *line_items.KINDS, *claims.KINDS, *notifications.KINDS)}
