"""Outbound HTTP that cannot be turned against the merchant's own network (SSRF).

Two layers: `check_insurer_url` refuses URLs whose host, however spelled, names a non-public address (used when
settings are saved and before every call), and `guarded_session` resolves each request's host once, checks every
address, and connects to the checked address itself, so no second DNS answer (rebinding) decides where bytes go.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Answers every address a host name has, for a TCP connection to `port`; raises OSError when it has none.
Resolver = Callable[[str, int], Sequence[str]]

_PRIVATE_NAMES = ("localhost", "localhost.localdomain")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain", ".intranet", ".corp")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A final label that is all digits, or hex with 0x, makes resolvers and URL parsers read the host as an IPv4
# address in one of its legacy spellings (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_DEFAULT_PORTS = {"https": 443, "http": 80}

# IANA special-purpose registries, spelled out so the verdict does not depend on the Python version's tables.
_NON_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_NON_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/8",  # unspecified, loopback, IPv4-compatible, IPv4-mapped and IPv4-translated forms
        "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


class UnsafeUrlError(ValueError):
    """The URL may not be used for an outbound call."""


def is_public_address(ip: IPAddress) -> bool:
    """Whether `ip` is a globally routable unicast address, looking through IPv6 forms that embed an IPv4 one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _SIX_TO_FOUR:
            return is_public_address(ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))
        if ip.teredo is not None or any(ip in net for net in _NON_PUBLIC_V6):
            return False
    elif any(ip in net for net in _NON_PUBLIC_V4):
        return False
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_multicast, ip.is_reserved, ip.is_unspecified)
    return ip.is_global and not any(flags)


def default_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives `host` for TCP, in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # an IPv6 scope id is not part of the address
        if address not in addresses:
            addresses.append(address)
    return addresses


def _parse(url: str, *, allow_private: bool) -> SplitResult:
    """The URL's parts once its scheme and authority are of a shape we accept."""
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in allowed_schemes:
        raise UnsafeUrlError("must be an https:// URL")
    if "@" in parts.netloc:
        raise UnsafeUrlError("must not carry credentials; put them in their own fields")
    if "%" in parts.netloc:
        raise UnsafeUrlError("must not percent-encode its host")
    if "\\" in url or any(char.isspace() or ord(char) < 0x20 for char in url):
        raise UnsafeUrlError("must not contain spaces, control characters or backslashes")
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise UnsafeUrlError("has an invalid port") from None
    return parts


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (canonical IPv4 or IPv6), None for a DNS name.

    Raises UnsafeUrlError for hosts that resolvers would read as a legacy IPv4 spelling.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        raise UnsafeUrlError("has an invalid IPv6 address")
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        raise UnsafeUrlError("must write an IPv4 address as four decimal numbers (or use a host name)")
    return None


def check_host(host: str, *, allow_private: bool) -> IPAddress | None:
    """Refuse a host that is not a plain public name or address; the address if it is a literal one."""
    if not host:
        raise UnsafeUrlError("must name a host")
    if not host.isascii():
        raise UnsafeUrlError("must write its host in ASCII (use the xn-- form of an international name)")
    if host.endswith("."):
        raise UnsafeUrlError("must not end its host with a dot")
    address = literal_address(host)
    if address is not None:
        if not allow_private and not is_public_address(address):
            raise UnsafeUrlError("points at a private, loopback, link-local or otherwise non-public address")
        return address
    if not all(_LABEL.match(label) for label in host.split(".")):
        raise UnsafeUrlError("has an invalid host name")
    if not allow_private and (host in _PRIVATE_NAMES or host.endswith(_PRIVATE_SUFFIXES)):
        raise UnsafeUrlError("points at a private host")
    return None


def check_addresses(addresses: Sequence[str], *, allow_private: bool) -> None:
    """Refuse unless every address a name resolved to is public (one private answer is enough to refuse)."""
    if allow_private:
        return
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise UnsafeUrlError("resolves to something that is not an IP address") from None
        if not is_public_address(ip):
            raise UnsafeUrlError("resolves to a private, loopback, link-local or otherwise non-public address")


def check_insurer_url(url: str, *, allow_private: bool, resolve: bool = True, resolver: Resolver | None = None) -> None:
    """Raise UnsafeUrlError unless `url` is an https URL whose host and every address it resolves to are public."""
    parts = _parse(url, allow_private=allow_private)
    host = parts.hostname or ""
    if check_host(host, allow_private=allow_private) is not None or not resolve or allow_private:
        return
    try:
        addresses = (resolver or default_resolver)(host, parts.port or _DEFAULT_PORTS[parts.scheme])
    except (OSError, UnicodeError):
        # Unresolvable now (offline, or a name not yet live): the transport checks again before each call.
        return
    check_addresses(addresses, allow_private=allow_private)


def pin_address(host: str, port: int, *, allow_private: bool, resolver: Resolver) -> str:
    """The one checked address to connect to: `host` resolved once, every answer public (or allowed)."""
    literal = check_host(host, allow_private=allow_private)
    if literal is not None:
        return str(literal)
    addresses = list(resolver(host, port))
    if not addresses:
        raise OSError(f"{host} has no address")
    check_addresses(addresses, allow_private=allow_private)
    return addresses[0]


class PinnedAdapter(HTTPAdapter):
    """Connects to the address checked for this request; TLS still verifies (and SNI names) the URL's host."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None, **kwargs: Any) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or default_resolver
        super().__init__(**kwargs)

    def get_connection_with_tls_context(
        self,
        request: PreparedRequest,
        verify: Any,
        proxies: dict[str, str] | None = None,
        cert: Any = None,
    ) -> Any:
        """The pool for the pinned address; proxies are never used (they would resolve the name themselves)."""
        parts = _parse(request.url or "", allow_private=self.allow_private)
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from exc
        host = str(host_params["host"])
        port = host_params["port"] or _DEFAULT_PORTS[parts.scheme]
        try:
            address = pin_address(host, port, allow_private=self.allow_private, resolver=self.resolver)
        except UnicodeError as exc:
            raise UnsafeUrlError("has a host name that cannot be looked up") from exc
        except OSError as exc:
            raise requests.exceptions.ConnectionError(f"could not resolve {host}: {exc}", request=request) from exc
        if parts.scheme == "https":
            # SNI and certificate matching use the name; the pool key includes it, so pools never mix names.
            pool_kwargs = {**pool_kwargs, "server_hostname": host, "assert_hostname": host}
        return self.poolmanager.connection_from_host(
            scheme=parts.scheme, host=address, port=port, pool_kwargs=pool_kwargs
        )

    def add_headers(self, request: PreparedRequest, **kwargs: Any) -> None:
        """Name the URL's host in `Host`: the connection itself only knows the pinned address."""
        request.headers["Host"] = urlsplit(request.url or "").netloc


class GuardedSession(requests.Session):
    """A requests session that never follows redirects and never reads proxy settings from the environment."""

    def get_redirect_target(self, resp: Response) -> str | None:
        """No redirect is ever followed: credentials must not travel to a host nobody checked."""
        return None


def guarded_session(*, allow_private: bool = False, resolver: Resolver | None = None) -> requests.Session:
    """A session for outbound calls to merchant-configured URLs (insurers, webhooks): pinned, checked, no redirects.

    A refused host raises UnsafeUrlError (not retryable); an unresolvable one raises requests.ConnectionError.
    """
    session = GuardedSession()
    session.trust_env = False  # HTTPS_PROXY and friends would route around the pinned address
    adapter = PinnedAdapter(allow_private=allow_private, resolver=resolver)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
