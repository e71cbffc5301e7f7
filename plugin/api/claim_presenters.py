"""Claims, their evidence and messages as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugin.models import Claim, ClaimMessage, Evidence, rfc3339


def evidence_body(row: Evidence) -> dict[str, Any]:
    """An evidence file's description (its bytes are served by their own URL, to the shop's staff only)."""
    return {
        "id": row.id,
        "object": "evidence",
        "kind": row.kind,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "filename": row.filename,
        "uploaded_by": row.uploaded_by,
        "created_at": rfc3339(row.created_at),
    }


def _recovery(claim: Claim) -> dict[str, Any] | None:
    if claim.recovery_status is None:
        return None
    return {
        "status": claim.recovery_status,
        "provider": claim.recovery_provider,
        "reference": claim.recovery_reference,
        "amount": claim.recovery_amount,
        "link": claim.recovery_link,
        "error": claim.recovery_error,
    }


def _refund(claim: Claim) -> dict[str, Any] | None:
    if claim.refund_status is None:
        return None
    return {"id": claim.refund_id, "status": claim.refund_status, "error": claim.refund_error}


def claim_body(claim: Claim, evidence: Sequence[Evidence]) -> dict[str, Any]:
    """The contract's claim object."""
    return {
        "id": claim.id,
        "object": "claim",
        "order_id": claim.order_id,
        "shipment": claim.shipment_id,
        "shipment_id": claim.shipment.shipment_ref,
        "protection": claim.protection_id,
        "policy": claim.policy_id,
        "type": claim.type,
        "status": claim.status,
        "source": claim.source,
        "email": claim.email,
        "description": claim.description,
        "items": list(claim.items or []),
        "currency": claim.currency,
        "amount": claim.amount,
        "covered_amount": claim.covered_amount,
        "signals": [signal["code"] for signal in claim.signals or []],
        "signal_details": [{"code": s["code"], "detail": s["detail"]} for s in claim.signals or []],
        "reasons": [{"code": r["code"], "message": r["message"]} for r in claim.reasons or []],
        "review_reason": claim.review_reason,
        "decided_by": claim.decided_by,
        "decided_at": rfc3339(claim.decided_at),
        "resolution": claim.resolution,
        "approved_amount": claim.approved_amount,
        "deny_reason": claim.deny_reason,
        "replacement_order_id": claim.replacement_order_id,
        "reship_cost": claim.reship_cost_amount,
        "refund": _refund(claim),
        "paid_at": rfc3339(claim.paid_at),
        "paid_method": claim.paid_method,
        "paid_reference": claim.paid_reference,
        "recovery": _recovery(claim),
        "evidence": [evidence_body(row) for row in evidence],
        "created_at": rfc3339(claim.created_at),
        "updated_at": rfc3339(claim.updated_at),
    }


def message_body(message: ClaimMessage) -> dict[str, Any]:
    """A note on a claim."""
    return {
        "id": message.id,
        "object": "claim_message",
        "claim": message.claim_id,
        "author": message.author,
        "visibility": message.visibility,
        "body": message.body,
        "created_at": rfc3339(message.created_at),
    }
