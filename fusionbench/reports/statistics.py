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

Over a whole dataset (:func:`dataset_ranking`, the report's one critical-difference diagram per
dataset) the items are Demšar's independent blocks: on each item every metric ranks the algorithms
(fractional ranks), the ranks are averaged over the metrics, and the algorithms are ranked again by
that mean; the Friedman test and Nemenyi's critical difference (Demšar 2006, Sec. 3.2.2) are then
taken over the items. Only algorithms complete on every metric enter. Averaging over metrics weighs
each metric alike; the per-metric tests stay in the tables.
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
    """Items x algorithms table of values (``values`` has columns item, algorithm, value).

    Rows and columns are sorted; the first non-missing value of an (item, algorithm) wins, NaN
    where it has none. (The same as ``values.pivot_table(index="item", columns="algorithm",
    values="value", aggfunc="first", dropna=False)``, which is used where an (item, algorithm)
    repeats or a name is missing; building the table directly is ten times faster.)
    """
    keys = values[["item", "algorithm"]]
    if len(values) == 0 or keys.isna().to_numpy().any() or keys.duplicated().any():
        return values.pivot_table(index="item", columns="algorithm", values="value", aggfunc="first", dropna=False)
    try:
        items, item_codes = np.unique(values["item"].to_numpy(dtype=object), return_inverse=True)
        algorithms, algorithm_codes = np.unique(values["algorithm"].to_numpy(dtype=object), return_inverse=True)
    except TypeError:  # names of mixed types do not sort
        return values.pivot_table(index="item", columns="algorithm", values="value", aggfunc="first", dropna=False)
    # Stored like pivot_table's result (one algorithm after the other; to_numpy() is row-major), so
    # that sums over items run in the same order and give the same bits.
    table = np.full((len(items), len(algorithms)), np.nan)
    table[item_codes, algorithm_codes] = values["value"].to_numpy(dtype=np.float64)
    return matrix_frame(table, list(items), list(algorithms))


def matrix_frame(table: np.ndarray, items: list, algorithms: list) -> pd.DataFrame:
    """The items x algorithms frame of a row-major float table, laid out as pivot_table lays it out
    (so that to_numpy() and sums over items see the same memory order)."""
    return pd.DataFrame(np.ascontiguousarray(table, dtype=np.float64), index=pd.Index(items, name="item"),
                        columns=pd.Index(algorithms, name="algorithm"), copy=False)


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


def significance(values: pd.DataFrame | None, higher_is_better: bool, matrix: pd.DataFrame | None = None) -> SignificanceResult:
    """Average ranks, Friedman test and Holm-corrected pairwise Wilcoxon tests (see module doc).

    ``matrix`` is :func:`value_matrix` of ``values`` when the caller has it already.
    """
    matrix = (value_matrix(values) if matrix is None else matrix).dropna(axis=1, how="any")
    ranks = fractional_ranks(matrix, higher_is_better)
    # Ranks are multiples of 1/2, so their sums are exact in any order: numpy's mean is pandas' mean.
    means = ranks.to_numpy(dtype=np.float64).mean(axis=0) if len(matrix) else [math.nan] * len(matrix.columns)
    average = {name: float(mean) for name, mean in zip(matrix.columns, means)}
    result = SignificanceResult(average_ranks=average, n_items=len(matrix))
    names = list(matrix.columns)
    block = matrix.to_numpy(dtype=np.float64)
    if len(names) >= 3 and len(matrix) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant inputs: scipy warns and returns nan, kept as nan
            statistic, p_value = stats.friedmanchisquare(*(block[:, index] for index in range(len(names))))
        result.friedman_statistic, result.friedman_p = float(statistic), float(p_value)
    pairs = list(itertools.combinations(range(len(names)), 2))
    if pairs:
        firsts = np.array([first for first, _ in pairs])
        seconds = np.array([second for _, second in pairs])
        differences = block[:, firsts] - block[:, seconds]  # items x pairs
        p_raw = wilcoxon_pairs(block[:, firsts], block[:, seconds], differences)
        medians = np.median(differences, axis=0) if len(differences) else [math.nan] * len(pairs)
        rows = []
        for index, (first, second) in enumerate(pairs):
            median = float(medians[index])
            better = "" if median == 0 else (names[first] if (median > 0) == higher_is_better else names[second])
            rows.append({"first": names[first], "second": names[second], "p_raw": p_raw[index], "better": better})
        adjusted = holm_correction([row["p_raw"] for row in rows])
        for row, p_holm in zip(rows, adjusted):
            row["p_holm"] = p_holm
        result.pairwise = pd.DataFrame(rows, columns=["first", "second", "p_raw", "p_holm", "better"])
    return result


