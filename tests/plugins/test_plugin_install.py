"""Acceptance 1: ``pip install ./examples/fusionbench-example-plugin`` adds its algorithm and metric
with no change to fusionbench — in ``fusionbench list``, and in a ``fusionbench run``'s results,
tables and report; ``pip uninstall`` removes them.

Done for real in a throw-away virtual environment layered on the *running* interpreter's
environment: the new venv has no packages of its own, and a ``.pth`` file adds the running
environment's site-packages with ``site.addsitedir`` (which also runs their ``.pth`` files, so an
editable fusionbench is found). That works whether the tests run in a venv, a conda env or the
system interpreter, editable or not — ``venv``'s own ``system_site_packages`` would reach the *base*
interpreter instead, which has no fusionbench when the tests run inside a venv. pip, setuptools and
fusionbench come from the running environment; the plugin is built offline with ``--no-deps
--no-build-isolation`` and installed into the new venv only. About 10 s without the slow run test.
"""
from __future__ import annotations

import shutil
import site
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from toy_dataset import make_toy_dataset

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
    python = _layered_environment(environment)
    build = tmp_path_factory.mktemp("plugin-build")
    # built from a copy, so that setuptools' build/ and *.egg-info never land in the checkout
    source = shutil.copytree(PLUGIN, build / "plugin", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    installed = _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                     "--no-index", str(source), cwd=build)
    assert installed.returncode == 0, installed.stderr
    return python, build


def _layered_environment(environment: Path) -> Path:
    """A venv at ``environment`` that also sees the running interpreter's packages; its python."""
    venv.create(environment, system_site_packages=False, with_pip=False)
    python = _python(environment)
    own_site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=environment)
    assert own_site.returncode == 0, own_site.stderr
    running_sites = [path for path in sys.path if path.endswith(("site-packages", "dist-packages"))]
    running_sites += [path for path in site.getsitepackages() if path not in running_sites]
    # A .pth line starting with "import" is executed at start-up: addsitedir also processes the
    # running environment's own .pth files (editable installs are found through one).
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in running_sites)
    (Path(own_site.stdout.strip()) / "zz_running_environment.pth").write_text(lines, encoding="utf-8")
    return python


def test_installing_lists_the_plugin(plugin_environment):
    python, cwd = plugin_environment
    # `fusionbench list algorithms` and `fusionbench list metrics`, in one interpreter to save its start-up
    listed = _run(python, "-c", "from fusionbench.cli import main; main(['list', 'algorithms']); "
                                "main(['list', 'metrics'])", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("laplacian-energy "))
    assert "fusionbench_example_plugin.laplacian_energy" in row and "2+" in row
    assert any(line.startswith("EN-GAIN ") and " higher " in line for line in listed.stdout.splitlines())
    # installed into the environment only: this interpreter, and fusionbench's files, are untouched
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("fusionbench-example-plugin")


@pytest.mark.slow
def test_a_run_uses_the_plugin_in_results_tables_and_report(plugin_environment):
    """About 15 s (a fresh interpreter, a 3-item run and its report)."""
    pytest.importorskip("fusionbench.harness")
    python, cwd = plugin_environment
    _check_a_run_uses_the_plugin(python, cwd)


def test_uninstalling_removes_the_plugin(plugin_environment):
    python, cwd = plugin_environment
    removed = _run(python, "-m", "pip", "uninstall", "--yes", "--quiet", "fusionbench-example-plugin", cwd=cwd)
    assert removed.returncode == 0, removed.stderr
    after = _run(python, "-c", "import fusionbench; print(fusionbench.list_algorithms(), fusionbench.list_metrics())",
                 cwd=cwd)
    assert after.returncode == 0, after.stderr
    assert "'average'" in after.stdout  # the listing works, and
    assert "laplacian-energy" not in after.stdout and "EN-GAIN" not in after.stdout  # the plugin is gone


def _check_a_run_uses_the_plugin(python: Path, cwd: Path) -> None:
    """The plugin's algorithm and metric flow into metrics.csv, the tables and the report."""
    dataset = make_toy_dataset(cwd / "toy")
    out = cwd / "run"
    ran = _run(python, "-m", "fusionbench", "run", "--dataset", str(dataset), "--algorithm", "laplacian-energy",
               "average", "--metric", "SF", "EN-GAIN", "--out", str(out), "--no-progress", "--jobs", "1", cwd=cwd)
    assert ran.returncode == 0, ran.stderr
    metrics = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    plugin = metrics[metrics.algorithm == "laplacian-energy"]
    assert sorted(set(zip(plugin.item, plugin.metric))) == [
        (item, metric) for item in ("bright", "dark", "mid") for metric in ("EN-GAIN", "SF")]
    assert set(metrics[metrics.metric == "EN-GAIN"].algorithm) == {"average", "laplacian-energy"}
    table = (out / "tables" / "toy-levels.md").read_text(encoding="utf-8")
    assert "laplacian-energy" in table and "EN-GAIN" in table
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<th>laplacian-energy</th>" in page and "<b>EN-GAIN</b>" in page
    assert (out / "fused" / "laplacian-energy" / "toy-levels" / "mid.png").is_file()
