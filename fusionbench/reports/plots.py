"""The report's charts, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display).

Each function takes plain data (pandas frames, dicts) and returns PNG bytes, so it can be tested and
embedded without touching global matplotlib state (``pyplot`` would pick a GUI backend and keep
figures alive; ``Figure`` + ``FigureCanvasAgg`` does neither and is safe to call from threads).

Charts:

* :func:`metric_distributions` — per metric, the values over items of each algorithm (box: quartiles
  and median, whiskers to 1.5 IQR, every item drawn as a dot), best direction in the title.
* :func:`rank_counts` — per algorithm, how many (item, metric) cases it ranked first and second
  (the tables' #first/#second summed over the dataset's metrics; ties are shared fractionally).
* :func:`timing_chart` — median seconds per fusion of each algorithm on each dataset (log axis), with
  the range over items.
* :func:`critical_difference` — Demšar-style critical-difference diagrams from average ranks
  (Demšar, JMLR 7 (2006) 1-30): algorithms placed on a rank axis (1 = best); a thick bar joins
  algorithms that are *not* significantly different by the pairwise Wilcoxon signed-rank tests with
  Holm's correction at α = 0.05 (the post-hoc test printed under the tables, as in Benavoli et al.,
  JMLR 17 (2016)), and the Nemenyi critical difference
  ``CD = q_α / √2 · √(k(k+1) / (6n))`` (q_α: studentized range, k algorithms, n items) is drawn for scale.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Bump when a chart changes for the same data (it invalidates charts reused from an earlier report).
PLOTS_VERSION = "1"
DPI = 100
ALPHA = 0.05
#: A colour-blind-safe palette (Okabe & Ito 2008), cycled over algorithms in table order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_TEXT = "#222222"
#: matplotlib 3.10 replaced boxplot's ``vert=False`` by ``orientation="horizontal"``.
_HORIZONTAL = {"orientation": "horizontal"} if tuple(
    int(part) for part in matplotlib.__version__.split(".")[:2]) >= (3, 10) else {"vert": False}
_GRID = "#dddddd"


def colour_map(algorithms: Sequence[str]) -> dict[str, str]:
    """One fixed colour per algorithm, so that the same algorithm looks the same in every chart."""
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(algorithms)}


def figure_png(figure: Figure) -> bytes:
    """Render a figure to PNG bytes."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def data_uri_png(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding a chart in the page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return figure


def _style(axes) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=_TEXT, labelsize=9)
    axes.set_axisbelow(True)


def metric_distributions(values: pd.DataFrame, directions: Mapping[str, bool], algorithms: Sequence[str],
                         metrics: Sequence[str], colours: Mapping[str, str] | None = None) -> bytes:
    """Box-and-dots per algorithm for each metric (``values``: columns item, algorithm, metric, value)."""
    colours = colours or colour_map(algorithms)
    columns = 2 if len(metrics) == 4 else min(3, max(1, len(metrics)))  # 4 metrics: a 2 x 2 grid, no hole
    rows = max(1, math.ceil(len(metrics) / columns))
    figure = _new_figure(4.4 * columns, 0.42 * len(algorithms) * rows + 1.1 * rows + 0.3)
    grid = figure.subplots(rows, columns, squeeze=False)
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same picture
    for index, axes in enumerate(grid.flat):
        if index >= len(metrics):
            axes.set_visible(False)
            continue
        metric = metrics[index]
        subset = values[values.metric == metric]
        series = [subset.loc[subset.algorithm == name, "value"].dropna().to_numpy() for name in algorithms]
        positions = np.arange(len(algorithms))[::-1]  # first algorithm on top
        drawn = [(data, position) for data, position in zip(series, positions) if len(data)]
        if drawn:
            axes.boxplot([data for data, _ in drawn], positions=[position for _, position in drawn],
                         **_HORIZONTAL, widths=0.6, showfliers=False, medianprops={"color": _TEXT},
                         boxprops={"color": "#888888"}, whiskerprops={"color": "#888888"},
                         capprops={"color": "#888888"})
        for name, data, position in zip(algorithms, series, positions):
            jitter = rng.uniform(-0.18, 0.18, len(data))
            axes.scatter(data, position + jitter, s=12, color=colours[name], alpha=0.8, linewidths=0, zorder=3)
        axes.set_yticks(positions, algorithms)
        axes.set_ylim(-0.7, len(algorithms) - 0.3)
        arrow = "higher is better" if directions.get(metric, True) else "lower is better"
        axes.set_title(f"{metric} ({arrow})", fontsize=10, color=_TEXT, loc="left")
        axes.grid(axis="x", color=_GRID, linewidth=0.8)
        _style(axes)
    return figure_png(figure)


