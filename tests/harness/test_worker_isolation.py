"""Every call runs in a worker process: a plugin that crashes, exits or hangs fails that one call.

The run goes on, the dead worker is replaced, ``failures.csv`` names the cause, every other value
is kept (also the metrics after a metric call that killed its worker), and ``run.json`` ends as
``finished with failures``. With ``in_process`` the same run needs no worker (debugging).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from fusionbench.harness import RunSettings, run

pytestmark = pytest.mark.usefixtures("test_registry")

METRICS = ["TEST-FUSED-MEAN", "TEST-DISTANCE-B"]


def settings(out, dataset, algorithms, metrics=METRICS, **changes):
    values = dict(out=out, datasets=[str(dataset)], algorithms=algorithms, metrics=metrics,
                  protocols=("standard",), jobs=2, progress=False)
    values.update(changes)
    return RunSettings(**values)


def read(out):
    metrics = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    failures = pd.read_csv(out / "failures.csv", dtype={"item": str}, keep_default_na=False)
    return metrics, failures, json.loads((out / "run.json").read_text())


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_crashing_exiting_or_hanging_plugin_fails_only_its_item(tmp_path, tiny_dataset, jobs):
    out = tmp_path / "run"
    summary = run(settings(out, tiny_dataset, ["test-abort", "test-exit", "test-hang", "test-mean"], jobs=jobs,
                           item_timeout=3), log=lambda text: None)
    metrics, failures, record = read(out)
    causes = {row.algorithm: (row.item, row.stage, row.message) for row in failures.itertuples()}
    assert causes == {"test-abort": ("b", "fuse", "worker died: SIGABRT"),
                      "test-exit": ("b", "fuse", "worker exited with status 3"),
                      "test-hang": ("b", "fuse", "timeout after 3 s")}
    # Every other (algorithm, item) has both its values: 4 algorithms x 3 items - 3 failed, x 2 metrics.
    assert len(metrics) == (4 * 3 - 3) * 2
    assert set(metrics[metrics.algorithm == "test-abort"].item) == {"a", "c"}
    assert record["status"] == "finished with failures" and summary.fused == 9
    assert (out / "fused" / "test-hang" / "tiny" / "c.png").is_file()


def test_a_metric_that_kills_its_worker_fails_alone_and_the_other_metrics_are_computed(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    run(settings(out, tiny_dataset, ["test-mean"], metrics=["TEST-ABORT-METRIC", *METRICS], jobs=1),
        log=lambda text: None)
    metrics, failures, _ = read(out)
    assert failures[["item", "stage", "metric", "message"]].values.tolist() == [
        ["b", "metric", "TEST-ABORT-METRIC", "worker died: SIGABRT"]]
    on_b = metrics[metrics.item == "b"]
    assert sorted(on_b.metric) == sorted(METRICS)  # the metrics after the fatal call were still computed
    assert len(metrics) == 3 * 3 - 1


def test_the_rerun_retries_only_what_failed_and_in_process_gives_the_same_values(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    run(settings(out, tiny_dataset, ["test-abort", "test-mean"]), log=lambda text: None)
    again = run(settings(out, tiny_dataset, ["test-abort", "test-mean"]), log=lambda text: None)
    assert again.cached == 5 and again.fused == 0 and len(again.failures) == 1
    debug = tmp_path / "in-process"
    run(settings(debug, tiny_dataset, ["test-mean", "test-max"], in_process=True), log=lambda text: None)
    isolated = tmp_path / "isolated"
    run(settings(isolated, tiny_dataset, ["test-mean", "test-max"]), log=lambda text: None)
    assert (debug / "metrics.csv").read_bytes() == (isolated / "metrics.csv").read_bytes()
    assert json.loads((debug / "run.json").read_text())["status"] == "finished"
