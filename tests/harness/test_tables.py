"""Rank logic of the paper-style tables on hand-made values (ties, lower-is-better, failures)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fusionbench.reports.tables import (competition_ranks, format_count, format_value, markdown_table,
                                        position_credits, rank_summary, MetricTable, latex_table)
from fusionbench.reports import statistics


def frame(table: dict[str, list[float]]) -> pd.DataFrame:
    """{algorithm: [value per item]} -> long frame with columns item, algorithm, value."""
    rows = [{"item": f"i{index}", "algorithm": name, "value": value}
            for name, values in table.items() for index, value in enumerate(values)]
    return pd.DataFrame(rows)


# Four items, three algorithms. Item 1: A and B tie for first. Item 3: B and C tie for second.
HIGHER = {"A": [3.0, 5.0, 1.0, 9.0], "B": [3.0, 4.0, 2.0, 7.0], "C": [1.0, 6.0, 3.0, 7.0]}


def test_ranks_with_ties_higher_is_better():
    summary = rank_summary(frame(HIGHER), higher_is_better=True).set_index("algorithm")
    # Hand count. item0: A,B tie on positions 1-2 (0.5 first + 0.5 second each), C third.
    # item1: C, A, B.  item2: C, B, A.  item3: A first; B, C tie on positions 2-3 (0.5 second each).
    assert summary.loc["A", "n_first"] == pytest.approx(0.5 + 0 + 0 + 1)
    assert summary.loc["B", "n_first"] == pytest.approx(0.5)
    assert summary.loc["C", "n_first"] == pytest.approx(1 + 1)
    assert summary.loc["A", "n_second"] == pytest.approx(0.5 + 1)
    assert summary.loc["B", "n_second"] == pytest.approx(0.5 + 1 + 0.5)
    assert summary.loc["C", "n_second"] == pytest.approx(0.5)
    assert summary["n_first"].sum() == pytest.approx(4)  # the number of items
    assert summary["n_second"].sum() == pytest.approx(4)
    # Means: A 4.5, B 4.0, C 4.25 -> overall ranks 1, 3, 2.
    assert summary.loc["A", "mean"] == pytest.approx(4.5)
    assert list(summary.loc[["A", "B", "C"], "overall_rank"]) == [1, 3, 2]
    # Average fractional ranks: A (1.5+2+3+1)/4, B (1.5+3+2+2.5)/4, C (3+1+1+2.5)/4.
    assert summary.loc["A", "mean_rank"] == pytest.approx(7.5 / 4)
    assert summary.loc["B", "mean_rank"] == pytest.approx(9.0 / 4)
    assert summary.loc["C", "mean_rank"] == pytest.approx(7.5 / 4)


def test_lower_is_better_reverses_every_rank():
    summary = rank_summary(frame(HIGHER), higher_is_better=False).set_index("algorithm")
    # item0: C first, A/B tie on 2-3. item1: B, A, C. item2: A, B, C. item3: B/C tie on 1-2, A third.
    assert summary.loc["A", "n_first"] == pytest.approx(1)
    assert summary.loc["B", "n_first"] == pytest.approx(1 + 0.5)
    assert summary.loc["C", "n_first"] == pytest.approx(1 + 0.5)
    assert summary.loc["A", "n_second"] == pytest.approx(0.5 + 1)
    assert summary.loc["B", "n_second"] == pytest.approx(0.5 + 1 + 0.5)
    assert summary.loc["C", "n_second"] == pytest.approx(0.5)
    assert summary["n_first"].sum() == pytest.approx(4)
    # Means A 4.5, B 4.0, C 4.25: lower is better -> B 1, C 2, A 3.
    assert list(summary.loc[["A", "B", "C"], "overall_rank"]) == [3, 1, 2]


def test_three_way_tie_shares_first_three_positions():
    credits = position_credits(np.array([2.0, 2.0, 2.0, 1.0]), higher_is_better=True)
    assert credits[:3, :3] == pytest.approx(np.full((3, 3), 1 / 3))
    assert credits[3].tolist() == [0, 0, 0, 1]
    assert credits.sum(axis=0).tolist() == pytest.approx([1, 1, 1, 1])


def test_summation_noise_is_a_tie_but_real_differences_are_not():
    noisy = position_credits(np.array([0.1 + 0.2, 0.3]), higher_is_better=True)
    assert noisy[:, 0].tolist() == [0.5, 0.5]
    distinct = position_credits(np.array([0.3000001, 0.3]), higher_is_better=True)
    assert distinct[:, 0].tolist() == [1.0, 0.0]


def test_competition_ranks_share_the_better_rank():
    assert competition_ranks(np.array([5.0, 7.0, 7.0, 1.0]), higher_is_better=True).tolist() == [3, 1, 1, 4]
    assert competition_ranks(np.array([5.0, 7.0, 7.0, 1.0]), higher_is_better=False).tolist() == [2, 3, 3, 1]


def test_failed_algorithm_is_shown_not_ranked_and_counts_still_sum():
    values = frame({"A": [1.0, 2.0, 3.0], "B": [3.0, 2.5, 1.0], "F": [9.0, math.nan, 9.0]})
    summary = rank_summary(values, higher_is_better=True).set_index("algorithm")
    assert math.isnan(summary.loc["F", "mean"]) and summary.loc["F", "n_missing"] == 1
    assert summary.loc[["A", "B"], "n_first"].sum() == pytest.approx(3)
    table = MetricTable("d", "standard", "M", True, summary.reset_index(), statistics.significance(values, True))
    text = markdown_table([table])
    assert "n/a (failed on 1 of 3 items)" in text
    # A: mean 2.0, B: mean 2.1667 -> B best (bold), A second (italic); B wins items 0 and 1.
    assert "**2.167** (1, 2, 1)" in text and "*2.000* (2, 1, 2)" in text
    assert r"\textbf{2.167}" in latex_table([table], "caption")


def test_formatting_like_the_paper():
    assert format_value(0.98) == "0.9800"
    assert format_value(19.2943) == "19.29"
    assert format_value(1.0443) == "1.044"
    assert format_value(math.nan) == "n/a"
    assert format_count(3.0) == "3" and format_count(0.5) == "0.5" and format_count(1 / 3) == "0.33"
