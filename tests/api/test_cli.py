"""The `shops` commands, as a merchant runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from plugin.extensions import db
from plugin.models import Shop
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer


def test_shops_create_prints_one_json_object_whose_keys_work(app, client):
    result = app.test_cli_runner().invoke(
        args=["shops", "create", "--name", "Jade House", "--currency", "USD", "--json"]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert set(created) == {
        "id",
        "name",
        "currency",
        "publishable_key",
        "secret_key",
        "platform_webhook_secret",
    }
    assert created["id"].startswith("shop_") and created["currency"] == "USD"
    assert created["publishable_key"].startswith("pk_") and created["secret_key"].startswith("sk_")
    assert client.get("/api/v1/settings", headers=bearer(created["secret_key"])).status_code == 200
    assert (
        client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(created["publishable_key"])).status_code
        == 200
    )


def test_shops_create_refuses_an_unknown_currency(app):
    result = app.test_cli_runner().invoke(args=["shops", "create", "--name", "X", "--currency", "ABC"])
    assert result.exit_code != 0
    assert "ISO 4217" in result.output
    with app.app_context():
        assert db.session.query(Shop).count() == 0


def test_roll_keys(app, client, shop):
    result = app.test_cli_runner().invoke(args=["shops", "roll-keys", "--shop", shop.shop.id, "--json"])
    assert result.exit_code == 0, result.output
    rolled = json.loads(result.output)
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).status_code == 401
    assert client.get("/api/v1/settings", headers=bearer(rolled["secret_key"])).status_code == 200


def test_roll_keys_of_an_unknown_shop(app):
    result = app.test_cli_runner().invoke(args=["shops", "roll-keys", "--shop", "shop_nope"])
    assert result.exit_code != 0 and "no shop" in result.output


def test_shops_list(app, shop):
    result = app.test_cli_runner().invoke(args=["shops", "list"])
    assert shop.shop.id in result.output and "Jade House" in result.output


def test_demo_shop_is_made_once_and_its_keys_shown_again(app, client):
    from plugin.cli import ensure_demo_shop

    with app.app_context():
        first = ensure_demo_shop()
        again = ensure_demo_shop()
        assert first[0].id == again[0].id
        assert first[1:] == again[1:]
    assert client.get("/api/v1/settings", headers=bearer(again[2])).status_code == 200


def test_demo_shop_over_a_real_shop_gets_keys_of_its_own(app, client, shop):
    from plugin.cli import ensure_demo_shop

    with app.app_context():
        demo_shop, _publishable, secret = ensure_demo_shop()
        assert demo_shop.id == shop.shop.id and secret != shop.keys.secret_key
    assert client.get("/api/v1/settings", headers=bearer(secret)).status_code == 200


def test_demo_needs_demo_mode(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "DEMO=1" in result.output


@pytest.mark.parametrize("command", [["shops", "list"], ["worker", "--drain"]])
def test_a_command_without_secret_key_says_what_to_set_in_one_line(tmp_path, command):
    environ = {name: value for name, value in os.environ.items() if name not in {"SECRET_KEY", "DEMO", "TESTING"}}
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "flask", "--app", "plugin", *command],
        env={**environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines() == [
        "Error: SECRET_KEY is not set; set SECRET_KEY to a long random string (or DEMO=1 for the demo)"
    ]


def test_the_demo_owner_is_made_once_and_can_sign_in(app):
    from plugin.cli import ensure_demo_owner, ensure_demo_shop
    from tests.admin_helpers import AdminUser, sign_in

    with app.app_context():
        demo_shop = ensure_demo_shop()[0]
        email, password = ensure_demo_owner(demo_shop)
        assert ensure_demo_owner(demo_shop) == (email, password)
        shop_id = demo_shop.id
    answer = sign_in(app.test_client(), AdminUser("", shop_id, email, "owner", password))
    assert answer.status_code == 302
