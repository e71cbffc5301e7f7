"""The audit log: every change to a shop's settings, keys, users and endpoints, with who made it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.extensions import db
from plugin.models import AuditEntry


def record(
    shop_id: str,
    actor: str,
    action: str,
    now: datetime,
    *,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction, so the log and the change commit together or not at all."""
    entry = AuditEntry(
        shop_id=shop_id, actor=actor[:400], action=action, target=target, before=before, after=after, created_at=now
    )
    db.session.add(entry)
    return entry
