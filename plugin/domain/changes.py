"""What changed between two versions of a settings document: the audit log's before and after."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

# Objects compared whole rather than key by key: their keys are the merchant's data, not field names.
WHOLE_VALUES = frozenset({"pricing.category_rates"})
_ABSENT = object()


def leaves(document: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Each field of a document as (dotted path, value); lists and WHOLE_VALUES are single values."""
    if isinstance(document, dict) and prefix not in WHOLE_VALUES:
        for key, value in document.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, document


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def changed_fields(
    before: dict[str, Any], after: dict[str, Any], always: Collection[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, as two documents of only those fields (a field absent on one side is
    left out of that side). Paths in `always` count as changed even when equal (a secret replaced by another
    whose masked form reads the same)."""
    old = dict(leaves(before))
    new = dict(leaves(after))
    was: dict[str, Any] = {}
    now: dict[str, Any] = {}
    for path in sorted(old.keys() | new.keys()):
        first, second = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if first == second and path not in always:
            continue
        if first is not _ABSENT:
            _put(was, path, first)
        if second is not _ABSENT:
            _put(now, path, second)
    return was, now
