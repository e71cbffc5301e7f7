"""The client's address behind trusted reverse proxies (FORWARDED_ALLOW_IPS), for rate limits and logs.

A proxy appends the address it received a request from to X-Forwarded-For, so the header reads
`client, proxy1, proxy2` and the server sees the last proxy as its peer. Everything left of what a trusted proxy
appended is whatever the client chose to send, so the client is the rightmost address that is not itself a
trusted proxy; a header from a peer that is not a trusted proxy is ignored entirely (a shopper cannot dodge a
rate limit by inventing addresses). gunicorn reads the same FORWARDED_ALLOW_IPS for X-Forwarded-Proto;
gunicorn.conf.py hands it our value, so both trust the same peers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any

MAX_REMEMBERED = 4096
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class InvalidProxyList(ValueError):
    """FORWARDED_ALLOW_IPS names something that is not an address, a network or `*`."""


def parse_allow_list(raw: str) -> tuple[str, ...]:
    """The entries of FORWARDED_ALLOW_IPS ("10.0.0.0/8, 192.0.2.7", "*"), normalized; InvalidProxyList for a typo.

    Networks are strict, as gunicorn reads them: `10.0.0.1/8` (host bits set) is refused rather than guessed at.
    """
    entries = []
    for part in raw.split(","):
        entry = part.strip()
        if not entry:
            continue
        if entry == "*":
            entries.append(entry)
            continue
        try:
            network = ipaddress.ip_network(entry)
        except ValueError:
            raise InvalidProxyList(
                f"FORWARDED_ALLOW_IPS must be comma-separated addresses or networks "
                f"(such as 10.0.0.0/8,192.0.2.7) or *, not {entry!r}"
            ) from None
        entries.append(str(network))
    return tuple(dict.fromkeys(entries))


def _packed(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer), or None when `text` is not an address.

    socket.inet_pton rather than the ipaddress module: it runs on every proxied request, and parsing with
    ipaddress costs about 10 µs where this costs well under one.
    """
    try:
        return 4, int.from_bytes(inet_pton(AF_INET, text), "big")
    except OSError:
        pass
    try:
        value = int.from_bytes(inet_pton(AF_INET6, text), "big")
    except OSError:
        return None
    if value >> 32 == 0xFFFF:  # ::ffff:10.0.0.1, an IPv4 peer on a dual-stack socket
        return 4, value & 0xFFFFFFFF
    return 6, value


def _hop_address(text: str) -> tuple[str, tuple[int, int]] | None:
    """The address in one X-Forwarded-For entry (`192.0.2.1`, `192.0.2.1:5050`, `[2001:db8::1]:443`) and its
    parsed form, or None."""
    text = text.strip()
    packed = _packed(text)
    if packed is not None:
        return text, packed
    host = text[1 : text.find("]")] if text.startswith("[") else text.rpartition(":")[0]
    packed = _packed(host)
    return None if packed is None else (host, packed)


def _address(text: str) -> str | None:
    """The address in one X-Forwarded-For entry, or None."""
    found = _hop_address(text)
    return None if found is None else found[0]


class TrustedProxies:
    """Which peers may speak for a client, and who the client then is."""

    def __init__(self, entries: Iterable[str]) -> None:
        entries = tuple(entries)
        # `*`: any peer is a proxy (the app is only reachable through one), yet the addresses inside the header
        # are only trusted when listed, so the client is what the last proxy appended.
        self.any_peer = "*" in entries
        networks = [ipaddress.ip_network(entry) for entry in entries if entry != "*"]
        self._networks = tuple(
            (network.version, int(network.network_address), int(network.netmask)) for network in networks
        )
        # Peers are few (the proxies), and so are the proxies' own entries in X-Forwarded-For: remember answers
        # (bounded: emptied when full, so a flood of distinct addresses costs a parse each and no memory).
        self._peers: dict[str, bool] = {}
        self._hops: dict[str, tuple[str, bool] | None] = {}

    def __bool__(self) -> bool:
        return self.any_peer or bool(self._networks)

    def _in_networks(self, packed: tuple[int, int]) -> bool:
        version, value = packed
        return any(version == v and value & mask == network for v, network, mask in self._networks)

    def trusts_peer(self, peer: str) -> bool:
        """Whether the connection's peer is a proxy whose forwarding headers count.

        A peer without an IP address (a Unix socket, which only local processes such as the proxy reach) counts,
        as gunicorn counts it, once any proxy is configured.
        """
        known = self._peers.get(peer)
        if known is None:
            packed = _packed(peer)
            known = self.any_peer or (bool(self._networks) if packed is None else self._in_networks(packed))
            if len(self._peers) >= MAX_REMEMBERED:
                self._peers.clear()
            self._peers[peer] = known
        return known

    def _hop(self, text: str) -> tuple[str, bool] | None:
        """One X-Forwarded-For entry: its address and whether it is a listed proxy; None when not an address."""
        if text in self._hops:
            return self._hops[text]
        found = _hop_address(text)
        known = None if found is None else (found[0], self._in_networks(found[1]))
        if len(self._hops) >= MAX_REMEMBERED:
            self._hops.clear()
        self._hops[text] = known
        return known

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the rightmost X-Forwarded-For address that is not a listed proxy.

        Only from a trusted peer; otherwise, or when what a trusted proxy appended is not an address (a
        misconfigured proxy passing the client's header through), the peer itself.
        """
        if not forwarded_for or not self.trusts_peer(peer):
            return peer
        return self.rightmost_untrusted(peer, forwarded_for)

    def rightmost_untrusted(self, peer: str, forwarded_for: str) -> str:
        """`client` once the peer is known to be trusted."""
        hops = forwarded_for.split(",")
        for hop in reversed(hops):
            known = self._hop(hop)
            if known is None:
                return peer
            if not known[1]:
                return known[0]
        return _address(hops[0]) or peer  # every hop is one of ours: the farthest one is the client


class ProxyHeaders:
    """WSGI middleware: REMOTE_ADDR becomes the client's address, wsgi.url_scheme what the trusted proxy says."""

    def __init__(self, app: WSGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Rewrite the environ when the peer is a trusted proxy, then call the app."""
        peer = environ.get("REMOTE_ADDR") or ""
        proxies = self.proxies
        if proxies.trusts_peer(peer):
            forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
            if forwarded_for:
                environ["REMOTE_ADDR"] = proxies.rightmost_untrusted(peer, forwarded_for)
            proto = environ.get("HTTP_X_FORWARDED_PROTO")
            if proto:
                # Several proxies may each have added one: the last is the one talking to us.
                proto = proto.rpartition(",")[2].strip().lower()
                if proto in ("http", "https"):
                    environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)


def install(app: Any, entries: Iterable[str]) -> None:
    """Wrap a Flask app's WSGI callable when any proxy is trusted (nothing runs per request otherwise)."""
    proxies = TrustedProxies(entries)
    if proxies:
        app.wsgi_app = ProxyHeaders(app.wsgi_app, proxies)
