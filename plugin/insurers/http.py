"""The pipeline every HTTP adapter shares: build → send (timeout, pinned checked address) → parse → classify → scrub."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from plugin.insurers.base import (
    InsurerAuthError,
    InsurerConfigError,
    InsurerError,
    InsurerRefusedError,
    TransientInsurerError,
)
from plugin.net_guard import Resolver, UnsafeUrlError, check_insurer_url, guarded_session

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = (5.0, 20.0)  # connect, read (seconds)

# One table from HTTP status to our error types; adapters add their own rows (XCover's 423, …).
STATUS_ERRORS: dict[int, type[InsurerError]] = {
    400: InsurerRefusedError,
    401: InsurerAuthError,
    403: InsurerAuthError,
    404: InsurerRefusedError,
    408: TransientInsurerError,
    409: InsurerRefusedError,
    422: InsurerRefusedError,
    423: TransientInsurerError,
    429: TransientInsurerError,
}


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A parsed insurer answer: status and JSON body (decimals kept exact)."""

    status: int
    body: Any


class HttpPipeline:
    """Sends requests to one insurer host and turns every outcome into an answer or a typed error."""

    def __init__(
        self,
        base_url: str,
        *,
        secrets: Iterable[str],
        allow_private: bool,
        session: requests.Session | None = None,
        resolver: Resolver | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        status_errors: Mapping[int, type[InsurerError]] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secrets = [secret for secret in secrets if secret]
        self._allow_private = allow_private
        # The session resolves each request's host once, checks every address and connects to the checked one.
        self._session = session or guarded_session(allow_private=allow_private, resolver=resolver)
        self._timeout = timeout
        self._status_errors = {**STATUS_ERRORS, **(status_errors or {})}

    def scrub(self, text: str) -> str:
        """The text with every credential of this insurer blanked out (for logs and stored errors)."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text[:900]

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Callable[[str, str], Mapping[str, str]] | Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        """One request; the answer whatever its status (classify() decides what a status means)."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            # The spelling is checked here; the addresses are checked by the session, once, at connect time.
            check_insurer_url(url, allow_private=self._allow_private, resolve=False)
        except UnsafeUrlError as exc:
            raise InsurerConfigError(f"insurer base_url {exc}") from exc
        request_headers = dict(headers(method, url) if callable(headers) else headers or {})
        body = None if json_body is None else json.dumps(json_body, default=str).encode()
        if body is not None:
            request_headers.setdefault("Content-Type", "application/json")
        try:
            response = self._session.request(
                method,
                url,
                data=body,
                params=params,
                headers=request_headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except UnsafeUrlError as exc:
            raise InsurerConfigError(f"insurer base_url {exc}") from exc
        except requests.Timeout as exc:
            raise TransientInsurerError(f"{method} {path}: timed out") from exc
        except requests.ConnectionError as exc:
            raise TransientInsurerError(f"{method} {path}: connection failed ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise TransientInsurerError(f"{method} {path}: {type(exc).__name__}") from exc
        if 300 <= response.status_code < 400:
            # Following it would send the credentials to a URL nobody checked (another host, or plain http).
            raise InsurerRefusedError(
                f"{method} {path}: the insurer answered with a redirect (HTTP {response.status_code}), "
                "which is not followed; check insurer.config.base_url",
                status=response.status_code,
            )
        try:
            parsed = json.loads(response.text, parse_float=Decimal) if response.text.strip() else None
        except ValueError:
            parsed = None
            if 200 <= response.status_code < 300:
                # A success we cannot read is an unclear outcome: try again (idempotently), never assume.
                raise TransientInsurerError(f"{method} {path}: unreadable {response.status_code} answer") from None
        return HttpAnswer(response.status_code, parsed)

    def fail(self, answer: HttpAnswer, what: str, message: str | None) -> InsurerError:
        """The typed error for a non-success answer."""
        error_type = self._status_errors.get(answer.status)
        if error_type is None:
            error_type = TransientInsurerError if answer.status >= 500 else InsurerRefusedError
        text = f"{what}: HTTP {answer.status}" + (f": {message}" if message else "")
        return error_type(self.scrub(text), status=answer.status)
