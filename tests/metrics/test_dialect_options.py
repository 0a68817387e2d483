"""``--dialect`` on ``metrics``, ``evaluate`` and ``regress``: values computed in a dialect (VIFB's
published values of ADF on carLight as goldens), and regress restricted to one dialect's rows."""
from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from fusionbench.cli import main
from fusionbench.datasets.fetching import find_in_mirrors

# VIFB's published values (5 significant digits) for ADF on carLight.
ADF_CARLIGHT = {"AG": 1.9328, "CE": 1.6561, "EI": 19.123, "EN": 6.8923, "MI": 2.5368, "PSNR": 60.066,
                "Qabf": 0.55504, "Qcb": 0.42551, "Qcv": 899.75, "RMSE": 0.06404, "SF": 7.4007, "SSIM": 1.626,
                "SD": 39.371}


@pytest.fixture
def vifb():
    manifest = find_in_mirrors("vifb/MANIFEST.sha256")
    if manifest is None:
        pytest.skip("VIFB's images not found in FUSIONBENCH_DATA")
    return manifest.parent


def carlight(vifb) -> list[str]:
    return [str(vifb / "fused" / "ADF" / "carLight_ADF.jpg"), str(vifb / "vi" / "carLight.jpg"),
            str(vifb / "ir" / "carLight.jpg")]


def test_metrics_in_the_vifb_dialect_reproduce_the_published_values(vifb, capsys):
    assert main(["metrics", *carlight(vifb), "--dialect", "vifb", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["dialect"], result["protocol"]) == ("vifb", "vifb")
    assert {name: float(f"{value:.5g}") for name, value in result["metrics"].items()} == ADF_CARLIGHT


def test_metrics_side_by_side_pair_the_same_metric(vifb, capsys):
    assert main(["metrics", *carlight(vifb), "--dialect", "fusionbench", "--dialect", "vifb",
                 "--metric", "SSIM-SUM", "ssim", "qabf", "CE"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["metric", "fusionbench", "vifb"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert set(rows) == {"SSIM-SUM", "QABF", "CE"}  # VIFB's SSIM is SSIM-SUM, its Qabf QABF
    assert float(rows["SSIM-SUM"][1]) == pytest.approx(1.626, abs=5e-4)
    assert float(rows["QABF"][0]) == pytest.approx(0.6151448073, abs=1e-9)  # fusionbench's own, grey
    assert rows["CE"] == ["1.656085465"]  # only VIFB defines CE
    assert main(["metrics", *carlight(vifb), "--dialect", "fusionbench", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"] == "standard"


def test_unknown_metric_of_a_dialect_is_one_error_line(vifb, capsys):
    assert main(["metrics", *carlight(vifb), "--dialect", "vifb", "--metric", "Qcw"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown metric of dialect vifb 'Qcw'; did you mean 'Qcv'") and err.count("\n") == 1
    assert main(["metrics", *carlight(vifb), "--dialect", "vifc"]) == 2
    assert "did you mean 'vifb'" in capsys.readouterr().err


def test_evaluate_in_two_dialects(vifb, tmp_path, capsys):
    out = tmp_path / "values.csv"
    status = main(["evaluate", "--dataset", "vifb", "--fused-dir", str(vifb / "fused" / "ADF"),
                   "--pattern", "{name}_ADF.jpg", "--algorithm", "ADF", "--dialect", "vifb", "--dialect",
                   "fusionbench", "--metric", "SF", "Qcv", "--skip-missing", "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 21 * 3  # vifb SF and Qcv, fusionbench SF
    by_key = {(row["item"], row["dialect"], row["metric"]): row for row in rows}
    assert float(by_key["carLight", "vifb", "Qcv"]["value"]) == pytest.approx(899.75, abs=5e-3)
    assert by_key["carLight", "vifb", "Qcv"]["protocol"] == "vifb"
    assert by_key["carLight", "fusionbench", "SF"]["protocol"] == "standard"
    assert float(by_key["carLight", "fusionbench", "SF"]["value"]) == pytest.approx(7.354574629, abs=1e-8)


ROWS = """dataset,item,algorithm,protocol,metric,value,dialect
vifb,carLight,vifb:ADF,standard,SF,7.354574629,fusionbench
vifb,carLight,vifb:ADF,vifb,SF,7.400650156,vifb
vifb,carLight,vifb:ADF,vifb,Qcv,899.7491912,vifb
"""


def test_regress_compares_only_the_chosen_dialect(tmp_path, capsys):
    run = tmp_path / "metrics.csv"
    run.write_text(ROWS)
    # An expected file of the time before the dialect column: rows belong to their protocol's dialect.
    expected = tmp_path / "expected.csv"
    old = ROWS.replace(",dialect\n", "\n").replace(",fusionbench\n", "\n").replace(",vifb\n", "\n")
    expected.write_text(old.replace("7.354574629", "7.0"))
    assert main(["regress", str(run), "--expected", str(expected), "--dialect", "vifb"]) == 0
    assert "compared 2 values" in capsys.readouterr().out
    assert main(["regress", str(run), "--expected", str(expected), "--dialect", "standard"]) == 1
    assert "1 drifted" in capsys.readouterr().out
    assert main(["regress", str(run), "--expected", str(expected)]) == 1
    # --update with a dialect rewrites that dialect's rows only.
    assert main(["regress", str(run), "--expected", str(expected), "--dialect", "vifb", "--update"]) == 0
    written = pd.read_csv(expected)
    assert written.set_index(["dialect", "metric"])["value"].to_dict() == {
        ("fusionbench", "SF"): 7.0, ("vifb", "SF"): 7.400650156, ("vifb", "Qcv"): 899.7491912}
    capsys.readouterr()
    assert main(["regress", str(run), "--expected", str(expected), "--dialect", "ifcnn-paper"]) == 2
    assert "no row of dialect ifcnn-paper" in capsys.readouterr().err
