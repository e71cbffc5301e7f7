"""Fault and concurrency scenarios against a real gunicorn on PostgreSQL, each with the invariants it must keep.

    python bench/reliability.py [--scenario NAME|all] [--quick] [--allow-slow]
                                [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Scenarios (docs/reliability.md explains each and records the figures):
  duplicate-storm         N distinct signed Stripe events, each delivered K times at once, shuffled
  simultaneous-shipments  8 simultaneous shipments (no items) of one 50,000 order, for R orders
  worker-sigkill          2 policy workers; one is SIGKILLed mid-batch and restarted
  pg-restart              steady load while a throwaway PostgreSQL cluster restarts (pg_ctl restart -m fast)
  schemathesis            the suite's schemathesis tests (or the schemathesis CLI against a live server)

Every scenario starts what it needs on loopback (a scratch database on --database-url, or its own cluster for
pg-restart), stops by itself (about 2 minutes; --quick about 20 s) and removes what it created. Prints what it did
and PASS/FAIL per invariant; the exit status is 1 if any invariant failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.reliability_support import (
    ROOT,
    Answer,
    PgCluster,
    Stack,
    app_stack,
    percentile,
    protect_orders,
    scratch_database,
    signed_deliveries,
)

WEB_WORKERS = 4


@dataclass
class Outcome:
    """What a scenario did and the invariants it checked, printed as it goes."""

    name: str
    checks: list[tuple[str, str]] = field(default_factory=list)  # (verdict, label)

    def say(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def check(self, label: str, ok: bool, detail: str = "") -> None:
        verdict = "PASS" if ok else "FAIL"
        self.checks.append((verdict, label))
        print(f"  [{verdict}] {label}{f': {detail}' if detail else ''}", flush=True)

    def skip(self, reason: str) -> None:
        self.checks.append(("SKIP", reason))
        print(f"  [SKIP] {reason}", flush=True)

    @property
    def verdict(self) -> str:
        verdicts = {verdict for verdict, _ in self.checks}
        if "FAIL" in verdicts:
            return "FAIL"
        return "PASS" if "PASS" in verdicts else "SKIP"


def statuses(answers: list[Answer]) -> str:
    counts = Counter(answer.status or "no answer" for answer in answers)
    return ", ".join(f"{status}: {count}" for status, count in sorted(counts.items(), key=str))


# ---- 1. duplicate webhook storm ---------------------------------------------------------------------------------


def duplicate_storm(args: argparse.Namespace, out: Outcome) -> None:
    events, copies, threads = (40, 3, 16) if args.quick else (200, 5, 16)
    with scratch_database(args.database_url, "storm") as url, app_stack(url, web_workers=WEB_WORKERS) as stack:
        deliveries = signed_deliveries(events, stack.quote(), f"storm{os.getpid()}") * copies
        random.shuffle(deliveries)
        out.say(f"{events} distinct payment_intent.succeeded events x {copies} copies = {len(deliveries)} deliveries, "
                f"shuffled, {threads} threads; gunicorn {WEB_WORKERS} gevent workers (gunicorn.conf.py); PostgreSQL")  # fmt: skip
        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            answers = list(pool.map(lambda delivery: stack.deliver(*delivery), deliveries))
        elapsed = time.monotonic() - started
        latencies = [answer.ms for answer in answers]
        out.say(f"{len(answers) / elapsed:.0f} req/s; p50 {percentile(latencies, 0.5):.1f} ms, "
                f"p99 {percentile(latencies, 0.99):.1f} ms; answers {statuses(answers)}")  # fmt: skip
        shop = stack.shop["id"]
        payments = stack.sql("SELECT count(*) FROM payments WHERE shop_id = %s", shop)[0][0]
        protections = stack.sql("SELECT count(*) FROM protections WHERE shop_id = %s", shop)[0][0]
        active = stack.sql("SELECT count(*) FROM protections WHERE shop_id = %s AND status = 'active'", shop)[0][0]
        stored = stack.sql("SELECT count(*) FROM webhook_deliveries WHERE shop_id = %s AND source = 'stripe'", shop)
        non_200 = sum(answer.status != 200 for answer in answers)
        out.check("every delivery answered 200", non_200 == 0, f"{non_200} non-200")
        out.check(f"exactly {events} payments", payments == events, str(payments))
        out.check(f"exactly {events} protections, all active", protections == active == events,
                  f"{protections} ({active} active)")  # fmt: skip
        out.check(f"exactly {events} webhook_deliveries rows", stored[0][0] == events, str(stored[0][0]))


# ---- 2. simultaneous shipments of one order ---------------------------------------------------------------------


def simultaneous_shipments(args: argparse.Namespace, out: Outcome) -> None:
    orders, parallel = (4, 8) if args.quick else (20, 8)
    with scratch_database(args.database_url, "ship") as url, app_stack(url, web_workers=WEB_WORKERS) as stack:
        order_ids = protect_orders(stack, orders, f"sim{os.getpid()}")
        out.say(f"{orders} protected orders (declared value 50,000 each); per order {parallel} simultaneous "
                f"POST /api/v1/shipments, distinct shipment ids, no items; gunicorn {WEB_WORKERS} gevent workers (gunicorn.conf.py)")  # fmt: skip
        answers: list[Answer] = []
        violations: list[str] = []
        worst = 0.0
        for order_id in order_ids:
            barrier = threading.Barrier(parallel)

            def ship(index: int, order_id: str = order_id, barrier: threading.Barrier = barrier) -> Answer:
                body = {"order_id": order_id, "shipment_id": f"{order_id}-p{index}", "carrier": "UPS",
                        "tracking_number": f"1Z{index:08d}"}  # fmt: skip
                barrier.wait(timeout=30)
                return stack.api("POST", "/api/v1/shipments", body)

            with ThreadPoolExecutor(parallel) as pool:
                answers += list(pool.map(ship, range(parallel)))
            declared = stack.api("GET", f"/api/v1/protections?order_id={order_id}").json()["data"][0]["declared_value"]
            policies = stack.api("GET", f"/api/v1/policies?order_id={order_id}").json()["data"]
            insured = sum(policy["sum_insured"] for policy in policies if policy["status"] != "cancelled")
            worst = max(worst, insured / declared)
            if insured > declared:
                violations.append(f"{order_id}: {insured} insured in {len(policies)} policies > {declared}")
        out.say(f"answers {statuses(answers)}; worst order insured {worst:.2f} x its declared value")
        for violation in violations[:5]:
            out.say(f"over-insured {violation}")
        errors = sum(not 200 <= answer.status < 300 for answer in answers)
        out.check("every shipment request answered 2xx", errors == 0, f"{errors} other answers")
        out.check("per order, sum insured of non-cancelled policies <= declared value", not violations,
                  f"{len(violations)} of {orders} orders over-insured")  # fmt: skip


# ---- 3. a worker killed with SIGKILL mid-batch ------------------------------------------------------------------


def worker_sigkill(args: argparse.Namespace, out: Outcome) -> None:
    count, latency_ms = (40, 50) if args.quick else (200, 100)
    deadline_after_kill = 400.0 if args.allow_slow else (20.0 if args.quick else 90.0)
    with scratch_database(args.database_url, "kill") as url, app_stack(url, web_workers=WEB_WORKERS) as stack:
        shop = stack.shop["id"]
        order_ids = protect_orders(stack, count, f"kill{os.getpid()}")
        with ThreadPoolExecutor(4) as pool:
            shipped = list(pool.map(
                lambda order_id: stack.api("POST", "/api/v1/shipments", {
                    "order_id": order_id, "shipment_id": f"{order_id}-p1", "carrier": "UPS", "tracking_number": "1Z1"}),
                order_ids,
            ))  # fmt: skip
        if any(answer.status != 202 or answer.json().get("policy") is None for answer in shipped):
            raise RuntimeError(f"seeding shipments: {statuses(shipped)}")
        patched = stack.api("PATCH", "/api/v1/settings", {"insurer": {"config": {"latency_ms": latency_ms}}})
        if patched.status != 200:
            raise RuntimeError(f"latency setting answered {patched.status}: {patched.body[:300]!r}")

        def progress() -> tuple[int, int]:
            bound = stack.sql("SELECT count(*) FROM policies WHERE shop_id = %s AND status = 'bound'", shop)[0][0]
            booked = stack.sql("SELECT count(*) FROM sandbox_bookings WHERE shop_id = %s", shop)[0][0]
            return bound, booked

        out.say(f"{count} due sandbox policies (seeded through signed webhooks + POST /api/v1/shipments), "
                f"insurer latency {latency_ms} ms; 2 `flask worker` processes, WORKER_LEASE_SECONDS=5")  # fmt: skip
        started = time.monotonic()
        victim = stack.start_worker()
        stack.start_worker()
        threshold = max(3, count // 4)
        while progress()[1] < threshold:
            if time.monotonic() - started > 60:
                raise RuntimeError("the workers booked nothing in 60 s")
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        victim.wait(timeout=10)
        bound_at_kill, booked_at_kill = progress()
        rate = booked_at_kill / (killed - started)
        stack.start_worker()
        out.say(f"SIGKILL after {killed - started:.1f} s with {booked_at_kill} booked, {bound_at_kill} recorded "
                f"bound; worker restarted at once")  # fmt: skip
        bound = bound_at_kill
        while bound < count and time.monotonic() - killed < deadline_after_kill:
            time.sleep(0.2)
            bound, _ = progress()
        recovered = time.monotonic() - killed
        expected = (count - booked_at_kill) / rate if rate else 0.0
        if bound == count:
            out.say(f"all {count} bound {recovered:.1f} s after the kill (the remaining work alone: "
                    f"~{expected:.1f} s at the pre-kill rate; the killed worker's leased batch waits for its lease)")  # fmt: skip
        else:
            held = stack.sql(
                "SELECT extract(epoch FROM max(leased_until) - now()) FROM policies WHERE shop_id = %s AND status <> 'bound'",
                shop,
            )[0][0]
            out.say(f"after {recovered:.0f} s, {count - bound} policies still not bound"
                    + (f"; their lease runs {float(held):.0f} s more" if held else "")
                    + ("" if args.allow_slow else " (WORKER_LEASE_SECONDS ignored? --allow-slow waits out the default lease)"))  # fmt: skip
        rows = stack.sql("SELECT count(*), count(DISTINCT reference) FROM sandbox_bookings WHERE shop_id = %s", shop)[0]
        duplicated = stack.sql(
            "SELECT count(*) FROM (SELECT reference FROM sandbox_bookings WHERE shop_id = %s"
            " GROUP BY reference HAVING count(*) > 1) d", shop,
        )[0][0]  # fmt: skip
        unbacked = stack.sql(
            "SELECT count(*) FROM policies p WHERE p.shop_id = %s AND p.status = 'bound'"
            " AND NOT EXISTS (SELECT 1 FROM sandbox_bookings b WHERE b.reference = p.id)", shop,
        )[0][0]  # fmt: skip
        by_status = dict(stack.sql("SELECT status, count(*) FROM policies WHERE shop_id = %s GROUP BY status", shop))
        out.say(f"policies by status {by_status}; sandbox bookings {rows[0]} for {rows[1]} policies")
        out.check(f"all {count} policies bound within {deadline_after_kill:.0f} s of the kill", bound == count,
                  f"{bound} bound, recovery {recovered:.1f} s")  # fmt: skip
        out.check("no policy booked twice with the insurer", duplicated == 0, f"{duplicated} duplicated")
        out.check("none lost: one booking per policy, every bound policy backed by a booking",
                  rows[0] == rows[1] == bound and unbacked == 0, f"{rows[0]} bookings, {unbacked} unbacked")  # fmt: skip


# ---- 4. a PostgreSQL restart under load -------------------------------------------------------------------------


QUOTE_BODY = {
    "currency": "USD",
    "destination": {"country": "US"},
    "items": [{"sku": "A", "unit_price": 2500, "quantity": 2}],
}


def drive(
    stack: Stack, threads: int, seconds: float, restart: Callable[[], None] | None = None, restart_at: float = 0.0
) -> tuple[list[tuple[str, Answer]], float, float]:
    """Quotes and GET /api/v1/protections from `threads` threads for `seconds`; `restart` runs at `restart_at`.

    Answers (endpoint, answer) and the restart's (begun, done) monotonic times (both 0 without a restart).
    """
    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def load() -> None:
        while time.monotonic() < end:
            for kind, method, path, payload in (
                ("quote", "POST", "/api/v1/quotes", QUOTE_BODY),
                ("protections", "GET", "/api/v1/protections", None),
            ):
                answer = stack.api(method, path, payload)
                with lock:
                    answers.append((kind, answer))

    workers = [threading.Thread(target=load, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    down = back = 0.0
    if restart is not None:
        time.sleep(restart_at)
        down = time.monotonic()
        restart()
        back = time.monotonic()
    for worker in workers:
        worker.join(timeout=seconds + 30)
    return answers, down, back


def pg_restart(args: argparse.Namespace, out: Outcome) -> None:
    busy, restart_at, quiet, threads = (8.0, 3.0, 5.0, 6) if args.quick else (40.0, 15.0, 20.0, 8)
    cluster = PgCluster()
    try:
        cluster.start()
        out.say(f"own cluster (initdb) on 127.0.0.1:{cluster.port} in {cluster.root}")
        with app_stack(cluster.url, web_workers=WEB_WORKERS) as stack:
            protect_orders(stack, 5, f"pg{os.getpid()}")
            out.say(f"load: quotes + GET /api/v1/protections from {threads} threads; gunicorn {WEB_WORKERS} gevent "
                    "workers; restarts by pg_ctl restart -m fast -w")  # fmt: skip
            # 1. The restart under steady load: requests in flight meet the outage.
            answers, down, back = drive(stack, threads, busy, cluster.restart, restart_at)
            before = [a for _, a in answers if a.ended <= down]
            during = [a for _, a in answers if a.started < back and a.ended > down]
            after = [a for _, a in answers if a.started >= back]
            out.say(f"1. restart under load at {restart_at:.0f} s of {busy:.0f} s: database down {back - down:.2f} s")
            out.say(f"   before: {len(before)} requests, {statuses(before)}")
            out.say(f"   during the outage: {len(during)} requests, {statuses(during)}")
            out.say(f"   after it is back: {len(after)} requests, {statuses(after)}")
            failed = [a for a in during + after if a.status != 200]
            recovery = (max(a.ended for a in failed) if failed else down) - down
            out.say(f"   recovery (restart begun -> last failed request): {recovery:.2f} s")
            # 2. The restart while idle: every worker's pooled connection is stale when traffic resumes,
            #    which is what pre-ping is for.
            quiet_down = time.monotonic()
            cluster.restart()
            quiet_back = time.monotonic()
            resumed, _, _ = drive(stack, threads, quiet)
            resumed_answers = [a for _, a in resumed]
            out.say(f"2. restart while idle (down {quiet_back - quiet_down:.2f} s), then {quiet:.0f} s of load: "
                    f"{len(resumed)} requests, {statuses(resumed_answers)}")  # fmt: skip
            late = [(k, a) for k, a in answers if a.started >= back and a.status != 200]
            late += [(k, a) for k, a in resumed if a.status != 200]
            if late:
                out.say(f"   failures after the database was back, by endpoint: {dict(Counter(k for k, _ in late))}")
        out.check("no failures before the first restart", all(a.status == 200 for a in before))
        out.check("no request fails once the database is back (pre-ping)", not late,
                  f"{len(late)} of {len(after) + len(resumed)} failed")  # fmt: skip
        out.check("the service answers after the restarts", any(a.status == 200 for a in [*after, *resumed_answers]))
    finally:
        cluster.destroy()
        out.say("cluster stopped and its directory removed")


# ---- 5. schemathesis --------------------------------------------------------------------------------------------


def schemathesis_modules() -> list[Path]:
    return sorted(
        path for path in (ROOT / "tests").rglob("test_*.py") if "import schemathesis" in path.read_text("utf-8")
    )


def schemathesis_run(args: argparse.Namespace, out: Outcome) -> None:
    """The suite's bounded schemathesis test (in-process), then schemathesis's CLI against a live gunicorn."""
    timeout = 120 if args.quick else 240
    modules = schemathesis_modules()
    if modules:
        command = [sys.executable, "-m", "pytest", *[str(m.relative_to(ROOT)) for m in modules], "-q",
                   "-p", "no:cacheprovider"]  # fmt: skip
        out.say("$ " + " ".join(["python", *command[1:]]))
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            out.check(f"the schemathesis tests finish within {timeout} s", False)
            return
        text = done.stdout + done.stderr
        summary = (re.findall(r"^=*\s*(\d+ (?:passed|failed|error).*?)\s*=*$", text, re.M) or ["(no summary)"])[-1]
        out.say(f"{summary} in {time.monotonic() - started:.0f} s")
        if done.returncode != 0:
            for line in [line for line in text.splitlines() if line.startswith(("FAILED", "ERROR"))][:10]:
                out.say(line)
        out.check("the suite's schemathesis tests pass (no 5xx, answers match the documented schema)",
                  done.returncode == 0)  # fmt: skip
    if importlib.util.find_spec("schemathesis") is None:
        out.skip("schemathesis is not installed (pip install -e '.[test]')")
        return
    cli_run(args, out, timeout)


def cli_run(args: argparse.Namespace, out: Outcome, timeout: int) -> None:
    """schemathesis's CLI against a live gunicorn, once per kind of key."""
    examples, budget = ("10", "15") if args.quick else ("100", "50")
    with scratch_database(args.database_url, "st") as url, app_stack(url, web_workers=WEB_WORKERS) as stack:
        for kind in ("publishable_key", "secret_key"):
            options = ["--max-examples", examples, "--max-time", budget, "--seed", "1",
                       "--checks", "not_a_server_error,response_schema_conformance"]  # fmt: skip
            command = [sys.executable, "-m", "schemathesis.cli", "run", f"{stack.base}/api/openapi.json",
                       "--header", f"Authorization: Bearer {stack.shop[kind]}", *options]  # fmt: skip
            out.say(f"$ schemathesis run {stack.base}/api/openapi.json -H 'Authorization: Bearer <{kind}>' "
                    + " ".join(options))  # fmt: skip
            try:
                done = subprocess.run(command, cwd=stack.logs, capture_output=True, text=True, timeout=timeout / 2)
            except subprocess.TimeoutExpired:
                out.check(f"schemathesis ({kind}) finishes within {timeout / 2:.0f} s", False)
                continue
            text = done.stdout + done.stderr
            for line in text.splitlines():
                if re.search(r"Selected:|Tested:|generated|^_+ [A-Z]+ /\S* _+$|^=+ .* in [\d.]+s =+$", line):
                    out.say("  " + line.strip(" _="))
            out.check(f"schemathesis with the {kind.replace('_', ' ')}: no failure", done.returncode == 0)


