"""The schema comes only from Alembic: one head, and the models match what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Config

from plugin.extensions import db


def _script(app) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", app.config["MIGRATIONS_DIR"])
    return ScriptDirectory.from_config(config)


def test_one_migration_head(app):
    assert len(_script(app).get_heads()) == 1


def test_models_match_the_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == _script(app).get_current_head()
        assert compare_metadata(context, db.metadata) == []
