"""Flask extensions, created unbound and bound to an app in `create_app`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

from plugin.schemas import ErrorSchema

# Stable constraint names, so Alembic can alter and drop them the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PluginApi(Api):
    """flask-smorest's Api with the project's one error shape instead of its own, and its OpenAPI paths built
    when the spec is first read rather than as each blueprint is registered.

    Registering a blueprint's routes is all that serving and `url_for` need; describing them (marshmallow schemas
    to JSON schema, for every operation: ~0.07 s of CPU) is read only by /api/openapi.json, /api/docs and the
    `flask openapi` commands, so a worker, a CLI command or a web process never asked for the document skips it.
    Every access to `spec` (smorest's own views and commands, `register_field`, tests) first describes the
    blueprints registered so far, in their order, so the document is the same as before.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending_docs: list[tuple[Flask, Any, str, Any]] = []
        self._describing = threading.RLock()  # two first requests for the document at once: both see it whole
        self._spec: Any = None
        super().__init__(*args, **kwargs)

    @property
    def spec(self) -> Any:
        """The APISpec, with every registered blueprint described in it."""
        if self._pending_docs:
            with self._describing:
                while self._pending_docs:
                    app, blp, name, parameters = self._pending_docs[0]
                    blp.register_views_in_doc(self, app, self._spec, name=name, parameters=parameters)
                    self._spec.tag({"name": name, "description": blp.description})
                    del self._pending_docs[0]
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._pending_docs = []  # a new spec (init_app for another app): what was pending belonged to the old one
        self._spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """As smorest's, with the blueprint's description in the spec deferred to the spec's first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._pending_docs.append((self._app, blp, name, parameters))

    def _register_error_handlers(self) -> None:
        # plugin.errors registers the handlers; smorest's would answer in a different shape.
        return None


class Migrations:
    """Flask-Migrate, imported and bound when a migration is first asked for rather than by every process.

    flask_migrate imports Alembic, and Alembic Mako and Pygments: ~0.1 s of CPU that a worker or a web process
    never needs. `init_app` leaves two stand-ins that bind the real extension on first use: the
    `flask db` group (its help line is the real one's) and `app.extensions["migrate"]`, which
    `flask_migrate.upgrade()` and its siblings read; binding replaces both with Flask-Migrate's own objects.
    """

    def __init__(self, **alembic_options: Any) -> None:
        self.alembic_options = alembic_options

    def init_app(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        bound: list[tuple[Any, click.Command]] = []

        def bind() -> tuple[Any, click.Command]:
            if not bound:
                from flask_migrate import Migrate

                Migrate(**self.alembic_options).init_app(app, db, directory=directory)
                bound.append((app.extensions["migrate"], app.cli.commands["db"]))
            return bound[0]

        app.extensions["migrate"] = _BoundOnUse(lambda: bind()[0])
        app.cli.add_command(_GroupLoadedOnUse("db", "Perform database migrations.", lambda: bind()[1]))


class _BoundOnUse:
    """Flask-Migrate's per-app configuration, bound by the first attribute read."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


class _GroupLoadedOnUse(click.Group):
    """A command group that stands for another, loaded when the group is run (its commands, options, help)."""

    def __init__(self, name: str, short_help: str, load: Callable[[], click.Command]) -> None:
        super().__init__(name, help=short_help)
        self._load = load

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self._load().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        loaded = self._load()
        return loaded.list_commands(ctx) if isinstance(loaded, click.Group) else []

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        loaded = self._load()
        return loaded.get_command(ctx, cmd_name) if isinstance(loaded, click.Group) else None


def insert_with_conflicts(dialect_name: str) -> Callable[..., Any]:
    """The `insert()` of a dialect we run on, with its ON CONFLICT clauses (PostgreSQL's, else SQLite's)."""
    return postgresql_insert if dialect_name == "postgresql" else sqlite_insert


def run_autocommitted(statement: str, params: dict[str, Any]) -> int:
    """The statement's one number, run on its own (autocommitted) on a pooled psycopg connection.

    Straight through the driver: SQLAlchemy's Connection (events, execution options, its result) costs more CPU
    than the statement's round trip. An error is raised as SQLAlchemy raises it for any other statement (a
    dropped connection invalidated in the pool, then a 503), without the parameters (they hold a shopper's data).

    A read the session has open (the shop, its secrets) is ended first, so its connection goes back to the pool:
    a request never holds two. When each held one while waiting for the second, a burst of Stripe deliveries took
    every pooled connection (seen: a 30 s stall, then 503s).
    """
    if db.session.registry.has() and db.session().in_transaction():
        db.session.rollback()
    engine = db.engine
    dialect = engine.dialect
    pooled = engine.raw_connection()
    try:
        connection: Any = pooled.driver_connection
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as exc:
            invalidated = dialect.is_disconnect(exc, connection, None)
            if invalidated:
                pooled.invalidate(exc)
            raise DBAPIError.instance(
                statement,
                None,
                exc,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from exc
        finally:
            if not connection.closed:
                connection.autocommit = False
    finally:
        pooled.close()
    return int(row[0]) if row else 0


db = SQLAlchemy(model_class=Base)
migrate = Migrations(render_as_batch=True, compare_type=True)
api = PluginApi()
csrf = CSRFProtect()
