"""Shipping protection for independent online stores: the Flask application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask, Response, request, send_from_directory
from sqlalchemy import event

MAX_JSON_BODY = 1024 * 1024  # 1 MiB, as the contract says
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Sent with every HTML page. Scripts come only from this origin as files (no inline script, no eval); inline
# styles stay allowed because the widget styles its shadow root with a <style> element and the terms page has one.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Referrer-Policy": "same-origin",  # order and claim pages carry ids in their URLs
}


class PluginFlask(Flask):
    """Flask, with its per-call check of whether a hook or view is `async def` done once per function."""

    _MAX_CHECKED = 2048  # plain functions only, and registered ones are few: the bound is against surprises

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked_sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """As Flask's, which runs inspect.iscoroutinefunction on every hook of every request (a dozen per quote)."""
        if type(func) is not FunctionType:  # bound methods and partials are made anew per call: not cached
            return super().ensure_sync(func)
        checked = self._checked_sync.get(func)
        if checked is None:
            if len(self._checked_sync) >= self._MAX_CHECKED:
                self._checked_sync.clear()
            checked = self._checked_sync[func] = super().ensure_sync(func)
        return checked


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web processes read while the worker writes; the busy timeout waits out short write locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _session_ender(db: Any) -> Callable[[BaseException | None], None]:
    """The app context's teardown: end the request's session (imports resolved once, not per request)."""
    from sqlalchemy.exc import DBAPIError

    def end_session(_exc: BaseException | None) -> None:
        """End the request's session even when the database dropped its connection meanwhile.

        A PostgreSQL restart can end the connection after the answer is ready; the ROLLBACK that closes the session
        then fails, and a failing teardown turns a finished answer into a 500. The rollback is moot: the server
        already discarded the transaction, and SQLAlchemy has invalidated the connection, so closing again works.
        """
        try:
            db.session.remove()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            logging.getLogger(__name__).warning("session ended on a dropped connection", extra={"error": str(exc.orig)})
            db.session.remove()

    return end_session


def _skip_csrf_on_exempt_blueprints(app: Flask, exempt: frozenset[str]) -> None:
    """Flask-WTF's app-wide check, answered by the blueprint's name first on the exempt (machine) blueprints.

    Flask-WTF finds the same exemption itself, but only after half a dozen proxy lookups and the view's
    dotted name: a cost on every API call for a check that never applies there.
    """
    hooks = app.before_request_funcs[None]
    (index,) = [i for i, hook in enumerate(hooks) if getattr(hook, "__qualname__", "").endswith("csrf_protect")]
    csrf_protect = hooks[index]

    def protect_unless_exempt() -> None:
        if request.blueprint not in exempt:
            csrf_protect()

    hooks[index] = protect_unless_exempt


