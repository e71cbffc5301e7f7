"""Refuse insurer URLs that point inside the merchant's network (SSRF), unless the operator allows it."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class UnsafeUrlError(ValueError):
    """The URL may not be used as an insurer's base URL."""


def _is_private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _resolved_addresses(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        # Unresolvable now (offline, or a name not yet live): the worker checks again before each call.
        return []
    return [str(info[4][0]) for info in infos]


def check_insurer_url(url: str, *, allow_private: bool, resolve: bool = True) -> None:
    """Raise UnsafeUrlError unless `url` is an https URL on a public host."""
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in allowed_schemes:
        raise UnsafeUrlError("must be an https:// URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeUrlError("must name a host")
    if parts.username or parts.password:
        raise UnsafeUrlError("must not carry credentials; put them in their own fields")
    if allow_private:
        return
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        raise UnsafeUrlError("points at a private host")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = _resolved_addresses(host) if resolve else []
    if any(_is_private_address(address) for address in addresses):
        raise UnsafeUrlError("points at a private, loopback or link-local address")
