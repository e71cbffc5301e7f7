"""The Procfile's production command, run for real on a loopback port: no secret in its logs, not frozen by slow clients."""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.conftest import make_environ

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def procfile_web_command() -> str:
    """The `web:` line of the Procfile, as a platform (Heroku, Dokku, honcho) runs it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web: process")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> int:
    """GET a path on the loopback server; the status code."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until_healthy(port: int, deadline: float, alive: Callable[[], object] = lambda: True) -> None:
    """Poll /healthz until it answers 200; fail at `deadline`, or at once when `alive()` is not True (its value
    says why: the server's stderr)."""
    while True:
        status = alive()
        assert status is True, status
        try:
            if http(port, "/healthz", timeout=2) == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not answer /healthz in time"
        time.sleep(0.1)


@contextmanager
def procfile_web(database_url: str, tmp_path: Path, *extra_args: str, **environ: str) -> Iterator[int]:
    """Run the Procfile's web process (from the repository root, so it reads gunicorn.conf.py); yield its port."""
    port = free_port()
    env = {
        **os.environ,
        **make_environ(database_url),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **environ,
    }
    command = " ".join([procfile_web_command(), *map(shlex.quote, extra_args)])
    stderr = (tmp_path / f"gunicorn-{port}.err").open("wb")
    process = subprocess.Popen(  # noqa: S603 - the repository's own Procfile line
        ["bash", "-c", f"exec {command}"],  # noqa: S607
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        wait_until_healthy(
            port,
            time.monotonic() + START_TIMEOUT,
            alive=lambda: process.poll() is None or (tmp_path / f"gunicorn-{port}.err").read_text(),
        )
        yield port
    finally:
        process.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        stderr.close()


def test_keys_and_query_strings_never_reach_the_logs(app, database_url, shop, tmp_path):
    secret = shop.keys.secret_key
    access_log = tmp_path / "access.log"
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    with procfile_web(database_url, tmp_path, "--access-logfile", str(access_log)) as port:
        # A client that sends its key as Basic credentials, in the query, and in the Referer.
        assert http(port, f"/api/v1/settings?api_key={secret}", {"Authorization": f"Basic {basic}"}) == 401
        assert http(port, f"/api/v1/settings?key={secret}", {"Authorization": f"Bearer {secret}"}) == 200
        assert (
            http(
                port,
                "/api/v1/settings",
                {"Authorization": f"Bearer {secret}", "Referer": f"https://x.example/?k={secret}"},
            )
            == 200
        )
        public = shop.keys.publishable_key
        basic_public = base64.b64encode(f"{public}:".encode()).decode()
        assert http(port, f"/healthz?pk={public}", {"Authorization": f"Basic {basic_public}"}) == 200
    logged = access_log.read_text()
    errors = "".join(path.read_text() for path in tmp_path.glob("gunicorn-*.err"))
    for text in (logged, errors):
        assert secret not in text
        assert public not in text
        assert secret.split("_", 1)[1][:12] not in text  # not even a piece of it
    # The requests themselves are logged (one JSON line each): method, path, status.
    lines = [json.loads(line) for line in logged.splitlines()]
    answered = [(line["method"], line["path"], line["status"]) for line in lines]
    assert answered.count(("GET", "/api/v1/settings", 401)) == 1
    assert answered.count(("GET", "/api/v1/settings", 200)) == 2
    assert ("GET", "/healthz", 200) in answered


def test_slow_clients_do_not_freeze_the_server(app, database_url, shop, tmp_path):
    # More slow sockets than gunicorn has threads (2 workers; a sync or gthread worker would have 2 threads
    # in all): each sends its headers, a few bytes of a large body, then stalls.
    slow_sockets = 8
    with procfile_web(database_url, tmp_path) as port, ExitStack() as stack:
        connections = []
        for _ in range(slow_sockets):
            connection = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            connections.append(connection)
            connection.sendall(
                b"POST /api/v1/quotes HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {shop.keys.publishable_key}\r\n".encode()
                + b"Content-Length: 100000\r\n\r\n"
                + b'{"currency": "USD", '
            )
        time.sleep(0.5)  # let the server pick them all up
        started = time.monotonic()
        assert http(port, "/healthz", timeout=3) == 200
        assert time.monotonic() - started < 2.0
        # Still trickling: one more byte each, and the server still answers.
        for connection in connections:
            connection.sendall(b" ")
        started = time.monotonic()
        assert http(port, "/healthz", timeout=3) == 200
        assert time.monotonic() - started < 2.0
