"""CPU time per Stripe delivery of a new protected payment, in process (Flask test client), min of repeats.

    python bench/webhook_cpu.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--count 300]
                                [--repeats 5] [--profile] [--gevent] [--pre-ping]

Steadier than a throughput run on a shared machine: it counts this process's CPU time only (the database's is
not in it), for `count` distinct, freshly signed payment_intent.succeeded deliveries (each a new protected
payment, as bench/webhook_ingestion.py sends them), and reports the minimum over `repeats` runs. It also counts
the statements each delivery sends, and the CPU time the PostgreSQL server's processes spent on them (read from
/proc: the server must run on this machine).
A throw-away database is made on the server of --database-url and dropped after.
"""

from __future__ import annotations

import sys

if "--gevent" in sys.argv:  # as a gunicorn gevent worker runs the app: psycopg then waits through gevent's hub
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.reliability_support import scratch_database
from bench.webhook_ingestion import SECRET, signed_deliveries
from bench.webhook_server_cpu import cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="then cProfile one more run (webhook_cpu.prof)")
    parser.add_argument("--gevent", action="store_true", help="monkey-patch as gunicorn's gevent workers do")
    parser.add_argument("--pre-ping", action="store_true", help="SQLAlchemy's pool_pre_ping instead of pool_checks")
    args = parser.parse_args()

    with scratch_database(args.database_url, "webhook_cpu") as url:
        return run(url, args)


def database_cpu(url: str) -> float:
    """CPU seconds used so far by the server processes serving `url`'s database (Linux /proc; same machine)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )]  # fmt: skip
    return cpu_seconds([str(pid) for pid in pids])


def run(url: str, args: argparse.Namespace) -> int:
    from flask_migrate import upgrade

    from plugin import create_app
    from plugin.extensions import db
    from plugin.services.shops import create_shop

    environ = {"SECRET_KEY": "bench-secret", "DATABASE_URL": url, "HTTPS_ONLY": "0", "LOG_LEVEL": "WARNING"}
    overrides: dict[str, object] = {"ENVIRON": environ}
    if args.pre_ping:
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    app = create_app(overrides)
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        created = create_shop("Bench", "USD", app.extensions["secret_box"])
        shop_id, secret_key = created.shop.id, created.keys.secret_key
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret_key}"}
    answer = client.patch("/api/v1/settings", json={"stripe": {"webhook_secret": SECRET}}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    cart = {"currency": "USD", "destination": {"country": "US"},
            "items": [{"sku": "JB-1", "unit_price": 50000, "quantity": 1}]}  # fmt: skip
    quote = client.post("/api/v1/quotes", json=cart, headers=headers).get_json()

    trips: list[str] = []
    original_execute, original_commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def execute(cursor: psycopg.Cursor, query: object, *args: object, **kwargs: object) -> object:
        """Each round trip as the driver makes it: BEGIN (implicit), the statement, pings included."""
        connection = cursor.connection
        if not connection.autocommit and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            trips.append("BEGIN")
        word = str(query).split(None, 1)[0].upper().replace(";", "PING")  # SQLAlchemy pings with ";"
        trips.append(word + (" (autocommit)" if connection.autocommit else ""))
        return original_execute(cursor, query, *args, **kwargs)  # type: ignore[arg-type]

    def commit(connection: psycopg.Connection) -> None:
        if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            trips.append("COMMIT")
        original_commit(connection)

    url_path = f"/webhooks/stripe/{shop_id}"

    def send(deliveries: list[tuple[str, bytes]]) -> None:
        for signature, body in deliveries:
            response = client.post(url_path, data=body, headers={"Stripe-Signature": signature})
            if response.status_code != 200 or response.get_json()["outcome"] != "protection_created":
                raise SystemExit(f"unexpected answer {response.status_code}: {response.get_data(as_text=True)}")

    send(signed_deliveries(50, quote, "warm"))  # imports, caches, the pool
    psycopg.Cursor.execute, psycopg.Connection.commit = execute, commit  # type: ignore[method-assign,assignment]
    try:
        send(signed_deliveries(1, quote, "count"))
    finally:
        psycopg.Cursor.execute, psycopg.Connection.commit = original_execute, original_commit  # type: ignore[method-assign]
    print(f"round trips of one delivery ({len(trips)}): {', '.join(trips)}")
    timings = []
    for repeat in range(args.repeats):
        deliveries = signed_deliveries(args.count, quote, f"r{repeat}")
        began_db = database_cpu(url)
        began_cpu, began = time.process_time(), time.perf_counter()
        send(deliveries)
        cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
        timings.append((cpu / args.count, wall / args.count, (database_cpu(url) - began_db) / args.count))
    print(
        f"{args.count} deliveries x {args.repeats}: CPU per delivery min {min(t[0] for t in timings) * 1000:.2f} ms "
        f"(runs {', '.join(f'{t[0] * 1000:.2f}' for t in timings)}); "
        f"wall min {min(t[1] for t in timings) * 1000:.2f} ms; "
        f"PostgreSQL backends' CPU min {min(t[2] for t in timings) * 1000:.2f} ms"
    )
    if args.profile:
        deliveries = signed_deliveries(args.count, quote, "profiled")
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(send, deliveries)
        profiler.dump_stats("webhook_cpu.prof")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(40)
    with app.app_context():
        db.engine.dispose()
    print(json.dumps({"cpu_ms": round(min(t[0] for t in timings) * 1000, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
