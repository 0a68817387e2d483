"""Acceptance 3: a broken plugin (raises on one item, wrong shape on another) leaves every other
result intact, and the run's failures.csv, tables and report list its failures.

Runs the real CLI in-process (``fusionbench run --plugin tests.plugins.broken_plugin``) on a
three-item dataset folder; about 3 s.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from fusionbench.cli import main
from fusionbench.registry import ALGORITHMS

from toy_dataset import make_toy_dataset

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    pytest.importorskip("fusionbench.harness")
    root = tmp_path_factory.mktemp("broken-run")
    dataset = make_toy_dataset(root / "toy")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(REPOSITORY)  # --plugin tests.plugins.broken_plugin is relative to the checkout
    try:
        status = main(["run", "--plugin", "tests.plugins.broken_plugin", "--dataset", str(dataset),
                       "--algorithm", "broken-plugin", "average", "--metric", "SF", "AG",
                       "--out", str(root / "run"), "--no-progress", "--jobs", "1"])
    finally:
        monkeypatch.undo()
        ALGORITHMS.remove("broken-plugin")
        sys.modules.pop("tests.plugins.broken_plugin", None)
    assert status == 0
    return root / "run"


def test_failures_are_recorded_per_item_with_their_reason(broken_run):
    failures = pd.read_csv(broken_run / "failures.csv", dtype=str, keep_default_na=False)
    rows = {(row.item, row.algorithm, row.stage): row.message for row in failures.itertuples()}
    assert set(rows) == {("dark", "broken-plugin", "fuse"), ("bright", "broken-plugin", "fuse")}
    assert "raised RuntimeError: deliberate failure on a dark item" in rows["dark", "broken-plugin", "fuse"]
    assert "returned shape (47, 64), expected (48, 64)" in rows["bright", "broken-plugin", "fuse"]


def test_other_results_are_intact(broken_run):
    metrics = pd.read_csv(broken_run / "metrics.csv", dtype={"item": str})
    average = metrics[metrics.algorithm == "average"]
    assert sorted(set(zip(average.item, average.metric))) == [
        (item, metric) for item in ("bright", "dark", "mid") for metric in ("AG", "SF")]
    assert average.value.notna().all()
    broken = metrics[metrics.algorithm == "broken-plugin"]
    assert set(broken.item) == {"mid"}  # the one item where it worked is measured too
    assert (broken_run / "fused" / "average" / "toy-levels" / "dark.png").is_file()
    assert (broken_run / "fused" / "broken-plugin" / "toy-levels" / "mid.png").is_file()
    assert not (broken_run / "fused" / "broken-plugin" / "toy-levels" / "dark.png").exists()
    assert not (broken_run / "fused" / "broken-plugin" / "toy-levels" / "bright.png").exists()


def test_the_report_lists_the_failures(broken_run):
    page = (broken_run / "report.html").read_text(encoding="utf-8")
    failures_section = page[page.index('<section id="failures">'):page.index('<section id="metadata">')]
    assert "2 failure(s)" in failures_section
    assert "deliberate failure on a dark item" in failures_section
    assert "returned shape (47, 64), expected (48, 64)" in failures_section
    # the gallery shows the failure in place of the picture, and the table cell says n/a
    assert page.count('<div class="missing">failed: broken-plugin') == 2
    assert "n/a (failed on 2 of 3 items)" in page
