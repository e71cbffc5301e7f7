"""Logs: one JSON object per line on stderr, each with the request id (or the job) it belongs to, never a secret.

A request's id is taken from a sane `X-Request-ID` header or made here, echoed in the answer's `X-Request-ID`
header and kept in a context variable while the request runs. Jobs queued meanwhile store it
(plugin.services.jobs.enqueue), and the worker puts it back in the context while it runs such a job, so every
line about a delivery, in the web process or the worker, carries the same id. Under gunicorn's gevent workers
each connection runs in its own greenlet, which has its own context.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import string
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeGuard

from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HEADER = "X-Request-ID"
# What an incoming id may look like: a uuid, a proxy's or load balancer's id (`Root=1-…`), our own. Anything else
# (too long, spaces, quotes, control characters) is replaced, so no client can forge log lines or bloat them.
_ID_CHARACTERS = string.ascii_letters + string.digits + "._:=+/-"
MAX_ID_LENGTH = 128


def sane_request_id(given: str | None) -> TypeGuard[str]:
    """Whether a client's id can be kept: 1 to 128 characters, all of them from _ID_CHARACTERS."""
    # strip() with the allowed set leaves nothing of a sane id: one C call, cheaper than a regex match.
    return given is not None and 0 < len(given) <= MAX_ID_LENGTH and not given.strip(_ID_CHARACTERS)


_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_job: ContextVar[tuple[str, str] | None] = ContextVar("job", default=None)

# Secrets that must never reach a line, whatever a message or an extra field carries (defence in depth: no code
# logs them knowingly): our and Stripe's keys, webhook signing secrets, Authorization credentials, and the
# HMACs of a Stripe-Signature header.
_SECRET = re.compile(
    r"\b(?P<prefix>(?:sk|pk|rk)_(?:live_|test_)?|p?whsec_)[A-Za-z0-9_]{6,}"
    r"|\b(?P<scheme>[Bb]earer|[Bb]asic)\s+[A-Za-z0-9._~+/=-]{6,}"
    r"|\b(?P<sig>v[01]=)[0-9a-fA-F]{16,}"
)


def _redact_match(match: re.Match[str]) -> str:
    if match.group("scheme"):
        return f"{match.group('scheme')} [redacted]"
    return f"{match.group('prefix') or match.group('sig')}[redacted]"


def redact(text: str) -> str:
    """The text with every key, signing secret, credential and signature blanked out."""
    return _SECRET.sub(_redact_match, text)


# ---- ids ------------------------------------------------------------------------------------------------------

# An id made here is this process's random prefix and a counter: unique across processes and machines (48 random
# bits each), and cheaper per request than uuid4 (~8x) or token_hex (~2x): no system call for randomness.
_prefix = secrets.token_hex(6)
_counter = itertools.count(1)


def _new_prefix() -> None:
    global _prefix, _counter
    _prefix = secrets.token_hex(6)  # a forked worker must not repeat its parent's (or a sibling's) ids
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    """A fresh id, unique across processes."""
    return f"{_prefix}{next(_counter):08x}"


def current_request_id() -> str | None:
    """The id of the request (or of the job's original request) this code runs for, if any."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Log lines written meanwhile, and jobs queued meanwhile, carry this request id (a queued delivery's)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


@contextmanager
def job_context(job_id: str, kind: str, request_id: str | None) -> Iterator[None]:
    """Log lines written meanwhile name the job and the request that queued it; jobs queued meanwhile keep it."""
    job_token = _job.set((job_id, kind))
    request_token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(request_token)
        _job.reset(job_token)


class RequestIds:
    """WSGI middleware: give each request its id, for its log lines and its `X-Request-ID` answer header."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID")
        request_id = given if sane_request_id(given) else new_request_id()
        token = _request_id.set(request_id)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            _request_id.reset(token)


# ---- records and formats --------------------------------------------------------------------------------------

_base_factory: Callable[..., logging.LogRecord] | None = None


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    record.request_id = _request_id.get()
    job = _job.get()
    if job is not None:
        record.job_id, record.job_kind = job
    return record


def _install_record_factory() -> None:
    """Stamp every record at its creation, so every handler (ours, gunicorn's, a test's) sees the ids."""
    # So `request_id`, `job_id` and `job_kind` are taken: logging refuses them as `extra` keys.
    global _base_factory
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record)


class JsonLines(JsonFormatter):
    """time, level, logger, message, request_id, then the extra fields; secrets blanked out."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message", "request_id"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC, to the millisecond."""
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line, redacted."""
        return redact(super().format(record))


class TextLines(logging.Formatter):
    """For people at a terminal (LOG_FORMAT=text): time, level, logger, request id, message; secrets blanked out."""

    def __init__(self) -> None:
        text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        super().__init__(text, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        """The line, redacted."""
        return redact(super().format(record))


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT."""
    return JsonLines() if log_format == "json" else TextLines()


class StderrHandler(logging.StreamHandler):
    """Writes to the process's own stderr (descriptor 2), even while a CLI runner swaps sys.stderr for output."""

    def __init__(self) -> None:
        super().__init__(sys.__stderr__ or sys.stderr)


def configure(level: str, log_format: str) -> None:
    """The root logger writes one line per record on stderr in `log_format`; again (a second app) replaces it."""
    _install_record_factory()
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
