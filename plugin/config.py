"""Configuration, read from the environment once when the app is built."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class ConfigurationError(click.ClickException, RuntimeError):
    """The environment does not describe a runnable service.

    A ClickException, so a `flask --app plugin …` command prints one `Error: …` line and exits 1, no traceback.
    """


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (case-insensitive); anything else refuses to start."""
    value = (environ.get(name) or "").strip().lower() or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: int, unit: str = "seconds") -> int:
    """A whole, positive number (of seconds, or of `unit`) from the environment."""
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) <= 0:
        raise ConfigurationError(f"{name} must be a whole number of {unit} above 0, not {value!r}")
    return int(value)


def _port(environ: Mapping[str, str], name: str) -> int | None:
    """A TCP port (1 to 65535) from the environment, None when unset."""
    value = (environ.get(name) or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 65536):
        raise ConfigurationError(f"{name} must be a TCP port from 1 to 65535, not {value!r}")
    return int(value)


def _fractional_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds from the environment."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 86_400:
        raise ConfigurationError(f"{name} must be a number of seconds, such as 5")
    return value


def _rates(environ: Mapping[str, str], name: str, default: str) -> str:
    """One or more rates such as "10/minute;50/hour" (checked now: a typo must not wait for the first request)."""
    from limits import parse_many

    value = (environ.get(name) or "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be rates such as 10/minute;50/hour, not {value!r}") from None
    return value


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and the key prefix inside it, for evidence files."""

    bucket: str
    prefix: str


def evidence_s3_location(url: str) -> S3Location | None:
    """None for the database; the bucket and prefix of `s3://bucket/prefix`; ConfigurationError for anything else."""
    if not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(
            f"EVIDENCE_STORAGE_URL must be s3://bucket or s3://bucket/prefix (unset: the database), not {url!r}"
        )
    prefix = parts.path.strip("/")
    return S3Location(parts.netloc, f"{prefix}/" if prefix else "")


def _endpoint_url(environ: Mapping[str, str], name: str) -> str | None:
    value = (environ.get(name) or "").strip()
    if value and urlsplit(value).scheme not in {"http", "https"}:
        raise ConfigurationError(f"{name} must be an http:// or https:// URL, not {value!r}")
    return value or None


def database_url(raw: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL: the embedded SQLite file by default, psycopg 3 for any PostgreSQL URL."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'plugin.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _demo_secret_key(instance_path: str) -> str:
    # The demo keeps one random key on disk so its quote ids and sessions survive a restart.
    path = Path(instance_path) / "demo-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


_SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")


def _smtp_url(environ: Mapping[str, str]) -> str | None:
    """SMTP_URL when it names a server we can speak to (smtp://, smtps:// or smtp+starttls://, a host)."""
    raw = (environ.get("SMTP_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in _SMTP_SCHEMES or not parts.hostname:
        raise ConfigurationError(
            "SMTP_URL must look like smtp://user:password@host:587, smtps://host:465 or smtp+starttls://host:587"
        )
    return raw


def _public_base_url(environ: Mapping[str, str]) -> str | None:
    """PUBLIC_BASE_URL without its trailing slash, when it is an http(s) origin (links in emails)."""
    raw = (environ.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError("PUBLIC_BASE_URL must be the site's address, such as https://shop.example")
    return raw


def _forwarded_allow_ips(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The trusted proxies' addresses and networks (empty: trust no proxy, the peer is the client)."""
    from plugin.proxies import InvalidProxyList, parse_allow_list

    try:
        return parse_allow_list(environ.get("FORWARDED_ALLOW_IPS") or "")
    except InvalidProxyList as exc:
        raise ConfigurationError(str(exc)) from None


def load_config(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Flask config built from environment variables (see the README's configuration table)."""
    demo = _flag(environ, "DEMO", False)
    testing = _flag(environ, "TESTING", False)
    secret_key = environ.get("SECRET_KEY")
    if not secret_key:
        if not (demo or testing):
            raise ConfigurationError(
                "SECRET_KEY is not set; set SECRET_KEY to a long random string (or DEMO=1 for the demo)"
            )
        secret_key = _demo_secret_key(instance_path)
    evidence_storage_url = (environ.get("EVIDENCE_STORAGE_URL") or "").strip()
    evidence_s3_location(evidence_storage_url)  # refuses a URL the service could not use, at start
    fallbacks = [key for key in environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()]
    https_only = _flag(environ, "HTTPS_ONLY", True)
    return {
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": fallbacks,
        "ENCRYPTION_KEY": environ.get("ENCRYPTION_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url(environ.get("DATABASE_URL"), instance_path),
        "HTTPS_ONLY": https_only,
        "SESSION_COOKIE_SECURE": https_only,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "DEMO": demo,
        "TESTING": testing,
        "STRIPE_API_BASE": environ.get("STRIPE_API_BASE", "https://api.stripe.com"),
        "RATE_LIMIT_QUOTES": environ.get("RATE_LIMIT_QUOTES", "300/minute"),
        "RATE_LIMIT_CLAIM_LOOKUPS": _rates(environ, "RATE_LIMIT_CLAIM_LOOKUPS", "10/minute;50/hour"),
        # Sign-in and password-reset attempts per client address (each account also locks after 5 failures).
        "RATE_LIMIT_ADMIN_LOGINS": _rates(environ, "RATE_LIMIT_ADMIN_LOGINS", "20/minute;200/hour"),
        # An admin session ends after this long without a request, and in any case this long after signing in.
        "ADMIN_SESSION_IDLE_MINUTES": _seconds(environ, "ADMIN_SESSION_IDLE_MINUTES", 60, "minutes"),
        "ADMIN_SESSION_MAX_HOURS": _seconds(environ, "ADMIN_SESSION_MAX_HOURS", 12, "hours"),
        "RATELIMIT_STORAGE_URI": environ.get("RATE_LIMIT_STORAGE_URI", "memory://"),
        "RATE_LIMIT_KEY_PREFIX": environ.get("RATE_LIMIT_KEY_PREFIX", "plugin"),
        "ALLOW_PRIVATE_INSURER_HOSTS": _flag(environ, "ALLOW_PRIVATE_INSURER_HOSTS", False),
        "MIGRATIONS_DIR": environ.get("MIGRATIONS_DIR", str(MIGRATIONS_DIR)),
        "KEY_CACHE_SECONDS": _fractional_seconds(environ, "KEY_CACHE_SECONDS", 5.0),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO"),
        # One JSON object per log line (for a log collector), or plain text lines for a person at a terminal.
        "LOG_FORMAT": _choice(environ, "LOG_FORMAT", ("json", "text"), "json"),
        "DOSSIER_FONT": environ.get("DOSSIER_FONT", "").strip() or None,
        # inline: a Stripe delivery is recorded before it is answered; queued: answered once stored, then recorded
        # by the worker (or by the next read of the shop's payments), for many web processes at Stripe's peaks.
        "STRIPE_RECORDING": _choice(environ, "STRIPE_RECORDING", ("inline", "queued"), "inline"),
        # How long a worker owns a leased job: a dead worker's jobs are taken over after it.
        "WORKER_LEASE_SECONDS": _seconds(environ, "WORKER_LEASE_SECONDS", 300),
        # The first backoff after a failed job attempt; each further failure doubles it (capped at 12 hours).
        "JOB_RETRY_BASE_SECONDS": _seconds(environ, "JOB_RETRY_BASE_SECONDS", 600),
        # Emails: sent through this server when set, else only logged (claim id and template, never the address).
        "SMTP_URL": _smtp_url(environ),
        "MAIL_FROM": (environ.get("MAIL_FROM") or "").strip() or "no-reply@localhost",
        # The site's address, for links in emails (a claim's status page, the claim portal).
        "PUBLIC_BASE_URL": _public_base_url(environ),
        "ALLOW_PRIVATE_WEBHOOK_HOSTS": _flag(environ, "ALLOW_PRIVATE_WEBHOOK_HOSTS", False),
        # How often the worker scans tracking for stalled and late parcels (one worker at a time).
        "CLAIMS_SCAN_INTERVAL_SECONDS": _seconds(environ, "CLAIMS_SCAN_INTERVAL_SECONDS", 3600),
        # Where evidence files are kept: the database when unset, else s3://bucket/prefix (AWS_* credentials).
        "EVIDENCE_STORAGE_URL": evidence_storage_url or None,
        # An S3-compatible server (MinIO, Ceph, moto); boto3 also reads AWS_ENDPOINT_URL by itself.
        "EVIDENCE_S3_ENDPOINT_URL": _endpoint_url(environ, "EVIDENCE_S3_ENDPOINT_URL"),
        # /readyz answers 503 once the longest-waiting due job has waited this long (the worker is stuck or gone).
        "READY_MAX_JOB_AGE_SECONDS": _seconds(environ, "READY_MAX_JOB_AGE_SECONDS", 900),
        # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto count (rate limits per client address).
        "FORWARDED_ALLOW_IPS": _forwarded_allow_ips(environ),
        # /metrics wants `Authorization: Bearer <this>` when set; open when unset.
        "METRICS_TOKEN": (environ.get("METRICS_TOKEN") or "").strip() or None,
        # `flask worker` serves its own /metrics on this port when set (a machine that runs workers and no web
        # process), on WORKER_METRICS_HOST: every interface unless told, as gunicorn's HOST.
        "WORKER_METRICS_PORT": _port(environ, "WORKER_METRICS_PORT"),
        "WORKER_METRICS_HOST": (environ.get("WORKER_METRICS_HOST") or "").strip() or "0.0.0.0",  # noqa: S104
    }


def quote_signing_keys(config: Mapping[str, Any]) -> list[str]:
    """The keys that verify quote references: the current SECRET_KEY first, then SECRET_KEY_FALLBACKS."""
    return [config["SECRET_KEY"], *config.get("SECRET_KEY_FALLBACKS", [])]


def from_environment(instance_path: str) -> dict[str, Any]:
    """`load_config` over this process's environment."""
    return load_config(os.environ, instance_path)
