"""The fast paths of the tables give exactly what the straightforward code gives.

Batched Wilcoxon tests against one scipy call per pair, the directly built value matrix against
pandas' pivot table: equal to the bit, so that no number in the tables moves.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fusionbench.reports import statistics, tables


def _scipy_per_pair(block: np.ndarray) -> list[float]:
    """p of every column pair, one ``scipy.stats.wilcoxon`` call each (the reference)."""
    p_values = []
    for first, second in itertools.combinations(range(block.shape[1]), 2):
        if not np.any(block[:, first] - block[:, second]):
            p_values.append(1.0)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_values.append(float(stats.wilcoxon(block[:, first], block[:, second], zero_method="wilcox").pvalue))
    return p_values


def _batched(block: np.ndarray) -> list[float]:
    pairs = list(itertools.combinations(range(block.shape[1]), 2))
    return statistics.wilcoxon_pairs(block[:, [a for a, _ in pairs]], block[:, [b for _, b in pairs]])


@pytest.mark.parametrize("items", [1, 3, 5, 14, 20, 55])
def test_batched_wilcoxon_is_scipy_pair_by_pair(items):
    rng = np.random.default_rng(items)
    continuous = rng.normal(size=(items, 5))  # no ties: the exact distribution (n <= 50)
    rounded = np.round(rng.normal(size=(items, 5)), 1)  # ties and zero differences
    rounded[:, 1] = rounded[:, 0]  # an identical pair: p = 1
    mixed = np.column_stack([continuous[:, :3], rounded[:, :3]])
    mixed[0, 2] = np.inf  # a non-finite difference is tested on its own
    if items >= 3:
        mixed[1, 3] = mixed[1, 0]  # one zero difference among continuous values
    for block in (continuous, rounded, mixed):
        expected, got = _scipy_per_pair(block), _batched(block)
        assert got == expected or all(a == b or (np.isnan(a) and np.isnan(b)) for a, b in zip(got, expected))


def test_significance_keeps_its_results_with_the_shared_matrix():
    rng = np.random.default_rng(3)
    values = pd.DataFrame([{"item": f"i{item}", "algorithm": name, "value": float(rng.integers(0, 5))}
                           for item in range(5) for name in "abcd"])
    alone = statistics.significance(values, True)
    shared = statistics.significance(None, True, statistics.value_matrix(values))
    assert alone.average_ranks == shared.average_ranks
    pd.testing.assert_frame_equal(alone.pairwise, shared.pairwise, check_exact=True)


def _long(rng, items, algorithms, missing=0.0) -> pd.DataFrame:
    rows = [{"item": item, "algorithm": name, "value": float(rng.normal())} for item in items for name in algorithms]
    frame = pd.DataFrame(rows)
    frame.loc[rng.random(len(frame)) < missing, "value"] = np.nan
    return frame


def _pivot(values: pd.DataFrame) -> pd.DataFrame:
    return values.pivot_table(index="item", columns="algorithm", values="value", aggfunc="first", dropna=False)


def test_value_matrix_is_the_pivot_table_with_its_memory_layout():
    rng = np.random.default_rng(0)
    values = _long(rng, [f"item-{index:02d}" for index in range(11)][::-1], ["lpsr", "gff", "ifcnn-max"], 0.2)
    fast = statistics.value_matrix(values)
    pd.testing.assert_frame_equal(fast, _pivot(values), check_exact=True)
    # the means over items add in the same order only when to_numpy() has the same layout
    assert fast.to_numpy().flags["C_CONTIGUOUS"] == _pivot(values).to_numpy().flags["C_CONTIGUOUS"]
    duplicated = pd.concat([values, values.iloc[:3].assign(value=1.0)])
    pd.testing.assert_frame_equal(statistics.value_matrix(duplicated), _pivot(duplicated), check_exact=True)


def test_the_planned_matrix_is_the_merge_and_the_pivot():
    rng = np.random.default_rng(1)
    items = ["b", "a", "d", "c"]
    rows = _long(rng, items + ["unplanned"], ["gff", "lpsr"], 0.1)
    rows = rows[~((rows.item == "d") & (rows.algorithm == "lpsr"))]  # an absent row
    failures = pd.DataFrame([{"dataset": "x", "item": "c", "algorithm": "max", "stage": "fuse", "metric": "",
                              "message": "boom"}], columns=tables.FAILURES_COLUMNS)
    slow = statistics.value_matrix(tables._planned_values(rows, failures, "SF", items))
    fast = tables._planned_matrix(rows, failures, "SF", items)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert list(fast.columns) == ["gff", "lpsr", "max"] and list(fast.index) == ["a", "b", "c", "d"]
    pd.testing.assert_frame_equal(tables.rank_summary(None, True, fast),
                                  tables.rank_summary(tables._planned_values(rows, failures, "SF", items), True),
                                  check_exact=True)


def test_emphasis_marks_the_next_rank_when_nobody_is_second():
    summary = pd.DataFrame({"algorithm": ["a", "b", "c", "d"], "overall_rank": [1, 1, 3, np.nan]})
    assert tables._emphasis(summary) == {"a": "best", "b": "best", "c": "second"}
    summary = pd.DataFrame({"algorithm": ["a", "b", "c"], "overall_rank": [1, 2, 2]})
    assert tables._emphasis(summary) == {"a": "best", "b": "second", "c": "second"}