def wilcoxon_pairs(first: np.ndarray, second: np.ndarray, differences: np.ndarray | None = None) -> list[float]:
    """Two-sided Wilcoxon signed-rank p-value (``zero_method="wilcox"``) of every column pair
    ``first[:, j]`` vs ``second[:, j]``: exactly ``scipy.stats.wilcoxon`` of each pair on its own,
    and 1.0 where the columns are identical on every item.

    One call per pair costs scipy's input handling each time (thousands of pairs for a paper run:
    most of the time of the tables), so pairs are tested in batches along an axis. Batching is
    only exact where scipy would choose the same method for each pair alone: its ``method="auto"``
    looks at the *whole* array (any zero difference or any tie -> permutation test or normal
    approximation; none -> exact distribution). So the pairs are batched by that criterion —
    pairs without zeros or ties together, pairs with them together — and a pair with a
    non-finite value is tested alone. Every per-pair quantity scipy computes in a batch (ranks,
    sums of half-integer ranks, tie counts) is exact, so the p-values are the same bits.
    """
    differences = first - second if differences is None else differences
    count = differences.shape[1]
    p_values: list[float] = [1.0] * count
    tested = np.any(differences, axis=0)  # identical on every item: p = 1
    finite = np.isfinite(first).all(axis=0) & np.isfinite(second).all(axis=0) & np.isfinite(differences).all(axis=0)
    with np.errstate(invalid="ignore"):
        magnitudes = np.sort(np.abs(differences), axis=0)
        # a zero difference, or two equal magnitudes (zeros sort first, so equal neighbours are a
        # tie of non-zero magnitudes or more zeros)
        zero_or_tie = (differences == 0).any(axis=0) | (magnitudes[1:] == magnitudes[:-1]).any(axis=0)
    alone = np.flatnonzero(tested & ~finite).tolist()
    regular = np.flatnonzero(tested & finite & ~zero_or_tie).tolist()
    irregular = np.flatnonzero(tested & finite & zero_or_tie).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for group in (regular, irregular):
            if group:
                batch = stats.wilcoxon(first[:, group], second[:, group], zero_method="wilcox", axis=0)
                for index, p_value in zip(group, np.atleast_1d(batch.pvalue)):
                    p_values[index] = float(p_value)
        for index in alone:
            p_values[index] = float(stats.wilcoxon(first[:, index], second[:, index], zero_method="wilcox").pvalue)
    return p_values


def describe_briefly(result: SignificanceResult, alpha: float = 0.05) -> str:
    """The Friedman result and how many pairs differ, without naming them (for many algorithms,
    where :func:`describe` would be a wall of pairs; they are all in the statistics CSV)."""
    if math.isnan(result.friedman_p):
        friedman = "Friedman test: not applicable (needs ≥ 3 complete algorithms and ≥ 2 items)"
    else:
        friedman = f"Friedman χ² = {result.friedman_statistic:.2f}, p = {result.friedman_p:.3g} (n = {result.n_items})"
    pairs = result.pairwise
    differing = int((pairs["p_holm"] < alpha).sum()) if len(pairs) else 0
    return (f"{friedman}. {differing} of {len(pairs)} pairs differ at Holm-corrected α = {alpha} "
            "(Wilcoxon signed-rank).")


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


@dataclass
class DatasetRanking:
    """Average ranks of the algorithms over a dataset's items and metrics, with Friedman and Nemenyi."""

    average_ranks: dict[str, float]
    n_items: int
    n_metrics: int
    friedman_statistic: float = math.nan
    friedman_p: float = math.nan
    critical_difference: float = math.nan
    #: maximal runs of rank-ordered algorithms whose average ranks differ by at most the CD
    groups: list[list[str]] = field(default_factory=list)


def dataset_ranking(matrices: list[tuple[pd.DataFrame, bool]], alpha: float = 0.05) -> DatasetRanking:
    """The ranking of a dataset from its metrics' items x algorithms ``matrices`` (each with its
    direction ``higher_is_better``); see the module docstring."""
    from .plots import nemenyi_critical_difference

    usable = [(matrix, direction) for matrix, direction in matrices if matrix is not None and len(matrix)]
    if not usable:
        return DatasetRanking({}, 0, 0)
    complete = [set(matrix.columns[~matrix.isna().any(axis=0).to_numpy()]) for matrix, _ in usable]
    algorithms = sorted(set.intersection(*complete))
    items = sorted(set.intersection(*(set(matrix.index) for matrix, _ in usable)))
    if not algorithms or not items:
        return DatasetRanking({}, len(items), len(usable))
    total = np.zeros((len(items), len(algorithms)))
    for matrix, direction in usable:
        total += fractional_ranks(matrix.loc[items, algorithms], direction).to_numpy(dtype=np.float64)
    mean_ranks = pd.DataFrame(total / len(usable), index=items, columns=algorithms)
    ranks = fractional_ranks(mean_ranks, higher_is_better=False).to_numpy(dtype=np.float64)
    result = DatasetRanking({name: float(rank) for name, rank in zip(algorithms, ranks.mean(axis=0))},
                            len(items), len(usable))
    if len(algorithms) >= 3 and len(items) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            statistic, p_value = stats.friedmanchisquare(*(ranks[:, index] for index in range(len(algorithms))))
        result.friedman_statistic, result.friedman_p = float(statistic), float(p_value)
    result.critical_difference = nemenyi_critical_difference(len(algorithms), len(items), alpha)
    result.groups = nemenyi_groups(result.average_ranks, result.critical_difference)
    return result


def nemenyi_groups(average_ranks: dict[str, float], critical_difference: float) -> list[list[str]]:
    """Maximal runs (two or more) of rank-ordered algorithms within ``critical_difference`` of the
    run's first; a run inside an earlier one is dropped (Demšar's thick bars)."""
    if math.isnan(critical_difference):
        return []
    order = sorted(average_ranks, key=lambda name: average_ranks[name])
    groups: list[list[str]] = []
    for start, first in enumerate(order):
        stop = start + 1
        while stop < len(order) and average_ranks[order[stop]] - average_ranks[first] <= critical_difference:
            stop += 1
        run = order[start:stop]
        if len(run) >= 2 and not any(set(run) <= set(group) for group in groups):
            groups.append(run)
    return groups
