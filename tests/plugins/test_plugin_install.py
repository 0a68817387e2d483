"""Acceptance 1: ``pip install ./examples/fusionbench-example-plugin`` adds its algorithm and metric
with no change to fusionbench; ``pip uninstall`` removes them.

Done for real in a throw-away virtual environment that sees this machine's packages
(``--system-site-packages``, no pip of its own, so the system pip and setuptools build the plugin
offline with ``--no-deps --no-build-isolation``). About 3 s.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PLUGIN = REPOSITORY / "examples" / "fusionbench-example-plugin"


def _python(environment: Path) -> Path:
    return environment / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _run(python: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *arguments], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def plugin_environment(tmp_path_factory):
    """A virtual environment with the example plugin installed (uninstalled again by the test)."""
    try:
        import setuptools  # noqa: F401 - the build backend the plugin needs, taken from this interpreter
    except ImportError:
        pytest.skip("setuptools is not installed, so the plugin cannot be built offline")
    environment = tmp_path_factory.mktemp("plugin-venv")
    venv.create(environment, system_site_packages=True, with_pip=False)
    python = _python(environment)
    build = tmp_path_factory.mktemp("plugin-build")
    # built from a copy, so that setuptools' build/ and *.egg-info never land in the checkout
    source = shutil.copytree(PLUGIN, build / "plugin", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    installed = _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                     "--no-index", str(source), cwd=build)
    assert installed.returncode == 0, installed.stderr
    return python, build


def test_install_lists_the_plugin_and_uninstall_removes_it(plugin_environment):
    python, cwd = plugin_environment
    algorithms = _run(python, "-m", "fusionbench", "list", "algorithms", cwd=cwd)
    metrics = _run(python, "-m", "fusionbench", "list", "metrics", cwd=cwd)
    assert algorithms.returncode == 0, algorithms.stderr
    row = next(line for line in algorithms.stdout.splitlines() if line.startswith("laplacian-energy "))
    assert "fusionbench_example_plugin.laplacian_energy" in row and "2+" in row
    assert any(line.startswith("EN-GAIN ") and " higher " in line for line in metrics.stdout.splitlines())
    # this interpreter (outside the environment) never saw it: nothing in fusionbench changed
    outside = _run(Path(sys.executable), "-m", "fusionbench", "list", "algorithms", cwd=cwd)
    assert "laplacian-energy" not in outside.stdout

    removed = _run(python, "-m", "pip", "uninstall", "--yes", "--quiet", "fusionbench-example-plugin", cwd=cwd)
    assert removed.returncode == 0, removed.stderr
    after = _run(python, "-m", "fusionbench", "list", "algorithms", cwd=cwd)
    assert after.returncode == 0 and "laplacian-energy" not in after.stdout
    missing = _run(python, "-m", "fusionbench", "list", "metrics", cwd=cwd)
    assert "EN-GAIN" not in missing.stdout
