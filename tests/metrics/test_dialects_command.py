"""``fusionbench dialects compare|verify`` through the CLI on the first items of VIFB, and its bad
input: exit status 2 with one ``error:`` line, never a traceback."""
from __future__ import annotations

import csv
import subprocess
import sys

import pandas as pd
import pytest

from fusionbench.datasets.fetching import find_in_mirrors
from fusionbench.metrics.published_values import round_significant, significant_digits, verify_published

ITEMS = ("carLight", "carShadow")  # VIFB's first two items (--max-items 2)


def fusionbench(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fusionbench", *arguments], capture_output=True, text=True,
                          timeout=600)


def published_rows(methods: tuple[str, ...]) -> list[dict]:
    path = find_in_mirrors("dialects/vifb/values.csv")
    if path is None or find_in_mirrors("vifb/MANIFEST.sha256") is None:
        pytest.skip("VIFB's data not found in FUSIONBENCH_DATA")
    with open(path, newline="") as stream:
        return [row for row in csv.DictReader(stream) if row["method"] in methods and row["image"] in ITEMS]


def mirror_with(tmp_path, rows: list[dict]) -> list[str]:
    """--data-dir options: a mirror whose dialects/vifb/values.csv holds ``rows``, then VIFB's images."""
    folder = tmp_path / "mirror" / "dialects" / "vifb"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "values.csv", index=False)
    return ["--data-dir", str(tmp_path / "mirror"), "--data-dir", str(find_in_mirrors("vifb/MANIFEST.sha256").parents[1])]


def test_significant_digits():
    assert [significant_digits(text) for text in ("1.9328", "0.0123", "60", "1.5e-05", "-0.5")] == [5, 3, 2, 2, 1]
    assert round_significant(19.12349, 5) == 19.123 and round_significant(0.000123456, 3) == 0.000123


def test_verify_published_counts_by_hand():
    published = pd.DataFrame([("M", "a", "EN", "1.2346"), ("M", "b", "EN", "2.5"), ("M", "a", "SF", "10"),
                              ("S", "a", "EN", "3")], columns=["method", "image", "metric", "value"])
    computed = pd.DataFrame([("M", "a", "EN", 1.23456), ("M", "b", "EN", 2.500004), ("M", "a", "SF", 10.001),
                             ("S", "a", "EN", 3.1)], columns=["method", "image", "metric", "value"])
    table = verify_published(published, computed, {"S": "values of other files"}).set_index("method")
    # 5 digits (from "1.2346"): 1.23456 -> 1.2346 yes, 2.500004 -> 2.5 yes, 10.001 -> 10.001 != 10 no
    assert table.loc["M", ["values", "reproduced", "missed", "missed_by_metric"]].tolist() == [3, 2, 1, "SF 1"]
    assert table.loc["M", "largest_relative_difference"] == pytest.approx(1e-4)
    assert table.loc["S", "note"] == "values of other files" and table.loc["S", "missed"] == 1


@pytest.mark.slow
def test_verify_reproduces_and_flags_swinfusion(tmp_path):
    rows = published_rows(("ADF", "SwinFusion"))
    assert len(rows) == 2 * 2 * 13
    mirrors = mirror_with(tmp_path, rows)
    run_dir, out = tmp_path / "run", tmp_path / "verify.md"
    common = ["--dataset", "vifb", "--max-items", "2", "--run-dir", str(run_dir), "--no-progress"]
    result = fusionbench("dialects", "verify", *common, "--out", str(out), *mirrors)
    assert result.returncode == 0, result.stderr
    assert "| ADF | 26 | 26 | 0 | — |" in out.read_text()
    assert "**flagged**: VIFB's published metric values for SwinFusion do not belong" in result.stdout
    # a published value changed: ADF (unflagged) misses it -> exit 1 (values now from the run directory)
    wrong = [dict(row, value="1.2345") if (row["method"], row["image"], row["metric"]) == ("ADF", "carLight", "EN")
             else row for row in rows]
    result = fusionbench("dialects", "verify", *common, *mirror_with(tmp_path / "wrong", wrong))
    assert result.returncode == 1
    assert "| ADF | 26 | 25 | 1 | EN 1 |" in result.stdout
    assert result.stderr.splitlines()[-1] == "error: 1 published values of ADF are not reproduced"


@pytest.mark.slow
def test_compare_writes_markdown(tmp_path):
    published_rows(("ADF",))
    out = tmp_path / "dialects.md"
    result = fusionbench("dialects", "compare", "--dataset", "vifb", "--algorithm", "vifb:ADF", "vifb:GFF",
                         "vifb:LP_SR", "--max-items", "2", "--run-dir", str(tmp_path / "run"), "--no-progress",
                         "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text == result.stdout
    assert "## vifb: fusionbench vs vifb" in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert set(rows) >= {"AG", "EN", "MI", "QABF", "QCB", "SD", "SF", "SSIM-SUM / SSIM"}
    assert all(" | 6 | " in rows[metric] for metric in ("AG", "SF"))  # 3 algorithms x 2 items
    # AG: VIFB's central differences over (M-1)(N-1) against fusionbench's forward differences / 4
    assert float(rows["AG"].split(" | ")[1].rstrip(" %")) > 50


@pytest.mark.parametrize("arguments, message", [
    (["compare", "--dataset", "nope"], "error: unknown dataset 'nope'"),
    (["compare", "--dataset", "vifb", "--dialect", "vifb"], "error: --dialect vifb: compare needs two or more dialects"),
    (["compare", "--dataset", "vifb", "--dialect", "vifv", "--dialect", "vifb"], "did you mean 'vifb'"),
    (["verify", "--dataset", "vifb", "--dialect", "fusionbench"],
     "error: dialects/fusionbench/values.csv: published values of dialect 'fusionbench' not found"),
    (["verify", "--dataset", "vifb", "--max-items", "0"], "error: --max-items 0: must be at least 1"),
])
def test_bad_input_is_one_error_line(arguments, message):
    result = fusionbench("dialects", *arguments)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
