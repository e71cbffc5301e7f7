"""Every insurer call timed and its failures counted, in one place: a wrapper around whichever adapter the
worker is given (plugin.jobs.policies._insurer), so no adapter (or test double) can forget it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests

from plugin import metrics
from plugin.insurers.base import (
    Binding,
    Cancellation,
    CancelReason,
    ClaimFiling,
    ClaimsNotSupportedError,
    FiledClaim,
    Insurer,
    InsurerAuthError,
    InsurerConfigError,
    InsurerError,
    Parcel,
)

T = TypeVar("T")
# The `error` label's values: a small fixed set, whatever the insurer answered.
ERRORS = (
    "timeout", "connection", "http_5xx", "http_4xx", "invalid_response", "refused", "auth", "config",
    "unsupported", "unexpected",
)  # fmt: skip


def error_kind(exc: BaseException) -> str:
    """What went wrong, as one of ERRORS."""
    if isinstance(exc, InsurerConfigError):
        return "config"
    if isinstance(exc, InsurerAuthError):
        return "auth"
    if isinstance(exc, ClaimsNotSupportedError):
        return "unsupported"
    if not isinstance(exc, InsurerError):
        return "unexpected"  # a bug, or an answer an adapter could not take apart
    if exc.status is not None and exc.status >= 500:
        return "http_5xx"
    if exc.status is not None and exc.status >= 400:
        return "http_4xx"
    if exc.status is None and isinstance(exc.__cause__, requests.Timeout):
        return "timeout"
    if exc.status is None and isinstance(exc.__cause__, requests.RequestException):
        return "connection"
    # No usable answer (unreadable, a success without a body) is retried; a definite "no" in the body is not.
    return "invalid_response" if exc.retryable else "refused"


class MeasuredInsurer(Insurer):
    """An adapter whose every call lands in plugin_insurer_call_duration_seconds and plugin_insurer_errors_total."""

    def __init__(self, inner: Insurer) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.idempotent_bind = inner.idempotent_bind

    def _measure(self, operation: str, call: Callable[[], T]) -> T:
        with metrics.insurer_call(self.name, operation, error_kind):
            return call()

    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        """The adapter's bind, measured."""
        return self._measure("bind", lambda: self.inner.bind(parcel, idempotency_key))

    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        """The adapter's cancel, measured."""
        return self._measure("cancel", lambda: self.inner.cancel(binding_reference, reason))

    def find(self, parcel: Parcel) -> Binding | None:
        """The adapter's look-up, measured."""
        return self._measure("find", lambda: self.inner.find(parcel))

    def file_claim(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """The adapter's claim filing, measured."""
        return self._measure("file_claim", lambda: self.inner.file_claim(filing, idempotency_key))

    def claim_status(self, reference: str) -> FiledClaim:
        """The adapter's claim status, measured."""
        return self._measure("claim_status", lambda: self.inner.claim_status(reference))
