"""What a process no longer does at start-up (issue 12: a worker's start-up counts against the drain): the OpenAPI
paths are described when the spec is first read, and the libraries of a few pages and commands load with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flask_smorest import Api

from plugin import create_app
from plugin.extensions import PluginApi, api
from tests.conftest import make_environ

SMOREST_BLUEPRINTS = 17  # plugin/api/__init__.py registers these through the Api


def test_the_openapi_paths_are_described_when_the_spec_is_first_read(database_url):
    app = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    assert len(api._pending_docs) == SMOREST_BLUEPRINTS  # registered (routes work), not yet described
    with app.test_request_context():
        assert (
            app.url_for("policies.show", policy_id="pol_x") == "/api/v1/policies/pol_x"
        )  # the routes are there all the same
    document = app.test_client().get("/api/openapi.json")
    assert document.status_code == 200
    assert not api._pending_docs
    spec = document.get_json()
    assert len(spec["tags"]) == SMOREST_BLUEPRINTS
    assert "/api/v1/quotes" in spec["paths"] and "/api/v1/policies/{policy_id}" in spec["paths"]
    assert app.test_client().get("/api/openapi.json").data == document.data  # described once, served the same


def test_the_deferred_document_is_the_one_smorest_describes_at_registration(database_url, monkeypatch):
    """The same document, byte for byte, as flask-smorest's own Api describing each blueprint as it registers."""
    served = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    deferred = served.test_client().get("/api/openapi.json").data

    monkeypatch.setattr(PluginApi, "register_blueprint", Api.register_blueprint)
    eager_app = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    assert not api._pending_docs  # described as registered, as smorest does
    eager = eager_app.test_client().get("/api/openapi.json").data
    assert json.loads(eager)["paths"]
    assert deferred == eager


def test_a_worker_starts_without_the_libraries_of_pages_and_commands_it_never_runs(tmp_path):
    probe = (
        "import sys\n"
        "from plugin import create_app\n"
        "create_app()\n"
        "heavy = ('fpdf', 'fontTools', 'imagehash', 'numpy', 'pygal', 'alembic', 'flask_migrate')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
        "from plugin.services import users\n"
        "print(users._DUMMY_HASH is None)\n"
    )
    environ = {**os.environ, **make_environ(f"sqlite:///{tmp_path / 'probe.db'}"), "LOG_LEVEL": "WARNING"}
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"], result.stderr


def test_the_db_commands_bind_flask_migrate_when_run(database_url):
    app = create_app({"ENVIRON": make_environ(database_url), "RESOLVE_INSURER_HOSTS": False})
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["--help"])
    assert "Perform database migrations." in listed.output
    result = runner.invoke(args=["db", "--help"])
    assert result.exit_code == 0, result.output
    assert "upgrade" in result.output and "--directory" in result.output
    assert app.extensions["migrate"].directory == app.config["MIGRATIONS_DIR"]
    heads = runner.invoke(args=["db", "heads"])
    assert heads.exit_code == 0, heads.output  # (Alembic prints to the process's stdout, not the runner's)
    assert type(app.extensions["migrate"]).__module__ == "flask_migrate"  # the stand-in gave way to the real one
