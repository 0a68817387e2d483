"""``load_plugin`` / ``--plugin``: a module for one run, and clear errors when it cannot be loaded."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fusionbench.cli import main
from fusionbench.errors import FusionBenchError
from fusionbench.registry import ALGORITHMS, load_plugin

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def forget(monkeypatch):
    """Names/modules registered by a test are removed afterwards."""
    names: list[tuple[str, str]] = []
    yield names
    for algorithm, module in names:
        ALGORITHMS.remove(algorithm)
        sys.modules.pop(module, None)


def test_a_missing_module_is_one_clear_error():
    with pytest.raises(FusionBenchError, match=r"plugin module 'no_such_plugin_module' could not be imported: "
                                               r"ModuleNotFoundError"):
        load_plugin("no_such_plugin_module")


def test_a_module_that_raises_on_import_is_one_clear_error(tmp_path):
    plugin = tmp_path / "exploding_plugin.py"
    plugin.write_text("raise ValueError('bad configuration in plugin')\n")
    with pytest.raises(FusionBenchError, match=r"could not be imported: ValueError: bad configuration in plugin"):
        load_plugin(str(plugin))
    assert "fusionbench_plugin_exploding_plugin" not in sys.modules


def test_a_python_file_path_is_loaded(tmp_path, forget):
    plugin = tmp_path / "file_plugin.py"
    plugin.write_text("from fusionbench import register_algorithm\n"
                      "@register_algorithm('from-a-file')\n"
                      "def first(images):\n    return images[0]\n")
    forget.append(("from-a-file", "fusionbench_plugin_file_plugin"))
    load_plugin(str(plugin))
    assert ALGORITHMS.get("from-a-file").origin == "fusionbench_plugin_file_plugin"


def test_a_missing_python_file_names_the_file(tmp_path):
    with pytest.raises(FusionBenchError, match=r"plugin file '.*nothing_here.py' does not exist"):
        load_plugin(str(tmp_path / "nothing_here.py"))


def test_a_dotted_module_relative_to_the_current_directory_is_found(tmp_path, monkeypatch, forget):
    """The console script does not put the current directory on sys.path; --plugin still finds it."""
    package = tmp_path / "local_plugins"
    package.mkdir()
    (package / "mine.py").write_text("from fusionbench import register_algorithm\n"
                                     "@register_algorithm('local-first')\n"
                                     "def first(images):\n    return images[0]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in ("", str(tmp_path))])
    forget.append(("local-first", "local_plugins.mine"))
    load_plugin("local_plugins.mine")
    assert "local-first" in ALGORITHMS.names()
    sys.modules.pop("local_plugins", None)


def test_the_cli_reports_a_bad_plugin_as_error_and_exit_status_2(capsys):
    status = main(["list", "algorithms", "--plugin", "no_such_plugin_module"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("error: plugin module 'no_such_plugin_module' could not be imported")
    assert "Traceback" not in captured.err


def test_a_plugin_reusing_a_taken_name_is_refused(tmp_path, forget):
    first = tmp_path / "taker_one.py"
    second = tmp_path / "taker_two.py"
    for path in (first, second):
        path.write_text("from fusionbench import register_algorithm\n"
                        "@register_algorithm('taken-name')\n"
                        "def first(images):\n    return images[0]\n")
    forget.append(("taken-name", "fusionbench_plugin_taker_one"))
    load_plugin(str(first))
    with pytest.raises(FusionBenchError, match=r"'taken-name' is registered twice"):
        load_plugin(str(second))
