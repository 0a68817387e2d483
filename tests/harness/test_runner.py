"""The run harness end to end on a tiny user dataset with hand-computable algorithms/metrics."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import ITEM_NAMES, tiny_sources
from fusionbench.image_io import read_image
from fusionbench.reports.tables import load_run, write_tables
from fusionbench.harness import RunSettings, parse_option_assignment, parse_protocols, run

pytestmark = pytest.mark.usefixtures("test_registry")

ALGORITHMS = ["test-mean", "test-max", "test-broken"]
METRICS = ["TEST-FUSED-MEAN", "TEST-DISTANCE-B"]


def settings(out, dataset, **changes):
    values = dict(out=out, datasets=[str(dataset)], algorithms=ALGORITHMS, metrics=METRICS,
                  protocols=("standard", "ifcnn-paper"), jobs=1, progress=False)
    values.update(changes)
    return RunSettings(**values)


def expected_values(algorithm: str, item: str) -> dict[tuple[str, str], float]:
    first, second = tiny_sources(item)
    a, b = first.astype(np.float64), second.astype(np.float64)
    fused = {"test-mean": np.floor((a + b) / 2 + 0.5), "test-max": np.maximum(a, b), "test-broken": a}[algorithm]
    return {("standard", "TEST-FUSED-MEAN"): fused.mean(), ("ifcnn-paper", "TEST-FUSED-MEAN"): fused.mean(),
            ("standard", "TEST-DISTANCE-B"): np.abs(fused - b).mean(),
            ("ifcnn-paper", "TEST-DISTANCE-B"): np.abs(fused - a).mean()}


def test_run_writes_the_run_directory_with_hand_computed_values(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    summary = run(settings(out, tiny_dataset), log=lambda text: None)
    write_tables(out)
    assert summary.tasks == 9 and summary.cached == 0 and summary.fused == 8  # test-broken fails on b
    metrics = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    assert list(metrics.columns) == ["dataset", "item", "algorithm", "protocol", "metric", "value", "dialect"]
    assert len(metrics) == 8 * 4
    for row in metrics.itertuples():
        assert row.value == pytest.approx(expected_values(row.algorithm, row.item)[(row.protocol, row.metric)],
                                          rel=1e-12)
    # Fused images are the algorithms' outputs, losslessly stored.
    first, second = tiny_sources("c")
    assert np.array_equal(read_image(out / "fused/test-max/tiny/c.png"), np.maximum(first, second))
    failures = pd.read_csv(out / "failures.csv", dtype={"item": str}, keep_default_na=False)
    assert failures[["item", "algorithm", "stage"]].values.tolist() == [["b", "test-broken", "fuse"]]
    assert "refuses this item" in failures.message[0]
    timings = pd.read_csv(out / "timings.csv", dtype={"item": str})
    assert len(timings) == 8 and set(timings.device) == {"cpu"} and set(timings.width) == {8}
    assert (timings.setup_seconds >= 0).all() and (timings.seconds > 0).all()  # fusion apart from set-up
    record = json.loads((out / "run.json").read_text())
    assert record["protocols"] == ["standard", "ifcnn-paper"] and record["status"] == "finished with failures"
    assert record["datasets"]["tiny"]["items"] == list(ITEM_NAMES)
    assert record["metrics"]["TEST-DISTANCE-B"] == {"version": "1", "higher_is_better": False, "sources": 2}
    assert record["algorithms"]["test-mean"]["name"] == "test-mean"
    assert len(record["datasets"]["tiny"]["sources"]["a"][0]["sha256"]) == 64
    # The table shows the failure instead of hiding it, and ranks lower-is-better correctly.
    table = (out / "tables" / "tiny.md").read_text()
    assert "n/a (failed on 1 of 3 items)" in table
    results = load_run(out)
    assert set(results.metrics.algorithm) == {"test-mean", "test-max", "test-broken"}


def test_second_run_is_all_cached_and_identical(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    run(settings(out, tiny_dataset), log=lambda text: None)
    first = {name: (out / name).read_bytes() for name in ("metrics.csv", "timings.csv", "failures.csv")}
    again = run(settings(out, tiny_dataset), log=lambda text: None)
    assert again.cached == 8 and again.fused == 0  # only the failing item is retried
    assert {name: (out / name).read_bytes() for name in first} == first


def test_changed_options_invalidate_only_that_algorithm(tmp_path, tiny_dataset, monkeypatch):
    out = tmp_path / "run"
    run(settings(out, tiny_dataset, jobs=2), log=lambda text: None)
    before = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    # A metric version bump invalidates exactly that metric's values.
    from fusionbench.registry import METRICS
    import dataclasses

    spec = METRICS.get("TEST-FUSED-MEAN")
    METRICS.add(dataclasses.replace(spec, version="2"))
    summary = run(settings(out, tiny_dataset, jobs=2), log=lambda text: None)
    assert summary.fused == 0 and summary.cached == 0  # fused images reused, metric recomputed
    after = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    pd.testing.assert_frame_equal(before, after)


def test_only_suitable_algorithms_and_applicable_metrics_run(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    run(settings(out, tiny_dataset, algorithms=["test-mean"], metrics=None, protocols=("standard",)),
        log=lambda text: None)
    metrics = pd.read_csv(out / "metrics.csv")
    failures = pd.read_csv(out / "failures.csv", keep_default_na=False)
    # Every registered metric that accepts two sources is attempted; VIFF's four scales need more
    # than 6x8 pixels, so it fails per item, is recorded, and the run goes on.
    assert {"TEST-FUSED-MEAN", "TEST-DISTANCE-B", "SF", "AG"} <= set(metrics.metric)
    assert "VIFF" in set(metrics.metric) | set(failures.metric)
    assert set(failures.stage) <= {"metric"}
    assert set(metrics.protocol) == {"standard"}


def test_protocol_and_option_parsing():
    assert parse_protocols(None) == ("standard",)
    assert parse_protocols(["both"]) == ("standard", "ifcnn-paper")
    assert parse_protocols(["ifcnn-paper", "standard,ifcnn-paper"]) == ("ifcnn-paper", "standard")
    assert parse_option_assignment("ifcnn-*.preprocessing=paper") == ("ifcnn-*", "preprocessing", "paper")
    assert parse_option_assignment("gff.r1=45") == ("gff", "r1", 45)
    from fusionbench.errors import ConfigError, UnknownNameError

    with pytest.raises(UnknownNameError, match="protocol 'paper'"):
        parse_protocols(["paper"])
    with pytest.raises(ConfigError, match="ALGORITHM.KEY=VALUE"):
        parse_option_assignment("preprocessing=paper")


def test_cli_reports_bad_selections_in_one_line(tmp_path, capsys):
    from fusionbench.cli import main

    assert main(["run", "--dataset", "lytr", "--out", str(tmp_path / "r"), "--no-report"]) == 2
    assert "unknown dataset 'lytr'; did you mean 'lytro'" in capsys.readouterr().err
    assert main(["run", "--jobs", "-1", "--out", str(tmp_path / "r"), "--no-report"]) == 2
    assert "--jobs -1" in capsys.readouterr().err
    assert main(["run", "--protocol", "paper", "--out", str(tmp_path / "r"), "--no-report"]) == 2
    assert "protocol 'paper'" in capsys.readouterr().err


def test_cli_run_on_a_user_dataset(tmp_path, tiny_dataset, capsys):
    from fusionbench.cli import main

    out = tmp_path / "cli-run"
    code = main(["run", "--dataset", str(tiny_dataset), "--algorithm", "test-mean", "--metric", "TEST-FUSED-MEAN",
                 "--out", str(out), "--no-progress", "--no-report", "--jobs", "1"])
    assert code == 0
    assert "3 fusions (0 from cache, 3 computed now), 0 failures" in capsys.readouterr().out
    assert json.loads((out / "run.json").read_text())["command_line"].startswith("fusionbench ")
