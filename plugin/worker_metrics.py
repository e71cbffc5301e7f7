"""`GET /metrics` served by a worker process itself, for a machine that runs workers and no web process.

The worker's counters (jobs, insurer and Stripe calls) live in its own process; without a gunicorn sharing its
PROMETHEUS_MULTIPROC_DIR nothing would expose them. With WORKER_METRICS_PORT set, `flask worker` answers the
app's own /metrics view (the same text, METRICS_TOKEN and database gauges) from a thread, and nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask import Flask

PATH = "/metrics"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread a scrape, none kept when the worker exits."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape: the worker's logs are its jobs'."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _only_metrics(app: Flask) -> Any:
    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: a worker serves /metrics only\n"]
        return app(environ, start_response)

    return serve


def serve(app: Flask, host: str, port: int) -> WSGIServer:
    """Answer GET /metrics with `app`'s own view from a daemon thread; `shutdown()` the result to stop."""
    server = make_server(host, port, _only_metrics(app), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server
