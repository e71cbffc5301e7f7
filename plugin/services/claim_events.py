"""What a claim's changes tell the world: the shopper's emails and the merchant's outbound webhooks."""

from __future__ import annotations

import logging
from datetime import datetime

from plugin.models import Claim, ClaimMessage

log = logging.getLogger(__name__)


def claim_changed(claim: Claim, event_type: str, now: datetime) -> None:
    """A claim was created or changed: queue its notices in the caller's transaction."""
    log.info("claim event", extra={"claim": claim.id, "event": event_type, "status": claim.status})


def message_for_shopper(claim: Claim, message: ClaimMessage, now: datetime) -> None:
    """The merchant wrote to the shopper: queue the email in the caller's transaction."""
    log.info("claim message for shopper", extra={"claim": claim.id, "message": message.id})
