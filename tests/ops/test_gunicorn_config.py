"""gunicorn.conf.py: workers from WEB_CONCURRENCY or the CPUs, HOST/PORT, the app's trusted proxies; the Procfile's
`web:` line started for real answers /healthz and sees clients behind a trusted proxy."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.ops.test_gunicorn import ROOT, procfile_web, procfile_web_command

CONFIG = ROOT / "gunicorn.conf.py"


@pytest.fixture()
def config(monkeypatch, tmp_path) -> dict:
    """The config file's namespace, loaded in this process without making a metrics directory of its own."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("WEB_CONCURRENCY", "HOST", "PORT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(CONFIG))


def printed_config(*prefix: str, **environ: str) -> dict[str, str]:
    """What gunicorn itself makes of the config file (`--print-config`), under `environ`."""
    env = {key: value for key, value in os.environ.items() if key not in {"WEB_CONCURRENCY", "HOST", "PORT"}}
    env.pop("FORWARDED_ALLOW_IPS", None)
    # --print-config starts no worker: the metrics directory is named, never written.
    env.update(environ, PYTHONPATH=str(ROOT), PROMETHEUS_MULTIPROC_DIR=tempfile.gettempdir())
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run(  # noqa: S603 - our own config file
        [*prefix, gunicorn, "--print-config", "plugin:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    settings = {}
    for line in result.stdout.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            settings[name.strip()] = value.strip()
    settings["_error"] = result.stdout.strip().splitlines()[-1] if "Error" in result.stdout else result.stderr
    return settings


def test_the_procfile_web_line_leaves_everything_to_the_config_file():
    # The access log's destination stays on the command line: the benchmarks run gunicorn.conf.py without one.
    assert procfile_web_command() == "gunicorn --access-logfile - 'plugin:create_app()'"
    assert "release: flask --app plugin db upgrade" in (ROOT / "Procfile").read_text().splitlines()


def test_workers_come_from_web_concurrency_else_twice_the_cpus_plus_one(config, monkeypatch):
    assert config["_workers"]({"WEB_CONCURRENCY": "7"}) == 7
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(2)))
    assert config["_workers"]({}) == 5
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert config["_workers"]({"WEB_CONCURRENCY": " "}) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert config["_workers"]({}) == 12  # capped: more machines beat more processes past this
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a whole number"):
        config["_workers"]({"WEB_CONCURRENCY": "two"})


def test_a_container_cpu_quota_lowers_the_count(config, monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")  # docker --cpus=1.5
    assert config["_cpu_count"](cpu_max) == 2
    cpu_max.write_text("max 100000\n")
    assert config["_cpu_count"](cpu_max) == 16
    assert config["_cpu_count"](tmp_path / "absent") == 16


def test_bind_reads_host_and_port(config):
    assert config["_bind"]({}) == "0.0.0.0:8000"
    assert config["_bind"]({"HOST": "127.0.0.1", "PORT": "5000"}) == "127.0.0.1:5000"
    assert config["_bind"]({"HOST": "::", "PORT": "5000"}) == "[::]:5000"
    with pytest.raises(SystemExit, match="PORT must be a port number"):
        config["_bind"]({"PORT": "http"})


def test_gunicorn_runs_what_the_config_computes():
    if shutil.which("taskset") is None:
        pytest.skip("taskset (util-linux) is not installed")
    one_cpu = printed_config("taskset", "-c", "0", HOST="::1", PORT="9123", FORWARDED_ALLOW_IPS="10.0.0.0/8, ::1")
    assert one_cpu["workers"] == "3", one_cpu["_error"]
    assert one_cpu["bind"] == "['[::1]:9123']"
    assert one_cpu["worker_class"] == "gevent"
    assert (one_cpu["timeout"], one_cpu["graceful_timeout"], one_cpu["keepalive"]) == ("30", "25", "75")
    assert one_cpu["forwarded_allow_ips"] == "['10.0.0.0/8', '::1/128']"


def test_unset_gunicorn_trusts_no_proxy_either(config):
    # gunicorn's own default would be 127.0.0.1,::1: a local process could claim https where the app trusts none.
    assert config["forwarded_allow_ips"] == ""
    assert config["bind"] == "0.0.0.0:8000"


def test_a_bad_proxy_list_stops_gunicorn_with_a_message():
    refused = printed_config(FORWARDED_ALLOW_IPS="10.0.0.1/8")
    assert "workers" not in refused
    assert "10.0.0.1/8" in refused["_error"]


def _quote(port: int, key: str, forwarded_for: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/quotes",
        data=json.dumps(CONTRACT_EXAMPLE).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-Forwarded-For": forwarded_for,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_behind_a_trusted_proxy_the_served_app_limits_each_client(app, database_url, shop, tmp_path):
    key = shop.keys.publishable_key
    with procfile_web(
        database_url, tmp_path, WEB_CONCURRENCY="1", RATE_LIMIT_QUOTES="2/minute", FORWARDED_ALLOW_IPS="127.0.0.1"
    ) as port:
        assert [_quote(port, key, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
        assert _quote(port, key, "198.51.100.9") == 200  # another shopper behind the same proxy
        assert _quote(port, key, "192.0.2.1, 203.0.113.7") == 429  # a made-up address in front changes nothing
