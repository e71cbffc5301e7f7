"""Stripe webhook ingestion on PostgreSQL against a minimal correct receiver under the same gunicorn, same run.

    python bench/webhook_ingestion.py [--duration 8] [--rounds 3] [--workers 4] [--recording queued|inline] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Both servers run from gunicorn.conf.py (gevent workers) with the same worker count: the plugin, and
bench/bare_webhook_app.py (one Flask view: verify the signature, insert the raw event in one statement).
wrk (closed loop, 1 thread) sends each distinct, freshly signed payment_intent.succeeded deliveries (for the
plugin each a new protected payment), in alternating rounds; medians are reported. Then an open-loop run at
half the plugin's peak rate measures its p99 latency, and the bare receiver's at the same rate; each starts after
a CHECKPOINT and a 5 s pause, so neither inherits the rounds' writeback.
The plugin runs with STRIPE_RECORDING=queued, as docs/operations.md advises for several web processes: a delivery
is verified, stored and answered, and recorded by the worker. So that the figure hides nothing, one worker
(`flask worker --drain`) then records every acknowledged delivery, timed, and the run checks that each one became
exactly one payment. `--recording inline` measures the plugin recording before it answers.
Goals (issue 12): ingestion >= 0.5 x the bare receiver; p99 < 50 ms at half the peak rate.
Needs `wrk` (apt-get install wrk) and a PostgreSQL server.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
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
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bare_webhook_app import TABLE_SQL
from bench.quote_throughput import ROOT, gunicorn

SECRET = "whsec_bench_ingestion_secret_0001"
FIXTURE = ROOT / "tests" / "fixtures" / "stripe_payment_intent.succeeded.json"


def signed_deliveries(count: int, quote: dict, prefix: str) -> list[tuple[str, bytes]]:
    """Distinct deliveries (new event and PaymentIntent ids), signed now."""
    template = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else None
    deliveries = []
    now = int(time.time())
    for index in range(count):
        event = json.loads(json.dumps(template)) if template else {"object": "event", "data": {"object": {}}}
        event.update(id=f"evt_{prefix}_{index}", type="payment_intent.succeeded", created=now)
        intent = event["data"]["object"]
        intent.update(
            id=f"pi_{prefix}_{index}", object="payment_intent", amount=51000, amount_received=51000, currency="usd",
            status="succeeded", receipt_email="bench@example.com", latest_charge=f"ch_{prefix}_{index}",
            metadata={"sp_quote": quote["id"], "sp_amount": str(quote["customer_price"]), "order_id": f"{prefix}-{index}"},
        )  # fmt: skip
        body = json.dumps(event, separators=(",", ":")).encode()
        digest = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        deliveries.append((f"t={now},v1={digest}", body))
    return deliveries


def lua_script(directory: Path, deliveries: list[tuple[str, bytes]]) -> Path:
    data = directory / "deliveries.tsv"
    data.write_text("".join(f"{sig}\t{body.decode()}\n" for sig, body in deliveries))
    script = directory / "deliveries.lua"
    script.write_text(
        f'local path = "{data}"\n'
        "local sigs, bodies, i = {}, {}, 0\n"
        "for line in io.lines(path) do\n"
        '  local sig, body = line:match("^(.-)\\t(.*)$")\n'
        "  sigs[#sigs + 1] = sig; bodies[#bodies + 1] = body\n"
        "end\n"
        "local failures = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  if i > #bodies then i = 1 end\n"
        '  return wrk.format("POST", nil, {["Stripe-Signature"] = sigs[i], ["Content-Type"] = "application/json"}, bodies[i])\n'
        "end\n"
        "response = function(status) if status ~= 200 then failures = failures + 1 end end\n"
        'done = function() io.write("non200 " .. failures .. "\\n") end\n'
    )
    return script


def wait_answering(port: int, timeout: float = 120.0) -> None:
    """Until the server answers HTTP (gunicorn binds the port before its workers have loaded the app)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return
        except urllib.error.HTTPError:
            return  # an answer, even a 404 from the bare app
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_wrk(url: str, script: Path, duration: float, connections: int) -> tuple[float, int]:
    """(requests/s, non-200 answers) of one closed-loop wrk run."""
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{int(duration)}s", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=duration + 120,
    ).stdout  # fmt: skip
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), int(re.search(r"non200 (\d+)", out).group(1))


@dataclass(frozen=True)
class Stage:
    """Both receivers under gunicorn on one scratch database, with a shop whose quote the deliveries carry."""

    url: str
    env: dict[str, str]  # the plugin's processes' environment
    bare_port: int
    port: int
    shop: dict
    quote: dict


