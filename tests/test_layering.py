"""Data flows one way: the run pipeline (harness) and the reports never import each other.

The reports read a finished run directory; the harness writes it. Checked on the source (every
``import`` statement, also those inside functions), so a lazy import cannot close a circle either.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fusionbench"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the fusionbench modules a source file imports."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("fusionbench")}


@pytest.mark.parametrize("importer, forbidden", [("harness", "reports"), ("reports", "harness")])
def test_harness_and_reports_do_not_import_each_other(importer, forbidden):
    offenders = {str(path.relative_to(PACKAGE)): sorted(name for name in imported_modules(path)
                                                        if name.startswith(f"fusionbench.{forbidden}"))
                 for path in (PACKAGE / importer).rglob("*.py")}
    assert (PACKAGE / importer).is_dir()
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_import_check_sees_relative_imports():
    # the check itself: a relative import two levels up resolves to the sibling package
    names = imported_modules(PACKAGE / "harness" / "executors" / "local.py")
    assert "fusionbench.harness.work" in names and "fusionbench.harness.threads" in names


def test_runner_module_is_gone():
    assert not (PACKAGE / "runner.py").exists()
