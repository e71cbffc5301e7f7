"""A scripted stand-in for socket.getaddrinfo: names answer from a script, IP literals answer themselves, no DNS."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any


class FakeDns:
    """Each look-up of a name pops the next scripted answer (the last one repeats); every call is recorded."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self.answers = {name: [list(answer) for answer in script] for name, script in answers.items()}
        self.lookups: list[str] = []

    def addresses(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]  # a numeric host: what the real resolver does, no query
        except ValueError:
            pass
        self.lookups.append(host)
        script = self.answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return script.pop(0) if len(script) > 1 else script[0]

    def resolver(self, host: str, port: int) -> list[str]:
        """The net_guard.Resolver interface."""
        return self.addresses(host)

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0):
        """The socket.getaddrinfo interface."""
        port_number = int(port or 0)
        infos = []
        for address in self.addresses(host.decode() if isinstance(host, bytes) else str(host)):
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port_number, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_number)))
        return infos
