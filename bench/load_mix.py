"""A realistic mix under locust for 2 minutes, with faults during it, then the invariants that must still hold.

    python bench/load_mix.py [--duration 120] [--users 16] [--quick] [--drain-timeout 120]

What runs, all on 127.0.0.1 and all stopped and removed at the end (also on Ctrl-C or SIGTERM):
- its own PostgreSQL cluster (initdb + pg_ctl on a free port: it is restarted mid-run, never the shared server);
- gunicorn (gunicorn.conf.py) and two `flask --app plugin worker` processes, supervised: one that exits is
  started again, as systemd or a Procfile runner would;
- an XCover/XClaim double (bench/insurer_double.py) the shop's xcover adapter calls, and a Stripe double
  (tests/stripe_double.py) for the claim refunds;
- locust, headless, with bench/load_locustfile.py: widget quotes and consents, signed Stripe payment webhooks,
  shipments, claims (small ones approved and refunded automatically), API reads, admin pages.

Faults (at these seconds of a 120 s run; scaled to --duration): 20 s the insurer hangs for 15 s, 40 s answers
garbage for 10 s, 55 s resets connections for 10 s, 70 s one worker is SIGKILLed (and restarted), 85 s
PostgreSQL restarts (pg_ctl restart -m fast), 100 s a duplicate storm (every payment webhook sent so far, 3 copies
each, shuffled, 16 threads). After the load: unacknowledged payment webhooks are sent again (as Stripe retries),
then the workers drain (bounded), then the invariants are checked in SQL and against the doubles' ledgers.
Prints locust's figures and PASS/FAIL per invariant; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.insurer_double import PARTNER, InsurerDouble, insurer_double
from bench.reliability_support import (
    ROOT,
    WEBHOOK_SECRET,
    Answer,
    PgCluster,
    Stack,
    app_stack,
    call,
    percentile,
    run_flask,
    stop,
)
from tests.stripe_double import StripeDouble, stripe_double

# Short backoffs and lease, so that what the faults left retrying is done within the drain (production: 600 and 300).
RUN_ENV = {
    "JOB_RETRY_BASE_SECONDS": "1",  # 1, 2, 4 … 64 s between a job's 8 attempts (x0.75 to x1.25 jitter)
    "ALLOW_PRIVATE_INSURER_HOSTS": "1",  # the insurer double is on loopback
}
WORKER_LEASE = "30"  # above the adapter's 20 s read timeout, so a hanging call does not hand its job to the other
WORKER_TAG = "load-mix-worker"
AUTO_APPROVE_UP_TO = 20000
ADMIN_PASSWORD = "load-mix-admin-password"
TIMELINE = (  # (second of a 120 s run, fault, argument)
    (20, "insurer", ("hang", 15)),
    (40, "insurer", ("garbage", 10)),
    (55, "insurer", ("reset", 10)),
    (70, "sigkill", None),
    (85, "pg-restart", None),
    (100, "storm", 3),
)


class Checks:
    """PASS/FAIL per invariant, printed as they come."""

    def __init__(self) -> None:
        self.failed = 0

    def check(self, label: str, ok: bool, detail: str = "") -> None:
        self.failed += not ok
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}{f': {detail}' if detail else ''}", flush=True)


class Workers:
    """Two `flask worker` processes, restarted whenever one exits (a supervisor's job); counts the exits."""

    def __init__(self, stack: Stack, count: int = 2) -> None:
        self.stack = stack
        # Tagged connections tell when a worker has loaded the app and reached the database (20 s on a busy machine).
        url = stack.env["DATABASE_URL"]
        self.env = {**stack.env, "WORKER_LEASE_SECONDS": WORKER_LEASE,
                    "DATABASE_URL": f"{url}{'&' if '?' in url else '?'}application_name={WORKER_TAG}"}  # fmt: skip
        self.processes = [stack.start_worker(env=self.env) for _ in range(count)]
        self.killed: set[int] = set()
        self.unexpected: list[int] = []  # exit codes of workers that died on their own
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for index, process in enumerate(self.processes):
                code = process.poll()
                if code is None:
                    continue
                if process.pid not in self.killed:
                    self.unexpected.append(code)
                self.processes[index] = self.stack.start_worker(env=self.env)

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Until every worker process holds a database connection; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            connected = self.stack.sql(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE application_name = %s", WORKER_TAG
            )[0][0]
            if connected >= len(self.processes):
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"the workers did not reach the database within {timeout:.0f} s")

    def sigkill_one(self) -> int:
        victim = self.processes[0]
        self.killed.add(victim.pid)
        victim.send_signal(signal.SIGKILL)
        return victim.pid

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip().endswith("}")]


