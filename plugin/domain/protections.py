"""Protections: where a protected purchase stands, and the changes its status may go through."""

from __future__ import annotations

from enum import StrEnum

from plugin.domain.transitions import move


class ProtectionStatus(StrEnum):
    """Where a protection stands."""

    ACTIVE = "active"  # paid and trusted: its parcels are insured
    NEEDS_REVIEW = "needs_review"  # paid, but something disagrees with the quote: a person must look
    VOIDED = "voided"  # the money went back before the cover was needed


_ALLOWED: dict[ProtectionStatus, frozenset[ProtectionStatus]] = {
    ProtectionStatus.ACTIVE: frozenset({ProtectionStatus.NEEDS_REVIEW, ProtectionStatus.VOIDED}),
    # A reviewed protection can be confirmed by a person, or voided by a refund.
    ProtectionStatus.NEEDS_REVIEW: frozenset({ProtectionStatus.ACTIVE, ProtectionStatus.VOIDED}),
    ProtectionStatus.VOIDED: frozenset(),
}


def protection_transition(current: str, target: ProtectionStatus) -> ProtectionStatus:
    """The new status, or ForbiddenTransitionError."""
    return move("protection", _ALLOWED, current, target)