@contextmanager
def both_receivers(server_url: str, label: str, workers: int, recording: str = "inline") -> Iterator[Stage]:
    """The bare receiver and the plugin (STRIPE_RECORDING=`recording`), each under gunicorn with `workers` workers,
    on a scratch database of `server_url`'s server; the plugin's shop has the benchmark's webhook secret and a quote
    to pay."""
    from bench.reliability_support import scratch_database  # here: reliability_support imports this module

    with scratch_database(server_url, label) as url:
        env = {**os.environ, "SECRET_KEY": "bench-secret", "DATABASE_URL": url, "HTTPS_ONLY": "0",
               "LOG_LEVEL": "WARNING", "BARE_WEBHOOK_SECRET": SECRET, "STRIPE_RECORDING": recording}  # fmt: skip
        flask = [sys.executable, "-m", "flask", "--app", "plugin"]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        created = subprocess.run([*flask, "shops", "create", "--name", "Bench", "--currency", "USD", "--json"],
                                 env=env, cwd=ROOT, check=True, capture_output=True, text=True)  # fmt: skip
        shop = json.loads(created.stdout)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLE_SQL)
        with (
            gunicorn("bench.bare_webhook_app:app", env, workers) as bare_port,
            gunicorn("plugin:create_app()", env, workers) as port,
        ):
            wait_answering(bare_port)
            wait_answering(port)
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {shop['secret_key']}", "Content-Type": "application/json"}
            settings = json.dumps({"stripe": {"webhook_secret": SECRET}}).encode()
            patch = urllib.request.Request(f"{base}/api/v1/settings", data=settings, headers=headers, method="PATCH")
            urllib.request.urlopen(patch, timeout=10).read()
            cart = {"currency": "USD", "destination": {"country": "US"},
                    "items": [{"sku": "JB-1", "unit_price": 50000, "quantity": 1}]}  # fmt: skip
            asked = urllib.request.Request(f"{base}/api/v1/quotes", data=json.dumps(cart).encode(), headers=headers)
            quote = json.loads(urllib.request.urlopen(asked, timeout=10).read())
            yield Stage(url, env, bare_port, port, shop, quote)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/plugin rounds; medians reported")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for both")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--recording", choices=("queued", "inline"), default="queued", help="STRIPE_RECORDING")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2

    rates: dict[str, list[float]] = {"bare": [], "plugin": []}
    failures = {"bare": 0, "plugin": 0}
    with (
        both_receivers(args.database_url, "ingest", args.workers, args.recording) as stage,
        tempfile.TemporaryDirectory() as tmp,
    ):
        bare_port, port, shop, quote = stage.bare_port, stage.port, stage.shop, stage.quote
        base = f"http://127.0.0.1:{port}"
        targets = {
            "bare": f"http://127.0.0.1:{bare_port}/webhooks/stripe/{shop['id']}",
            "plugin": f"{base}/webhooks/stripe/{shop['id']}",
        }
        for round_number in range(args.rounds + 1):  # round 0 warms both up, uncounted
            duration = 2 if round_number == 0 else args.duration
            for server, target in targets.items():
                # Fresh ids and signatures each run: every delivery is new, signed within the tolerance.
                deliveries = signed_deliveries(int(duration * 2500), quote, f"{server}{round_number}")
                script = lua_script(Path(tmp), deliveries)
                rate, non200 = run_wrk(target, script, duration, args.connections)
                if round_number:
                    rates[server].append(rate)
                    failures[server] += non200

        half = statistics.median(rates["plugin"]) / 2
        slow = signed_deliveries(int(half * args.duration) + 10, quote, "half")
        settle(stage.url)
        latencies = open_loop(port, shop["id"], slow, half, args.duration)
        # The same rate at the bare receiver: what this machine and this client give at best.
        bare_slow = signed_deliveries(int(half * args.duration) + 10, quote, "bare_half")
        settle(stage.url)
        bare_latencies = open_loop(bare_port, shop["id"], bare_slow, half, args.duration)
        if args.recording == "queued":
            settle(stage.url)
            recorded = record_and_check(stage)
        else:
            recorded = None

    bare, peak = statistics.median(rates["bare"]), statistics.median(rates["plugin"])
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"PostgreSQL; gunicorn {args.workers} gevent workers (gunicorn.conf.py) each; wrk 1 thread, "
          f"{args.connections} connections, {args.duration:.0f}s x {args.rounds} rounds (medians)")  # fmt: skip
    print(f"bare receiver (verify + one INSERT): {bare:8.0f} req/s  (non-200: {failures['bare']}; "
          f"rounds {', '.join(f'{r:.0f}' for r in rates['bare'])})")  # fmt: skip
    print(f"plugin webhook, new protected payment: {peak:6.0f} req/s  (non-200: {failures['plugin']}; "
          f"rounds {', '.join(f'{r:.0f}' for r in rates['plugin'])})")  # fmt: skip
    print(f"ratio plugin/bare: {peak / bare:.2f} (goal >= 0.50)")
    print(f"open loop at half the peak ({half:.0f} req/s, {len(latencies)} requests): "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (goal p99 < 50 ms)")  # fmt: skip
    print(f"  the bare receiver at the same rate: p50 {statistics.median(bare_latencies):.1f} ms, "
          f"p99 {statistics.quantiles(bare_latencies, n=100)[98]:.1f} ms")  # fmt: skip
    if recorded is not None:
        print(recorded.line())
        if not recorded.exact:
            return 1
    return 0


@dataclass(frozen=True)
class Recording:
    """What one worker made of the acknowledged deliveries afterwards."""

    acknowledged: int
    seconds: float
    payments: int
    deliveries: int
    waiting: int

    @property
    def exact(self) -> bool:
        """Every acknowledged delivery recorded, each once, nothing left waiting."""
        return self.waiting == 0 and self.payments == self.deliveries == self.acknowledged

    def line(self) -> str:
        rate = self.acknowledged / self.seconds if self.seconds else 0.0
        verdict = "each once" if self.exact else "MISMATCH"
        return (
            f"then one worker recorded the {self.acknowledged} acknowledged deliveries in {self.seconds:.1f} s "
            f"({rate:.0f}/s): {self.payments} payments, {self.deliveries} deliveries, {self.waiting} waiting ({verdict})"
        )


def record_and_check(stage: Stage) -> Recording:
    """Run `flask worker --drain` on the queued deliveries, timed; then count what they became."""
    url = stage.url
    with psycopg.connect(url, autocommit=True) as conn:
        acknowledged = conn.execute("SELECT count(*) FROM stripe_inbox").fetchone()[0]
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flask", "--app", "plugin", "worker", "--drain"],
                   env=stage.env, cwd=ROOT, check=True, capture_output=True, timeout=1800)  # fmt: skip
    seconds = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as conn:
        payments, deliveries, waiting = conn.execute(
            "SELECT (SELECT count(*) FROM payments), (SELECT count(*) FROM webhook_deliveries WHERE source = 'stripe'),"
            " (SELECT count(*) FROM stripe_inbox)"
        ).fetchone()
    return Recording(acknowledged, seconds, payments, deliveries, waiting)


