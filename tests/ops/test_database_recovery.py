"""After PostgreSQL drops the app's connections (a restart, a failover), the next requests still answer."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import bearer


def test_requests_survive_terminated_database_connections(app, client, database_url, shop):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).status_code == 200
    # What a restart does to the pool: every backend of this database ends, except the one doing the ending. When
    # the server answers again after a restart, its end of every old connection is gone: pg_terminate_backend
    # waits for that here (the pool's checkout check sees a connection the server has closed).
    with psycopg.connect(database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None and ended[0] >= 1
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/api/v1/protections", {"headers": bearer("sk_" + "x" * 40)}),
        ("post", "/api/v1/quotes", {"headers": bearer("pk_" + "x" * 40), "json": {"currency": "USD"}}),
        ("post", "/webhooks/stripe/shop_x", {"data": b"{}", "headers": {"Stripe-Signature": "t=1,v1=00"}}),
    ],
)
def test_an_unreachable_database_is_a_503_to_retry_not_an_internal_error(tmp_path, method, path, kwargs):
    # A server that is restarting or failing over: nothing listens where the database should be.
    from plugin import create_app
    from tests.conftest import make_environ

    down = create_app({"ENVIRON": make_environ("postgresql://postgres@127.0.0.1:9/none?connect_timeout=1")})
    response = getattr(down.test_client(), method)(path, **kwargs)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "service_unavailable"
    with down.app_context():
        from plugin.extensions import db

        db.engine.dispose()


def test_a_connection_dropped_before_the_session_ends_does_not_fail_the_answer(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    from sqlalchemy import text

    from plugin.extensions import db

    # The answer is ready, the transaction still open: then the server restarts before the session is closed.
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    # Leaving the context ran the teardown without raising; the pool hands out a working connection again.
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1
