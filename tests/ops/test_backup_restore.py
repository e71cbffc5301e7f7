"""The backup and restore commands of docs/operations.md, run as printed: the restored app serves the same shop,
settings and protections, and its stored secrets still decrypt."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask

from plugin import create_app
from plugin.extensions import db
from tests.conftest import bearer, make_environ
from tests.ops.test_operations_docs import doc_commands, run_documented
from tests.stripe_helpers import deliver, payment_intent_event, protected_metadata, protected_order, quote_for


def _served(app: Flask, shop) -> dict[str, Any]:
    """What the app serves about the shop: its settings (secrets masked) and its protections."""
    client = app.test_client()
    settings = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key))
    protections = client.get("/api/v1/protections", headers=bearer(shop.keys.secret_key))
    assert settings.status_code == 200 and protections.status_code == 200
    return {"settings": settings.get_json(), "protections": protections.get_json()}


def _data_through_the_app(client, shop) -> None:
    """A shop with a Stripe webhook secret (stored encrypted) and a protected order, made through the API."""
    protected_order(client, shop, order_id="B-1")
    changed = client.patch(
        "/api/v1/settings",
        json={"notifications": {"merchant_email": "ops@shop.example"}},
        headers=bearer(shop.keys.secret_key),
    )
    assert changed.status_code == 200, changed.get_json()


def _check_restored(database_url: str, shop, before: dict[str, Any]) -> None:
    """The restored database, served by a fresh app with the same keys: same data, secrets readable."""
    restored = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    try:
        assert _served(restored, shop) == before
        assert before["settings"]["notifications"]["merchant_email"] == "ops@shop.example"
        client = restored.test_client()
        # The webhook secret decrypts: a delivery signed with it is accepted and recorded.
        quote = quote_for(client, shop)
        event = payment_intent_event(protected_metadata(quote, "B-2"), pi_id="pi_B-2", amount=51000)
        assert deliver(client, shop.shop.id, event).status_code == 200
        assert len(_served(restored, shop)["protections"]["data"]) == len(before["protections"]["data"]) + 1
    finally:
        with restored.app_context():
            db.engine.dispose()


def _fresh_database(url: str, name: str) -> str:
    """An empty PostgreSQL database beside `url`'s; its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_postgresql_dump_restores_into_a_new_database(app, client, database_url, shop, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's backup is the next test")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore (postgresql-client) are not installed")
    _data_through_the_app(client, shop)
    before = _served(app, shop)
    [dump] = doc_commands("### PostgreSQL")[:1]
    restore, upgrade = doc_commands("### PostgreSQL")[1:]
    backup = tmp_path / "plugin.dump"

    dumped = run_documented(dump, DATABASE_URL=database_url, BACKUP=str(backup))
    assert dumped.returncode == 0, dumped.stderr
    assert backup.stat().st_size > 0

    name = f"{urlsplit(database_url).path.lstrip('/')}_restore"
    restored_url = _fresh_database(database_url, name)
    try:
        environ = make_environ(restored_url, BACKUP=str(backup))
        for command in (restore, upgrade):
            done = run_documented(command, **environ)
            assert done.returncode == 0, (command, done.stderr)
        _check_restored(restored_url, shop, before)
    finally:
        _drop_database(database_url, name)


def test_a_sqlite_backup_restores_into_a_new_file(app, client, database_url, shop, tmp_path):
    if not database_url.startswith("sqlite:///"):
        pytest.skip("SQLite only: PostgreSQL's backup is the test above")
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed")
    _data_through_the_app(client, shop)
    before = _served(app, shop)
    backup_command, restore, upgrade = doc_commands("### SQLite")
    backup = tmp_path / "backup.db"

    done = run_documented(backup_command, DATABASE_FILE=database_url.removeprefix("sqlite:///"), BACKUP=str(backup))
    assert done.returncode == 0, done.stderr

    restored_file = tmp_path / "restored" / "plugin.db"
    restored_file.parent.mkdir()
    (Path(f"{restored_file}-wal")).write_bytes(b"stale")  # a leftover log the restore must not replay
    environ = make_environ(f"sqlite:///{restored_file}", DATABASE_FILE=str(restored_file), BACKUP=str(backup))
    for command in (restore, upgrade):
        done = run_documented(command, **environ)
        assert done.returncode == 0, (command, done.stderr)
    _check_restored(f"sqlite:///{restored_file}", shop, before)
