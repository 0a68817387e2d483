"""One algorithm order everywhere: kinds recorded in run.json or inferred, grouped, then by name;
and the dataset-wide Friedman/Nemenyi ranking behind the per-dataset CD diagram."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fusionbench.reports.ordering import AlgorithmOrder
from fusionbench.reports.statistics import dataset_ranking, nemenyi_groups


def test_kinds_come_from_run_json_else_the_name_else_the_registry_else_plugin():
    order = AlgorithmOrder.from_run({"algorithms": {"mine": {"name": "mine", "kind": "deep"},
                                                    "odd": {"name": "odd", "kind": "no such kind"}}})
    assert order.kind("mine") == "deep"  # recorded
    assert order.kind("vifb:GFF") == "published"  # SET:METHOD
    assert order.kind("gff") == "classical" and order.kind("seafusion") == "deep"  # the registry's spec
    assert order.kind("odd") == "plugin" and order.kind("not-installed-anywhere") == "plugin"
    assert AlgorithmOrder.from_run({"algorithm_kinds": {"gff": "plugin"}}).kind("gff") == "plugin"


def test_algorithms_are_grouped_by_kind_then_by_name():
    order = AlgorithmOrder.from_run({"algorithms": {"Zeta": {"kind": "plugin"}, "alpha": {"kind": "plugin"}}})
    names = ["Zeta", "vifb:LP_SR", "seafusion", "lpsr", "alpha", "gff", "vifb:ADF", "GFF-custom", "lpsr"]
    assert order.sorted(names) == ["gff", "lpsr", "seafusion", "vifb:ADF", "vifb:LP_SR", "alpha", "GFF-custom",
                                   "Zeta"]
    assert order.groups(["alpha", "gff", "vifb:ADF"]) == [("classical", ["gff"]), ("published results", ["vifb:ADF"]),
                                                         ("user plugins", ["alpha"])]


def test_dataset_ranking_averages_metric_ranks_per_item_then_ranks_over_items():
    items = ["i1", "i2", "i3", "i4"]
    higher = pd.DataFrame({"a": [3.0, 3, 3, 1], "b": [2.0, 2, 2, 2], "c": [1.0, 1, 1, 3]}, index=items)
    lower = pd.DataFrame({"a": [1.0, 1, 1, 1], "b": [2.0, 2, 2, 2], "c": [3.0, 3, 3, np.nan]}, index=items)
    ranking = dataset_ranking([(higher, True), (lower, False)])
    # c failed on an item: left out. Item mean ranks: a (1+1)/2 = 1, b 2 (i4: a 2, b 1 on the first metric)
    assert ranking.average_ranks == {"a": pytest.approx(1.125), "b": pytest.approx(1.875)}
    assert ranking.n_items == 4 and ranking.n_metrics == 2
    assert np.isnan(ranking.friedman_p)  # two algorithms: no Friedman test
    # Nemenyi, k = 2, n = 4: q = 1.960 -> CD = 1.960 * sqrt(2 * 3 / 24) = 0.98 >= 0.75: one group
    assert ranking.critical_difference == pytest.approx(0.980, abs=1e-3)
    assert ranking.groups == [["a", "b"]]


def test_nemenyi_groups_are_maximal_runs_within_the_critical_difference():
    ranks = {"a": 1.0, "b": 1.5, "c": 2.9, "d": 3.0, "e": 5.0}
    assert nemenyi_groups(ranks, 1.5) == [["a", "b"], ["b", "c", "d"]]
    assert nemenyi_groups(ranks, 0.2) == [["c", "d"]]
    assert nemenyi_groups(ranks, 10.0) == [["a", "b", "c", "d", "e"]]
    assert nemenyi_groups(ranks, float("nan")) == []
