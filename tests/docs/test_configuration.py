"""The configuration table in docs/operations.md names only variables the app reads, each to some effect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin.config import ConfigurationError, load_config

TABLE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
BASE = {"SECRET_KEY": "k" * 32}
# A value for each documented variable that differs from its default.
SAMPLES = {
    "DATABASE_URL": "postgresql://user@db.internal/plugin",
    "SECRET_KEY": "another-secret-key-of-some-length",
    "SECRET_KEY_FALLBACKS": "old-key-1,old-key-2",
    "ENCRYPTION_KEY": "a-fernet-key",
    "HTTPS_ONLY": "0",
    "DEMO": "1",
    "STRIPE_API_BASE": "http://127.0.0.1:12111",
    "RATE_LIMIT_QUOTES": "10/second",
    "RATE_LIMIT_CLAIM_LOOKUPS": "5/minute",
    "RATE_LIMIT_ADMIN_LOGINS": "5/minute",
    "ADMIN_SESSION_IDLE_MINUTES": "15",
    "ADMIN_SESSION_MAX_HOURS": "8",
    "FORWARDED_ALLOW_IPS": "10.0.0.0/8,192.0.2.7",
    "RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
    "RATE_LIMIT_KEY_PREFIX": "shop-eu",
    "STRIPE_RECORDING": "queued",
    "WORKER_LEASE_SECONDS": "30",
    "JOB_RETRY_BASE_SECONDS": "60",
    "ALLOW_PRIVATE_INSURER_HOSTS": "1",
    "KEY_CACHE_SECONDS": "0.5",
    "MIGRATIONS_DIR": "/srv/plugin/migrations",
    "LOG_LEVEL": "DEBUG",
    "LOG_FORMAT": "text",
    "DOSSIER_FONT": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "SMTP_URL": "smtp+starttls://mailer:secret@smtp.example.com:587",
    "MAIL_FROM": "Jade House <claims@shop.example>",
    "PUBLIC_BASE_URL": "https://shop.example",
    "ALLOW_PRIVATE_WEBHOOK_HOSTS": "1",
    "CLAIMS_SCAN_INTERVAL_SECONDS": "600",
    "EVIDENCE_STORAGE_URL": "s3://claims-evidence/prod",
    "EVIDENCE_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
    "READY_MAX_JOB_AGE_SECONDS": "300",
    "METRICS_TOKEN": "a-scrape-token",
}


def documented_variables() -> list[str]:
    """The first column of the configuration table."""
    section = TABLE.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, re.MULTILINE)


def test_the_table_is_found() -> None:
    assert {"DATABASE_URL", "SECRET_KEY", "KEY_CACHE_SECONDS"} <= set(documented_variables())


@pytest.mark.parametrize("name", documented_variables())
def test_each_documented_variable_changes_the_configuration(name: str, tmp_path: Path) -> None:
    assert name in SAMPLES, f"give {name} a sample value in SAMPLES"
    default = load_config(BASE, str(tmp_path))
    changed = load_config({**BASE, name: SAMPLES[name]}, str(tmp_path))
    assert changed != default, f"{name} is documented but changes nothing"


def test_key_cache_seconds_reaches_the_app_and_refuses_nonsense(tmp_path: Path) -> None:
    assert load_config({**BASE, "KEY_CACHE_SECONDS": "0"}, str(tmp_path))["KEY_CACHE_SECONDS"] == 0
    assert load_config(BASE, str(tmp_path))["KEY_CACHE_SECONDS"] == 5
    for bad in ("soon", "-1", "nan", "1e9"):
        with pytest.raises(ConfigurationError, match="KEY_CACHE_SECONDS"):
            load_config({**BASE, "KEY_CACHE_SECONDS": bad}, str(tmp_path))


def test_claim_lookup_rates_are_checked_when_the_app_starts(tmp_path: Path) -> None:
    assert load_config(BASE, str(tmp_path))["RATE_LIMIT_CLAIM_LOOKUPS"] == "10/minute;50/hour"
    assert load_config({**BASE, "RATE_LIMIT_CLAIM_LOOKUPS": "3/second; 20/day"}, str(tmp_path))
    for bad in ("soon", "10 per fortnight", "10/minute;x"):
        with pytest.raises(ConfigurationError, match="RATE_LIMIT_CLAIM_LOOKUPS"):
            load_config({**BASE, "RATE_LIMIT_CLAIM_LOOKUPS": bad}, str(tmp_path))


def test_smtp_and_public_urls_are_checked_when_the_app_starts(tmp_path: Path) -> None:
    config = load_config({**BASE, "SMTP_URL": "smtps://u:p@mail.example:465"}, str(tmp_path))
    assert config["SMTP_URL"] == "smtps://u:p@mail.example:465"
    assert load_config({**BASE, "PUBLIC_BASE_URL": "https://shop.example/"}, str(tmp_path))["PUBLIC_BASE_URL"] == (
        "https://shop.example"
    )
    for bad in ("mail.example:25", "http://mail.example", "smtp://", "smtp://host:99999"):
        with pytest.raises(ConfigurationError, match="SMTP_URL"):
            load_config({**BASE, "SMTP_URL": bad}, str(tmp_path))
    for bad in ("shop.example", "ftp://shop.example", "https://shop.example/?a=1"):
        with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL"):
            load_config({**BASE, "PUBLIC_BASE_URL": bad}, str(tmp_path))
