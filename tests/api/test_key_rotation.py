"""`flask --app plugin keys rotate`: every stored secret moves under the first ENCRYPTION_KEY; none is ever lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, update

from plugin import create_app
from plugin.crypto import SecretBox, derived_key
from plugin.extensions import db
from plugin.models import AuditEntry, ShopSecret, WebhookEndpoint, utcnow
from plugin.services import key_rotation
from tests.conftest import TEST_SECRET_KEY, make_environ

NEW_KEY = "the-new-encryption-key"


@pytest.fixture()
def rotated_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The app as the operator runs it after setting ENCRYPTION_KEY=new (the old key still decrypts)."""
    application = create_app({"ENVIRON": make_environ(database_url, ENCRYPTION_KEY=f"{NEW_KEY},old-explicit-key")})
    yield application
    with application.app_context():
        db.engine.dispose()


def _store(app: Flask, shop_id: str, box: SecretBox, secrets: dict[str, str]) -> None:
    with app.app_context():
        for name, value in secrets.items():
            db.session.add(ShopSecret(shop_id=shop_id, name=name, ciphertext=box.encrypt(value)))
        db.session.commit()


def _endpoint(app: Flask, shop_id: str, box: SecretBox, secret: str) -> str:
    with app.app_context():
        endpoint = WebhookEndpoint(
            id=f"whe_{secret[-6:]}",
            shop_id=shop_id,
            url="https://hooks.example/x",
            secret_ciphertext=box.encrypt(secret),
        )
        db.session.add(endpoint)
        db.session.commit()
        return endpoint.id


def _ciphertexts(app: Flask) -> dict[tuple[str, ...], str]:
    with app.app_context():
        rows = {(s.shop_id, s.name): s.ciphertext for s in db.session.scalars(select(ShopSecret))}
        rows.update({(e.id,): e.secret_ciphertext for e in db.session.scalars(select(WebhookEndpoint))})
        db.session.remove()
        return rows


def test_every_secret_moves_under_the_first_key_and_reads_the_same(app, rotated_app, shop):
    shop_id = shop.shop.id
    derived = SecretBox([derived_key(TEST_SECRET_KEY)])  # what an installation without ENCRYPTION_KEY wrote
    _store(app, shop_id, derived, {f"insurer.secret_{n}": f"value-{n}" for n in range(5)})
    _store(app, shop_id, SecretBox(["old-explicit-key"]), {"stripe.secret_key": "sk_test_old"})
    endpoint_id = _endpoint(app, shop_id, derived, "whsec_abcdef")
    with app.app_context():
        before_dates = {s.name: s.updated_at for s in db.session.scalars(select(ShopSecret))}
        plain = {
            key: derived.decrypt(value) for key, value in _ciphertexts(app).items() if key[-1] != "stripe.secret_key"
        }
    total = len(plain) + 1

    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["reencrypted"] == total and report["already_current"] == 0 and report["undecryptable"] == []
    assert report["tables"]["webhook_endpoints"]["reencrypted"] == 1

    only_new = SecretBox([NEW_KEY])
    after = _ciphertexts(app)
    assert {key: only_new.decrypt(value) for key, value in after.items()} == {
        **plain,
        (shop_id, "stripe.secret_key"): "sk_test_old",
    }
    assert only_new.decrypt(after[(endpoint_id,)]) == "whsec_abcdef"
    with app.app_context():
        assert {s.name: s.updated_at for s in db.session.scalars(select(ShopSecret))} == before_dates
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "secrets.reencrypted")).all()
        assert sum(entry.after["count"] for entry in entries) == total
        assert {entry.actor for entry in entries} == {"cli"} and {entry.shop_id for entry in entries} == {shop_id}

    again = rotated_app.test_cli_runner().invoke(args=["keys", "rotate", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["reencrypted"] == 0
    assert json.loads(again.output)["already_current"] == total
    assert _ciphertexts(app) == after  # a second run leaves rows under the first key alone


def test_the_app_reads_secrets_with_only_the_new_key_once_rotated(app, rotated_app, database_url, shop):
    rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    # The old keys dropped, and SECRET_KEY rolled too: the shop's webhook secret still reads.
    later = create_app({"ENVIRON": make_environ(database_url, ENCRYPTION_KEY=NEW_KEY, SECRET_KEY="a-new-secret-key")})
    try:
        with later.app_context():
            row = db.session.scalars(select(ShopSecret).where(ShopSecret.shop_id == shop.shop.id)).one()
            assert later.extensions["secret_box"].decrypt(row.ciphertext) == shop.platform_webhook_secret
    finally:
        with later.app_context():
            db.engine.dispose()


def test_a_secret_no_key_reads_is_reported_kept_and_fails_the_run(app, rotated_app, shop):
    _store(app, shop.shop.id, SecretBox(["a-key-nobody-has"]), {"insurer.api_key": "lost"})
    lost_before = _ciphertexts(app)[(shop.shop.id, "insurer.api_key")]

    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "shop_secrets: 1 re-encrypted, 0 already under the first key" in result.stdout
    assert f"cannot decrypt shop_secrets (shop_id {shop.shop.id}, name insurer.api_key)" in result.stderr
    assert "lost" not in result.stdout + result.stderr.replace("left as it is", "")
    assert _ciphertexts(app)[(shop.shop.id, "insurer.api_key")] == lost_before  # kept for a key found later

    as_json = rotated_app.test_cli_runner().invoke(args=["keys", "rotate", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["undecryptable"] == [
        {"table": "shop_secrets", "shop_id": shop.shop.id, "name": "insurer.api_key"}
    ]


def test_a_secret_changed_meanwhile_keeps_its_new_value(app, rotated_app, shop):
    """A merchant saves a secret between the read and the write: the compare-and-set leaves their value."""
    shop_id = shop.shop.id
    box = rotated_app.extensions["secret_box"]
    merchant_value = box.encrypt("whsec_changed_by_the_merchant")

    class Interleaved:
        def reencrypt(self, ciphertext: str) -> str | None:
            with db.engine.begin() as other:  # another process saves the secret now
                other.execute(update(ShopSecret).where(ShopSecret.shop_id == shop_id).values(ciphertext=merchant_value))
            return box.reencrypt(ciphertext)

    with rotated_app.app_context():
        summary = key_rotation.rotate(Interleaved(), utcnow(), batch_size=1)  # type: ignore[arg-type]
    assert summary.report()["changed_meanwhile"] == 1 and summary.report()["reencrypted"] == 0
    assert _ciphertexts(app)[(shop_id, "platform.webhook_secret")] == merchant_value


def test_the_rotation_knows_every_encrypted_column():
    encrypted = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if "ciphertext" in column.name
    }
    assert encrypted == {(c.table.name, c.ciphertext) for c in key_rotation.ENCRYPTED_COLUMNS}
