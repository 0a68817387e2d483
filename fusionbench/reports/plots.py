"""The report's charts, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display).

Each function takes plain data (pandas frames, dicts) and returns PNG bytes, so it can be tested and
embedded without touching global matplotlib state (``pyplot`` would pick a GUI backend and keep
figures alive; ``Figure`` + ``FigureCanvasAgg`` does neither and is safe to call from threads).

Speed: matplotlib's cost is per artist and per tick, and a dataset of the paper suite has 13 metrics
x 14 algorithms. So the big charts draw what ``Axes.boxplot``, ``plot`` and ``set_yticks`` would
draw, but as one line collection per kind of line and plain texts for the algorithm labels; the CD
diagrams (which have no axis) are drawn straight onto the figure; and grids of axes are laid out
from the measured label sizes (:func:`_grid_spacing`, the margins the constrained layout would find)
instead of by the constrained layout, which measures every tick label twice per drawing. That
takes the paper run's charts from about 39 to 17 s of CPU time on a loaded 2-core machine.

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
* :func:`dataset_critical_difference` — one diagram per dataset for runs of many algorithms: average
  ranks over items of the mean rank over metrics, the Friedman test and Nemenyi's critical difference
  (Demšar's own procedure; see :func:`fusionbench.reports.statistics.dataset_ranking`); bars join
  algorithms whose average ranks differ by at most the CD. Each algorithm's marker sits on the axis in
  its colour (:mod:`.styles`).
* :func:`rank_heat_map` — the overview: algorithms x metrics coloured by mean rank (1 = best), the
  rank printed in each cell of small maps, algorithms in the report's order with a line between kinds.

Charts with ``*_figure`` twins return the matplotlib Figure before rendering, so tests can measure
the drawn label boxes (no two labels overlap at 40 algorithms and 20 metrics).
"""
from __future__ import annotations

import base64
import io
import math
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox, BboxTransform, blended_transform_factory

from . import styles

#: Bump when a chart changes for the same data (it invalidates charts reused from an earlier report).
PLOTS_VERSION = "3"
DPI = 100
ALPHA = 0.05
#: The algorithms' palette (:mod:`.styles`; its first eight are Okabe & Ito's colour-blind-safe set).
PALETTE = styles.PALETTE
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


# Grids of many small axes (a dataset's 13 metrics, 13 CD diagrams) are laid out here rather than by
# matplotlib's constrained layout, which measures every tick label of every axes twice per drawing
# (about half of a chart's time). The margins are the same quantities it would find: the measured
# width of the longest label, the height of a line of text, ticks and paddings.
_PAD = matplotlib.rcParams["figure.constrained_layout.w_pad"] * DPI  # px around each axes
_POINT = DPI / 72.0  # px per typographic point
_SPACE = matplotlib.rcParams["figure.constrained_layout.wspace"]  # between axes, a fraction of the figure


def _text_size(texts: Sequence[str], size: float) -> tuple[float, float]:
    """(widest, tallest) extent in px of ``texts`` in the default font at ``size`` points."""
    renderer = FigureCanvasAgg(Figure(dpi=DPI)).get_renderer()
    font = FontProperties(size=size)
    extents = [renderer.get_text_width_height_descent(text, font, ismath=False)[:2]
               for text in texts if text] or [(0.0, 0.0)]
    return max(width for width, _ in extents), max(height for _, height in extents)


