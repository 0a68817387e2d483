"""The Dask executor on a LocalCluster: same bytes as the local executor, resumable across
executors, a worker lost mid-run loses nothing, a plugin that kills workers fails its item only.

Dask's worker processes are started afresh (spawn), so the test plugin reaches them as a
``--plugin`` module on their ``PYTHONPATH``. About 5 s per cluster start on 2 cores.
"""
from __future__ import annotations

import os

import pandas as pd
import pytest

from conftest import HERE
from fusionbench.harness import RunSettings, run

pytest.importorskip("distributed")
pytestmark = pytest.mark.usefixtures("test_registry")

METRICS = ["TEST-FUSED-MEAN", "TEST-DISTANCE-B", "SF"]


@pytest.fixture(autouse=True)
def plugin_on_worker_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FUSIONBENCH_TEST_PLUGIN_AUTOREGISTER", "1")
    monkeypatch.setenv("FUSIONBENCH_TEST_MARKERS", str(tmp_path))


def settings(out, dataset, algorithms, executor="dask", **changes):
    values = dict(out=out, datasets=[str(dataset)], algorithms=algorithms, metrics=METRICS,
                  protocols=("standard", "ifcnn-paper"), jobs=2, progress=False, executor=executor,
                  scheduler="local:2" if executor == "dask" else None, plugins=("harness_plugin",))
    values.update(changes)
    return RunSettings(**values)


def test_dask_gives_the_local_executors_bytes_and_each_resumes_the_other(tmp_path, tiny_dataset):
    local = tmp_path / "local"
    run(settings(local, tiny_dataset, ["test-mean", "test-max", "test-broken"], executor="local"),
        log=lambda text: None)
    on_dask = tmp_path / "dask"
    summary = run(settings(on_dask, tiny_dataset, ["test-mean", "test-max", "test-broken"]), log=lambda text: None)
    assert summary.fused == 8 and len(summary.failures) == 1
    for name in ("metrics.csv", "failures.csv"):
        assert (on_dask / name).read_bytes() == (local / name).read_bytes()
    # a run started locally resumes on Dask (and the other way round) from the same cache records
    mixed = tmp_path / "mixed"
    run(settings(mixed, tiny_dataset, ["test-mean"], executor="local"), log=lambda text: None)
    resumed = run(settings(mixed, tiny_dataset, ["test-mean", "test-max", "test-broken"]), log=lambda text: None)
    assert resumed.cached == 3 and resumed.fused == 5
    back = run(settings(mixed, tiny_dataset, ["test-mean", "test-max", "test-broken"], executor="local"),
               log=lambda text: None)
    assert back.cached == 8 and back.fused == 0
    assert (mixed / "metrics.csv").read_bytes() == (local / "metrics.csv").read_bytes()


def test_a_worker_lost_mid_run_loses_nothing_and_a_worker_killer_fails_its_item_only(tmp_path, tiny_dataset):
    out = tmp_path / "run"
    # test-abort-once kills the worker the first time it meets each item (3 workers lost mid-order);
    # the retried orders succeed. test-abort kills a worker on item b every time: after the second
    # worker it is recorded as failed, and everything else is there.
    summary = run(settings(out, tiny_dataset, ["test-abort-once", "test-abort", "test-mean"]), log=lambda text: None)
    metrics = pd.read_csv(out / "metrics.csv", dtype={"item": str})
    failures = pd.read_csv(out / "failures.csv", dtype={"item": str}, keep_default_na=False)
    assert failures[["algorithm", "item", "stage"]].values.tolist() == [["test-abort", "b", "fuse"]]
    assert "worker died" in failures.message[0]
    assert set(metrics[metrics.algorithm == "test-abort-once"].item) == {"a", "b", "c"}
    assert len(metrics) == 8 * 3 * 2  # 8 fused images x 3 metrics x 2 protocol columns
    assert summary.status == "finished with failures"
