"""The pool's checkout check (plugin/pool_checks.py): a closed connection is seen without a round trip, a long idle
one is pinged, a recently used live one is handed out as it is."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from plugin import pool_checks
from plugin.config import database_url as sqlalchemy_url


@pytest.fixture()
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    return database_url


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def test_a_connection_the_server_closed_is_seen_without_a_round_trip(pg_url):
    with psycopg.connect(pg_url) as conn:
        conn.execute("SELECT 1")
        conn.rollback()
        assert not pool_checks.closed_by_server(conn)
        _terminate(pg_url, conn.info.backend_pid)
        assert pool_checks.closed_by_server(conn)


@pytest.mark.parametrize(("idle_limit", "pings"), [(0.0, 1), (60.0, 0)])
def test_only_a_connection_idle_past_the_limit_is_pinged(pg_url, monkeypatch, idle_limit, pings):
    engine = create_engine(sqlalchemy_url(pg_url, ""), pool_size=1)
    try:
        pool_checks.install(engine, ping_after_idle=idle_limit)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        sent: list[Any] = []
        ping = engine.dialect.do_ping
        monkeypatch.setattr(
            engine.dialect, "do_ping", lambda dbapi_connection: sent.append(1) or ping(dbapi_connection)
        )
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert len(sent) == pings
    finally:
        engine.dispose()


def test_a_pooled_connection_ended_by_the_server_is_replaced_at_checkout(pg_url):
    engine = create_engine(sqlalchemy_url(pg_url, ""), pool_size=1)
    try:
        pool_checks.install(engine)
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        _terminate(pg_url, pid)
        with engine.connect() as conn:  # no error: the check saw it closed and the pool reconnected
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
