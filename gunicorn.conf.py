"""gunicorn settings read from the working directory (the Procfile's `web:` runs from here)."""

import gc
import math
import os
import shutil
import tempfile
from pathlib import Path

# ---- Where, how many, how long (the Procfile's `web:` line only names the app) ----------


def _cpu_count(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its affinity (taskset, cpusets), lowered by a cgroup v2 quota (docker --cpus)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


def _workers(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """WEB_CONCURRENCY when set, else (2 x CPUs) + 1 up to 12, as gunicorn's documentation suggests.

    A gevent worker overlaps its requests' waits on the network, but the app's own work (pricing a cart, rendering
    a page) is Python under one GIL per process, and an argon2 password check or a long collection stalls the whole
    worker; more processes than CPUs keep every CPU busy meanwhile. Past 12, each worker's connection pool (up to
    15 PostgreSQL connections) costs more than the parallelism buys: run more machines instead.
    """
    raw = (environ.get("WEB_CONCURRENCY") or "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise SystemExit(f"WEB_CONCURRENCY must be a whole number of processes above 0, not {raw!r}")
        return int(raw)
    return min(2 * _cpu_count() + 1, 12)


def _bind(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """HOST (0.0.0.0) and PORT (8000), as platforms that run Procfiles set them; an IPv6 host in brackets."""
    host = (environ.get("HOST") or "").strip() or "0.0.0.0"  # noqa: S104 - a server listens on every interface
    port = (environ.get("PORT") or "").strip() or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"PORT must be a port number, not {port!r}")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def _forwarded_allow_ips(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """FORWARDED_ALLOW_IPS as the app reads it, so gunicorn honours X-Forwarded-Proto from the same proxies only.

    gunicorn's own default when the variable is unset is 127.0.0.1,::1; the app's is no proxy at all, and an
    empty list here keeps the two in step (a local process cannot claim https then either).
    """
    from plugin.proxies import InvalidProxyList, parse_allow_list

    try:
        return ",".join(parse_allow_list(environ.get("FORWARDED_ALLOW_IPS") or ""))
    except InvalidProxyList as exc:
        raise SystemExit(str(exc)) from None


bind = _bind()
workers = _workers()
forwarded_allow_ips = _forwarded_allow_ips()
# A worker that has not told the master it is alive for this long is killed and replaced. A gevent worker's
# heartbeat is a greenlet, so this is "the worker's hub was blocked for 30 s": requests take milliseconds and no
# web request calls an insurer or Stripe (the worker process does), so only a wedged worker gets here.
timeout = 30
# On SIGTERM (a deploy, a scale-down) workers stop accepting and finish the requests in hand for up to this long.
# Below the 30 s after which Heroku, Kubernetes (terminationGracePeriodSeconds) and systemd send SIGKILL, so
# in-flight checkouts are answered rather than cut.
graceful_timeout = 25
# Idle keep-alive connections from the reverse proxy stay open this long: longer than the proxy's own idle timeout
# (nginx's upstream keepalive_timeout and AWS ALB's are 60 s), so the proxy always closes first and never sends a
# request down a connection gunicorn is closing (a 502). An idle connection is one parked greenlet.
keepalive = 75

# Slow clients: a sync or gthread worker reads each request body in one of its few threads, so as many
# connections as there are threads, each trickling its body, freeze the whole server. A gevent worker reads
# bodies in greenlets (up to `worker_connections` per worker), so a slow body parks one greenlet and
# nothing else. psycopg 3 cooperates with gevent's hub on its own since 3.1.14; SQLite calls are short.
worker_class = "gevent"
worker_connections = 1000

# No secret in the access log. The default format logs `%(u)s`, the user part of an `Authorization: Basic`
# header (where a client may put an API key), the whole request line with its query string (which may carry
# anything) and the Referer (another URL with a query). This logger writes one JSON line per request (method,
# path without its query, status, bytes, duration, client address, request id) and gunicorn's own messages as
# JSON too; with LOG_FORMAT=text it keeps gunicorn's lines, in the format below (the path without its query).
logger_class = "plugin.gunicorn_logging.JsonLogger"
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'

# /metrics must sum every worker's counts, whichever worker answers the scrape: prometheus_client's multiprocess
# mode keeps each process's values in files under PROMETHEUS_MULTIPROC_DIR. Read at import, so set here, in the
# master, before any worker loads the app. Unset: a fresh directory for this server's lifetime (no stale counts
# from an earlier run). Set by the operator: used as is, and it must be emptied before the processes start.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="plugin-metrics-")


def post_worker_init(worker):
    """Freeze what the app loaded at start-up out of the garbage collector's sight.

    The app keeps ~100,000 long-lived objects (ISO code tables, schemas, mappers); without this every
    full collection walks them all, which cost about 20% of the quote endpoint's throughput.
    """
    gc.freeze()


def child_exit(server, worker):
    """A worker ended (restarted, killed): drop its live gauges; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The server stops: remove the metrics directory it made for itself (never one the operator set)."""
    if _own_metrics_dir is not None:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