def rank_counts(counts: pd.DataFrame, algorithms: Sequence[str], cases: int) -> bytes:
    """Stacked bars: #first and #second per algorithm, summed over metrics (``counts``: algorithm,
    n_first, n_second); ``cases`` = items x metrics, the most any algorithm could win."""
    figure = _new_figure(7.0, 0.42 * len(algorithms) + 1.0)
    axes = figure.subplots()
    totals = counts.groupby("algorithm")[["n_first", "n_second"]].sum()
    firsts = np.array([totals.n_first.get(name, 0.0) for name in algorithms])
    seconds = np.array([totals.n_second.get(name, 0.0) for name in algorithms])
    positions = np.arange(len(algorithms))[::-1]
    axes.barh(positions, firsts, color="#0072B2", label="ranked first", height=0.6)
    axes.barh(positions, seconds, left=firsts, color="#9cc7e4", label="ranked second", height=0.6)
    for position, first, second in zip(positions, firsts, seconds):
        axes.text(first + second + cases * 0.01, position, f"{first:g} / {second:g}", va="center", fontsize=8,
                  color=_TEXT)
    axes.set_yticks(positions, algorithms)
    axes.set_xlim(0, max(cases, 1) * 1.12)
    axes.set_xlabel(f"number of (item, metric) cases, of {cases}", fontsize=9, color=_TEXT)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, fontsize=8, frameon=False)
    axes.grid(axis="x", color=_GRID, linewidth=0.8)
    _style(axes)
    return figure_png(figure)


def timing_chart(timings: pd.DataFrame, algorithms: Sequence[str], datasets: Sequence[str]) -> bytes:
    """Median seconds per fusion (dot) and min-max over items (line) per algorithm and dataset, log x
    (``timings``: columns dataset, algorithm, seconds)."""
    figure = _new_figure(7.5, 0.5 * len(algorithms) + 1.2)
    axes = figure.subplots()
    markers = "osD^v<>p"
    offsets = np.linspace(-0.25, 0.25, len(datasets)) if len(datasets) > 1 else np.zeros(1)
    positions = np.arange(len(algorithms))[::-1]
    for dataset_index, dataset in enumerate(datasets):
        subset = timings[timings.dataset == dataset]
        for name, position in zip(algorithms, positions):
            seconds = subset.loc[subset.algorithm == name, "seconds"].dropna().to_numpy()
            seconds = seconds[seconds > 0]
            if not len(seconds):
                continue
            y = position + offsets[dataset_index]
            axes.plot([seconds.min(), seconds.max()], [y, y], color=PALETTE[dataset_index % len(PALETTE)],
                      linewidth=1.2, alpha=0.6)
            axes.scatter([np.median(seconds)], [y], color=PALETTE[dataset_index % len(PALETTE)],
                         marker=markers[dataset_index % len(markers)], s=28, zorder=3,
                         label=dataset if name == next(
                             (a for a in algorithms if len(subset.loc[subset.algorithm == a])), None) else None)
    axes.set_xscale("log")
    axes.set_yticks(positions, algorithms)
    axes.set_xlabel("seconds per fusion (median dot, range over items)", fontsize=9, color=_TEXT)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=min(len(datasets), 5), fontsize=8, frameon=False)
    axes.grid(axis="x", which="both", color=_GRID, linewidth=0.6)
    _style(axes)
    return figure_png(figure)


def nemenyi_critical_difference(algorithms: int, items: int, alpha: float = ALPHA) -> float:
    """Nemenyi's CD = q_α/√2 · √(k(k+1)/(6n)), q_α the studentized range quantile (∞ degrees of freedom)."""
    from scipy.stats import studentized_range

    if algorithms < 2 or items < 1:
        return math.nan
    q_alpha = studentized_range.ppf(1 - alpha, algorithms, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(algorithms * (algorithms + 1) / (6.0 * items)))


