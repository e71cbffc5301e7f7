"""Where a webhook delivery's CPU goes under gunicorn: the workers, the PostgreSQL backends, wrk; bare vs plugin.

    python bench/webhook_server_cpu.py [--duration 5] [--rounds 2] [--workers 4] [--recording queued|inline]
                                       [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

The servers, deliveries and wrk runs of bench/webhook_ingestion.py; for each run, the CPU time the gunicorn workers
and the PostgreSQL backends of the scratch database used (read from /proc: Linux, the server on this machine) and
wrk's (rusage), divided by the requests answered. On a 2-core machine where all three share the CPUs, the ratio of
the totals is about the ratio of the rates a quiet machine would give.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.webhook_ingestion import both_receivers, lua_script, run_wrk, signed_deliveries

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[str]) -> float:
    """User and system CPU of these processes so far (those gone meanwhile count nothing)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


class DatabaseCpu:
    """CPU used by the PostgreSQL backends of one database while it runs, sampled every 0.2 s from one connection:
    a backend that ends meanwhile (a pool's overflow connection) keeps what it used until its last sample."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._stop = threading.Event()
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self, initial: bool = False) -> None:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        for (pid,) in self._conn.execute(query):
            used = cpu_seconds([str(pid)])
            self._first.setdefault(str(pid), used if initial else 0.0)
            self._last[str(pid)] = used

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def stop(self) -> float:
        """Seconds used since the start."""
        self._stop.set()
        self._thread.join()
        self._sample()
        self._conn.close()
        return sum(self._last[pid] - first for pid, first in self._first.items())


def workers_of(port: int) -> list[str]:
    master = subprocess.run(["pgrep", "-f", f"bind 127.0.0.1:{port}"], capture_output=True, text=True).stdout.split()
    return subprocess.run(["pgrep", "-P", master[0]], capture_output=True, text=True).stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--recording", choices=("queued", "inline"), default="queued", help="STRIPE_RECORDING")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with both_receivers(args.database_url, "server_cpu", args.workers, args.recording) as stage:
        url, bare_port, port, shop, quote = stage.url, stage.bare_port, stage.port, stage.shop, stage.quote
        with tempfile.TemporaryDirectory() as tmp:
            for round_number in range(args.rounds + 1):  # round 0 warms both up, uncounted
                for server, server_port in (("bare", bare_port), ("plugin", port)):
                    target = f"http://127.0.0.1:{server_port}/webhooks/stripe/{shop['id']}"
                    deliveries = signed_deliveries(int(args.duration * 2500), quote, f"{server}{round_number}")
                    script = lua_script(Path(tmp), deliveries)
                    workers = workers_of(server_port)
                    began, database = cpu_seconds(workers), DatabaseCpu(url)
                    client_began = resource.getrusage(resource.RUSAGE_CHILDREN)
                    rate, non200 = run_wrk(target, script, 2 if round_number == 0 else args.duration, 16)
                    client = resource.getrusage(resource.RUSAGE_CHILDREN)
                    database_seconds = database.stop()
                    if round_number == 0:
                        continue
                    answered = rate * args.duration / 1000  # per ms
                    worker_ms = (cpu_seconds(workers) - began) / answered
                    database_ms = database_seconds / answered
                    wrk_ms = (client.ru_utime + client.ru_stime - client_began.ru_utime
                              - client_began.ru_stime) / answered  # fmt: skip
                    print(f"{server:6s} round {round_number}: {rate:6.0f} req/s (non-200: {non200}); CPU per "
                          f"request: workers {worker_ms:.2f} ms, PostgreSQL {database_ms:.2f} ms, wrk "
                          f"{wrk_ms:.2f} ms, total {worker_ms + database_ms + wrk_ms:.2f} ms", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
