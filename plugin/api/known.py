"""A 404 for an unknown object before its request body is read (as Stripe answers for an unknown object)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from plugin.auth import current_snapshot

F = TypeVar("F", bound=Callable[..., Any])


def known(lookup: Callable[[str, str], object], id_argument: str) -> Callable[[F], F]:
    """Call `lookup(shop_id, <the URL's id>)` (which raises the 404) before the view and its body parsing."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            lookup(current_snapshot().id, kwargs[id_argument])
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
