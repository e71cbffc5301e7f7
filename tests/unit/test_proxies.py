"""FORWARDED_ALLOW_IPS: parsing, and the client's address picked from X-Forwarded-For behind trusted proxies."""

from __future__ import annotations

import pytest

from plugin.config import ConfigurationError, load_config
from plugin.proxies import InvalidProxyList, ProxyHeaders, TrustedProxies, parse_allow_list


def test_entries_are_addresses_networks_or_a_star():
    assert parse_allow_list("") == ()
    assert parse_allow_list(" 10.0.0.0/8 , 192.0.2.7,, ::1 ") == ("10.0.0.0/8", "192.0.2.7/32", "::1/128")
    assert parse_allow_list("*") == ("*",)
    assert parse_allow_list("10.0.0.1,10.0.0.1/32") == ("10.0.0.1/32",)


@pytest.mark.parametrize("raw", ["localhost", "10.0.0.1/8", "10.0.0.0/33", "300.1.1.1", "10.0.0.0/8;10.1.0.0/16"])
def test_anything_else_stops_the_start_with_a_clear_message(raw, tmp_path):
    with pytest.raises(InvalidProxyList):
        parse_allow_list(raw)
    with pytest.raises(ConfigurationError, match="FORWARDED_ALLOW_IPS must be"):
        load_config({"SECRET_KEY": "k" * 32, "FORWARDED_ALLOW_IPS": raw}, str(tmp_path))


def test_the_default_trusts_no_proxy(tmp_path):
    assert load_config({"SECRET_KEY": "k" * 32}, str(tmp_path))["FORWARDED_ALLOW_IPS"] == ()
    proxies = TrustedProxies(())
    assert not proxies
    assert proxies.client("127.0.0.1", "203.0.113.7") == "127.0.0.1"


PROXIES = TrustedProxies(parse_allow_list("10.0.0.0/8,192.0.2.7"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.1.2.3", "203.0.113.7", "203.0.113.7"),  # one proxy
        ("10.1.2.3", "203.0.113.7, 10.9.9.9", "203.0.113.7"),  # two proxies of ours
        ("10.1.2.3", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client sent a made-up first entry
        ("10.1.2.3", "198.51.100.1,203.0.113.7,192.0.2.7", "203.0.113.7"),
        ("10.1.2.3", "10.5.5.5, 10.6.6.6", "10.5.5.5"),  # every hop ours: the farthest
        ("10.1.2.3", "203.0.113.7:51234", "203.0.113.7"),  # a port, as some balancers add
        ("10.1.2.3", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.1.2.3", "2001:db8::1", "2001:db8::1"),
        ("10.1.2.3", "unknown", "10.1.2.3"),  # not an address: the proxy's own
        ("10.1.2.3", "203.0.113.7, garbage", "10.1.2.3"),
        ("10.1.2.3", None, "10.1.2.3"),
        ("::ffff:10.1.2.3", "203.0.113.7", "203.0.113.7"),  # an IPv4 proxy on a dual-stack socket
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not a proxy: the header is ignored
        ("11.0.0.1", "203.0.113.7", "11.0.0.1"),
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(peer, forwarded_for, client):
    assert PROXIES.client(peer, forwarded_for) == client


def test_a_star_trusts_any_peer_but_not_the_addresses_it_forwards():
    proxies = TrustedProxies(parse_allow_list("*"))
    assert proxies.client("203.0.113.50", "198.51.100.1, 203.0.113.7") == "203.0.113.7"


def test_a_unix_socket_peer_counts_as_the_proxy_once_one_is_configured():
    assert PROXIES.client("", "203.0.113.7") == "203.0.113.7"
    assert TrustedProxies(()).client("", "203.0.113.7") == ""


def _run(middleware: ProxyHeaders, **environ: str) -> dict[str, str]:
    seen: dict[str, str] = {}

    def app(env, start_response):
        seen.update(env)
        return [b""]

    ProxyHeaders(app, middleware.proxies)({"wsgi.url_scheme": "http", **environ}, lambda *a: None)
    return seen


def test_the_middleware_rewrites_address_and_scheme_from_trusted_peers_only():
    middleware = ProxyHeaders(lambda e, s: [b""], PROXIES)
    behind = _run(
        middleware, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7", HTTP_X_FORWARDED_PROTO="https"
    )
    assert (behind["REMOTE_ADDR"], behind["wsgi.url_scheme"]) == ("203.0.113.7", "https")
    forged = _run(
        middleware, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1", HTTP_X_FORWARDED_PROTO="https"
    )
    assert (forged["REMOTE_ADDR"], forged["wsgi.url_scheme"]) == ("203.0.113.9", "http")
    odd = _run(middleware, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="gopher")
    assert odd["wsgi.url_scheme"] == "http"
    chained = _run(middleware, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="http, HTTPS")
    assert chained["wsgi.url_scheme"] == "https"
