"""The SSRF guard: every spelling of a non-public host is refused, public hosts pass; no real DNS is asked."""

from __future__ import annotations

import socket

import pytest

from plugin.net_guard import UnsafeUrlError, check_insurer_url
from tests.fake_dns import FakeDns

PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"

HOSTILE_URLS = [
    # percent-encoded hosts: resolvers and some clients decode them
    "https://%31%32%37.0.0.1/", "https://%6c%6f%63%61%6c%68%6f%73%74/",
    # IPv6 forms that carry an IPv4 address
    "https://[::127.0.0.1]/", "https://[::a00:1]/", "https://[64:ff9b::127.0.0.1]/", "https://[64:ff9b::10.0.0.1]/",
    "https://[64:ff9b::169.254.169.254]/", "https://[64:ff9b:1::a00:1]/", "https://[64:ff9b:1::808:808]/",
    "https://[2002:7f00:1::]/", "https://[2002:a9fe:a9fe::1]/", "https://[2002:c0a8:101::1]/", "https://[fec0::1]/",
    # legacy IPv4 spellings that inet_aton and browsers accept
    "https://127.1/", "https://2130706433/", "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://0x7f000001/",
    "https://017700000001/", "https://10.1/", "https://169.254.43518/", "https://127.1./",
    # special-purpose IPv4 the old check let through
    "https://192.0.0.8/",
    # unicode that normalises to ASCII (fullwidth digits, enclosed letters)
    "https://１２７.０.０.１/", "https://ⓛocalhost/", "https://loc\u0430lhost/",
    # trailing dots and malformed authorities
    "https://api.xcover.com./", "https://api.xcover.com:99999/",
]  # fmt: skip


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_spellings_of_a_host_are_refused_without_dns(url, monkeypatch):
    dns = FakeDns({})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    with pytest.raises(UnsafeUrlError):
        check_insurer_url(url, allow_private=False)


@pytest.mark.parametrize(
    "private",
    ["64:ff9b::a00:5", "64:ff9b::7f00:1", "2002:a00:1::1", "::127.0.0.1", "fec0::1", "192.0.0.9", "64:ff9b:1::1"],
)
def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(private, monkeypatch):
    dns = FakeDns({"insurer.example": [[PUBLIC_V4, private]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    with pytest.raises(UnsafeUrlError, match="resolves to a private"):
        check_insurer_url("https://insurer.example/api", allow_private=False)
    assert dns.lookups == ["insurer.example"]


def test_an_injected_resolver_is_the_one_asked():
    dns = FakeDns({"insurer.example": [["10.1.2.3"]]})
    with pytest.raises(UnsafeUrlError, match="resolves to a private"):
        check_insurer_url("https://insurer.example/", allow_private=False, resolver=dns.resolver)
    assert dns.lookups == ["insurer.example"]


@pytest.mark.parametrize(
    "url",
    ["https://api.xcover.com/xcover", "https://insurer.example:8443/api", f"https://{PUBLIC_V4}/",
     f"https://[{PUBLIC_V6}]/", "https://[64:ff9b::808:808]/", "https://[2002:808:808::1]/", "https://xn--mnchen-3ya.de/"],
)  # fmt: skip
def test_public_hosts_and_embedded_public_addresses_pass(url, monkeypatch):
    dns = FakeDns({"api.xcover.com": [[PUBLIC_V4]], "insurer.example": [[PUBLIC_V4, PUBLIC_V6]],
                   "xn--mnchen-3ya.de": [[PUBLIC_V4]]})  # fmt: skip
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    check_insurer_url(url, allow_private=False)


def test_the_operator_switch_allows_plain_http_and_loopback_but_not_odd_spellings():
    check_insurer_url("http://127.0.0.1:9/", allow_private=True)
    check_insurer_url("http://localhost:8080/", allow_private=True, resolve=False)
    for url in ("http://%31%32%37.0.0.1/", "http://127.1/", "ftp://127.0.0.1/", "http://u:p@127.0.0.1/"):
        with pytest.raises(UnsafeUrlError):
            check_insurer_url(url, allow_private=True)


def test_errors_say_what_is_wrong():
    cases = {
        "http://api.xcover.com": "must be an https:// URL",
        "https://%31%32%37.0.0.1": "must not percent-encode its host",
        "https://0x7f.0.0.1": "four decimal numbers",
        "https://[::127.0.0.1]": "non-public address",
        "https://user:secret@api.xcover.com": "must not carry credentials",
    }
    for url, message in cases.items():
        with pytest.raises(UnsafeUrlError, match=message):
            check_insurer_url(url, allow_private=False, resolve=False)
