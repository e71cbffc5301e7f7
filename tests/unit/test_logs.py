"""The log line formats: JSON objects with the request id and extras, text for people, secrets blanked out."""

from __future__ import annotations

import json
import logging

import pytest

from plugin import logs
from plugin.config import ConfigurationError, load_config


def record(message: str, **extra: object) -> logging.LogRecord:
    logs._install_record_factory()
    made = logging.getLogger("plugin.test").makeRecord("plugin.test", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_time_level_logger_message_request_id_then_the_extras():
    with logs.job_context("job_1", "bind_policy", "abc"):
        line = json.loads(logs.JsonLines().format(record("policy bound", policy="pol_1")))
    assert list(line)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert line["time"].endswith("+00:00") and line["level"] == "INFO" and line["logger"] == "plugin.test"
    assert (line["message"], line["request_id"], line["policy"]) == ("policy bound", "abc", "pol_1")
    assert (line["job_id"], line["job_kind"]) == ("job_1", "bind_policy")
    outside = json.loads(logs.JsonLines().format(record("idle")))
    assert outside["request_id"] is None and "job_id" not in outside


@pytest.mark.parametrize(
    "secret",
    [
        "sk_" + "A1b2C3d4E5f6G7h8I9j0" * 2,
        "pk_" + "Z" * 40,
        "rk_test_merchantkey0000",
        "sk_live_51Habcdefghijkl",
        "whsec_test_secret_for_this_suite_1234",
        "pwhsec_" + "q" * 40,
    ],
)
def test_keys_and_secrets_are_blanked_out_wherever_they_appear(secret):
    for formatter in (logs.JsonLines(), logs.TextLines()):
        text = formatter.format(record(f"calling with {secret}", url=f"/x?key={secret}", error=f"bad {secret}"))
        assert secret not in text and "[redacted]" in text


def test_credentials_and_signatures_are_blanked_out():
    signature = "t=1700000000,v1=" + "ab12" * 16
    text = logs.JsonLines().format(
        record("headers", auth="Bearer abcdefghijkl", basic="Basic c2tfdGVzdDo=", sig=signature)
    )
    assert "abcdefghijkl" not in text and "c2tfdGVzdDo=" not in text and "ab12ab12" not in text
    assert "t=1700000000" in text  # the timestamp is harmless; the HMAC is not kept
    assert logs.redact("task_1234567890 ask_abcdefghij") == "task_1234567890 ask_abcdefghij"  # not keys


def test_text_lines_name_the_request():
    with logs.job_context("job_1", "k", "abc"):
        text = logs.TextLines().format(record("hello"))
    assert " INFO plugin.test [abc] hello" in text


def test_log_format_is_json_by_default_and_refuses_what_it_does_not_know(tmp_path):
    base = {"SECRET_KEY": "k" * 32}
    assert load_config(base, str(tmp_path))["LOG_FORMAT"] == "json"
    assert load_config({**base, "LOG_FORMAT": "TEXT"}, str(tmp_path))["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        load_config({**base, "LOG_FORMAT": "xml"}, str(tmp_path))


def test_made_request_ids_differ_and_a_forked_process_gets_its_own_prefix():
    first, second = logs.new_request_id(), logs.new_request_id()
    assert first != second and first[:12] == second[:12] and len(first) == 20
    logs._new_prefix()  # what os.register_at_fork runs in a child
    assert logs.new_request_id()[:12] != first[:12]
