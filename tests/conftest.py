"""Shared fixtures: the app on SQLite, or on PostgreSQL with TEST_DATABASE_URL; a clean database per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete

from plugin import create_app
from plugin.extensions import db
from plugin.services.shops import CreatedShop, create_shop

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# Real Stripe and Shopify payloads, copied verbatim into the repository; tests/fixtures/README.md names each source.
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def make_environ(database_url: str, **extra: str) -> dict[str, str]:
    """The environment a test app is built from."""
    return {
        "TESTING": "1",
        "SECRET_KEY": TEST_SECRET_KEY,
        "HTTPS_ONLY": "0",
        "DATABASE_URL": database_url,
        "RATE_LIMIT_QUOTES": "100000/minute",
        "RATE_LIMIT_ADMIN_LOGINS": "100000/minute",
        # CI runs the suite once more with queued Stripe deliveries (.ci/run): every read must still see them.
        "STRIPE_RECORDING": os.environ.get("TEST_STRIPE_RECORDING", "inline"),
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 at its production cost takes ~50 ms a hash; the tests make hundreds. The tests only need it real."""
    from argon2 import PasswordHasher

    from plugin.services import users

    production = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users._DUMMY_HASH = users._hasher.hash("not a password of anyone")
    yield
    users._hasher, users._DUMMY_HASH = production


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """One app per run; the schema comes from the Alembic migrations, as in production."""
    application = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    with application.app_context():
        upgrade(directory=application.config["MIGRATIONS_DIR"])
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _inline_recording(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests marked inline_recording check the answer of a delivery recorded before it is answered."""
    if request.node.get_closest_marker("inline_recording") and "app" in request.fixturenames:
        application: Flask = request.getfixturevalue("app")
        monkeypatch.setitem(application.config, "STRIPE_RECORDING", "inline")


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that touches the app starts and ends with empty tables."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
    application.extensions["grant_cache"].clear()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def new_shop(app: Flask):
    """A factory of shops: new_shop(currency="JPY")."""

    def factory(name: str = "Jade House", currency: str = "USD") -> CreatedShop:
        with app.app_context():
            created = create_shop(name, currency, app.extensions["secret_box"])
            db.session.refresh(created.shop)
            db.session.expunge_all()
            return created

    return factory


@pytest.fixture()
def shop(new_shop) -> CreatedShop:
    return new_shop()


def bearer(key: str) -> dict[str, str]:
    """Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}
