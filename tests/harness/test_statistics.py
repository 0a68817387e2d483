"""Friedman, Holm and Wilcoxon on hand-checkable inputs."""
from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from fusionbench.reports.statistics import describe, holm_correction, significance


def test_holm_correction_by_hand():
    # sorted p: 0.01 (x3) = 0.03, 0.02 (x2) = 0.04, 0.04 (x1) = 0.04; the original order is kept.
    assert holm_correction([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # monotone: a later, smaller product is raised to the running maximum; capped at 1.
    assert holm_correction([0.01, 0.03, 0.6]) == pytest.approx([0.03, 0.06, 0.6])
    assert holm_correction([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_significance_matches_scipy_and_hand_ranks():
    a = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
    b = [value - 1 for value in a]
    c = [value - 2 + (0.5 if index % 2 else -0.5) for index, value in enumerate(a)]
    values = pd.DataFrame([{"item": f"i{i}", "algorithm": name, "value": column[i]}
                           for name, column in (("A", a), ("B", b), ("C", c)) for i in range(8)])
    result = significance(values, higher_is_better=True)
    # A is best everywhere; B beats C where C = a-2.5, ties never occur (c = a-1.5 vs b = a-1).
    assert result.average_ranks == pytest.approx({"A": 1.0, "B": 2.0, "C": 3.0})
    expected = stats.friedmanchisquare(a, b, c)
    assert result.friedman_statistic == pytest.approx(expected.statistic)
    assert result.friedman_p == pytest.approx(expected.pvalue)
    pair = result.pairwise.set_index(["first", "second"]).loc[("A", "B")]
    assert pair.p_raw == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert pair.better == "A"
    # Three pairs, all with the same raw p (every difference has one sign): Holm multiplies the smallest by 3.
    assert result.pairwise.p_holm.max() == pytest.approx(min(1.0, 3 * result.pairwise.p_raw.min()))
    assert "Friedman χ² = 16.00" in describe(result)


def test_identical_algorithms_give_p_one():
    values = pd.DataFrame([{"item": f"i{i}", "algorithm": name, "value": float(i)}
                           for name in ("A", "B") for i in range(5)])
    result = significance(values, higher_is_better=True)
    assert result.pairwise.p_raw.tolist() == [1.0]
    assert result.average_ranks == {"A": 1.5, "B": 1.5}
    assert "not applicable" in describe(result)
