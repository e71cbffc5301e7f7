"""The insurer contract: what the worker asks of any insurer, the typed answers, and one error tree."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime

from plugin.domain.policies import CancelReason

__all__ = ["CancelReason"]  # the insurer contract speaks our cancel reasons; adapters map them to their codes


@dataclass(frozen=True, slots=True)
class ParcelItem:
    """What is in the parcel."""

    sku: str
    quantity: int
    unit_price: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Parcel:
    """One shipment to insure; `reference` is our policy id, the natural key on the insurer's side."""

    reference: str
    shop_id: str
    shop_name: str
    order_id: str
    shipment_ref: str
    carrier: str | None
    tracking_number: str | None
    sum_insured: int
    currency: str
    shipped_at: datetime
    destination_country: str | None = None  # ISO 3166-1 alpha-2
    destination_region: str | None = None  # ISO 3166-2, e.g. "CN-GD"
    destination_postal_code: str | None = None
    customer_email: str | None = None
    items: tuple[ParcelItem, ...] = field(default_factory=tuple)
    premium_share: int = 0  # the part of the shopper's premium that paid for this parcel


@dataclass(frozen=True, slots=True)
class Binding:
    """A bought policy as the insurer reports it."""

    certificate: str
    provider_reference: str
    sum_insured: int
    cost: int
    currency: str
    certificate_url: str | None = None
    reserve: int | None = None  # self-insurance: what the merchant sets aside
    claim_url: str | None = None  # where a claim on this policy is filed by hand (Loadsure's fileClaimLink)


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The outcome of cancelling a bound policy."""

    cancelled: bool
    refund: int | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimFile:
    """A file sent with an insurer claim (the shopper's evidence, the merchant's packing photos)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ClaimFiling:
    """A claim on a bound policy, as the worker files it; `reference` is our claim id."""

    reference: str
    policy_reference: str  # the insurer's reference of the policy (XCover's `…-INS` booking)
    certificate: str | None
    claim_type: str  # our ClaimType: lost | stolen | damaged | delayed | missing_items
    amount: int
    currency: str
    order_id: str
    description: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    contact_email: str | None = None
    claim_url: str | None = None  # the policy's own link for filing by hand, if the insurer gave one
    files: tuple[ClaimFile, ...] = ()


#: Where an insurer claim stands, in our own words (each adapter maps its insurer's).
FILED_STATUSES = ("filed", "in_review", "approved", "paid", "rejected", "manual")


@dataclass(frozen=True, slots=True)
class FiledClaim:
    """An insurer claim as the insurer reports it: `manual` means the merchant files it through `link`."""

    status: str  # one of FILED_STATUSES
    reference: str | None = None
    amount: int | None = None  # what the insurer approved or paid, when it says
    link: str | None = None


class InsurerError(Exception):
    """Any insurer failure; `retryable` says whether trying again later can succeed."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientInsurerError(InsurerError):
    """Timeouts, resets, 423/429/5xx: the same request may succeed later (and never buys twice)."""

    retryable = True

    @property
    def answer_lost(self) -> bool:
        """Whether the insurer's answer never reached us (timeout, reset, 5xx, unreadable): the outcome is
        unknown and the call is repeated at once; a 408/423/429 is an answer ("not now") and backs off."""
        return self.status is None or self.status >= 500


class InsurerRefusedError(InsurerError):
    """The insurer said no (validation, exclusions, a partly failed package): a person must look."""


class InsurerAuthError(InsurerRefusedError):
    """The merchant's credentials were refused: fix the settings, then retry the policy."""


class InsurerConfigError(InsurerRefusedError):
    """The settings cannot reach an insurer (missing credentials, an unsafe base URL)."""


class ClaimsNotSupportedError(InsurerRefusedError):
    """The insurer has no claims API the plugin speaks: the merchant files the claim by hand."""


class Insurer(abc.ABC):
    """One insurer or freight forwarder, as the worker sees it."""

    name: str
    #: Whether a repeated bind with the same idempotency key is safe on the insurer's side. Without it the
    #: worker looks the policy up by our reference before buying again after an unclear outcome.
    idempotent_bind: bool = True

    @abc.abstractmethod
    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        """Quote and buy cover for the parcel; the same key never buys twice."""

    @abc.abstractmethod
    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        """Cancel a bound policy where the insurer allows it."""

    def find(self, parcel: Parcel) -> Binding | None:
        """The policy already bought for this parcel (by our reference), if the insurer can tell."""
        return None

    def file_claim(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """File a claim on a bound policy; the same key never files twice."""
        raise ClaimsNotSupportedError(f"{self.name}: filing claims is not supported")

    def claim_status(self, reference: str) -> FiledClaim:
        """Where a filed claim stands."""
        raise ClaimsNotSupportedError(f"{self.name}: claim status is not supported")
