"""gunicorn settings read from the working directory (the Procfile's `web:` runs from here)."""

import gc
import os
import shutil
import tempfile

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
