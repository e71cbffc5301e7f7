"""The few Stripe API calls the plugin makes with a merchant's key: Checkout line items and the event log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import stripe

DEFAULT_TIMEOUT_SECONDS = 10.0


class StripeApiError(RuntimeError):
    """Stripe could not be asked (network, auth, or an error answer); the message carries no secret.

    `retryable`: a later attempt may succeed (the network, Stripe's 5xx, a rate limit); not for a refused
    key or a bad request, which need a person.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


# Stripe's own client already repeats a call whose answer was lost (connection errors, 5xx, 409) at once,
# twice, with the same idempotency key: max_network_retries=2.
_RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def _error(what: str, exc: stripe.StripeError) -> StripeApiError:
    return StripeApiError(f"{what} failed: {type(exc).__name__}", retryable=isinstance(exc, _RETRYABLE))


class StripeApi:
    """A Stripe client bound to one merchant's key and to STRIPE_API_BASE (a mock server in tests)."""

    def __init__(self, api_key: str, api_base: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=2,
        )

    def checkout_line_items(self, session_id: str) -> list[dict[str, Any]]:
        """Every line item of a Checkout Session, with prices and products expanded."""
        try:
            page = self._client.v1.checkout.sessions.line_items.list(
                session_id, params={"limit": 100, "expand": ["data.price.product"]}
            )
            return [item.to_dict() for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _error(f"listing line items of {session_id}", exc) from exc

    def events(self, since: datetime, types: Iterable[str]) -> list[dict[str, Any]]:
        """The account's events of these types created since `since`, oldest first (Stripe keeps 30 days)."""
        try:
            page = self._client.v1.events.list(
                params={"created": {"gte": int(since.timestamp())}, "types": list(types), "limit": 100}
            )
            newest_first = [event.to_dict() for event in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _error("listing events", exc) from exc
        return list(reversed(newest_first))
