"""compare_dialects on a hand-built metrics.csv frame whose differences and Kendall tau are worked
out by hand (in the comments)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from fusionbench.metrics import dialects as dialect_registry
from fusionbench.metrics.dialects import Dialect, Rule
from fusionbench.metrics.gradients import spatial_frequency
from fusionbench.reports.dialect_comparison import compare_dialects, format_markdown, relative_difference

# SF per (algorithm, item): fusionbench, vifb.
SF = {("X:P", "i1"): (10, 11), ("X:P", "i2"): (12, 12),
      ("X:Q", "i1"): (8, 6), ("X:Q", "i2"): (8, 8),
      ("X:R", "i1"): (5, 20), ("X:R", "i2"): (5, 20)}
SSIM = {"X:P": 1.5, "X:Q": 1.25, "X:R": 1.75}


def frame(second_dialect: str = "vifb") -> pd.DataFrame:
    rows = []
    for (algorithm, item), (ours, theirs) in SF.items():
        rows.append(("d", item, algorithm, "standard", "SF", ours, "fusionbench"))
        rows.append(("d", item, algorithm, "ifcnn-paper", "SF", ours, "fusionbench"))  # duplicate: dropped
        rows.append(("d", item, algorithm, second_dialect, "SF", theirs, second_dialect))
        ssim = SSIM[algorithm]  # the same in both dialects
        rows.append(("d", item, algorithm, "standard", "SSIM-SUM", ssim, "fusionbench"))
        rows.append(("d", item, algorithm, second_dialect, "SSIM", ssim, second_dialect))
        rows.append(("d", item, algorithm, second_dialect, "CE", 0.7, second_dialect))  # only one dialect
    rows.append(("d", "i3", "X:P", "standard", "SF", "", "fusionbench"))  # a failed value
    return pd.DataFrame(rows, columns=["dataset", "item", "algorithm", "protocol", "metric", "value", "dialect"])


def test_differences_by_hand():
    comparison = compare_dialects(frame())
    differences = comparison.differences.set_index("metric")
    assert list(differences.index) == ["SF", "SSIM-SUM / SSIM"]
    sf = differences.loc["SF"]
    assert (sf.dataset, sf.dialect_a, sf.dialect_b, sf.images) == ("d", "fusionbench", "vifb", 6)
    # |b - a| / |a|: 0.1, 0, 0.25, 0, 3, 3 -> median (0.1 + 0.25) / 2, max 3
    assert sf.median_relative_difference == pytest.approx(0.175, abs=1e-12)
    assert sf.max_relative_difference == pytest.approx(3.0, abs=1e-12)
    assert differences.loc["SSIM-SUM / SSIM", "max_relative_difference"] == 0


def test_rankings_by_hand():
    rankings = compare_dialects(frame()).rankings.set_index("metric")
    # means fusionbench P 11, Q 8, R 5 -> ranks 1, 2, 3; vifb P 11.5, Q 7, R 20 -> 2, 3, 1.
    # pairs: (P,Q) concordant, (P,R) and (Q,R) discordant -> tau = (1 - 2) / 3
    assert rankings.loc["SF", "kendall_tau"] == pytest.approx(-1 / 3, abs=1e-12)
    assert rankings.loc["SF", "most_moved"] == "R 3→1, P 1→2, Q 2→3"
    assert rankings.loc["SF", "algorithms"] == 3
    assert rankings.loc["SSIM-SUM / SSIM", "kendall_tau"] == pytest.approx(1.0)
    assert rankings.loc["SSIM-SUM / SSIM", "most_moved"] == ""


def test_tau_undefined_when_every_algorithm_ties():
    tied = frame()
    tied.loc[tied["metric"].isin(["SSIM", "SSIM-SUM"]), "value"] = 1.5
    rankings = compare_dialects(tied).rankings.set_index("metric")
    assert math.isnan(rankings.loc["SSIM-SUM / SSIM", "kendall_tau"])
    assert "| SSIM-SUM / SSIM | 0 | 0 | 6 | — | 3 | — |" in format_markdown(compare_dialects(tied))


def test_a_lower_is_better_rule_ranks_ascending(monkeypatch):
    rule = Rule(spatial_frequency, "fused", "planes", "SF, lower is better (a test dialect)", higher_is_better=False)
    monkeypatch.setitem(dialect_registry.DIALECTS, "test-lower", Dialect("test-lower", "test", {"SF": rule}))
    rankings = compare_dialects(frame("test-lower")).rankings.set_index("metric")
    # test-lower ranks ascending: Q 7 -> 1, P 11.5 -> 2, R 20 -> 3 against P 1, Q 2, R 3:
    # (P,Q) discordant, (P,R) and (Q,R) concordant -> tau = (2 - 1) / 3
    assert rankings.loc["SF", "kendall_tau"] == pytest.approx(1 / 3, abs=1e-12)
    assert rankings.loc["SF", "most_moved"] == "P 1→2, Q 2→1"


def test_relative_difference_at_zero():
    assert relative_difference(0.0, 0.0) == 0.0
    assert math.isinf(relative_difference(0.0, 1.0))
    assert relative_difference(-2.0, -1.0) == pytest.approx(0.5)


def test_markdown():
    text = format_markdown(compare_dialects(frame()))
    assert "## d: fusionbench vs vifb" in text
    assert "| SF | 17.5 % | 300 % | 6 | -0.333 | 3 | R 3→1, P 1→2, Q 2→3 |" in text
    assert "| SSIM-SUM / SSIM | 0 | 0 | 6 | 1.000 | 3 | — |" in text
    empty = compare_dialects(frame().query("dialect == 'vifb'"))
    assert empty.differences.empty and "No metric was measured in two dialects." in format_markdown(empty)