# ---- the runner -------------------------------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[[argparse.Namespace, Outcome], None]] = {
    "duplicate-storm": duplicate_storm,
    "simultaneous-shipments": simultaneous_shipments,
    "worker-sigkill": worker_sigkill,
    "pg-restart": pg_restart,
    "schemathesis": schemathesis_run,
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so SIGTERM runs the same clean-up (finally blocks) as Ctrl-C


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="smaller runs, about 20 s each")
    parser.add_argument("--allow-slow", action="store_true",
                        help="worker-sigkill: wait out the default 5-minute lease if WORKER_LEASE_SECONDS is ignored")  # fmt: skip
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for the scratch databases (pg-restart always runs its own cluster)")  # fmt: skip
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    outcomes = []
    for name in names:
        out = Outcome(name)
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        started = time.monotonic()
        try:
            SCENARIOS[name](args, out)
        except (
            RuntimeError,
            OSError,
            subprocess.SubprocessError,
            psycopg.Error,
        ) as exc:  # a scenario that cannot run is a FAIL
            out.check("the scenario ran", False, str(exc))
        out.say(f"({time.monotonic() - started:.0f} s)")
        outcomes.append(out)
    print("== summary", flush=True)
    for out in outcomes:
        print(f"  {out.verdict:<4} {out.name}")
    return 1 if any(out.verdict == "FAIL" for out in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
