"""The insurer transport: one look-up per request, the checked address is the one dialled, redirects stay put.

No test here opens a socket to anything but 127.0.0.1: connections to other addresses are stopped inside urllib3
(HTTPConnection._new_conn) before a socket exists, and recorded.
"""

from __future__ import annotations

import socket

import pytest
from urllib3.connection import HTTPConnection
from urllib3.exceptions import NewConnectionError

from plugin.insurers.base import InsurerConfigError, InsurerRefusedError, TransientInsurerError
from plugin.insurers.http import HttpPipeline
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.net_guard import guarded_session
from tests.fake_dns import FakeDns
from tests.loopback_http import loopback_server

PUBLIC = "93.184.216.34"


@pytest.fixture()
def dialled(monkeypatch):
    """Every connection urllib3 is asked to open, as (host, port, SNI name, name the certificate must match)."""
    attempts: list[tuple[str, int, str | None, str | None]] = []
    real_new_conn = HTTPConnection._new_conn

    def new_conn(self):
        attempts.append(
            (self.host, self.port, getattr(self, "server_hostname", None), getattr(self, "assert_hostname", None))
        )
        if self.host != "127.0.0.1":
            raise NewConnectionError(self, "stopped by the test: not a loopback address")
        return real_new_conn(self)

    monkeypatch.setattr(HTTPConnection, "_new_conn", new_conn)
    return attempts


def test_a_rebinding_answer_cannot_move_the_connection(monkeypatch, dialled):
    # First answer public (what the check sees), every later answer loopback (what a second look-up would dial).
    dns = FakeDns({"insurer.example": [[PUBLIC], ["127.0.0.1"]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    pipeline = HttpPipeline("https://insurer.example/api", secrets=[], allow_private=False)
    with pytest.raises(TransientInsurerError, match="connection failed"):
        pipeline.send("GET", "ping")
    assert dialled == [(PUBLIC, 443, "insurer.example", "insurer.example")]
    assert dns.lookups == ["insurer.example"]


def test_each_request_checks_a_fresh_answer_so_a_later_rebind_is_refused(monkeypatch, dialled):
    dns = FakeDns({"insurer.example": [[PUBLIC], ["127.0.0.1"]]})
    pipeline = HttpPipeline("https://insurer.example", secrets=[], allow_private=False, resolver=dns.resolver)
    with pytest.raises(TransientInsurerError):
        pipeline.send("GET", "ping")
    with pytest.raises(InsurerConfigError, match="resolves to a private") as refused:
        pipeline.send("GET", "ping")
    assert not refused.value.retryable
    assert dialled == [(PUBLIC, 443, "insurer.example", "insurer.example")]
    assert dns.lookups == ["insurer.example", "insurer.example"]


@pytest.mark.parametrize("private", ["64:ff9b::a9fe:a9fe", "2002:a00:1::1", "::127.0.0.1", "10.0.0.7"])
def test_a_name_with_a_private_address_is_never_dialled(private, monkeypatch, dialled):
    dns = FakeDns({"insurer.example": [[PUBLIC, private]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    insurer = LoadsureInsurer(base_url="https://insurer.example", api_key="ls_key_0123456789")
    with pytest.raises(InsurerConfigError, match="resolves to a private"):
        insurer.cancel("LS-1", "order_cancelled")
    assert dialled == []


def test_proxy_settings_in_the_environment_cannot_route_around_the_pin(monkeypatch, dialled):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    dns = FakeDns({"insurer.example": [[PUBLIC]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    with pytest.raises(TransientInsurerError):
        HttpPipeline("https://insurer.example", secrets=[], allow_private=False).send("GET", "ping")
    assert dialled == [(PUBLIC, 443, "insurer.example", "insurer.example")]


def test_with_private_hosts_allowed_a_loopback_insurer_is_reached_by_name_through_the_pin(dialled):
    dns = FakeDns({"insurer.test": [["127.0.0.1"]]})
    with loopback_server(answer={"ok": True}) as server:
        pipeline = HttpPipeline(
            f"http://insurer.test:{server.port}/api", secrets=[], allow_private=True, resolver=dns.resolver
        )
        answer = pipeline.send("POST", "quote", json_body={"value": "1"})
    assert (answer.status, answer.body) == (200, {"ok": True})
    assert [(request.method, request.path) for request in server.received] == [("POST", "/api/quote")]
    assert server.received[0].headers["Host"] == f"insurer.test:{server.port}"
    assert dns.lookups == ["insurer.test"]
    assert [(host, port) for host, port, *_ in dialled] == [("127.0.0.1", server.port)]


def test_a_redirect_is_not_followed_and_fails_the_call_for_good():
    with loopback_server(answer={"certificateNumber": "stolen"}) as elsewhere:
        redirect = {"Location": f"{elsewhere.url}/steal"}
        with loopback_server(status=302, headers=redirect) as insurer_host:
            insurer = LoadsureInsurer(base_url=insurer_host.url, api_key="ls_key_0123456789", allow_private=True)
            with pytest.raises(InsurerRefusedError, match="redirect") as refused:
                insurer.cancel("LS-1", "order_cancelled")
    assert not refused.value.retryable and refused.value.status == 302
    assert "not followed" in refused.value.message
    assert len(insurer_host.received) == 1
    assert elsewhere.received == []


def test_the_guarded_session_never_follows_redirects_even_when_asked():
    with loopback_server() as elsewhere:
        redirect = {"Location": f"{elsewhere.url}/"}
        with loopback_server(status=307, headers=redirect) as first:
            response = guarded_session(allow_private=True).get(first.url, allow_redirects=True, timeout=5)
    assert response.status_code == 307 and response.history == []
    assert elsewhere.received == []


def test_without_the_operator_switch_the_guarded_session_refuses_plain_http():
    with loopback_server() as server, pytest.raises(ValueError, match="https"):
        guarded_session().get(server.url, timeout=5)
    assert server.received == []
