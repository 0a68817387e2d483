"""Checkpoint loading: official state dicts, fusionbench training checkpoints, clear errors."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fusionbench.errors import ChecksumError, ConfigError, DataNotFoundError  # noqa: E402
from fusionbench.datasets import fetching  # noqa: E402
from fusionbench.models.checkpoints import (  # noqa: E402
    discover_trained_checkpoints,
    load_checkpoint,
    load_weights,
    official_checkpoint_path,
)
from fusionbench.models.ifcnn_network import IFCNN  # noqa: E402

OFFICIAL_SHA256 = "6022b44c88a2f0367ba9b08fcdf0d663745d9a966fca0ee1f41867797b6ff53f"


@pytest.fixture
def official_max(reference_file):
    return reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")


def trained_checkpoint(path, state_dict, variant="ifcnn-max", rule="max", **extra):
    """A checkpoint in the format fusionbench.training writes (format_version 1)."""
    content = {"format": "fusionbench-ifcnn", "format_version": 1, "variant": variant, "fusion_rule": rule,
               "state_dict": state_dict, "iteration": 1234, "recipe": {"lr": 1e-4}, "data": "unit-test",
               "code_version": "test", "optimizer": {"state": {}}, **extra}
    torch.save(content, path)
    return path


def test_official_checkpoint_is_found_verified_and_loaded(official_max):
    path = official_checkpoint_path("max", download=False)
    network, metadata = load_checkpoint(path)
    assert metadata["format"] == "official"
    assert metadata["fusion_rule"] == "max"  # from the file name IFCNN-MAX.pth
    assert metadata["sha256"] == OFFICIAL_SHA256
    official = torch.load(official_max, map_location="cpu", weights_only=True)
    assert torch.equal(network.conv2.bn.running_var, official["conv2.bn.running_var"])
    assert not network.training


def test_trained_checkpoint_round_trip(official_max, tmp_path):
    state = torch.load(official_max, map_location="cpu", weights_only=True)
    path = trained_checkpoint(tmp_path / "mine.pt", state, variant="ifcnn-sum", rule="sum")
    network, metadata = load_checkpoint(path)
    assert (metadata["format"], metadata["variant"], metadata["fusion_rule"], metadata["iteration"]) == \
        ("fusionbench-ifcnn", "ifcnn-sum", "sum", 1234)
    assert network.fusion_rule == "sum"
    assert torch.equal(network.conv4.bias, state["conv4.bias"])


def test_wrong_shapes_missing_and_unexpected_keys_are_named(official_max, tmp_path):
    state = dict(torch.load(official_max, map_location="cpu", weights_only=True))
    state["conv4.weight"] = torch.zeros(1, 64, 1, 1)
    del state["conv3.bn.running_mean"]
    state["conv5.weight"] = torch.zeros(3)
    path = tmp_path / "IFCNN-MAX-broken.pth"
    torch.save(state, path)
    with pytest.raises(ConfigError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "missing keys conv3.bn.running_mean" in message
    assert "unexpected keys conv5.weight" in message
    assert "conv4.weight (1, 64, 1, 1) (expected (3, 64, 1, 1))" in message
    assert str(path) in message


def test_load_weights_accepts_missing_batch_counters_only():
    source, target = IFCNN("max"), IFCNN("max")
    state = {key: value for key, value in source.state_dict().items() if "num_batches_tracked" not in key}
    load_weights(target, state, "test")
    assert torch.equal(target.conv1.weight, source.conv1.weight)


def test_unknown_fusion_rule_lists_the_valid_ones(official_max):
    with pytest.raises(ConfigError, match=r"unknown fusion rule 'median'; valid: max, mean, sum"):
        load_checkpoint(official_max, fusion_rule="median")


def test_rule_must_be_known(official_max, tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(official_max.read_bytes())
    with pytest.raises(ConfigError, match="does not say its fusion rule"):
        load_checkpoint(path)
    assert load_checkpoint(path, fusion_rule="mean")[0].fusion_rule == "mean"


def test_corrupt_checkpoint_file(tmp_path):
    path = tmp_path / "IFCNN-MAX.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)


def test_missing_official_checkpoint_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSIONBENCH_CACHE", str(tmp_path / "cache"))
    fetching.set_data_directories([tmp_path / "empty"])
    try:
        with pytest.raises(DataNotFoundError, match=r"put it at <data dir>/ifcnn-official/snapshots/IFCNN-MEAN\.pth"):
            official_checkpoint_path("mean", download=False)
    finally:
        fetching.set_data_directories(None)


def test_corrupt_official_checkpoint_in_a_mirror_is_refused(tmp_path):
    mirrored = tmp_path / "ifcnn-official" / "snapshots" / "IFCNN-MAX.pth"
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(b"truncated")
    fetching.set_data_directories([tmp_path])
    try:
        with pytest.raises(ChecksumError, match="IFCNN-MAX.pth"):
            official_checkpoint_path("max", download=False)
    finally:
        fetching.set_data_directories(None)


def test_discovery_skips_foreign_files(official_max, tmp_path):
    state = torch.load(official_max, map_location="cpu", weights_only=True)
    trained_checkpoint(tmp_path / "a.pt", state, variant="baseline-mean", rule="mean")
    torch.save(state, tmp_path / "official.pt")  # a bare state dict: not a trained checkpoint
    (tmp_path / "junk.pt").write_bytes(b"junk")
    found = discover_trained_checkpoints([tmp_path])
    assert [(name, path.name, metadata["fusion_rule"]) for name, path, metadata in found] == \
        [("baseline-mean", "a.pt", "mean")]


def test_summary_reader_matches_torch_load_without_tensors(official_max, tmp_path):
    from fusionbench.models.checkpoints import read_checkpoint_summary

    state = torch.load(official_max, map_location="cpu", weights_only=True)
    path = trained_checkpoint(tmp_path / "x.pt", state, variant="baseline-max", rule="max")
    summary = read_checkpoint_summary(path)
    assert (summary["format"], summary["variant"], summary["fusion_rule"], summary["recipe"]) == \
        ("fusionbench-ifcnn", "baseline-max", "max", {"lr": 1e-4})
    assert sorted(summary["state_dict"]) == sorted(state) and summary["state_dict"]["conv1.weight"] is None


def test_discovery_prefers_the_latest_iteration_then_the_earlier_directory(official_max, tmp_path):
    state = torch.load(official_max, map_location="cpu", weights_only=True)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    trained_checkpoint(first / "a-early.pt", state, iteration=100)
    trained_checkpoint(first / "b-late.pt", state, iteration=600)
    trained_checkpoint(second / "c-later.pt", state, iteration=900)
    found = discover_trained_checkpoints([first, second])
    assert [(name, path.name) for name, path, _ in found] == [("ifcnn-max-trained", "b-late.pt")]