def settle(url: str, seconds: float = 5.0) -> None:
    """Start a latency run from the same state for both receivers: the closed-loop rounds leave a backlog of
    dirty pages (each of ~30,000 deliveries is a few KB of WAL and heap) whose writeback makes commits wait on
    the disk for seconds; a checkpoint and a pause flush it first."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    time.sleep(seconds)


def open_loop(
    port: int, shop_id: str, deliveries: list[tuple[str, bytes]], rate: float, duration: float
) -> list[float]:
    """Send at a fixed rate whatever the answers, over keep-alive connections (a new one only when every open
    one is busy), as Stripe's senders and wrk do; each request's latency in ms, counted from the time it was due
    to be sent, so a late sender counts against the server rather than hiding its queue."""
    return asyncio.run(_open_loop(port, f"/webhooks/stripe/{shop_id}", deliveries, rate, duration))


async def _open_loop(
    port: int, path: str, deliveries: list[tuple[str, bytes]], rate: float, duration: float
) -> list[float]:
    loop = asyncio.get_running_loop()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    failures: list[str] = []
    total = min(len(deliveries), int(rate * duration))
    start = loop.time() + 0.1

    async def exchange(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> int:
        reader, writer = connection
        writer.write(request)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def send(index: int, due: float) -> None:
        signature, body = deliveries[index]
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nStripe-Signature: {signature}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        for attempt in range(2):  # a kept connection the server closed meanwhile: once more on a new one
            connection = idle.pop() if idle and attempt == 0 else await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await exchange(connection, request)
            except (OSError, IndexError, ValueError, asyncio.IncompleteReadError) as exc:
                connection[1].close()
                if attempt:
                    failures.append(type(exc).__name__)
                continue
            latencies.append((loop.time() - due) * 1000)
            if status != 200:
                failures.append(str(status))
            idle.append(connection)
            return

    tasks = []
    for index in range(total):
        due = start + index / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index, due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    if failures:
        print(f"open loop: {len(failures)} failed requests ({', '.join(sorted(set(failures)))})", file=sys.stderr)
    return latencies


if __name__ == "__main__":
    sys.exit(main())
