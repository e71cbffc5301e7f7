"""`flask --app plugin worker` with WORKER_METRICS_PORT: a worker-only machine's /metrics, from the worker itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from plugin.config import ConfigurationError, load_config
from tests.api.test_worker import ship
from tests.conftest import make_environ
from tests.ops.test_gunicorn import free_port
from tests.stripe_helpers import protected_order

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-the-test"


def get(port: int, path: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback only
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_worker_serves_its_own_metrics(app, client, database_url, shop, tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},  # a worker alone on its machine
        **make_environ(database_url),
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_HOST": "127.0.0.1",
        "METRICS_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    stderr = (tmp_path / "worker.err").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "plugin", "worker", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert worker.poll() is None, (tmp_path / "worker.err").read_text()
            try:
                status, text = get(port, "/metrics")
                break
            except OSError:
                assert time.monotonic() < deadline, "the worker's metrics did not answer"
                time.sleep(0.2)
        assert status == 200
        assert samples(text)[("plugin_job_oldest_due_age_seconds", ())] >= 0  # the database's gauges too
        assert get(port, "/metrics", token=None)[0] == 401  # METRICS_TOKEN holds here as on the web side
        assert get(port, "/api/v1/settings")[0] == 404  # nothing but /metrics
        assert get(port, "/healthz")[0] == 404

        protected_order(client, shop)
        ship(client, shop)  # a bind_policy job, which this worker runs against the sandbox insurer
        bound = ("plugin_jobs_total", (("kind", "bind_policy"), ("status", "succeeded")))
        while samples(get(port, "/metrics")[1]).get(bound) != 1.0:
            assert time.monotonic() < deadline + 30, "the worker's job was not counted"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
        stderr.close()
    assert worker.returncode == 0, (tmp_path / "worker.err").read_text()


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1", "８０"])
def test_a_bad_worker_metrics_port_stops_start_up_with_its_name(value):
    with pytest.raises(ConfigurationError, match="WORKER_METRICS_PORT"):
        load_config({**make_environ("sqlite://"), "WORKER_METRICS_PORT": value}, "/tmp")  # noqa: S108
