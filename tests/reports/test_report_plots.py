"""Charts: valid, non-blank PNGs; the critical-difference maths on hand-checkable cases."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fusionbench.reports import plots


def _pixels(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def _values() -> pd.DataFrame:
    rows = []
    for item in range(6):
        for algorithm, base in (("gff", 0.7), ("lpsr", 0.8), ("ifcnn-max", 0.9)):
            for metric in ("VIFF", "SF", "AG"):
                rows.append({"item": f"i{item}", "algorithm": algorithm, "metric": metric,
                             "value": base + 0.01 * item, "dataset": "lytro", "seconds": base / 10})
    return pd.DataFrame(rows)


def test_distributions_rank_counts_and_timings_draw_something():
    values = _values()
    algorithms = ["gff", "lpsr", "ifcnn-max"]
    charts = [
        plots.metric_distributions(values, {"VIFF": True, "SF": True, "AG": False}, algorithms, ["VIFF", "SF", "AG"]),
        plots.rank_counts(pd.DataFrame({"algorithm": algorithms, "n_first": [0, 0, 6.0], "n_second": [0, 6.0, 0]}),
                          algorithms, cases=6),
        plots.timing_chart(values, algorithms, ["lytro"]),
    ]
    for png in charts:
        pixels = _pixels(png)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 300
        assert pixels.std() > 10  # not a blank canvas


def test_the_same_data_draw_the_same_picture():
    values = _values()
    first = plots.metric_distributions(values, {"VIFF": True}, ["gff", "lpsr"], ["VIFF"])
    assert np.array_equal(_pixels(first), _pixels(plots.metric_distributions(values, {"VIFF": True},
                                                                             ["gff", "lpsr"], ["VIFF"])))


def test_nemenyi_critical_difference_matches_demsar_table():
    # Demšar (2006), Table 5(a): q_0.05 = 2.728 for k = 5; CD = q sqrt(k(k+1)/(6N)), N = 10
    assert plots.nemenyi_critical_difference(5, 10) == pytest.approx(2.728 * np.sqrt(5 * 6 / 60), abs=1e-3)
    # k = 2: q_0.05 = 1.960 (the normal quantile)
    assert plots.nemenyi_critical_difference(2, 4) == pytest.approx(1.960 * np.sqrt(2 * 3 / 24), abs=1e-3)
    assert np.isnan(plots.nemenyi_critical_difference(1, 10))


def test_groups_join_only_algorithms_without_a_significant_difference():
    ranks = {"a": 1.2, "b": 1.9, "c": 3.1, "d": 3.8}
    pairwise = pd.DataFrame([
        ("a", "b", 0.40), ("a", "c", 0.01), ("a", "d", 0.01),
        ("b", "c", 0.20), ("b", "d", 0.02), ("c", "d", 0.30)], columns=["first", "second", "p_holm"])
    assert plots.indistinct_groups(ranks, pairwise) == [["a", "b"], ["b", "c"], ["c", "d"]]
    everything_differs = pairwise.assign(p_holm=0.001)
    assert plots.indistinct_groups(ranks, everything_differs) == []
    nothing_differs = pairwise.assign(p_holm=0.9)
    assert plots.indistinct_groups(ranks, nothing_differs) == [["a", "b", "c", "d"]]


def test_critical_difference_diagrams_render():
    pairwise = pd.DataFrame([("a", "b", 0.5), ("a", "c", 0.01), ("b", "c", 0.2)], columns=["first", "second", "p_holm"])
    png = plots.critical_difference([("VIFF", {"a": 1.1, "b": 2.0, "c": 2.9}, pairwise, 20),
                                     ("SF", {"a": 2.0, "b": 1.0, "c": 3.0}, pairwise, 20)])
    pixels = _pixels(png)
    assert pixels.shape[1] > 1000 and pixels.std() > 5


def test_colours_are_stable_per_algorithm():
    colours = plots.colour_map(["gff", "lpsr"])
    assert colours == {"gff": plots.PALETTE[0], "lpsr": plots.PALETTE[1]}


# --- issue #20: charts of 40 algorithms and 20 metrics, checked on the drawn label boxes ---------

LONG_NAMES = ([f"classical-{index}" for index in range(8)] + ["ifcnn-max-trained", "tardal++", "seafusion"]
              + [f"vifb:{name}" for name in ("Hybrid_MSD", "HMSD_GF", "SwinFusion", "NSCT_SR", "LatLRR", "U2Fusion")]
              + [f"vifb:METHOD{index}" for index in range(21)] + ["my-plugin-with-a-long-name", "Plugin-Zeta"])
METRICS_20 = ["VIFF", "ISSIM", "NMI", "MEF-SSIM", "SF", "AG", "EN", "SD", "MI", "PSNR", "RMSE", "QABF", "QCB",
              "QCV", "SSIM", "CE", "EI", "Q_CV-vifb", "SSIM-SUM", "FMI-pixel"]


def _label_boxes(figure):
    """Window extents (px) of every visible, non-empty text of a drawn figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    # an axis keeps tick objects beyond its limits, which it does not draw: only those inside count
    ticks, drawn = set(), set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = {id(tick.label1), id(tick.label2)}
                ticks |= labels
                if low - 1e-9 * abs(low) <= tick.get_loc() <= high + 1e-9 * abs(high):
                    drawn |= labels
    texts = [text for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()
             and (id(text) not in ticks or id(text) in drawn)]
    return [(text.get_text(), text.get_window_extent(renderer)) for text in texts]