def _configure_openapi(app: Flask) -> None:
    import swagger_ui_bundle

    app.config.update(
        API_TITLE="Shipping protection",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Quotes, settings and more for the shipping-protection plugin."},
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "pk_… for quotes, consents and the badge (browsers), sk_… for everything else.",
                    }
                }
            },
        },
    )

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str) -> Response:
        """Swagger UI's files, served from the installed package (no CDN needed)."""
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints. Nothing happens at import time."""
    from plugin import (
        admin,
        cli,
        demo,
        health,
        i18n,
        iso_codes,
        logs,
        metrics,
        pool_checks,
        portal,
        proxies,
        rate_limits,
        terms,
    )
    from plugin.api import quote_fast_path
    from plugin.api import register as register_api
    from plugin.config import from_environment, load_config
    from plugin.crypto import SecretBox
    from plugin.errors import register_error_handlers
    from plugin.extensions import api, csrf, db, migrate
    from plugin.services.shop_snapshots import GrantCache
    from plugin.services.stripe_account import ReceiverCache
    from plugin.sessions import PagesOnlySessionInterface

    # static/ (the widget, the demo's assets) sits beside the package, as the layout has it.
    app = PluginFlask(__name__, instance_relative_config=True, static_folder=str(STATIC_DIR))
    overrides = dict(config or {})
    environ = overrides.pop("ENVIRON", None)
    app.config.update(
        load_config(environ, app.instance_path) if environ is not None else from_environment(app.instance_path)
    )
    app.config.update(overrides)
    app.config["MAX_CONTENT_LENGTH"] = MAX_JSON_BODY
    app.session_interface = PagesOnlySessionInterface()
    # JSON lines on stderr (LOG_FORMAT=text for a terminal); every line names its request (see plugin/logs.py).
    logs.configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)  # the embedded database lives in the instance folder

    db.init_app(app)
    from plugin.services import claim_events

    claim_events.install()  # a claim's emails and webhook events are queued when its transaction commits
    # In place of flask-sqlalchemy's own teardown, which is the same `db.session.remove()` without the care for a
    # dropped connection: one removal per request, not two.
    app.teardown_appcontext_funcs[app.teardown_appcontext_funcs.index(db._teardown_session)] = _session_ender(db)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    rate_limits.init_app(app)
    _configure_openapi(app)
    api.init_app(app)
    # Per-process caches of what the hot endpoints read per shop; forget_shop_caches drops a changed shop's.
    key_cache_seconds = float(app.config.get("KEY_CACHE_SECONDS", 5))
    app.extensions["grant_cache"] = GrantCache(ttl=key_cache_seconds)
    app.extensions["stripe_receivers"] = ReceiverCache(ttl=key_cache_seconds)
    app.extensions["secret_box"] = SecretBox.from_config(
        app.config["ENCRYPTION_KEY"], app.config["SECRET_KEY"], app.config.get("SECRET_KEY_FALLBACKS", ())
    )

    engine_options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif db.engine.dialect.name == "postgresql" and not engine_options.get("pool_pre_ping"):
            # A pooled connection dies with a database restart or failover; checking each one as it leaves the
            # pool keeps the first requests after it from failing (plugin/pool_checks.py: no round trip for a
            # connection used in the last seconds, unlike pool_pre_ping's on every checkout).
            pool_checks.install(db.engine)

    register_error_handlers(app)
    register_api(app)
    app.register_blueprint(health.bp)
    metrics.init_app(app)
    app.register_blueprint(terms.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(portal.bp)
    i18n.init_app(app)
    admin.init_app(app)
    # Forms and same-origin pages carry CSRF tokens; machine endpoints authenticate with keys or signatures.
    csrf.init_app(app)
    machine_blueprints = frozenset(app.blueprints) - {"demo", "portal", "admin"}
    for name in machine_blueprints:
        csrf.exempt(app.blueprints[name])
    _skip_csrf_on_exempt_blueprints(app, machine_blueprints)
    cli.register(app)
    iso_codes.warm_up()

    # The headers every answer gets unless its view set them, in the order they are added. Looked up in one pass
    # over the answer's headers: `Headers.setdefault` scans them per name and raises KeyError for each absent one.
    always = [("X-Content-Type-Options", "nosniff")]
    https_only = [("Strict-Transport-Security", HSTS)] if app.config["HTTPS_ONLY"] else []
    page_headers = [*always, *PAGE_SECURITY_HEADERS.items(), *https_only]
    always += https_only

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        present = set()
        content_type: str | None = None
        for name, value in headers:
            name = name.lower()
            if name == "content-type" and content_type is None:
                content_type = value
            present.add(name)
        # Every page, today's and future ones, unless a view sets its own: no framing, no foreign scripts.
        is_page = content_type is not None and content_type.partition(";")[0].strip() == "text/html"  # .mimetype
        for name, value in page_headers if is_page else always:
            if name.lower() not in present:
                headers.add(name, value)
        return response

    # The WSGI layers around Flask, innermost first: the common quote request answered before Flask's request
    # handling (with the same headers), request ids for everything, and last, so that it wraps every other layer
    # (and all of them and gunicorn's access log see the client's address), the trusted proxies' headers.
    quote_fast_path.install(app, always)
    app.wsgi_app = logs.RequestIds(app.wsgi_app)  # type: ignore[method-assign]
    proxies.install(app, app.config["FORWARDED_ALLOW_IPS"])
    return app
