"""Pooled PostgreSQL connections checked as they leave the pool, without a round trip for a recently used one.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` on every checkout: a round trip per request, for a failure that
happens a few times a year. A connection the server has closed (a restart, a failover, `pg_terminate_backend`,
an idle timeout) has a readable socket: the server's goodbye, or its end of file. An idle connection that is
still fine has nothing to read, since PostgreSQL sends nothing unasked (this app never LISTENs). So every
checkout polls the socket (a system call, no round trip) and only a connection idle for more than
PING_AFTER_IDLE_SECONDS, which a silently dropped network path (a NAT or firewall timeout) may have cut without
a word, is pinged as before. A dead connection invalidates the pool, as a failed pre-ping does: after a restart
every other pooled connection is stale too, and each is replaced as it is next checked out.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError

PING_AFTER_IDLE_SECONDS = 5.0
_CHECKED_IN = "plugin.checked_in_at"


def _original_poll() -> Callable[[], Any] | None:
    """select.poll as the operating system gives it: a gevent worker replaces it with a cooperative one (a
    zero-timeout poll never blocks, so the original is right there too and costs no trip through the hub)."""
    try:
        from gevent.monkey import get_original  # type: ignore[import-untyped]

        return get_original("select", "poll")
    except (ImportError, AttributeError):
        return getattr(select, "poll", None)


_poll = _original_poll()


def closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection is closed, or has something to read (which an idle one never has)."""
    if dbapi_connection.closed:
        return True
    if _poll is None:  # no poll(2) on this platform: only the ping after idling checks
        return False
    try:
        socket = dbapi_connection.fileno()
    except psycopg.Error:  # libpq has no socket for it any more
        return True
    poller = _poll()
    poller.register(socket, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def install(engine: Engine, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check each connection the engine's pool hands out: the socket always, a ping after `ping_after_idle`."""
    dialect = engine.dialect
    clock = time.monotonic

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = clock()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.pop(_CHECKED_IN, None)
        if checked_in_at is None:  # a connection just opened
            return
        if closed_by_server(dbapi_connection):
            raise InvalidatePoolError("the database closed a pooled connection")
        if clock() - checked_in_at > ping_after_idle:
            try:
                dialect.do_ping(dbapi_connection)
            except dialect.loaded_dbapi.Error as exc:
                if dialect.is_disconnect(exc, dbapi_connection, None):
                    raise InvalidatePoolError("a pooled connection idle for a while did not answer") from exc
                raise

    event.listen(engine.pool, "checkin", checked_in)
    event.listen(engine.pool, "checkout", checkout)
