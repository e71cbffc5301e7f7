"""Self-insurance (Navidium's model): the merchant keeps the premium and pays claims itself.

No external call: "binding" records a reserve per parcel (the premium that paid for it), so the merchant
sees what is set aside against what it may owe.
"""

from __future__ import annotations

from plugin.insurers.base import Binding, Cancellation, CancelReason, Insurer, Parcel


class SelfInsurer(Insurer):
    """Always binds at no cost; the reserve is the parcel's share of the premium."""

    name = "self_insured"

    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        return Binding(
            certificate=f"SELF-{parcel.reference.removeprefix('pol_')}",
            provider_reference=parcel.reference,
            sum_insured=parcel.sum_insured,
            cost=0,
            currency=parcel.currency,
            reserve=parcel.premium_share,
        )

    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        return Cancellation(cancelled=True, refund=0)
