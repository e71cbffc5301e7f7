"""gunicorn's access log under the Procfile's command: one JSON object per request, with its request id, and no
query string or credentials."""

from __future__ import annotations

import json
import urllib.request

from tests.ops.test_gunicorn import procfile_web

FIELDS = {"time", "level", "logger", "message", "request_id", "method", "path", "status", "bytes", "duration_ms"}


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.headers["X-Request-ID"]


def test_each_request_is_one_json_line_with_its_request_id(app, database_url, shop, tmp_path):
    secret = shop.keys.secret_key
    access_log = tmp_path / "access.log"
    with procfile_web(database_url, tmp_path, "--access-logfile", str(access_log)) as port:
        given = get(
            port, f"/api/v1/settings?key={secret}", {"Authorization": f"Bearer {secret}", "X-Request-ID": "abc"}
        )
        made = get(port, "/healthz?x=1", {"X-Request-ID": 'no "quotes" allowed'})
    assert given == (200, "abc")
    assert made[0] == 200 and made[1] != 'no "quotes" allowed' and len(made[1]) == 20
    lines = [json.loads(line) for line in access_log.read_text().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    settings, health = by_id["abc"], by_id[made[1]]
    assert settings.keys() >= FIELDS
    assert (settings["method"], settings["path"], settings["status"], settings["logger"]) == (
        "GET", "/api/v1/settings", 200, "gunicorn.access"
    )  # fmt: skip
    assert settings["remote_addr"] == "127.0.0.1" and settings["bytes"] > 0 and settings["duration_ms"] >= 0
    assert (health["path"], health["status"]) == ("/healthz", 200)
    logged = access_log.read_text()
    assert secret not in logged and "key=" not in logged and "x=1" not in logged and "Bearer" not in logged
    # gunicorn's own messages (booting, workers) are JSON lines on stderr too.
    errors = [line for path in tmp_path.glob("gunicorn-*.err") for line in path.read_text().splitlines()]
    assert any(json.loads(line)["logger"] == "gunicorn.error" for line in errors), errors
    assert all(json.loads(line)["level"] for line in errors), errors


class _Answer:
    status = "201 CREATED"
    sent = 42
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "rid-1")]


def _access_line(tmp_path, monkeypatch, log_format: str) -> str:
    from datetime import timedelta

    from gunicorn.config import Config

    from plugin.gunicorn_logging import JsonLogger

    monkeypatch.setenv("LOG_FORMAT", log_format)
    target = tmp_path / f"access-{log_format}.log"
    config = Config()
    config.set("accesslog", str(target))
    config.set("access_log_format", '%(h)s "%(m)s %(U)s %(H)s" %(s)s %({x-request-id}o)s')
    logger = JsonLogger(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": '/api/v1/odd"\\path',
        "QUERY_STRING": "key=sk_live_abcdefghijkl",
        "RAW_URI": '/api/v1/odd"\\path?key=sk_live_abcdefghijkl',
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_AUTHORIZATION": "Bearer sk_live_abcdefghijkl",
    }
    logger.access(_Answer(), [("AUTHORIZATION", "Bearer sk_live_abcdefghijkl")], environ, timedelta(milliseconds=12))
    for log in (logger.access_log, logger.error_log):  # the loggers are global: leave no handler (or open file)
        for handler in list(log.handlers):
            handler.close()
            log.removeHandler(handler)
    return target.read_text()


def test_an_odd_path_still_makes_valid_json_and_text_mode_keeps_gunicorn_s_line(tmp_path, monkeypatch):
    line = json.loads(_access_line(tmp_path, monkeypatch, "json"))
    assert (line["method"], line["path"], line["status"], line["bytes"]) == ("POST", '/api/v1/odd"\\path', 201, 42)
    assert (line["request_id"], line["remote_addr"], line["duration_ms"]) == ("rid-1", "10.0.0.7", 12.0)
    text = _access_line(tmp_path, monkeypatch, "text")
    assert text.startswith("10.0.0.7 ") and "rid-1" in text and " 201 " in text
    for written in (json.dumps(line), text):
        assert "sk_live" not in written and "key=" not in written and "Bearer" not in written
