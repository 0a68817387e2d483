"""Good results are never lost to one bad input, and a command never overwrites what it must not."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from hostile_fixtures import cli  # noqa: F401 - pytest fixtures
from crafted_inputs import write_pair


@pytest.fixture
def pair(tmp_path):
    first, second = write_pair(tmp_path / "in", "p")
    return tmp_path / "in" / first, tmp_path / "in" / second


def test_fuse_refuses_a_directory_an_input_or_an_existing_file_without_force(tmp_path, cli, pair):
    first, second = pair
    status, _, error = cli("fuse", "average", first, second, "-o", tmp_path)
    assert status == 2 and "is a directory" in error and error.count("\n") == 1
    before = first.read_bytes()
    status, _, error = cli("fuse", "average", first, second, "-o", first, "--force")
    assert status == 2 and "is one of the inputs" in error and first.read_bytes() == before
    output = tmp_path / "fused.png"
    assert cli("fuse", "average", first, second, "-o", output)[0] == 0
    status, _, error = cli("fuse", "average", first, second, "-o", output)
    assert status == 2 and "--force" in error
    assert cli("fuse", "average", first, second, "-o", output, "--force")[0] == 0


def test_evaluate_keeps_every_readable_item_and_lists_the_bad_one(tmp_path, cli):
    from fusionbench.datasets import get_dataset

    dataset = get_dataset("medical")
    fused = tmp_path / "fused"
    fused.mkdir()
    for item in dataset.items[:3]:
        shutil.copy(item.source_paths()[0], fused / f"{item.name}.png")
    (fused / f"{dataset.items[1].name}.png").write_bytes(b"not a png")
    out = tmp_path / "medical.csv"
    status, _, error = cli("evaluate", "--dataset", "medical", "--fused-dir", fused, "--metric", "SF", "EN",
                           "--skip-missing", "--out", out)
    assert status == 1
    rows = pd.read_csv(out, dtype={"item": str})
    assert sorted(set(rows.item)) == sorted([dataset.items[0].name, dataset.items[2].name])
    assert len(rows) == 2 * 2
    failures = pd.read_csv(tmp_path / "medical.failures.csv", dtype={"item": str})
    assert failures.item.tolist() == [dataset.items[1].name] and "not a readable image" in failures.message[0]
    assert error.strip().splitlines()[-1].startswith("error: 1 of ")