def deliver(stack: Stack, entry: dict[str, Any]) -> Answer:
    return call(
        f"{stack.base}/webhooks/stripe/{stack.shop['id']}",
        method="POST",
        body=entry["body"].encode(),
        headers={"Stripe-Signature": entry["signature"], "Content-Type": "application/json"},
    )


def storm(stack: Stack, entries: list[dict[str, Any]], copies: int) -> list[tuple[str, Answer]]:
    """Every payment delivery so far, `copies` times each, shuffled, from 16 threads at once."""
    deliveries = [entry for entry in entries for _ in range(copies)]
    random.shuffle(deliveries)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda entry: deliver(stack, entry), deliveries))
    return [(entry["intent"], answer) for entry, answer in zip(deliveries, answers, strict=True)]


def set_up_shop(stack: Stack, insurer: InsurerDouble) -> dict[str, str]:
    """xcover at the double, Stripe refunds, automatic approval of small claims; an admin user. The admin login."""
    settings = {
        "stripe": {"api_key": "sk_test_load_mix_refunds_0000"},
        "claims": {"auto_approve_up_to": AUTO_APPROVE_UP_TO, "max_claims_per_customer": 0},
        "insurer": {
            "provider": "xcover",
            "config": {
                "base_url": f"{insurer.url}/xcover",
                "claims_base_url": f"{insurer.url}/xclaim",
                "partner_code": PARTNER,
                "api_key": "xc-load-key-0000",
                "api_secret": "xc-load-secret-0000",
            },
        },
    }
    answer = stack.api("PATCH", "/api/v1/settings", settings)
    if answer.status != 200:
        raise RuntimeError(f"settings answered {answer.status}: {answer.body[:300]!r}")
    email = "admin@load-mix.example"
    run_flask(stack.env, "users", "create", "--shop", stack.shop["id"], "--email", email,
              "--password", ADMIN_PASSWORD, "--json")  # fmt: skip
    return {"email": email, "password": ADMIN_PASSWORD}


def run_timeline(
    timeline: tuple[tuple[int, str, Any], ...],
    scale: float,
    started: float,
    actions: dict[str, Callable[[Any], str]],
    log: list[str],
    stop_event: threading.Event,
) -> None:
    """Each fault at its (scaled) time; what happened is appended to `log`."""
    for second, name, argument in timeline:
        at = started + second * scale
        while time.monotonic() < at:
            if stop_event.wait(min(0.2, max(0.0, at - time.monotonic()))):
                return
        begun = time.monotonic() - started
        try:
            text = actions[name](argument)
        except Exception as exc:  # a fault that could not be applied is reported, not fatal
            text = f"could not apply: {type(exc).__name__}: {exc}"
        log.append(f"t={begun:5.1f} s  {name}: {text}")
        print(f"  t={begun:5.1f} s  {name}: {text}", flush=True)


