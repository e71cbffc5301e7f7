"""After PostgreSQL drops the app's connections (a restart, a failover), the next requests still answer."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import bearer


def test_requests_survive_terminated_database_connections(app, client, database_url, shop):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).status_code == 200
    # What a restart does to the pool: every backend of this database ends, except the one doing the ending.
    with psycopg.connect(database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None and ended[0] >= 1
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).status_code == 200
    assert client.get("/healthz").status_code == 200