def _cells(figure: Figure, count: int, columns: int, left: float, right: float, top: float,
           bottom: float) -> list[Bbox]:
    """The first ``count`` cells (figure fractions, row by row) of a grid laid out by :func:`_grid_spacing`."""
    rows = max(1, math.ceil(count / columns))
    spec = GridSpec(rows, columns, **_grid_spacing(figure, rows, columns, left, right, top, bottom))
    return [spec[index // columns, index % columns].get_position(figure) for index in range(count)]


def _grid_spacing(figure: Figure, rows: int, columns: int, left: float, right: float, top: float,
                  bottom: float) -> dict[str, float]:
    """GridSpec parameters for ``rows x columns`` axes filling ``figure``, each with
    ``left/right/top/bottom`` px kept free around it for its labels (plus the usual padding)."""
    width, height = figure.get_figwidth() * DPI, figure.get_figheight() * DPI
    # between neighbours: both sides' label room, and on each side the larger of the padding and
    # the constrained layout's share of its spacing (as matplotlib's get_margin_from_padding)
    gap_x = left + right + 2 * max(_PAD, _SPACE / 2 / columns * width)
    gap_y = top + bottom + 2 * max(_PAD, _SPACE / 2 / rows * height)
    # the outer margins (label room and padding) plus the gaps between axes, the rest is axes
    axes_width = max(1.0, (width - (left + right + 2 * _PAD) - (columns - 1) * gap_x) / columns)
    axes_height = max(1.0, (height - (top + bottom + 2 * _PAD) - (rows - 1) * gap_y) / rows)
    return {"left": (left + _PAD) / width, "right": 1 - (right + _PAD) / width,
            "bottom": (bottom + _PAD) / height, "top": 1 - (top + _PAD) / height,
            "wspace": gap_x / axes_width, "hspace": gap_y / axes_height}


def _fixed_label_positions(axes) -> None:
    """Spare matplotlib placing the (empty) axis labels around the tick labels at every drawing."""
    axes.xaxis.set_label_coords(0.5, -0.1)
    axes.yaxis.set_label_coords(-0.1, 0.5)


def metric_distributions(values: pd.DataFrame, directions: Mapping[str, bool], algorithms: Sequence[str],
                         metrics: Sequence[str], colours: Mapping[str, str] | None = None) -> bytes:
    """Box-and-dots per algorithm for each metric (``values``: columns item, algorithm, metric, value)."""
    colours = colours or colour_map(algorithms)
    columns = 2 if len(metrics) == 4 else min(3, max(1, len(metrics)))  # 4 metrics: a 2 x 2 grid, no hole
    rows = max(1, math.ceil(len(metrics) / columns))
    figure = Figure(figsize=(4.4 * columns, 0.42 * len(algorithms) * rows + 1.1 * rows + 0.3), dpi=DPI)
    label_width, line_height = _text_size(list(algorithms) + ["0.000"], 9)
    title_height = _text_size(["Mg"], 10)[1]
    tick = 3.5 * _POINT  # tick length and tick-label pad (rcParams defaults)
    spec = figure.add_gridspec(rows, columns, **_grid_spacing(
        figure, rows, columns, left=label_width + 2 * tick, right=0.6 * line_height * 2,
        top=title_height + 6 * _POINT, bottom=line_height + 2 * tick))
    grid = [figure.add_subplot(spec[index // columns, index % columns]) for index in range(len(metrics))]
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same picture
    by_metric = dict(iter(values.groupby("metric", sort=False))) if len(values) else {}
    positions = np.arange(len(algorithms))[::-1]  # first algorithm on top
    box, cap = 0.6 / 2, 0.6 * 0.5 / 2  # half widths of the boxes and the whisker caps (as Axes.boxplot)
    for metric, axes in zip(metrics, grid):
        _style(axes)
        subset = by_metric.get(metric)
        by_algorithm = dict(iter(subset.groupby("algorithm", sort=False))) if subset is not None else {}
        series = [by_algorithm[name]["value"].dropna().to_numpy() if name in by_algorithm else np.empty(0)
                  for name in algorithms]
        # Boxes (quartiles and median, whiskers to 1.5 IQR, no fliers: every item is a dot), as
        # Axes.boxplot draws them, but as four line collections instead of six lines per box.
        boxes, whiskers, caps, medians = [], [], [], []
        for data, position in zip(series, positions):
            if not len(data):
                continue
            stats = cbook.boxplot_stats(data, whis=1.5)[0]
            low, high = position - box, position + box
            q1, q3, whislo, whishi = stats["q1"], stats["q3"], stats["whislo"], stats["whishi"]
            boxes.append([(q1, low), (q3, low), (q3, high), (q1, high), (q1, low)])
            whiskers += [[(q1, position), (whislo, position)], [(q3, position), (whishi, position)]]
            caps += [[(whislo, position - cap), (whislo, position + cap)],
                     [(whishi, position - cap), (whishi, position + cap)]]
            medians.append([(stats["med"], low), (stats["med"], high)])
        for segments, colour, order in ((boxes, "#888888", 2), (whiskers, "#888888", 2), (caps, "#888888", 2),
                                        (medians, _TEXT, 2.1)):
            if segments:
                axes.add_collection(LineCollection(segments, colors=colour, linewidths=1.0, zorder=order,
                                                   capstyle="projecting", joinstyle="round"))
        dots_x, dots_y, dots_colour = [], [], []
        for name, data, position in zip(algorithms, series, positions):
            jitter = rng.uniform(-0.18, 0.18, len(data))
            dots_x.append(data)
            dots_y.append(position + jitter)
            dots_colour += [colours[name]] * len(data)
        if dots_colour:  # one collection, drawn algorithm after algorithm
            axes.scatter(np.concatenate(dots_x), np.concatenate(dots_y), s=12, c=dots_colour, alpha=0.8,
                         linewidths=0, zorder=3)
        _algorithm_labels(axes, positions, algorithms, figure.get_figwidth() * DPI)
        axes.set_ylim(-0.7, len(algorithms) - 0.3)
        arrow = "higher is better" if directions.get(metric, True) else "lower is better"
        axes.set_title(f"{metric} ({arrow})", fontsize=10, color=_TEXT, loc="left", y=1.0)
        axes.grid(axis="x", color=_GRID, linewidth=0.8)
        _fixed_label_positions(axes)
    return figure_png(figure)


def _algorithm_labels(axes, positions, algorithms: Sequence[str], figure_width: float) -> None:
    """Y tick marks and labels as ``set_yticks(positions, algorithms)`` draws them, but as one line
    collection and plain texts: a matplotlib tick costs five artists and copies of their properties,
    and a dataset's distributions have 13 x 14 of them."""
    axes.set_yticks([])
    width = axes.get_position().width * figure_width  # px
    tick = matplotlib.rcParams["ytick.major.size"] * _POINT / width
    pad = matplotlib.rcParams["ytick.major.pad"] * _POINT / width
    transform = blended_transform_factory(axes.transAxes, axes.transData)
    axes.add_collection(LineCollection([[(0, position), (-tick, position)] for position in positions],
                                       colors=_TEXT, linewidths=matplotlib.rcParams["ytick.major.width"],
                                       transform=transform, clip_on=False), autolim=False)
    for position, name in zip(positions, algorithms):
        axes.text(-tick - pad, position, name, transform=transform, ha="right", va="center_baseline",
                  fontsize=9, color=_TEXT, clip_on=False)


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
    return figure_png(timing_chart_figure(timings, algorithms, datasets))


def timing_chart_figure(timings: pd.DataFrame, algorithms: Sequence[str], datasets: Sequence[str]) -> Figure:
    """The figure of :func:`timing_chart`."""
    figure = _new_figure(7.5, 0.5 * len(algorithms) + 1.2)
    axes = figure.subplots()
    markers = "osD^v<>p"
    offsets = np.linspace(-0.25, 0.25, len(datasets)) if len(datasets) > 1 else np.zeros(1)
    positions = np.arange(len(algorithms))[::-1]
    grouped = {key: frame["seconds"] for key, frame in timings.groupby(["dataset", "algorithm"], sort=False)} \
        if len(timings) else {}
    for dataset_index, dataset in enumerate(datasets):
        colour = PALETTE[dataset_index % len(PALETTE)]
        ranges, medians = [], []
        for name, position in zip(algorithms, positions):
            seconds = grouped[(dataset, name)].dropna().to_numpy() if (dataset, name) in grouped else np.empty(0)
            seconds = seconds[seconds > 0]
            if not len(seconds):
                continue
            y = position + offsets[dataset_index]
            ranges.append([(seconds.min(), y), (seconds.max(), y)])
            medians.append((np.median(seconds), y))
        if ranges:  # one collection per dataset (its legend entry is the median marker)
            axes.add_collection(LineCollection(ranges, colors=colour, linewidths=1.2, alpha=0.6,
                                               capstyle="projecting"))
            axes.scatter([x for x, _ in medians], [y for _, y in medians], color=colour,
                         marker=markers[dataset_index % len(markers)], s=28, zorder=3, label=dataset)
    axes.set_xscale("log")
    axes.set_yticks(positions, algorithms)
    axes.set_xlabel("seconds per fusion (median dot, range over items)", fontsize=9, color=_TEXT)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=min(len(datasets), 5), fontsize=8, frameon=False)
    axes.grid(axis="x", which="both", color=_GRID, linewidth=0.6)
    _style(axes)
    return figure


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


def _draw_critical_difference(figure: Figure, cell: Bbox, title: str, average_ranks: Mapping[str, float],
                              groups: list[list[str]], critical_difference: float, tick_step: int = 1) -> Bbox:
    """One CD diagram in the ``cell`` of ``figure`` (figure fractions). Its coordinates: x = rank,
    y downwards from 0; drawn on the figure itself, not in an axes (it has no axis), and the lines
    of a kind as one collection each — the same picture at a fraction of the cost."""
    order = sorted(average_ranks, key=lambda name: average_ranks[name])
    count = len(order)
    low, high = 1, max(count, 2)
    x_low, x_high = low - 0.15 * (high - low) - 0.6, high + 0.15 * (high - low) + 0.6
    half = math.ceil(count / 2)
    depth = 1.2 + 0.55 * max(half, count - half) + 0.3 * len(groups)
    transform = BboxTransform(Bbox.from_extents(x_low, depth, x_high, -1.1), cell) + figure.transFigure

    def line(segments, **style) -> None:
        figure.add_artist(LineCollection(segments, transform=transform, **style))

    def text(x: float, y: float, words: str, **style) -> None:
        figure.text(x, y, words, transform=transform, **style)

    line([[(low, 0), (high, 0)]] + [[(tick, 0), (tick, -0.12)] for tick in range(low, high + 1)],
         colors=_TEXT, linewidths=1, capstyle="projecting")
    for tick in range(low, high + 1):
        if tick == low or tick % tick_step == 0:
            text(tick, -0.22, str(tick), ha="center", va="bottom", fontsize=8, color=_TEXT)
    if not math.isnan(critical_difference) and critical_difference < high - low:
        line([[(low, -0.75), (low + critical_difference, -0.75)]], colors="#C0392B", linewidths=1.5,
             capstyle="projecting")
        text(low + critical_difference / 2, -0.8, f"Nemenyi CD = {critical_difference:.2f}",
             ha="center", va="bottom", fontsize=7, color="#C0392B")
    if title:
        text(high, -0.8, title, ha="right", va="bottom", fontsize=9, color=_TEXT, fontweight="bold")
    leaders = []
    for index, name in enumerate(order):
        rank = average_ranks[name]
        left = index < half
        row = index if left else count - 1 - index
        y = 0.55 + 0.3 * len(groups) + 0.55 * row
        x_end = x_low + 0.3 if left else x_high - 0.3
        leaders.append([(rank, 0), (rank, y), (x_end, y)])
        text(x_end + (-0.05 if left else 0.05), y, f"{name} ({rank:.2f})", ha="right" if left else "left",
             va="center", fontsize=8, color=_TEXT)
    line(leaders, colors="#555555", linewidths=0.8, capstyle="projecting", joinstyle="round")
    bars = [[(average_ranks[group[0]] - 0.04, 0.25 + 0.3 * index), (average_ranks[group[-1]] + 0.04, 0.25 + 0.3 * index)]
            for index, group in enumerate(groups)]
    if bars:
        line(bars, colors=_TEXT, linewidths=3, capstyle="round")
    return Bbox.from_extents(x_low, depth, x_high, -1.1)


def critical_difference(diagrams: Sequence[tuple[str, Mapping[str, float], pd.DataFrame, int]],
                        alpha: float = ALPHA) -> bytes:
    """CD diagrams, one per (title, average_ranks, pairwise, n_items), stacked in a grid of two columns."""
    diagrams = [diagram for diagram in diagrams if len(diagram[1]) >= 2]
    columns = 2 if len(diagrams) > 1 else 1
    rows = max(1, math.ceil(len(diagrams) / columns))
    longest = max((len(diagram[1]) for diagram in diagrams), default=2)
    figure = Figure(figsize=(6.6 * columns, rows * (1.1 + 0.3 * math.ceil(longest / 2) + 0.35)), dpi=DPI)
    # Room for the algorithm labels that stick out of each diagram on the left and the right.
    labels = [f"{name} ({rank:.2f})" for diagram in diagrams for name, rank in diagram[1].items()]
    label_width, line_height = _text_size(labels or ["x"], 8)
    cells = _cells(figure, len(diagrams), columns, left=label_width, right=label_width, top=0, bottom=0)
    for cell, (title, ranks, pairwise, items) in zip(cells, diagrams):
        _draw_critical_difference(figure, cell, title, ranks, indistinct_groups(ranks, pairwise, alpha),
                                  nemenyi_critical_difference(len(ranks), items, alpha))
    return figure_png(figure)


def dataset_critical_difference_figure(title: str, average_ranks: Mapping[str, float], critical_difference: float,
                                       groups: list[list[str]], algorithm_styles: Mapping[str, styles.Style]) -> Figure:
    """One Demšar diagram for a whole dataset (see the module docstring), sized for its algorithms:
    label rows 16 px apart, at most one rank label per 14 px of axis, the title above the diagram."""
    count = len(average_ranks)
    labels = [f"{name} ({rank:.2f})" for name, rank in average_ranks.items()] or ["x"]
    label_width, _ = _text_size(labels, 8)
    half = math.ceil(count / 2)
    depth = 1.2 + 0.55 * max(half, count - half) + 0.3 * len(groups)
    axis_width = max(420.0, 16.0 * count)  # px from rank 1 to rank k (and its margins)
    width = axis_width + 2 * label_width + 4 * _PAD
    height = (depth + 1.1) / 0.55 * 16 + 40  # a label row (0.55 rank-units) is 16 px: 8 pt text fits
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    span = max(count, 2) - 1 + 0.3 * (max(count, 2) - 1) + 1.2
    tick_step = max(1, math.ceil(14.0 / (axis_width / span) / 5) * 5) if axis_width / span < 14 else 1
    cell = Bbox.from_extents((label_width + 2 * _PAD) / width, 2 * _PAD / height,
                             1 - (label_width + 2 * _PAD) / width, 1 - 34 / height)
    extents = _draw_critical_difference(figure, cell, "", average_ranks, groups, critical_difference, tick_step)
    transform = BboxTransform(extents, cell) + figure.transFigure
    for name, rank in average_ranks.items():
        style = algorithm_styles.get(name) or styles.style_at(0)
        figure.add_artist(Line2D([rank], [0], marker=style.marker, color=style.colour, markersize=6,
                                 markeredgecolor="white", markeredgewidth=0.6, linestyle="none",
                                 transform=transform, zorder=3))
    figure.text(_PAD / width, 1 - 8 / height, title, ha="left", va="top", fontsize=10, color=_TEXT,
                fontweight="bold")
    return figure


def dataset_critical_difference(title: str, average_ranks: Mapping[str, float], critical_difference: float,
                                groups: list[list[str]], algorithm_styles: Mapping[str, styles.Style]) -> bytes:
    """PNG of :func:`dataset_critical_difference_figure`."""
    return figure_png(dataset_critical_difference_figure(title, average_ranks, critical_difference, groups,
                                                         algorithm_styles))


#: The widest heat map (px) before its columns narrow: the page's width at a 1280 px window.
HEAT_MAP_WIDTH = 1200
#: Heat maps with at most this many cells print the mean rank in each (9 algorithms x 16 metrics).
ANNOTATED_CELLS = 144


def rank_heat_map_figure(mean_ranks: pd.DataFrame, title: str, groups: Sequence[tuple[str, Sequence[str]]] = (),
                         algorithm_styles: Mapping[str, styles.Style] | None = None) -> Figure:
    """Algorithms (rows, in ``mean_ranks``' order) x metrics (columns), coloured by mean rank.

    ``mean_ranks``: index algorithms, columns metrics, NaN where an algorithm has no rank (it failed
    on an item, or did not run). Cells 0.26 in tall, columns 0.3-0.5 in wide; the metric names are
    written upright above the grid, so 20 metrics need no more width than their cells (at 45° the
    boxes of long neighbouring names would overlap). Small maps
    print each mean rank in its cell (:data:`ANNOTATED_CELLS`).
    """
    algorithms, metrics = list(mean_ranks.index), list(mean_ranks.columns)
    rows, columns = max(1, len(algorithms)), max(1, len(metrics))
    label_width, line_height = _text_size(algorithms or ["x"], 8)
    metric_width, _ = _text_size(metrics or ["x"], 8)
    left = label_width + 28 + 2 * _PAD  # labels, then a marker in the algorithm's style
    top = metric_width + line_height + 30 + 2 * _PAD  # the upright names, then the title
    right = 90 + 2 * _PAD  # the colour bar and its label
    # columns 0.5 in wide, narrower (down to 0.3 in) to keep the chart within HEAT_MAP_WIDTH px
    cell_width = min(0.5 * DPI, max(0.3 * DPI, (HEAT_MAP_WIDTH - left - right) / columns))
    cell_height = 0.26 * DPI
    width = left + columns * cell_width + right
    bar_height = min(max(rows * cell_height, 150), 220)  # the colour bar's label (~120 px) fits beside it
    height = max(top + rows * cell_height, bar_height + 40) + 2 * _PAD + 6
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_axes((left / width, (2 * _PAD + 6) / height, columns * cell_width / width,
                            rows * cell_height / height))
    values = mean_ranks.to_numpy(dtype=np.float64) if len(algorithms) and len(metrics) else np.full((1, 1), np.nan)
    finite = values[np.isfinite(values)]
    top_rank = float(finite.max()) if finite.size else 1.0
    colour_map = matplotlib.colormaps["viridis_r"].with_extremes(bad="#eeeeee")
    image = axes.imshow(np.ma.masked_invalid(values), cmap=colour_map, vmin=1.0, vmax=max(top_rank, 2.0),
                        aspect="auto", interpolation="nearest")
    middle = (1.0 + max(top_rank, 2.0)) / 2
    # A text costs a few ms to lay out and draw: beyond ANNOTATED_CELLS cells the colours alone give
    # the overview (the tables and tables/DATASET.csv have every mean rank).
    for row, column in np.ndindex(values.shape if values.size <= ANNOTATED_CELLS else (0, 0)):
        value = values[row, column]
        words = "—" if not np.isfinite(value) else f"{value:.1f}"
        axes.text(column, row, words, ha="center", va="center", fontsize=7,
                  color="white" if np.isfinite(value) and value > middle else _TEXT)
    # Labels as plain texts, not ticks: a tick is five artists (half of this chart's time at 40 x 15).
    axes.set_xticks([])
    axes.set_yticks([])
    above = blended_transform_factory(axes.transData, axes.transAxes)
    for column, metric in enumerate(metrics):
        axes.text(column, 1 + 3 / (rows * cell_height), metric, transform=above, rotation=90, ha="center",
                  va="bottom", fontsize=8, color=_TEXT, clip_on=False)
    beside = blended_transform_factory(axes.transAxes, axes.transData)
    for row, name in enumerate(algorithms):
        axes.text(-18 / (columns * cell_width), row, name, transform=beside, ha="right", va="center_baseline",
                  fontsize=8, color=_TEXT, clip_on=False)
    for spine in axes.spines.values():
        spine.set_visible(False)
    position = 0
    for _, names in list(groups)[:-1]:  # a white line after each kind
        position += len(names)
        axes.axhline(position - 0.5, color="white", linewidth=2.5)
    if algorithm_styles:
        transform = blended_transform_factory(axes.transAxes, axes.transData)
        for row, name in enumerate(algorithms):
            style = algorithm_styles.get(name)
            if style is not None:
                axes.add_artist(Line2D([-9 / (columns * cell_width)], [row], marker=style.marker, color=style.colour,
                                       markersize=6, linestyle="none", transform=transform, clip_on=False))
    bar_bottom = 2 * _PAD + 6 + max(0.0, rows * cell_height - bar_height)  # level with the grid's top
    bar_axes = figure.add_axes(((left + columns * cell_width + 14) / width, bar_bottom / height,
                                12 / width, bar_height / height))
    bar = figure.colorbar(image, cax=bar_axes)
    bar.ax.tick_params(labelsize=7)
    bar.set_label("mean rank (1 = best)", fontsize=8)
    figure.text(_PAD / width, 1 - _PAD / height, title, ha="left", va="top", fontsize=10, color=_TEXT,
                fontweight="bold")
    return figure


def rank_heat_map(mean_ranks: pd.DataFrame, title: str, groups: Sequence[tuple[str, Sequence[str]]] = (),
                  algorithm_styles: Mapping[str, styles.Style] | None = None) -> bytes:
    """PNG of :func:`rank_heat_map_figure`."""
    return figure_png(rank_heat_map_figure(mean_ranks, title, groups, algorithm_styles))
