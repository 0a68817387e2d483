"""A dataset from a stranger cannot make fusionbench read or write outside where it should.

Names become path components only after validation; sources must resolve inside the dataset
folder unless ``--allow-outside-sources``; two items (or datasets in one run) with one name are
refused with the names in the message.
"""
from __future__ import annotations

import os

import pytest

from hostile_fixtures import cli, test_registry, tiny_dataset  # noqa: F401 - pytest fixtures
from crafted_inputs import write_manifest, write_pair

pytestmark = pytest.mark.usefixtures("test_registry")


def items_manifest(name: str, item: str, sources: list[str]) -> str:
    listed = ", ".join(f'"{source}"' for source in sources)
    return f'name = "{name}"\nfamily = "multi-focus"\n[[items]]\nname = "{item}"\nsources = [{listed}]\n'


def run_arguments(dataset, out):
    return ("run", "--dataset", dataset, "--algorithm", "test-mean", "--metric", "TEST-FUSED-MEAN", "--out", out,
            "--no-progress", "--no-report", "--jobs", "1")


@pytest.mark.parametrize("name, item", [("../escape", "a"), ("ok", "../../escape"), ("ok", "/tmp/escape"),
                                        ("ok", "a\\\\b"), (".hidden", "a"), ("ok", "bad\\u0007bell")])
def test_a_name_that_would_leave_the_run_directory_is_refused(tmp_path, cli, name, item):
    folder = tmp_path / "data"
    first, second = write_pair(folder, "a")
    write_manifest(folder, items_manifest(name, item, [first, second]))
    out = tmp_path / "inside" / "run"
    status, _, error = cli(*run_arguments(folder, out))
    assert status == 2 and error.startswith("error: ") and error.count("\n") == 1
    assert "is not a safe name" in error
    written = {path for path in tmp_path.rglob("*") if path.is_file()} - {folder / first, folder / second,
                                                                          folder / "fusionbench-dataset.toml"}
    assert written == set()  # nothing written anywhere, inside --out or outside it


@pytest.mark.parametrize("kind", ["absolute", "dot-dot", "symbolic link"])
def test_sources_outside_the_dataset_folder_are_refused_unless_allowed(tmp_path, cli, kind):
    outside = tmp_path / "elsewhere"
    first, second = write_pair(outside, "x")
    folder = tmp_path / "data"
    folder.mkdir()
    if kind == "absolute":
        sources = [str(outside / first), str(outside / second)]
    elif kind == "dot-dot":
        sources = [f"../elsewhere/{first}", f"../elsewhere/{second}"]
    else:
        os.symlink(outside / first, folder / "one.png")
        os.symlink(outside / second, folder / "two.png")
        sources = ["one.png", "two.png"]
    write_manifest(folder, items_manifest("crafted", "x", sources))
    status, _, error = cli("datasets", "verify", folder)
    assert status == 2 and "resolves outside the dataset folder" in error and error.count("\n") == 1
    status, _, error = cli(*run_arguments(folder, tmp_path / "run"))
    assert status == 2 and "--allow-outside-sources" in error
    # The user may allow it for a dataset they trust.
    status, _, error = cli("run", "--allow-outside-sources", *run_arguments(folder, tmp_path / "run")[1:])
    assert status == 0, error
    assert (tmp_path / "run" / "fused" / "test-mean" / "crafted" / "x.png").is_file()


def test_a_manifest_naming_etc_passwd_is_refused(tmp_path, cli):
    folder = write_manifest(tmp_path / "data", items_manifest("crafted", "x", ["/etc/passwd", "/etc/hostname"]))
    status, _, error = cli("datasets", "verify", folder)
    assert status == 2 and "'/etc/passwd' resolves outside the dataset folder" in error


@pytest.mark.parametrize("second_name", ["a", "A"])
def test_two_items_with_one_name_are_refused(tmp_path, cli, second_name):
    folder = tmp_path / "data"
    first = write_pair(folder, "a")
    second = write_pair(folder, "b")
    write_manifest(folder, items_manifest("twins", "a", list(first)) + '[[items]]\nname = "' + second_name
                   + f'"\nsources = ["{second[0]}", "{second[1]}"]\n')
    status, _, error = cli(*run_arguments(folder, tmp_path / "run"))
    assert status == 2 and f"item {second_name!r} is defined" in error and "unique" in error


def test_two_datasets_with_one_name_in_one_run_are_refused(tmp_path, cli):
    for folder in ("one", "two"):
        first, second = write_pair(tmp_path / folder, folder)
        write_manifest(tmp_path / folder, items_manifest("same", "x", [first, second]))
    status, _, error = cli("run", "--dataset", tmp_path / "one", tmp_path / "two", "--algorithm", "test-mean",
                           "--out", tmp_path / "run", "--no-progress", "--no-report", "--jobs", "1")
    assert status == 2 and "two different datasets are named 'same'" in error
    assert not (tmp_path / "run" / "metrics.csv").exists()


def test_an_edited_cache_record_is_recomputed_not_trusted(tmp_path, cli, tiny_dataset):
    import json

    out = tmp_path / "run"
    arguments = ("run", "--dataset", tiny_dataset, "--algorithm", "test-mean", "--metric", "TEST-FUSED-MEAN",
                 "--out", out, "--no-progress", "--no-report", "--jobs", "1")
    assert cli(*arguments)[0] == 0
    original = (out / "metrics.csv").read_text()
    record_path = next((out / "cache").glob("*/*.json"))
    record = json.loads(record_path.read_text())
    for value in record["metrics"].values():
        value["value"] = 12345.0  # a forged value, the PNG and its hash left intact
    record_path.write_text(json.dumps(record))
    status, output, _ = cli(*arguments)
    assert status == 0 and "2 from cache, 1 computed now" in output
    assert (out / "metrics.csv").read_text() == original and "12345" not in original
