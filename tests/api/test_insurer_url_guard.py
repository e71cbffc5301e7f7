"""Insurer URLs through the real interfaces: settings refuse hostile hosts; the worker never follows a redirect."""

from __future__ import annotations

import socket

import pytest

from plugin.worker import Worker
from tests.api.test_worker import Clock, policy, ship
from tests.conftest import bearer
from tests.fake_dns import FakeDns
from tests.loopback_http import loopback_server
from tests.stripe_helpers import protected_order


def patch_base_url(client, shop, url):
    body = {"insurer": {"provider": "loadsure", "config": {"api_key": "ls_key_123456", "base_url": url}}}
    return client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))


def saved_settings(client, shop):
    return client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json()


@pytest.mark.parametrize(
    "url",
    ["https://%31%32%37.0.0.1/", "https://[::127.0.0.1]/", "https://[64:ff9b::10.0.0.1]/", "https://[2002:a9fe:a9fe::1]/",
     "https://127.1/", "https://2130706433/", "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://１２７.０.０.１/",
     "https://api.xcover.com./"],
)  # fmt: skip
def test_hostile_insurer_urls_are_a_422_on_the_base_url_and_save_nothing(client, shop, url):
    before = saved_settings(client, shop)
    response = patch_base_url(client, shop, url)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    [message] = error["fields"]["insurer.config.base_url"]
    assert message.startswith("The insurer URL ")
    assert saved_settings(client, shop) == before


def test_a_name_resolving_to_an_embedded_private_address_is_a_422(app, client, shop, monkeypatch):
    dns = FakeDns({"insurer.example": [["93.184.216.34", "64:ff9b::a9fe:a9fe"]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    monkeypatch.setitem(app.config, "RESOLVE_INSURER_HOSTS", True)
    response = patch_base_url(client, shop, "https://insurer.example/api")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["insurer.config.base_url"] == [
        "The insurer URL resolves to a private, loopback, link-local or otherwise non-public address."
    ]
    assert dns.lookups == ["insurer.example"]


def test_an_insurer_redirect_fails_the_policy_for_good_and_goes_nowhere(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_INSURER_HOSTS", True)
    with loopback_server(answer={"certificateNumber": "LS-STOLEN"}) as elsewhere:
        redirect = {"Location": f"{elsewhere.url}/api/insureLoad/quote"}
        with loopback_server(status=302, headers=redirect) as insurer:
            assert patch_base_url(client, shop, insurer.url).status_code == 200
            protected_order(client, shop)
            pending = ship(client, shop)["policy"]
            assert pending["provider"] == "loadsure"
            Worker(app, clock=Clock(), jitter=lambda: 0.5).drain()
    failed = policy(client, shop, pending["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 1, failed
    assert "redirect (HTTP 302), which is not followed" in failed["last_error"]
    assert [request.path for request in insurer.received] == ["/api/insureLoad/quote"]
    assert elsewhere.received == []
