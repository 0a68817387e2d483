"""Suites name what a run covers: ``paper`` is fusionbench's own algorithms on the paper's
datasets; ``plugins`` is every plugin's algorithm; ``--all`` is every suite."""
from __future__ import annotations

import pytest

from fusionbench.errors import UnknownNameError
from fusionbench.harness import RunSettings
from fusionbench.harness.run import selections
from fusionbench.harness.suites import get_suite, list_suites

pytestmark = pytest.mark.usefixtures("test_registry")


def test_the_paper_suite_is_the_builtin_algorithms_on_the_papers_datasets():
    paper = get_suite("paper").selection()
    assert paper.datasets == ("lytro", "lytro-triple", "tno-iv", "medical", "mef")
    assert {"ifcnn-max", "ifcnn-mean", "ifcnn-sum", "gff", "lp", "lpsr", "average"} <= set(paper.algorithms)
    assert not any(name.startswith(("test-", "vifb:")) for name in paper.algorithms)  # plugins', published


def test_the_vifb_suite_is_its_25_published_methods_on_vifb():
    vifb = get_suite("vifb").selection()
    assert vifb.datasets == ("vifb",) and len(vifb.algorithms) == 25 and "vifb:SeAFusion" in vifb.algorithms


def test_the_plugins_suite_holds_the_plugin_algorithms_only():
    plugins = get_suite("plugins").selection()
    assert plugins.datasets is None and "test-mean" in plugins.algorithms
    assert not {"gff", "vifb:GFF", "ifcnn-max"} & set(plugins.algorithms)


def test_all_means_every_suite_and_explicit_names_win(tmp_path):
    everything = selections(RunSettings(out=tmp_path, suites=tuple(list_suites())))
    expected = [get_suite(name).selection().algorithms for name in list_suites()]
    assert [selection.algorithms for selection in everything] == [names for names in expected if names]
    assert selections(RunSettings(out=tmp_path)) == everything  # nothing selected: every suite
    explicit = selections(RunSettings(out=tmp_path, datasets=["lytro"], algorithms=["gff"]))
    assert len(explicit) == 1 and explicit[0].algorithms == ("gff",) and explicit[0].explicit_algorithms
    with pytest.raises(UnknownNameError, match="unknown suite 'papr'; did you mean 'paper'"):
        selections(RunSettings(out=tmp_path, suites=("papr",)))