def read_stats(prefix: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with open(f"{prefix}_stats.csv", newline="") as stats, open(f"{prefix}_failures.csv", newline="") as failures:
        return list(csv.DictReader(stats)), list(csv.DictReader(failures))


def print_stats(rows: list[dict[str, str]], failures: list[dict[str, str]], elapsed: float) -> Counter:
    """Locust's table (req/s, p50, p99, failures) and failures by kind; the count of each kind."""
    print(f"  {'request':<34} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8}")
    for row in rows:
        name = "all" if row["Name"] == "Aggregated" else row["Name"]
        print(f"  {name:<34} {row['Request Count']:>7} {row['Failure Count']:>5} {float(row['Requests/s']):>7.1f} "
              f"{row['50%']:>7} {row['99%']:>7} {float(row['Max Response Time']):>8.0f}")  # fmt: skip
    kinds: Counter = Counter()
    for row in failures:
        error = row["Error"]
        if error.startswith("CatchResponseError("):  # locust's wrapping of response.failure(text)
            error = error[len("CatchResponseError(") : -1].strip("'\"")
        kinds[error] += int(row["Occurrences"])
    print(f"  failures by kind: {dict(kinds) or 'none'}")
    return kinds


def due_work(stack: Stack) -> tuple[int, int, int]:
    """Open policies, approved claims not yet paid, and jobs due within 10 minutes (later ones are status polls)
    with the Stripe deliveries waiting to be recorded (STRIPE_RECORDING=queued)."""
    shop = stack.shop["id"]
    policies = stack.sql("SELECT count(*) FROM policies WHERE shop_id = %s AND status IN ('pending', 'retrying')",
                         shop)[0][0]  # fmt: skip
    claims = stack.sql("SELECT count(*) FROM claims WHERE shop_id = %s AND status = 'approved'", shop)[0][0]
    jobs = stack.sql(
        "SELECT count(*) FROM jobs WHERE shop_id = %s AND status IN ('queued', 'retrying')"
        " AND next_attempt_at < now() + interval '10 minutes'", shop,
    )[0][0]  # fmt: skip
    jobs += stack.sql("SELECT count(*) FROM stripe_inbox WHERE shop_id = %s", shop)[0][0]
    return policies, claims, jobs


def drain(stack: Stack, timeout: float) -> float:
    """Wait until nothing is left to do (bounded); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if due_work(stack) == (0, 0, 0):
                break
        except Exception:  # noqa: S110 - the database may still be coming back
            pass
        time.sleep(1)
    return time.monotonic() - started


def check_invariants(
    stack: Stack,
    checks: Checks,
    entries: list[dict[str, Any]],
    acknowledged: set[str],
    insurer: InsurerDouble,
    stripe: StripeDouble,
) -> None:
    shop = stack.shop["id"]
    # 1. Every acknowledged payment recorded once, with one protection.
    rows = stack.sql(
        "SELECT p.payment_intent, count(DISTINCT p.id), count(pr.id) FROM payments p"
        " LEFT JOIN protections pr ON pr.payment_id = p.id WHERE p.shop_id = %s GROUP BY p.payment_intent", shop,
    )  # fmt: skip
    recorded = {intent: (payments, protections) for intent, payments, protections in rows}
    sent = {entry["intent"] for entry in entries if entry["kind"] == "payment"}
    missing = sorted(acknowledged - recorded.keys())
    doubled = sorted(intent for intent, counts in recorded.items() if counts != (1, 1))
    checks.check("every acknowledged payment recorded exactly once, with exactly one protection",
                 not missing and not doubled,
                 f"{len(acknowledged)} acknowledged, {len(recorded)} recorded; {len(missing)} missing, "
                 f"{len(doubled)} not 1 payment + 1 protection{f' e.g. {doubled[:3]}' if doubled else ''}")  # fmt: skip
    checks.check("every payment webhook acknowledged in the end (after Stripe's retries)", acknowledged == sent,
                 f"{len(sent - acknowledged)} of {len(sent)} never acknowledged")  # fmt: skip
    # 2. Every shipment with exactly one policy, bound or failed-and-visible.
    acked_shipments = {e["shipment"] for e in entries if e["kind"] == "shipment" and 200 <= e["status"] < 300}
    rows = stack.sql(
        "SELECT s.shipment_ref, count(p.id), min(p.status), max(p.status), bool_and(p.status <> 'failed'"
        " OR p.last_error IS NOT NULL) FROM shipments s LEFT JOIN policies p ON p.shipment_id = s.id"
        " WHERE s.shop_id = %s GROUP BY s.shipment_ref", shop,
    )  # fmt: skip
    shipments = {ref: (count, low, high, visible) for ref, count, low, high, visible in rows}
    lost = acked_shipments - shipments.keys()
    not_one = [ref for ref, (count, *_) in shipments.items() if count != 1]
    undecided = [ref for ref, (_, low, high, _) in shipments.items() if {low, high} - {"bound", "failed"}]
    hidden = [ref for ref, (*_, visible) in shipments.items() if visible is False]
    statuses = dict(stack.sql("SELECT status, count(*) FROM policies WHERE shop_id = %s GROUP BY status", shop))
    checks.check("every acknowledged shipment recorded", not lost, f"{len(acked_shipments)} acknowledged, "
                 f"{len(shipments)} recorded, {len(lost)} lost")  # fmt: skip
    checks.check("every shipment has exactly one policy, bound or failed with its error",
                 not not_one and not undecided and not hidden,
                 f"policies by status {statuses}; {len(not_one)} shipments without exactly one policy, "
                 f"{len(undecided)} not bound/failed after the drain, {len(hidden)} failed without last_error")  # fmt: skip
    # 3. The insurer booked each policy at most once, and bound policies are exactly the booked ones.
    booked = insurer.bookings_by_policy()
    twice = {policy: packages for policy, packages in booked.items() if len(packages) > 1}
    bound = dict(stack.sql("SELECT id, provider_reference FROM policies WHERE shop_id = %s AND status = 'bound'", shop))
    failed = {row[0] for row in stack.sql("SELECT id FROM policies WHERE shop_id = %s AND status = 'failed'", shop)}
    unbacked = [policy for policy, reference in bound.items() if booked.get(policy) != {reference}]
    unrecorded = [policy for policy in booked if policy not in bound]
    checks.check("no policy booked twice at the insurer", not twice,
                 f"{sum(len(b) for b in booked.values())} bookings for {len(booked)} policies; {len(twice)} twice")  # fmt: skip
    checks.check("bound policies = booked policies (each bound one on its booking)", not unbacked and not unrecorded,
                 f"{len(bound)} bound; {len(unbacked)} without their booking, {len(unrecorded)} booked but not bound"
                 f" ({len(set(unrecorded) & failed)} of them failed)")  # fmt: skip
    # 4. No refund paid twice; every refunded claim paid, every paid claim refunded once.
    with stripe.lock:
        refunds = list(stripe.refunds.values())
    per_claim = Counter(refund["metadata"].get("claim_id") for refund in refunds)
    twice_refunded = [claim for claim, n in per_claim.items() if n > 1]
    claims = stack.sql("SELECT id, status, decided_by, approved_amount, paid_method, paid_reference FROM claims"
                       " WHERE shop_id = %s", shop)  # fmt: skip
    by_status = Counter(status for _, status, *_ in claims)
    paid = {cid: (amount, reference) for cid, status, _, amount, method, reference in claims
            if status == "paid" and method == "stripe_refund"}  # fmt: skip
    by_id = {refund["id"]: refund for refund in refunds}
    wrong = [cid for cid, (amount, reference) in paid.items()
             if reference not in by_id or by_id[reference]["amount"] != amount
             or by_id[reference]["metadata"].get("claim_id") != cid]  # fmt: skip
    auto = [cid for cid, status, decided_by, *_ in claims if decided_by == "auto"]
    over_limit = [cid for cid, _, decided_by, amount, *_ in claims if decided_by == "auto"
                  and (amount or 0) > AUTO_APPROVE_UP_TO]  # fmt: skip
    unpaid_auto = [cid for cid in auto if cid not in paid]
    checks.check("no refund paid twice (one Stripe refund per claim)", not twice_refunded,
                 f"{len(stripe.requests)} refund requests, {len(refunds)} refunds for {len(per_claim)} claims")  # fmt: skip
    checks.check("refunds at Stripe = claims paid by refund, same amounts", len(refunds) == len(paid) and not wrong,
                 f"claims by status {dict(by_status)}; {len(refunds)} refunds, {len(paid)} paid, {len(wrong)} mismatched")  # fmt: skip
    checks.check("every automatically approved claim within the limit and paid after the drain",
                 not unpaid_auto and not over_limit, f"{len(auto)} approved automatically, {len(over_limit)} above "
                 f"{AUTO_APPROVE_UP_TO}, {len(unpaid_auto)} not paid")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load (faults scale with it)")
    parser.add_argument("--users", type=int, default=16, help="locust users (shoppers:merchants:admins 6:3:1)")
    parser.add_argument("--spawn-rate", type=float, default=8.0)
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (gevent, gunicorn.conf.py)")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true", help="30 s of load, 8 users: a smoke run")
    parser.add_argument("--no-faults", action="store_true", help="the same mix without faults (a baseline)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.users = 30.0, 8
    signal.signal(signal.SIGTERM, _interrupt)
    scale = args.duration / 120.0
    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="load-mix-"))
    cluster = PgCluster()
    print(f"== load mix{' (no faults)' if args.no_faults else ''}: {args.duration:.0f} s, {args.users} locust users, gunicorn {args.web_workers} workers, "
          f"2 flask workers; {' '.join(f'{k}={v}' for k, v in RUN_ENV.items())} WORKER_LEASE_SECONDS={WORKER_LEASE}",
          flush=True)  # fmt: skip
    try:
        cluster.start()
        print(f"  own PostgreSQL cluster on 127.0.0.1:{cluster.port}", flush=True)
        with insurer_double() as insurer, stripe_double() as stripe:
            os.environ.update(RUN_ENV, STRIPE_API_BASE=stripe.url)
            with app_stack(cluster.url, web_workers=args.web_workers) as stack:
                admin = set_up_shop(stack, insurer)
                workers = Workers(stack)
                print(f"  2 workers connected to the database after {workers.wait_ready():.0f} s", flush=True)
                try:
                    run(args, scale, stack, cluster, workers, insurer, stripe, admin, work, checks)
                finally:
                    workers.close()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        checks.check("the run completed", False, str(exc))
    finally:
        cluster.destroy()
        if not os.environ.get("RELIABILITY_KEEP_LOGS"):
            for path in work.iterdir():
                path.unlink()
            work.rmdir()
        else:
            print(f"  locust files kept in {work}")
    print(f"== {'FAIL' if checks.failed else 'PASS'} ({checks.failed} invariant(s) failed)", flush=True)
    return 1 if checks.failed else 0


def run(
    args: argparse.Namespace,
    scale: float,
    stack: Stack,
    cluster: PgCluster,
    workers: Workers,
    insurer: InsurerDouble,
    stripe: StripeDouble,
    admin: dict[str, str],
    work: Path,
    checks: Checks,
) -> None:
    ledger_path = work / "ledger.jsonl"
    prefix = work / "locust"
    env = {
        **os.environ,
        "LOAD_SHOP": json.dumps({k: stack.shop[k] for k in ("id", "publishable_key", "secret_key")}),
        "LOAD_LEDGER": str(ledger_path),
        "LOAD_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOAD_ADMIN": json.dumps(admin),
        "LOAD_RUN": f"{os.getpid()}",
    }
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_locustfile.py"), "--headless",
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration:.0f}s",
               "--host", stack.base, "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
               "--loglevel", "WARNING"]  # fmt: skip
    print(f"  $ locust -f bench/load_locustfile.py --headless -u {args.users} -r {args.spawn_rate:g} "
          f"-t {args.duration:.0f}s --host {stack.base}", flush=True)  # fmt: skip
    storm_answers: list[tuple[str, Answer]] = []

    def insurer_fault(argument: tuple[str, float]) -> str:
        mode, seconds = argument
        insurer.switch(mode)
        threading.Timer(seconds * scale, insurer.switch, ("normal",)).start()
        return f"{mode} for {seconds * scale:.0f} s"

    def sigkill(_: Any) -> str:
        return f"worker pid {workers.sigkill_one()} SIGKILLed; the supervisor starts another"

    def pg_restart(_: Any) -> str:
        begun = time.monotonic()
        cluster.restart()
        return f"pg_ctl restart -m fast: down {time.monotonic() - begun:.2f} s"

    def duplicate_storm(copies: int) -> str:
        entries = [e for e in ledger(ledger_path) if e["kind"] == "payment"]
        begun = time.monotonic()
        answers = storm(stack, entries, copies)
        storm_answers.extend(answers)
        latencies = [answer.ms for _, answer in answers]
        counts = Counter(answer.status for _, answer in answers)
        return (f"{len(entries)} payment webhooks x {copies} copies = {len(answers)} deliveries in "
                f"{time.monotonic() - begun:.1f} s; answers {dict(counts)}; p50 {percentile(latencies, 0.5):.0f} ms,"
                f" p99 {percentile(latencies, 0.99):.0f} ms")  # fmt: skip

    actions = {"insurer": insurer_fault, "sigkill": sigkill, "pg-restart": pg_restart, "storm": duplicate_storm}
    log: list[str] = []
    timeline_plan = () if args.no_faults else TIMELINE
    done = threading.Event()
    with (work / "locust.log").open("w") as output:
        started = time.monotonic()
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        timeline = threading.Thread(
            target=run_timeline, args=(timeline_plan, scale, started, actions, log, done), daemon=True
        )
        timeline.start()
        try:
            locust.wait(timeout=args.duration + 120)
        except subprocess.TimeoutExpired:
            stop(locust)
            raise RuntimeError("locust did not stop in time") from None
        finally:
            done.set()
        timeline.join(timeout=120)
    elapsed = time.monotonic() - started
    wall_started = time.time() - elapsed
    insurer.switch("normal")
    print(f"  locust ran {elapsed:.0f} s (exit {locust.returncode})", flush=True)
    rows, failures = read_stats(prefix)
    kinds = print_stats(rows, failures, elapsed)
    entries = ledger(ledger_path)
    for failure in [e for e in entries if e["kind"] == "failure"]:
        print(f"    t={failure['at'] - wall_started:5.1f} s  {failure['error']}  {failure['path']}"
              + (f"  {failure['detail']}" if failure["detail"] else ""), flush=True)  # fmt: skip

    # Stripe retries what was not acknowledged (a 503 during the restart, a connection cut).
    acknowledged = {e["intent"] for e in entries if e["kind"] == "payment" and 200 <= e["status"] < 300}
    acknowledged |= {intent for intent, answer in storm_answers if 200 <= answer.status < 300}
    retried: Counter[int] = Counter()
    for entry in [e for e in entries if e["kind"] == "payment" and e["intent"] not in acknowledged]:
        for _ in range(3):
            answer = deliver(stack, entry)
            retried[answer.status] += 1
            if 200 <= answer.status < 300:
                acknowledged.add(entry["intent"])
                break
            time.sleep(1)
    if retried:
        print(f"  Stripe's retries of unacknowledged payment webhooks: {dict(retried)}", flush=True)
    waited = drain(stack, args.drain_timeout)
    left = due_work(stack)
    print(f"  drain: {waited:.0f} s (left: {left[0]} open policies, {left[1]} approved unpaid claims, "
          f"{left[2]} due jobs and queued Stripe deliveries)", flush=True)  # fmt: skip
    with insurer.lock:
        calls = dict(insurer.calls)
    print(f"  insurer double calls by (answer, operation): {calls}", flush=True)
    attempts = Counter(n for (n,) in stack.sql("SELECT attempts FROM policies WHERE shop_id = %s", stack.shop["id"]))
    print(f"  policies by purchase attempts: {dict(sorted(attempts.items()))}", flush=True)
    claims = stack.sql("SELECT status, amount, count(*) FROM claims WHERE shop_id = %s GROUP BY 1, 2 ORDER BY 2",
                       stack.shop["id"])  # fmt: skip
    print(f"  claims by (status, amount): {', '.join(f'{s} {a}: {n}' for s, a, n in claims)}", flush=True)
    print(f"  workers: {len(workers.killed)} SIGKILLed, {len(workers.unexpected)} exited on their own "
          f"{workers.unexpected or ''}", flush=True)  # fmt: skip

    print("== invariants", flush=True)
    check_invariants(stack, checks, entries, acknowledged, insurer, stripe)
    server_errors = {kind: n for kind, n in kinds.items() if kind.startswith(("HTTP 5", "no answer"))}
    storm_5xx = Counter(a.status for _, a in storm_answers if a.status >= 500 or a.status == 0)
    checks.check("every request answered, and no 5xx but a clean 503 with Retry-After (the mix and the storm)",
                 not server_errors and not {s for s in storm_5xx if s != 503},
                 f"mix: {server_errors or 'none'}; storm: {dict(storm_5xx) or 'none'}; "
                 f"503 with Retry-After: {kinds.get('503 with Retry-After', 0)}")  # fmt: skip
    checks.check("every fault of the timeline applied", len(log) == len(timeline_plan)
                 and not any("could not apply" in line for line in log), f"{len(log)} of {len(timeline_plan)}")  # fmt: skip
    checks.check("no worker died on its own", not workers.unexpected, f"exit codes {workers.unexpected}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so SIGTERM runs the same clean-up (finally blocks) as Ctrl-C


if __name__ == "__main__":
    sys.exit(main())