def _overlaps(boxes, tolerance: float = 0.5):
    """Pairs of labels whose boxes overlap by more than ``tolerance`` px in both directions."""
    found = []
    for index, (first, a) in enumerate(boxes):
        for second, b in boxes[index + 1:]:
            width = min(a.x1, b.x1) - max(a.x0, b.x0)
            height = min(a.y1, b.y1) - max(a.y0, b.y0)
            if width > tolerance and height > tolerance:
                found.append((first, second))
    return found


def _inside(figure, boxes):
    width, height = figure.get_figwidth() * figure.dpi, figure.get_figheight() * figure.dpi
    return [name for name, box in boxes if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5
            or box.y1 > height + 0.5]


def test_the_heat_map_of_40_algorithms_and_20_metrics_has_no_overlapping_labels():
    from fusionbench.reports import styles

    rng = np.random.default_rng(1)
    ranks = pd.DataFrame(rng.uniform(1, 40, (len(LONG_NAMES), len(METRICS_20))), index=LONG_NAMES,
                         columns=METRICS_20)
    ranks.iloc[3, 4] = np.nan  # failed somewhere: drawn grey
    groups = [("classical", LONG_NAMES[:8]), ("deep", LONG_NAMES[8:11]), ("published results", LONG_NAMES[11:38]),
              ("user plugins", LONG_NAMES[38:])]
    figure = plots.rank_heat_map_figure(ranks, "set-a: mean rank over items", groups,
                                        styles.algorithm_styles(LONG_NAMES))
    boxes = _label_boxes(figure)
    names = [name for name, _ in boxes]
    assert set(LONG_NAMES) <= set(names) and set(METRICS_20) <= set(names)
    assert _overlaps(boxes) == [] and _inside(figure, boxes) == []
    assert figure.get_figwidth() * figure.dpi <= 1280  # fits the page at 1280 px without scaling down


def test_a_small_heat_map_prints_every_mean_rank_without_overlaps():
    ranks = pd.DataFrame([[1.0, 2.5], [2.0, 1.5], [3.0, 2.0]], index=["gff", "lpsr", "ifcnn-max"],
                         columns=["VIFF", "SF"])
    figure = plots.rank_heat_map_figure(ranks, "lytro")
    boxes = _label_boxes(figure)
    assert {"1.0", "2.5", "2.0", "1.5", "3.0"} <= {name for name, _ in boxes}
    assert _overlaps(boxes) == [] and _inside(figure, boxes) == []


@pytest.mark.parametrize("count", [3, 12, 40])
def test_the_dataset_critical_difference_diagram_has_no_overlapping_labels(count):
    from fusionbench.reports import styles
    from fusionbench.reports.statistics import nemenyi_groups

    names = LONG_NAMES[:count]
    rng = np.random.default_rng(count)
    ranks = dict(zip(names, np.sort(rng.uniform(1, count, count))))
    ranks[names[1]] = ranks[names[0]]  # a tie: two labels for one rank
    cd = plots.nemenyi_critical_difference(count, 10)
    figure = plots.dataset_critical_difference_figure(
        f"set-a: Friedman χ² = 99.0, p = 1e-9; Nemenyi CD = {cd:.2f} (k = {count}, n = 10)", ranks, cd,
        nemenyi_groups(ranks, cd), styles.algorithm_styles(names))
    boxes = _label_boxes(figure)
    assert sum(1 for name, _ in boxes if name.endswith(")") and "(" in name and "χ²" not in name) == count
    assert _overlaps(boxes) == [] and _inside(figure, boxes) == []


def test_styles_give_40_algorithms_distinct_colour_and_marker_pairs():
    from fusionbench.reports import styles

    pairs = {(style.colour, style.marker) for style in styles.algorithm_styles(LONG_NAMES).values()}
    assert len(pairs) == len(LONG_NAMES) == 40
    assert len(set(styles.PALETTE)) == 20


def test_the_timing_chart_of_40_algorithms_and_3_datasets_has_no_overlapping_labels():
    rng = np.random.default_rng(5)
    rows = [{"dataset": dataset, "algorithm": name, "seconds": float(rng.uniform(0.01, 5))}
            for dataset in ("set-a", "set-b", "set-c") for name in LONG_NAMES for _ in range(3)]
    figure = plots.timing_chart_figure(pd.DataFrame(rows), LONG_NAMES, ["set-a", "set-b", "set-c"])
    boxes = _label_boxes(figure)
    assert set(LONG_NAMES) <= {name for name, _ in boxes}
    assert _overlaps(boxes) == [] and _inside(figure, boxes) == []