def indistinct_groups(average_ranks: Mapping[str, float], pairwise: pd.DataFrame,
                      alpha: float = ALPHA) -> list[list[str]]:
    """Maximal runs of rank-ordered algorithms with no significantly different pair among them.

    ``pairwise`` has columns first, second, p_holm. Only runs of two or more are returned; a run
    contained in another is dropped (as in Demšar's diagrams).
    """
    order = sorted(average_ranks, key=lambda name: average_ranks[name])
    different = {frozenset((row.first, row.second)) for row in pairwise.itertuples() if row.p_holm < alpha}
    groups: list[list[str]] = []
    for start in range(len(order)):
        stop = start + 1
        while stop < len(order) and all(frozenset((order[j], order[stop])) not in different
                                        for j in range(start, stop)):
            stop += 1
        run = order[start:stop]
        if len(run) >= 2 and not any(set(run) <= set(group) for group in groups):
            groups.append(run)
    return groups


def _draw_critical_difference(axes, title: str, average_ranks: Mapping[str, float], groups: list[list[str]],
                              critical_difference: float) -> None:
    """One CD diagram on ``axes`` (data coordinates: x = rank, y downwards from 0)."""
    order = sorted(average_ranks, key=lambda name: average_ranks[name])
    count = len(order)
    low, high = 1, max(count, 2)
    axes.set_xlim(low - 0.15 * (high - low) - 0.6, high + 0.15 * (high - low) + 0.6)
    half = math.ceil(count / 2)
    depth = 1.2 + 0.55 * max(half, count - half) + 0.3 * len(groups)
    axes.set_ylim(depth, -1.1)
    axes.axis("off")
    axes.plot([low, high], [0, 0], color=_TEXT, linewidth=1)
    for tick in range(low, high + 1):
        axes.plot([tick, tick], [0, -0.12], color=_TEXT, linewidth=1)
        axes.text(tick, -0.22, str(tick), ha="center", va="bottom", fontsize=8, color=_TEXT)
    if not math.isnan(critical_difference) and critical_difference < high - low:
        axes.plot([low, low + critical_difference], [-0.75, -0.75], color="#C0392B", linewidth=1.5)
        axes.text(low + critical_difference / 2, -0.8, f"Nemenyi CD = {critical_difference:.2f}",
                  ha="center", va="bottom", fontsize=7, color="#C0392B")
    axes.text(high, -0.8, title, ha="right", va="bottom", fontsize=9, color=_TEXT, fontweight="bold")
    for index, name in enumerate(order):
        rank = average_ranks[name]
        left = index < half
        row = index if left else count - 1 - index
        y = 0.55 + 0.3 * len(groups) + 0.55 * row
        x_end = axes.get_xlim()[0] + 0.3 if left else axes.get_xlim()[1] - 0.3
        axes.plot([rank, rank, x_end], [0, y, y], color="#555555", linewidth=0.8)
        axes.text(x_end + (-0.05 if left else 0.05), y, f"{name} ({rank:.2f})", ha="right" if left else "left",
                  va="center", fontsize=8, color=_TEXT)
    for index, group in enumerate(groups):
        y = 0.25 + 0.3 * index
        axes.plot([average_ranks[group[0]] - 0.04, average_ranks[group[-1]] + 0.04], [y, y], color=_TEXT,
                  linewidth=3, solid_capstyle="round")


def critical_difference(diagrams: Sequence[tuple[str, Mapping[str, float], pd.DataFrame, int]],
                        alpha: float = ALPHA) -> bytes:
    """CD diagrams, one per (title, average_ranks, pairwise, n_items), stacked in a grid of two columns."""
    diagrams = [diagram for diagram in diagrams if len(diagram[1]) >= 2]
    columns = 2 if len(diagrams) > 1 else 1
    rows = max(1, math.ceil(len(diagrams) / columns))
    longest = max((len(diagram[1]) for diagram in diagrams), default=2)
    figure = _new_figure(6.6 * columns, rows * (1.1 + 0.3 * math.ceil(longest / 2) + 0.35))
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(diagrams):
            axes.set_visible(False)
            continue
        title, ranks, pairwise, items = diagrams[index]
        _draw_critical_difference(axes, title, ranks, indistinct_groups(ranks, pairwise, alpha),
                                  nemenyi_critical_difference(len(ranks), items, alpha))
    return figure_png(figure)
