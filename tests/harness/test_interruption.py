"""Killing a run (SIGINT, SIGKILL) and rerunning gives the same metrics.csv; nothing half-written.

The run is a real ``fusionbench run`` subprocess with a deliberately slow test algorithm
(``FUSIONBENCH_TEST_SLEEP``), killed once some work is cached; the rerun happens in-process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import HERE, write_tiny_dataset
from fusionbench.image_io import read_image
from fusionbench.harness import RunSettings, run

REPOSITORY = HERE.parents[1]
ITEMS = tuple("abcdefghij")
ALGORITHMS = ["test-slow-mean", "test-max"]
METRICS = ["TEST-FUSED-MEAN", "TEST-DISTANCE-B"]


def run_settings(out: Path, dataset: Path) -> RunSettings:
    return RunSettings(out=out, datasets=[str(dataset)], algorithms=ALGORITHMS, metrics=METRICS,
                       protocols=("standard", "ifcnn-paper"), jobs=1, progress=False)


def cached_records(out: Path) -> int:
    return len(list((out / "cache").glob("*/*.json"))) if (out / "cache").is_dir() else 0


def assert_nothing_half_written(out: Path) -> None:
    """Every file under its final name is complete: PNGs decode, CSVs and JSON parse."""
    for path in out.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue  # .NAME.xxxx.tmp files are the only possibly partial ones
        if path.suffix == ".png":
            read_image(path)
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())


def start_run(out: Path, dataset: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
                   "FUSIONBENCH_TEST_PLUGIN_AUTOREGISTER": "1", "FUSIONBENCH_TEST_SLEEP": "0.5"}
    command = [sys.executable, "-m", "fusionbench", "run", "--plugin", "harness_plugin", "--dataset", str(dataset),
               "--algorithm", *ALGORITHMS, "--metric", *METRICS, "--protocol", "both", "--out", str(out),
               "--jobs", "2", "--no-progress", "--no-report"]
    # A new session: the signal goes to the whole process group, like Ctrl-C or a killed job.
    return subprocess.Popen(command, cwd=REPOSITORY, env=environment, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # two `fusionbench run` subprocesses: ~14 s idle, ~40 s on the loaded 2-core machine
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_run_resumes_to_the_same_metrics(tmp_path, test_registry, signal_number):
    dataset = write_tiny_dataset(tmp_path / "data", items=ITEMS)
    reference = tmp_path / "reference"
    run(run_settings(reference, dataset), log=lambda text: None)

    out = tmp_path / "interrupted"
    process = start_run(out, dataset)
    deadline = time.monotonic() + 120
    while cached_records(out) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, f"the run ended before it could be interrupted: {process.communicate()}"
    os.killpg(process.pid, signal_number)
    _, error = process.communicate(timeout=60)
    done = cached_records(out)
    assert done < len(ITEMS) * len(ALGORITHMS), "the run finished before the signal arrived"
    if signal_number == signal.SIGINT:
        assert process.returncode == 130, error
        assert "rerun the same command to resume" in error
        assert (out / "metrics.csv").is_file()  # what finished was saved on the way out
    else:
        assert process.returncode == -signal.SIGKILL
    assert_nothing_half_written(out)

    summary = run(run_settings(out, dataset), log=lambda text: None)
    assert summary.cached + summary.fused >= done
    assert summary.fused <= len(ITEMS) * len(ALGORITHMS) - done  # finished work was not redone
    assert (out / "metrics.csv").read_bytes() == (reference / "metrics.csv").read_bytes()
    assert (out / "failures.csv").read_text().strip() == "dataset,item,algorithm,stage,metric,message"
    assert_nothing_half_written(out)
