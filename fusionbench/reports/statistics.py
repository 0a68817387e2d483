"""Significance tests over items: what the paper's tables cannot tell.

For one dataset and metric, with ``k`` algorithms measured on the same ``n`` items:

* **Average rank** per algorithm: each item ranks the algorithms by the metric's direction
  (1 = best), tied values share the mean of the positions they span (fractional ranking, as in
  Demšar, JMLR 7 (2006) 1-30); the average over items.
* **Friedman test** (``scipy.stats.friedmanchisquare``) of the null "all algorithms rank alike";
  needs ``k >= 3`` and ``n >= 2``.
* **Pairwise Wilcoxon signed-rank tests** (``scipy.stats.wilcoxon``, two-sided, zero
  differences dropped: method ``"wilcox"``) for every pair, with Holm's step-down correction of
  the p-values (Holm, Scand. J. Statist. 6 (1979) 65-70). A pair whose values are identical on
  every item has p = 1.

Only complete algorithms (a value on every item) enter, like the rank counts of the tables.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class SignificanceResult:
    """Friedman and Holm-corrected pairwise Wilcoxon results for one dataset x metric."""

    average_ranks: dict[str, float]
    n_items: int
    friedman_statistic: float = math.nan
    friedman_p: float = math.nan
    #: rows: first, second, p_raw, p_holm, better (the algorithm with the better median difference)
    pairwise: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["first", "second", "p_raw", "p_holm", "better"]))


def value_matrix(values: pd.DataFrame) -> pd.DataFrame:
    """Items x algorithms table of values (``values`` has columns item, algorithm, value)."""
    return values.pivot_table(index="item", columns="algorithm", values="value", aggfunc="first", dropna=False)


def fractional_ranks(matrix: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """Per item (row), rank 1 = best; ties share the mean of the positions they span."""
    return matrix.rank(axis=1, method="average", ascending=not higher_is_better)


def holm_correction(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: p_(i) * (m - i + 1), made monotone, capped at 1."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, p_values[index] * (m - position)))
        adjusted[index] = running
    return adjusted.tolist()


def significance(values: pd.DataFrame, higher_is_better: bool) -> SignificanceResult:
    """Average ranks, Friedman test and Holm-corrected pairwise Wilcoxon tests (see module doc)."""
    matrix = value_matrix(values).dropna(axis=1, how="any")
    ranks = fractional_ranks(matrix, higher_is_better)
    average = {name: float(ranks[name].mean()) for name in matrix.columns}
    result = SignificanceResult(average_ranks=average, n_items=len(matrix))
    names = list(matrix.columns)
    if len(names) >= 3 and len(matrix) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant inputs: scipy warns and returns nan, kept as nan
            statistic, p_value = stats.friedmanchisquare(*(matrix[name].to_numpy() for name in names))
        result.friedman_statistic, result.friedman_p = float(statistic), float(p_value)
    rows = []
    for first, second in itertools.combinations(names, 2):
        difference = matrix[first].to_numpy() - matrix[second].to_numpy()
        if not np.any(difference):
            p_raw = 1.0
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p_raw = float(stats.wilcoxon(matrix[first], matrix[second], zero_method="wilcox").pvalue)
        median = float(np.median(difference))
        better = "" if median == 0 else (first if (median > 0) == higher_is_better else second)
        rows.append({"first": first, "second": second, "p_raw": p_raw, "better": better})
    if rows:
        adjusted = holm_correction([row["p_raw"] for row in rows])
        for row, p_holm in zip(rows, adjusted):
            row["p_holm"] = p_holm
        result.pairwise = pd.DataFrame(rows, columns=["first", "second", "p_raw", "p_holm", "better"])
    return result


def describe(result: SignificanceResult, alpha: float = 0.05) -> str:
    """One Markdown paragraph: Friedman result, average ranks, significant pairs."""
    ranks = ", ".join(f"{name} {rank:.2f}" for name, rank in sorted(result.average_ranks.items(), key=lambda x: x[1]))
    if math.isnan(result.friedman_p):
        friedman = "Friedman test: not applicable (needs ≥ 3 complete algorithms and ≥ 2 items)"
    else:
        friedman = f"Friedman χ² = {result.friedman_statistic:.2f}, p = {result.friedman_p:.3g} (n = {result.n_items})"
    significant = result.pairwise[result.pairwise["p_holm"] < alpha] if len(result.pairwise) else result.pairwise
    if len(result.pairwise) == 0:
        pairs = "no pairs"
    elif len(significant) == 0:
        pairs = f"no pair differs at Holm-corrected α = {alpha}"
    else:
        pairs = f"pairs differing at Holm-corrected α = {alpha}: " + ", ".join(
            f"{row.better} > {row.second if row.better == row.first else row.first} (p = {row.p_holm:.2g})"
            for row in significant.itertuples())
    return f"{friedman}. Average ranks (1 = best): {ranks or 'none'}. Wilcoxon signed-rank, {pairs}."
