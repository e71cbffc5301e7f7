"""Rate limits on the public endpoints, per API key and client address.

The `limits` library parses the rates and, for a limit shared by many processes, keeps the counters in
Redis or Memcached (RATE_LIMIT_STORAGE_URI), under RATE_LIMIT_KEY_PREFIX so that several deployments (or
test runs) can share one Redis. For the default in-process counters we keep our own small
window table: `limits`' memory storage starts a timer thread every 10 ms under load, which cost more CPU
than pricing the cart (bench/quote_throughput.py: ratio 0.54 with it, 0.68 without).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from plugin.auth import request_key_fingerprint
from plugin.errors import RateLimitedError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


class LocalSlidingWindow:
    """Sliding-window counters in this process, expired lazily (no background thread), bounded in size."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._counts: dict[str, tuple[int, int, int]] = {}  # key -> (window number, count, previous count)
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, *identifiers: str) -> float | None:
        """Count a request; None when allowed, else the seconds until one more would be."""
        key = item.key_for(*identifiers)
        period = item.get_expiry()
        now = self._clock()
        window, elapsed = divmod(now, period)
        window = int(window)
        with self._lock:
            if len(self._counts) >= self._max_keys:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= window - 1}
                if len(self._counts) >= self._max_keys:  # a flood of distinct callers: bounded memory first
                    self._counts.clear()
            start, count, previous = self._counts.get(key, (window, 0, 0))
            if start != window:
                previous, count = (count if start == window - 1 else 0), 0
            # The previous window's requests count in proportion to how much of it the sliding window covers.
            weighted = previous * (1 - elapsed / period) + count
            if weighted + 1 > item.amount:
                self._counts[key] = (window, count, previous)
                return period - elapsed  # by then this window's count is at most what it is now
            self._counts[key] = (window, count + 1, previous)
            return None


class RateLimiter:
    """Sliding-window limits, in this process (memory://) or shared through `limits`' storages."""

    def __init__(self, storage_uri: str, namespace: str = "plugin") -> None:
        self._local = LocalSlidingWindow() if storage_uri.startswith("memory://") else None
        self._shared = (
            None
            if self._local
            else SlidingWindowCounterRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True))
        )
        self._namespace = namespace
        self._items: dict[str, list[RateLimitItem]] = {}

    def _rates(self, spec: str) -> list[RateLimitItem]:
        items = self._items.get(spec)
        if items is None:
            items = self._items[spec] = parse_many(spec)
        return items

    def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float | None:
        if self._local is not None:
            return self._local.hit(item, *identifiers)
        assert self._shared is not None
        try:
            if self._shared.hit(item, *identifiers):
                return None
            return self._shared.get_window_stats(item, *identifiers).reset_time - time.time()
        except StorageError as exc:
            # The limit protects checkouts from abuse; an unreachable counter store must not take them down.
            log.warning(
                "rate limit storage unavailable; request allowed", extra={"error": type(exc.storage_error).__name__}
            )
            return None

    def hit(self, spec: str, *identifiers: str) -> None:
        """Count one request against each rate of `spec` ("300/minute", or "10/minute;50/hour"); RateLimitedError
        (with Retry-After) once one of them is passed."""
        for item in self._rates(spec):
            retry_after = self._retry_after(item, (self._namespace, *identifiers))
            if retry_after is not None:
                raise RateLimitedError(headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


def hit_per_key_and_address(app: Flask, config_key: str, view_name: str, environ: dict[str, Any]) -> None:
    """Count a request to a view against the rate in `app.config[config_key]` for its key and client address;
    RateLimitedError once passed."""
    limiter: RateLimiter = app.extensions["rate_limiter"]
    credential = request_key_fingerprint(environ)
    limiter.hit(app.config[config_key], view_name, credential, environ.get("REMOTE_ADDR") or "-")


def per_key_and_address(config_key: str) -> Callable[[F], F]:
    """Limit a view to the rate in `app.config[config_key]` (e.g. "300/minute") per key and address."""

    def decorator(view: F) -> F:
        name = view.__name__

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            hit_per_key_and_address(current_app, config_key, name, request.environ)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def init_app(app: Flask) -> None:
    """Bind a limiter to the app's storage (RATE_LIMIT_STORAGE_URI) and key prefix (RATE_LIMIT_KEY_PREFIX)."""
    app.extensions["rate_limiter"] = RateLimiter(
        app.config["RATELIMIT_STORAGE_URI"], app.config.get("RATE_LIMIT_KEY_PREFIX", "plugin")
    )
