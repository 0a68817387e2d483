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
