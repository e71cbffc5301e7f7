"""Drain due policies against the sandbox insurer (50 ms a call) with 1, 2 and 4 worker processes.

    python bench/policy_drain.py [--policies 3000] [--latency-ms 50] [--rounds 2] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Each run resets the same policies to `pending` and empties the sandbox ledger, starts N
`flask --app plugin worker --drain` processes at once, and times them until all have exited (wall time, start-up
included). It then checks that every policy is bound exactly once (no duplicate booking, none lost). The worker
counts alternate, `--rounds` times; medians are reported. Also printed: one worker's start-up alone (a drain with
nothing due). Python's bytecode is cached (in a temporary directory) as a deployment's would be, even when the
calling shell sets PYTHONDONTWRITEBYTECODE: without it every process compiles the app before its first job.
Goal (issue 12): 4 workers at least 3.6 x one worker, zero duplicates, zero lost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.reliability_support import scratch_database

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def seed(url: str, shop_id: str, count: int) -> None:
    """`count` shipments, each with a due sandbox policy (written directly: the API is not what is measured)."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO shipments (id, shop_id, shipment_ref, order_id, carrier, tracking_number, tracking_status,"
            " items, currency, shipped_at, last_tracking_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, 'UPS', '1Z', 'shipped', '[]', 'USD', %s, %s, %s, %s)",
            [(f"shp_bench{i:06d}", shop_id, f"s{i}", f"o{i}", now, now, now, now) for i in range(count)],
        )
        cur.executemany(
            "INSERT INTO policies (id, shop_id, shipment_id, order_id, provider, status, currency, sum_insured_amount,"
            " attempts, key_generation, next_attempt_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, 'sandbox', 'pending', 'USD', 10000, 0, 0, %s, %s, %s)",
            [(f"pol_bench{i:06d}", shop_id, f"shp_bench{i:06d}", f"o{i}", now, now, now) for i in range(count)],
        )
        # Each policy's purchase job, as POST /api/v1/shipments commits it with the policy.
        cur.executemany(
            "INSERT INTO jobs (id, shop_id, kind, subject, idempotency_key, status, payload, attempts, max_attempts,"
            " next_attempt_at, created_at, updated_at)"
            " VALUES (%s, %s, 'bind_policy', %s, %s, 'queued', '{}', 0, 8, %s, %s, %s)",
            [
                (f"job_bench{i:06d}", shop_id, f"pol_bench{i:06d}", f"sp-pol_bench{i:06d}-0", now, now, now)
                for i in range(count)
            ],
        )


def reset(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM sandbox_bookings")
        conn.execute(
            "UPDATE policies SET status='pending', attempts=0, next_attempt_at=now(), in_doubt_since=NULL,"
            " certificate=NULL, provider_reference=NULL, cost_amount=NULL, bound_at=NULL, last_error=NULL"
        )
        conn.execute(
            "UPDATE jobs SET status='queued', attempts=0, next_attempt_at=now(), lease_token=NULL, leased_until=NULL,"
            " last_error=NULL, finished_at=NULL"
        )


def check(url: str, count: int) -> tuple[int, int, int]:
    """(bound policies, bookings, duplicate bookings of one policy)."""
    with psycopg.connect(url) as conn:
        bound = conn.execute("SELECT count(*) FROM policies WHERE status='bound'").fetchone()[0]
        bookings = conn.execute("SELECT count(*) FROM sandbox_bookings").fetchone()[0]
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT reference FROM sandbox_bookings GROUP BY reference HAVING count(*) > 1) d"
        ).fetchone()[0]
    return bound, bookings, duplicates


@contextmanager
def worker_environment(database_url: str, prefix: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A scratch database on `database_url`'s server and the environment of workers on it, their bytecode cached in
    a scratch directory as a deployment's is (the shell's PYTHONDONTWRITEBYTECODE is dropped)."""
    with scratch_database(database_url, prefix) as url, tempfile.TemporaryDirectory() as pycache:
        yield (
            url,
            {
                **{key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
                "PYTHONPYCACHEPREFIX": pycache,
                "SECRET_KEY": "bench-secret",
                "DATABASE_URL": url,
                "HTTPS_ONLY": "0",
                "LOG_LEVEL": "WARNING",
            },
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each worker count, alternating; medians")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    counts = [int(n) for n in args.workers.split(",")]
    seconds: dict[int, list[float]] = {n: [] for n in counts}
    with worker_environment(args.database_url, "drain") as (url, env):
        flask = [sys.executable, "-m", "flask", "--app", "plugin"]
        run([*flask, "db", "upgrade"], env)
        shop = json.loads(run([*flask, "shops", "create", "--name", "Bench", "--currency", "USD", "--json"], env))
        with psycopg.connect(url) as conn:
            conn.execute(
                "UPDATE shops SET settings = %s WHERE id = %s",
                (json.dumps({"insurer": {"config": {"latency_ms": args.latency_ms}}}), shop["id"]),
            )
        started = time.monotonic()
        run([*flask, "worker", "--drain"], env)
        startup = time.monotonic() - started
        seed(url, shop["id"], args.policies)
        print(f"{args.policies} due policies, sandbox insurer at {args.latency_ms} ms a call, PostgreSQL; "
              f"a worker's start-up alone (nothing due): {startup:.1f} s")  # fmt: skip
        print(f"{'workers':>7} {'seconds':>8} {'policies/s':>11} {'bound':>6} {'bookings':>9} {'duplicates':>10}")
        for _ in range(args.rounds):
            for workers in counts:
                reset(url)
                started = time.monotonic()
                processes = [
                    subprocess.Popen(
                        [*flask, "worker", "--drain"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
                    )
                    for _ in range(workers)
                ]
                for process in processes:
                    process.communicate(timeout=3600)
                elapsed = time.monotonic() - started
                bound, bookings, duplicates = check(url, args.policies)
                seconds[workers].append(elapsed)
                rate = args.policies / elapsed
                print(f"{workers:>7} {elapsed:>8.1f} {rate:>11.1f} {bound:>6} {bookings:>9} {duplicates:>10}")
                if bound != args.policies or bookings != args.policies or duplicates:
                    print("  lost or duplicated policies!", file=sys.stderr)
    medians = {workers: statistics.median(runs) for workers, runs in seconds.items()}
    if 1 in medians:
        for workers, elapsed in medians.items():
            if workers != 1:
                print(f"scaling {workers} workers / 1 worker (medians {medians[1]:.1f} s / {elapsed:.1f} s): "
                      f"{medians[1] / elapsed:.2f}x (goal >= 3.6x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
