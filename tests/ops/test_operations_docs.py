"""The commands docs/operations.md prints for upgrades, run as printed; the migrations only ever add."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_environ

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"


def doc_commands(heading: str) -> list[str]:
    """The command lines of every ```sh block in the section under `heading` (up to the next heading), comments cut."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    rest = text[start + len(heading) + 2 :]
    ends = [rest.find(f"\n{marker} ") for marker in ("#", "##", "###")]
    section = rest[: min((end for end in ends if end >= 0), default=len(rest))]
    commands, inside = [], False
    for line in section.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped == "```sh"
            continue
        if inside and stripped:
            commands.append(stripped.split("  # ", 1)[0].strip())
    assert commands, f"no sh block under {heading!r}"
    return commands


def run_documented(command: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """One documented command in bash, from the repository root, the test's interpreter's tools first on PATH."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **environ,
    }
    return subprocess.run(  # noqa: S603 - the documentation's own commands
        ["bash", "-c", command],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_upgrade_commands_print_the_revision_and_the_sql(app, database_url):
    current, preview = doc_commands("### Upgrades")
    assert current == "flask --app plugin db current"
    assert preview.startswith("flask --app plugin db upgrade --sql ")
    environ = make_environ(database_url)
    shown = run_documented(current, **environ)
    assert shown.returncode == 0, shown.stderr
    head = sorted(p.stem for p in (ROOT / "migrations" / "versions").glob("0*.py"))[-1]
    assert f"{head} (head)" in shown.stdout
    printed = run_documented(preview, **environ)
    assert printed.returncode == 0, printed.stderr
    assert "alembic_version" in printed.stdout


# What upgrades remove, reviewed (docs/operations.md, Upgrades): indexes replaced by wider ones, a unique
# constraint loosened, and the policies' lease columns that moved to the jobs table in 0006.
REVIEWED_REMOVALS = {
    "0006_jobs": ['drop_index("ix_policies_due")', 'drop_column("lease_token")', 'drop_column("leased_until")'],
    "0012_lists": ['drop_index("ix_jobs_shop_id_status")'],
    "0013_scale": ['drop_index(f"ix_claims_shop_id_{column}")'],
    "0014_coverages": ['drop_constraint("uq_claims_shipment_id", type_="unique")'],
}


def test_what_upgrades_remove_is_reviewed():
    """A migration whose upgrade drops, renames or retypes something fails here until it is reviewed and listed."""
    found = {}
    for path in sorted((ROOT / "migrations" / "versions").glob("0*.py")):
        source = path.read_text(encoding="utf-8")
        [upgrade] = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"]
        lines = (ast.get_source_segment(source, upgrade) or "").splitlines()
        removals = [
            line.strip().removeprefix("batch_op.").removeprefix("op.")
            for line in lines
            if re.search(r"drop|rename|alter_column|ALTER COLUMN", line, re.IGNORECASE)
        ]
        if removals:
            found[path.stem] = removals
    assert found == REVIEWED_REMOVALS


@pytest.mark.parametrize("heading", ["### Rotating the encryption key"])
def test_the_key_rotation_commands_are_the_ones_the_cli_has(app, heading):
    for command in doc_commands(heading):
        args = command.removeprefix("flask --app plugin ").split()
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, (command, result.output)
