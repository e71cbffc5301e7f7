"""State machines: which status may follow which, checked in one place for every kind of record."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

S = TypeVar("S", bound=StrEnum)


class ForbiddenTransitionError(Exception):
    """A status change the state machine does not allow (a bug or a race, never a client's input)."""

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__(f"{machine}: {current} -> {target} is not allowed")
        self.machine = machine
        self.current = current
        self.target = target


def move(machine: str, allowed: Mapping[S, frozenset[S]], current: str, target: S) -> S:
    """`target` if the machine allows `current -> target` (staying put is always allowed), else raise."""
    status = type(target)(current)  # a stored string that is not a status is a ValueError, loudly
    if status is target or target in allowed.get(status, frozenset()):
        return target
    raise ForbiddenTransitionError(machine, str(status), str(target))
