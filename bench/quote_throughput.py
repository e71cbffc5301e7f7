"""Quote endpoint throughput against a bare Flask endpoint, both under gunicorn, same load, same run.

    python bench/quote_throughput.py [--duration 10] [--connections 32] [--rounds 3]

Needs `wrk` (Debian: apt-get install wrk). Prints requests/s, p50/p99 latency, both answers' sizes and the ratio
quote/bare. The baseline (bench/bare_app.py) parses the same body and answers JSON of the same size. The goal
(issue 12): the quote endpoint on a 12-item cart reaches at least 0.85 of the bare throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CART = {
    "currency": "USD",
    "destination": {"country": "US", "region": "US-CA", "postal_code": "94107"},
    "items": [
        {"sku": f"SKU-{i}", "name": f"Item {i}", "category": "jewelry" if i % 2 else "electronics",
         "unit_price": 1999 + 250 * i, "quantity": 1 + i % 3}
        for i in range(12)
    ],
    "shipping_amount": 1500,
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_up(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def wrk_script(directory: Path, key: str) -> Path:
    body = json.dumps(CART).replace("\\", "\\\\").replace('"', '\\"')
    script = directory / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        "local errors = 0\n"
        "response = function(status) if status ~= 200 then errors = errors + 1 end end\n"
        'done = function() io.write("non200 " .. errors .. "\\n") end\n'
    )
    return script


def answer_size(port: int, key: str) -> int:
    """The byte size of one answer to the benchmark's cart."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/quotes",
        data=json.dumps(CART).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return len(answer.read())


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port: int, script: Path, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/api/v1/quotes"],
        capture_output=True, text=True, check=True, timeout=duration + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    failures = int(re.search(r"non200 (\d+)", out).group(1))
    return {"rps": rps, "p50_ms": to_ms(*p50.groups()), "p99_ms": to_ms(*p99.groups()), "non200": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/quote rounds; medians reported")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers for both")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        env = {
            **os.environ,
            "SECRET_KEY": "bench-secret-key",
            "DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
            "HTTPS_ONLY": "0",
            "RATE_LIMIT_QUOTES": "100000000/minute",
            "LOG_LEVEL": "WARNING",
        }
        flask = [sys.executable, "-m", "flask", "--app", "plugin"]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        created = subprocess.run(
            [*flask, "shops", "create", "--name", "Bench", "--currency", "USD", "--json"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        key = json.loads(created.stdout)["publishable_key"]
        script = wrk_script(directory, key)

        results: dict[str, list[dict[str, float]]] = {"bare": [], "quote": []}
        with (
            gunicorn("bench.bare_app:app", env, args.workers) as bare_port,
            gunicorn("plugin:create_app()", env, args.workers) as quote_port,
        ):
            sizes = {"bare": answer_size(bare_port, key), "quote": answer_size(quote_port, key)}
            for port in (bare_port, quote_port):  # warm both up
                run_wrk(port, script, 2, args.connections)
            for _ in range(args.rounds):
                for name, port in (("bare", bare_port), ("quote", quote_port)):
                    results[name].append(run_wrk(port, script, args.duration, args.connections))

    def median(name: str, field: str) -> float:
        return statistics.median(run[field] for run in results[name])

    print(f"load: wrk, 1 thread, {args.connections} connections, {args.duration}s x {args.rounds} rounds; "
          f"gunicorn {args.workers} gevent workers (gunicorn.conf.py) each; 12-item cart; SQLite")  # fmt: skip
    print(f"{'endpoint':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} {'bytes':>6}")
    for name in ("bare", "quote"):
        failures = int(sum(run["non200"] for run in results[name]))
        rps, p50, p99 = median(name, "rps"), median(name, "p50_ms"), median(name, "p99_ms")
        print(f"{name:<8} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f} {failures:>8} {sizes[name]:>6}")
    ratio = median("quote", "rps") / median("bare", "rps")
    print(f"ratio quote/bare: {ratio:.2f} (goal >= 0.85)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
