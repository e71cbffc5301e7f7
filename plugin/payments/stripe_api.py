"""The few Stripe API calls the plugin makes with a merchant's key: Checkout line items, the event log, refunds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import stripe
from stripe.params import RefundCreateParams, RefundListParams

from plugin import metrics

DEFAULT_TIMEOUT_SECONDS = 10.0


class StripeApiError(RuntimeError):
    """Stripe could not be asked (network, auth, or an error answer); the message carries no secret.

    `retryable`: a later attempt may succeed (the network, Stripe's 5xx, a rate limit); not for a refused
    key or a bad request, which need a person.
    """

    def __init__(
        self, message: str, *, retryable: bool, answer_lost: bool = False, code: str | None = None, auth: bool = False
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Stripe's answer never reached us (a timeout, a reset, a 5xx): the outcome is unknown.
        self.answer_lost = answer_lost
        self.code = code  # Stripe's error code, e.g. "amount_too_large"
        self.auth = auth  # the key itself was refused


# Stripe's own client already repeats a call whose answer was lost (connection errors, 5xx, 409) at once,
# twice, with the same idempotency key: max_network_retries=2.
_RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def _error(what: str, exc: stripe.StripeError) -> StripeApiError:
    lost = isinstance(exc, stripe.APIConnectionError) or (exc.http_status is not None and exc.http_status >= 500)
    code = exc.code if isinstance(exc.code, str) else None
    detail = f" ({code})" if code else ""
    return StripeApiError(
        f"{what} failed: {type(exc).__name__}{detail}",
        retryable=isinstance(exc, _RETRYABLE),
        answer_lost=lost,
        code=code,
        auth=isinstance(exc, stripe.AuthenticationError | stripe.PermissionError),
    )


def error_kind(exc: BaseException) -> str:
    """What went wrong with a Stripe call, as one of a few label values (plugin_stripe_errors_total)."""
    cause = exc.__cause__ if isinstance(exc, StripeApiError) else exc
    if isinstance(cause, stripe.APIConnectionError):
        return "connection"  # timeouts and resets alike
    if isinstance(cause, stripe.AuthenticationError | stripe.PermissionError):
        return "auth"
    if isinstance(cause, stripe.RateLimitError):
        return "rate_limited"
    if isinstance(cause, stripe.StripeError):
        status = cause.http_status
        if status is not None and status >= 500:
            return "http_5xx"
        return "http_4xx" if status is not None and status >= 400 else "invalid_response"
    return "unexpected"


@dataclass(frozen=True, slots=True)
class StripeRefundAnswer:
    """A refund as Stripe reports it."""

    id: str
    status: str  # pending | requires_action | succeeded | failed | canceled
    amount: int
    failure_reason: str | None = None
    metadata: Mapping[str, str] | None = None

    @classmethod
    def of(cls, refund: Mapping[str, Any]) -> StripeRefundAnswer:
        """From Stripe's refund object."""
        metadata = refund.get("metadata")
        return cls(
            id=str(refund["id"]),
            status=str(refund.get("status") or "pending"),
            amount=int(refund.get("amount") or 0),
            failure_reason=refund.get("failure_reason") if isinstance(refund.get("failure_reason"), str) else None,
            metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, Mapping) else {},
        )


class StripeApi:
    """A Stripe client bound to one merchant's key and to STRIPE_API_BASE (a mock server in tests)."""

    def __init__(
        self, api_key: str, api_base: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, max_network_retries: int = 2
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    def checkout_line_items(self, session_id: str) -> list[dict[str, Any]]:
        """Every line item of a Checkout Session, with prices and products expanded."""
        with metrics.stripe_call("checkout_line_items", error_kind):
            try:
                page = self._client.v1.checkout.sessions.line_items.list(
                    session_id, params={"limit": 100, "expand": ["data.price.product"]}
                )
                return [item.to_dict() for item in page.auto_paging_iter()]
            except stripe.StripeError as exc:
                raise _error(f"listing line items of {session_id}", exc) from exc

    def events(self, since: datetime, types: Iterable[str]) -> list[dict[str, Any]]:
        """The account's events of these types created since `since`, oldest first (Stripe keeps 30 days)."""
        with metrics.stripe_call("events", error_kind):
            try:
                page = self._client.v1.events.list(
                    params={"created": {"gte": int(since.timestamp())}, "types": list(types), "limit": 100}
                )
                newest_first = [event.to_dict() for event in page.auto_paging_iter()]
            except stripe.StripeError as exc:
                raise _error("listing events", exc) from exc
        return list(reversed(newest_first))

    def create_refund(
        self,
        *,
        payment_intent: str | None,
        charge: str | None,
        amount: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> StripeRefundAnswer:
        """Refund part of a payment (its PaymentIntent, else its charge) under our idempotency key."""
        params: dict[str, Any] = {"amount": amount, "metadata": dict(metadata), "reason": "requested_by_customer"}
        if payment_intent:
            params["payment_intent"] = payment_intent
        else:
            params["charge"] = charge
        with metrics.stripe_call("create_refund", error_kind):
            try:
                refund = self._client.v1.refunds.create(
                    params=cast(RefundCreateParams, params), options={"idempotency_key": idempotency_key}
                )
            except stripe.StripeError as exc:
                raise _error("creating a refund", exc) from exc
        return StripeRefundAnswer.of(refund.to_dict())

    def refunds_of(self, *, payment_intent: str | None, charge: str | None) -> list[StripeRefundAnswer]:
        """The refunds already made on a payment (at most Stripe's page of 100)."""
        params: dict[str, Any] = {"limit": 100}
        if payment_intent:
            params["payment_intent"] = payment_intent
        else:
            params["charge"] = charge
        with metrics.stripe_call("refunds_of", error_kind):
            try:
                page = self._client.v1.refunds.list(params=cast(RefundListParams, params))
            except stripe.StripeError as exc:
                raise _error("listing refunds", exc) from exc
        return [StripeRefundAnswer.of(refund.to_dict()) for refund in page.data]
