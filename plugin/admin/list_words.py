"""The words the lists show for stored states (statuses, job kinds, checks), in the page's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g
from flask_babel import lazy_gettext

# A stored value the page names in words; a value missing here is shown as stored.
WORDS = {
    # protections
    "active": lazy_gettext("Active"),
    "voided": lazy_gettext("Voided"),
    "needs_review": lazy_gettext("Needs review"),
    # line-item checks
    "not_applicable": lazy_gettext("Not applicable"),
    "confirmed": lazy_gettext("Confirmed"),
    "missing": lazy_gettext("Missing"),
    "mismatch": lazy_gettext("Mismatch"),
    # policies
    "pending": lazy_gettext("Pending"),
    "retrying": lazy_gettext("Retrying"),
    "bound": lazy_gettext("Bound"),
    "failed": lazy_gettext("Failed"),
    "cancelled": lazy_gettext("Cancelled"),
    # jobs
    "queued": lazy_gettext("Queued"),
    "succeeded": lazy_gettext("Succeeded"),
    # claims
    "submitted": lazy_gettext("Submitted"),
    "approved": lazy_gettext("Approved"),
    "denied": lazy_gettext("Denied"),
    "paid": lazy_gettext("Paid"),
    "reshipped": lazy_gettext("Reshipped"),
    # tracking
    "shipped": lazy_gettext("Parcel shipped"),
    "in_transit": lazy_gettext("In transit"),
    "delivered": lazy_gettext("Parcel delivered"),
    "failure": lazy_gettext("Delivery failed"),
    # returns
    "received": lazy_gettext("Received"),
    "flagged": lazy_gettext("Flagged"),
    # webhook sources
    "stripe": lazy_gettext("Stripe"),
    "platform": lazy_gettext("Store platform"),
}

JOB_KIND_WORDS = {
    "bind_policy": lazy_gettext("Buy a policy"),
    "cancel_policy": lazy_gettext("Cancel a policy"),
    "confirm_line_items": lazy_gettext("Check Stripe line items"),
    "refund_claim": lazy_gettext("Refund a claim"),
    "file_insurer_claim": lazy_gettext("File a claim with the insurer"),
    "poll_insurer_claim": lazy_gettext("Ask the insurer about a claim"),
    "send_email": lazy_gettext("Send an email"),
    "deliver_webhook": lazy_gettext("Deliver a webhook"),
}


def _translated(words: Mapping[str, Any], key: str) -> dict[str, str]:
    # Translated once per request: a page of 200 rows names a state hundreds of times.
    cache = g.setdefault("list_words", {})
    if key not in cache:
        cache[key] = {name: str(text) for name, text in words.items()}
    found: dict[str, str] = cache[key]
    return found


def word(value: str | None) -> str:
    """A stored state in the page's language (as stored when it has no name)."""
    if value is None:
        return ""
    return _translated(WORDS, "states").get(value, value)


def kind_word(kind: str) -> str:
    """A job kind in the page's language."""
    return _translated(JOB_KIND_WORDS, "kinds").get(kind, kind)
