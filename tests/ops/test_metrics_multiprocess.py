"""/metrics under the Procfile's gunicorn (2 workers): one scrape counts every worker's requests, the dead ones' too."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.ops.test_gunicorn import http, procfile_web, wait_until_healthy

DEADLINE = 30.0


def workers_of(master: int) -> set[int]:
    """The live child processes of a pid (from /proc: the parent pid is the 4th field of stat)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


def gunicorn_master(port: int) -> int:
    """The pid of the gunicorn master serving this loopback port (gunicorn.conf.py binds PORT from its environment,
    which its workers share)."""
    bound = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
            environ = (cmdline.parent / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PORT={port}".encode() in environ and any(arg.endswith(b"gunicorn") for arg in args):
            bound.append(int(cmdline.parent.name))
    masters = [pid for pid in bound if workers_of(pid)]
    assert len(masters) == 1, bound
    return masters[0]


def counted(port: int, route: str, status: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "plugin_http_requests_total"
        and sample.labels == {"route": route, "method": "GET", "status": status}
    )


def test_a_scrape_sums_every_worker_process_even_replaced_ones(app, database_url, tmp_path: Path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    with procfile_web(database_url, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as port:
        master = gunicorn_master(port)
        first = workers_of(master)
        assert len(first) == 2
        for _ in range(15):
            assert http(port, "/readyz", timeout=DEADLINE) == 200
            assert http(port, "/no/such/page", timeout=DEADLINE) == 404
        # Replace both workers: whatever they counted now lives only in their files.
        for pid in first:
            os.kill(pid, signal.SIGTERM)  # a worker the master then replaces, as after max_requests or a crash
        deadline = time.monotonic() + DEADLINE
        while not (len(workers_of(master)) == 2 and not workers_of(master) & first):
            assert time.monotonic() < deadline, "gunicorn did not replace its workers in time"
            time.sleep(0.1)
        # Wait for the new workers on /healthz (a request a client gave up on may still be served and counted).
        wait_until_healthy(port, deadline)
        for _ in range(5):
            assert http(port, "/readyz", timeout=DEADLINE) == 200
        assert counted(port, "/readyz", "200") == 20
        assert counted(port, "<unmatched>", "404") == 15
    # The old workers' files and the new ones': the 20 were summed across processes.
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
