"""``run --dialect vifb`` on VIFB's published images reproduces VIFB's published values, side by
side with fusionbench's own in metrics.csv (the dialect column), each cached under its own key."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from fusionbench.cli import main
from fusionbench.datasets.fetching import find_in_mirrors

VALUES = "dialects/vifb/values.csv"


def significant(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def test_a_vifb_run_reproduces_published_values_beside_fusionbenchs_own(tmp_path, capsys):
    published_path = find_in_mirrors(VALUES)
    if published_path is None or find_in_mirrors("vifb/vi/carLight.jpg") is None:
        pytest.skip("the VIFB mirror (datasets and reference) is not in FUSIONBENCH_DATA")
    out = tmp_path / "run"
    status = main(["run", "--dataset", "vifb", "--algorithm", "vifb:GFF", "vifb:IFCNN", "--max-items", "2",
                   "--dialect", "fusionbench", "--dialect", "vifb", "--metric", "AG", "EN", "SF", "CE", "Qabf",
                   "--out", str(out), "--no-progress", "--no-report", "--jobs", "2"])
    assert status == 0, capsys.readouterr().err
    metrics = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    assert set(metrics.dialect) == {"fusionbench", "vifb"}
    ours = metrics[metrics.dialect == "vifb"]
    assert sorted(set(ours.metric)) == ["AG", "CE", "EN", "Qabf", "SF"]
    published = pd.read_csv(published_path)
    compared = 0
    for row in ours.itertuples():
        method = row.algorithm.split(":", 1)[1]
        match = published[(published.method == method) & (published.image == row.item) & (published.metric == row.metric)]
        if match.empty:
            continue
        text = str(match.value.iloc[0])
        digits = len(text.replace(".", "").replace("-", "").lstrip("0")) or 1
        assert math.isclose(significant(row.value, digits), float(text), rel_tol=1e-12), (row, text)
        compared += 1
    assert compared == 2 * 2 * 5
    # fusionbench's own AG is another number: the dialect is what moves it
    own = metrics[(metrics.dialect == "fusionbench") & (metrics.metric == "AG")].value.to_numpy()
    assert len(own) == 4 and not any(math.isclose(a, b, rel_tol=1e-3) for a, b in
                                     zip(own, ours[ours.metric == "AG"].value.to_numpy()))
