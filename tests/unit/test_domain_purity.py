"""The domain core imports nothing but the standard library and itself."""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "plugin" / "domain"


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_modules_import_only_the_standard_library_and_the_domain():
    files = sorted(DOMAIN.glob("*.py"))
    assert files, "the domain package has modules"
    offenders = {}
    for path in files:
        outside = {root for root in _imported_roots(path) if root not in sys.stdlib_module_names and root != "plugin"}
        if outside:
            offenders[path.name] = sorted(outside)
    assert offenders == {}


def test_domain_imports_of_the_plugin_stay_inside_the_domain():
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plugin"):
                assert node.module.startswith("plugin.domain"), f"{path.name} imports {node.module}"
