"""Values this process keeps for a few seconds, bounded in number: the hot endpoints' per-shop caches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class KeptEntries(Generic[V]):
    """Entries kept `ttl` seconds from when they were put; reads take no lock, writes do.

    Bounded crudely: when `max_entries` are kept, all are dropped before the next one is put, so a flood of
    distinct keys cannot grow memory.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: str, now: float | None = None) -> tuple[float, V] | None:
        """The entry (its expiry and value) if kept and not expired at `now` (default: the clock's now)."""
        entry = self._entries.get(key)
        return entry if entry is not None and entry[0] > (self._clock() if now is None else now) else None

    def _put(self, key: str, value: V, since: float | None = None) -> None:
        """Keep `value` for `ttl` seconds from `since` (default: now)."""
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = ((self._clock() if since is None else since) + self._ttl, value)

    def _forget_where(self, drop: Callable[[V], bool]) -> None:
        """Drop every entry whose value `drop` says to."""
        with self._lock:
            for key in [key for key, (_, value) in self._entries.items() if drop(value)]:
                del self._entries[key]

    def _forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
