"""CPU per quote in one process: the app's WSGI stack and the bare baseline called in a loop, no server, no network.

    python bench/quote_cpu.py [--requests 500] [--repeats 5] [--rounds 3] [--profile]

Steadier than throughput on a shared machine (thread CPU time, min of repeats): what a change to the quote path
buys shows here first. `--profile` prints cProfile's top functions of the quote path instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quote_throughput import CART  # noqa: E402


def build(directory: str) -> tuple[Any, str]:
    """The plugin's app on a fresh SQLite database with one shop, and its publishable key."""
    os.environ.update(
        {
            "SECRET_KEY": "bench-secret-key",
            "DATABASE_URL": f"sqlite:///{directory}/bench.db",
            "HTTPS_ONLY": "0",
            "RATE_LIMIT_QUOTES": "100000000/minute",
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": directory,  # as in production: the metrics write their files
        }
    )
    from flask_migrate import upgrade

    from plugin import create_app
    from plugin.extensions import db
    from plugin.services.shops import create_shop

    app = create_app()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        created = create_shop("Bench", "USD", app.extensions["secret_box"])
        db.session.commit()
    return app, created.keys.publishable_key


def caller(wsgi_app: Any, body: bytes, key: str) -> Callable[[], bytes]:
    """One POST /api/v1/quotes through `wsgi_app`, as gunicorn would make it."""

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(status)

    def call() -> bytes:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/quotes", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }  # fmt: skip
        return b"".join(wsgi_app(environ, start_response))

    return call


def cpu_us(call: Callable[[], bytes], requests: int, repeats: int) -> float:
    """Thread CPU µs a call: the least of `repeats` loops of `requests` calls."""
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        for _ in range(requests):
            call()
        best = min(best, (time.thread_time() - started) / requests * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/quote measurements")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app, key = build(directory)
        from bench.bare_app import app as bare

        body = json.dumps(CART).encode()
        quote, baseline = caller(app, body, key), caller(bare, body, key)
        quote()  # the first looks the key up through the view, which keeps it
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(lambda: [quote() for _ in range(args.requests)])
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            return 0
        for _ in range(args.rounds):
            bare_us = cpu_us(baseline, args.requests, args.repeats)
            quote_us = cpu_us(quote, args.requests, args.repeats)
            print(f"bare {bare_us:6.0f} us   quote {quote_us:6.0f} us   bare/quote {bare_us / quote_us:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
