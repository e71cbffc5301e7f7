"""A worker's start-up: `flask --app plugin worker --drain` with nothing due, wall and CPU time, minimum of N runs.

    python bench/worker_startup.py [--runs 6] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Each run is a fresh process, as `bench/policy_drain.py` starts them (bytecode cached in a temporary directory, as
a deployment's is). Then, with `--itemize`, what the pieces a worker no longer does at start-up would cost it: each
timed (process CPU) after `create_app()` in a fresh process, minimum over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.policy_drain import worker_environment  # noqa: E402

ITEMIZE = """
import importlib, json, time
from plugin import create_app
create_app()
out = {}
def cpu(name, action):
    started = time.process_time(); action(); out[name] = time.process_time() - started
from plugin.extensions import api
cpu("OpenAPI paths described (17 blueprints)", lambda: api.spec)
cpu("flask_migrate and Alembic imported", lambda: importlib.import_module("flask_migrate"))
cpu("imagehash (with numpy) imported", lambda: importlib.import_module("imagehash"))
cpu("fpdf2 and fontTools imported", lambda: importlib.import_module("plugin.services.dossier_pdf"))
from plugin.admin import charts
cpu("pygal imported, chart style made", charts._pygal)
from plugin.services import users
cpu("Argon2 dummy hash made", users._dummy_hash)
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--itemize", action="store_true")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with worker_environment(args.database_url, "startup") as (_url, env):
        worker = [sys.executable, "-m", "flask", "--app", "plugin", "worker", "--drain"]
        subprocess.run([*worker[:-2], "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run(worker, env=env, cwd=ROOT, check=True, capture_output=True)  # bytecode written
        walls, cpus = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            subprocess.run(worker, env=env, cwd=ROOT, check=True, capture_output=True)
            walls.append(time.monotonic() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        print(f"worker start-up, nothing due ({args.runs} runs, minimum): {min(walls):.2f} s wall, "
              f"{min(cpus):.2f} s CPU; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        if args.itemize:
            rows = [
                json.loads(
                    subprocess.run(
                        [sys.executable, "-c", ITEMIZE], env=env, cwd=ROOT, check=True, capture_output=True
                    ).stdout
                )
                for _ in range(args.runs)
            ]
            for item in rows[0]:
                print(f"  {min(row[item] for row in rows):.3f} s CPU  {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
