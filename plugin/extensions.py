"""Flask extensions, created unbound and bound to an app in `create_app`."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
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
    """flask-smorest's Api with the project's one error shape instead of its own."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # plugin.errors registers the handlers; smorest's would answer in a different shape.
        return None


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
api = PluginApi()
csrf = CSRFProtect()
