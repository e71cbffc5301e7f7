"""Building blocks of bench/reliability.py: a loopback HTTP client, an app stack on PostgreSQL, a throwaway cluster.

Everything here talks to 127.0.0.1 only, and everything it starts or creates it also stops and removes.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.quote_throughput import ROOT, free_port, wait_until_up
from bench.webhook_ingestion import SECRET as WEBHOOK_SECRET
from bench.webhook_ingestion import signed_deliveries

__all__ = ["ROOT", "WEBHOOK_SECRET", "signed_deliveries"]

FLASK = [sys.executable, "-m", "flask", "--app", "plugin"]
CART_50000 = {
    "currency": "USD",
    "destination": {"country": "US", "region": "US-CA", "postal_code": "94107"},
    "items": [{"sku": "JB-1", "name": "Jade bangle", "category": "jewelry", "unit_price": 50000, "quantity": 1}],
}


@dataclass
class Answer:
    """One HTTP exchange: status 0 means no answer at all (refused, reset, timeout)."""

    status: int
    body: bytes
    started: float
    ended: float

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1000

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, timeout=15.0
) -> Answer:
    """One request on a fresh connection; never raises for an HTTP or socket failure."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(answer.status, answer.read(), started, time.monotonic())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), started, time.monotonic())
    except OSError:
        return Answer(0, b"", started, time.monotonic())


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (0..1) of `values`; 0 when empty."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


@dataclass
class Stack:
    """A migrated database with one shop, and gunicorn serving it."""

    base: str
    database_url: str
    env: dict[str, str]
    shop: dict[str, str]
    logs: Path
    server: subprocess.Popen | None = None
    children: list[subprocess.Popen] = field(default_factory=list)

    def secret_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.shop['secret_key']}", "Content-Type": "application/json"}

    def api(self, method: str, path: str, payload: Any = None) -> Answer:
        body = None if payload is None else json.dumps(payload).encode()
        return call(self.base + path, method=method, body=body, headers=self.secret_headers())

    def quote(self, cart: dict[str, Any] = CART_50000) -> dict[str, Any]:
        answer = self.api("POST", "/api/v1/quotes", cart)
        if answer.status != 200:
            raise RuntimeError(f"quote answered {answer.status}: {answer.body[:300]!r}")
        return answer.json()

    def deliver(self, signature: str, body: bytes) -> Answer:
        """One signed Stripe delivery to the shop's webhook endpoint."""
        return call(
            f"{self.base}/webhooks/stripe/{self.shop['id']}",
            method="POST",
            body=body,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute(query, params).fetchall()

    def start_worker(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """A `flask --app plugin worker` process, its output kept in the stack's log folder."""
        log = (self.logs / f"worker-{len(self.children)}.log").open("w")
        process = subprocess.Popen(
            [*FLASK, "worker", *args], env=env or self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        self.children.append(process)
        return process


def app_env(database_url: str) -> dict[str, str]:
    """The environment of every process a scenario starts."""
    return {
        **os.environ,
        "SECRET_KEY": "reliability-bench-secret",
        "DATABASE_URL": database_url,
        "HTTPS_ONLY": "0",
        "RATE_LIMIT_QUOTES": "100000000/minute",
        "LOG_LEVEL": "WARNING",
        "WORKER_LEASE_SECONDS": "5",  # honoured once issue 8's configurable lease lands; ignored before
    }


def run_flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*FLASK, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[str]:
    """A new, empty database on the server of `admin_url`, dropped afterwards."""
    name = f"bench_{label}_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_healthy(base: str, timeout: float = 120.0) -> None:
    """Until /healthz answers 200: gunicorn listens before its workers have loaded the app (slow on a busy machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if call(f"{base}/healthz", timeout=30).status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{base}/healthz did not answer 200 within {timeout:.0f} s")


@contextmanager
def app_stack(database_url: str, *, web_workers: int = 4) -> Iterator[Stack]:
    """Migrate `database_url`, create a shop with a Stripe webhook secret, serve it with gunicorn (gunicorn.conf.py: gevent workers)."""
    logs = Path(tempfile.mkdtemp(prefix="reliability-logs-"))
    env = app_env(database_url)
    run_flask(env, "db", "upgrade")
    shop = json.loads(run_flask(env, "shops", "create", "--name", "Reliability", "--currency", "USD", "--json"))
    port = free_port()
    server_log = (logs / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(web_workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "plugin:create_app()"],
        cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stack = Stack(f"http://127.0.0.1:{port}", database_url, env, shop, logs, server)
    try:
        wait_until_up(port)
        wait_healthy(stack.base)
        answer = stack.api("PATCH", "/api/v1/settings", {"stripe": {"webhook_secret": WEBHOOK_SECRET}})
        if answer.status != 200:
            raise RuntimeError(f"settings answered {answer.status}: {answer.body[:300]!r}")
        yield stack
    finally:
        for child in stack.children:
            stop(child)
        stop(server)
        if os.environ.get("RELIABILITY_KEEP_LOGS"):  # to read a failure's traceback afterwards
            print(f"  logs kept in {logs}", flush=True)
        else:
            shutil.rmtree(logs, ignore_errors=True)


def protect_orders(stack: Stack, count: int, prefix: str) -> list[str]:
    """`count` protected payments (signed payment_intent.succeeded, 4 at a time); their order ids."""
    from concurrent.futures import ThreadPoolExecutor

    deliveries = signed_deliveries(count, stack.quote(), prefix)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda delivery: stack.deliver(*delivery), deliveries))
    refused = [answer for answer in answers if answer.status != 200]
    if refused:
        raise RuntimeError(f"{len(refused)} webhooks refused, e.g. {refused[0].status}: {refused[0].body[:300]!r}")
    return [f"{prefix}-{index}" for index in range(count)]


class PgCluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) in a temp dir on a free loopback port.

    initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` OS user, in a folder it owns.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="reliability-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")

    def _options(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "start")

    def restart(self) -> None:
        """A fast restart: every client connection is cut; returns once the server accepts connections again."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-m", "fast", "-w",
                  "restart")  # fmt: skip

    def destroy(self) -> None:
        """Stop the server (if it runs) and delete everything it wrote."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as, "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60, cwd="/",
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
