"""The registered IFCNN algorithms: options, families, identity, trained checkpoints, the CLI."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fusionbench
from fusionbench.errors import ConfigError
from fusionbench.registry import ALGORITHMS


def test_registration_does_not_import_torch():
    code = ("import sys, fusionbench; names = fusionbench.list_algorithms(); "
            "assert {'ifcnn-max', 'ifcnn-mean', 'ifcnn-sum'} <= set(names), names; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"FUSIONBENCH_CHECKPOINTS": "", **_env()})


def _env():
    import os

    return {key: value for key, value in os.environ.items() if key != "FUSIONBENCH_CHECKPOINTS"}


def test_spec_metadata():
    spec = fusionbench.get_algorithm("ifcnn-mean")
    assert spec.needs_family and spec.min_inputs == 2 and spec.max_inputs is None
    assert spec.defaults["preprocessing"] == "paper" and spec.defaults["clahe"] is True
    assert spec.defaults["device"] == "auto" and spec.defaults["checkpoint"] is None
    assert "Information Fusion 54 (2020) 99-118" in spec.citation


@pytest.mark.parametrize("options,message", [
    ({"preprocessing": "demo"}, r"unknown preprocessing preset 'demo'; valid: paper, released-demo"),
    ({"fusion_rule": "min"}, r"unknown fusion rule 'min'; valid: max, mean, sum"),
    ({"device": "tpu"}, r"unknown device 'tpu'; valid: auto, cpu, cuda"),
    ({"clahe": "maybe"}, r"clahe='maybe' is not a yes/no value"),
    ({"tile_size": "big"}, r"tile_size='big' is not a whole number"),
    ({"checkpoint": "/nonexistent/ifcnn.pt"}, r"/nonexistent/ifcnn.pt: checkpoint file not found"),
])
def test_bad_options_are_clear_errors(reference_file, options, message):
    reference_file("ifcnn-official/snapshots/IFCNN-MEAN.pth")
    with pytest.raises(ConfigError, match=message):
        fusionbench.create_algorithm("ifcnn-mean", **options)


def test_identity_carries_the_checkpoint_hash(reference_file):
    reference_file("ifcnn-official/snapshots/IFCNN-SUM.pth")
    identity = fusionbench.create_algorithm("ifcnn-sum").identity()
    assert identity["instance"]["checkpoint_sha256"] == \
        "a8c1d293f1bf16a93e6244a4bf8f7a7bd300dc10555c8597ad7ef3320b0410cb"
    assert identity["instance"]["fusion_rule"] == "sum"


@pytest.fixture
def small_pair():
    random = np.random.default_rng(7)
    base = random.integers(0, 256, (40, 52, 3), dtype=np.uint8)
    return [base, np.ascontiguousarray(base[:, ::-1])]


def test_grey_in_grey_out_and_family_inference(reference_file, small_pair):
    reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    algorithm = fusionbench.create_algorithm("ifcnn-max", device="cpu")
    grey = [image[:, :, 1].copy() for image in small_pair]
    fused_grey = algorithm.fuse(grey)
    assert fused_grey.shape == (40, 52) and fused_grey.dtype == np.uint8
    assert np.array_equal(fused_grey, algorithm.fuse(grey, family="infrared-visual"))
    fused_colour = algorithm.fuse(small_pair)
    assert fused_colour.shape == (40, 52, 3)
    assert np.array_equal(fused_colour, algorithm.fuse(small_pair, family="multi-focus"))


def test_presets_differ_only_where_documented(reference_file, small_pair):
    reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    paper = fusionbench.create_algorithm("ifcnn-max", preprocessing="paper", device="cpu")
    demo = fusionbench.create_algorithm("ifcnn-max", preprocessing="released-demo", device="cpu")
    # colour multi-focus: the same normalisation in both presets
    assert np.array_equal(paper.fuse(small_pair, family="multi-focus"), demo.fuse(small_pair, family="multi-focus"))
    grey = [image[:, :, 0].copy() for image in small_pair]
    assert not np.array_equal(paper.fuse(grey, family="medical"), demo.fuse(grey, family="medical"))


def test_options_as_text_and_tiling_give_the_same_image(reference_file, small_pair):
    reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    whole = fusionbench.create_algorithm("ifcnn-max", device="cpu", tile_size=None).fuse(small_pair)
    tiled = fusionbench.create_algorithm("ifcnn-max", device="cpu", tile_size="16", fast="false").fuse(small_pair)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1  # float ties may round apart


def test_multi_exposure_clahe_option(reference_file, small_pair):
    reference_file("ifcnn-official/snapshots/IFCNN-MEAN.pth")
    stack = [np.clip(small_pair[0].astype(int) + shift, 0, 255).astype(np.uint8) for shift in (-60, 0, 60)]
    with_clahe = fusionbench.create_algorithm("ifcnn-mean", device="cpu").fuse(stack, family="multi-exposure")
    without = fusionbench.create_algorithm("ifcnn-mean", device="cpu", clahe=False).fuse(stack, family="multi-exposure")
    assert with_clahe.shape == without.shape == (40, 52, 3)
    assert not np.array_equal(with_clahe, without)
    grey = fusionbench.create_algorithm("ifcnn-mean", device="cpu").fuse([s[:, :, 0].copy() for s in stack],
                                                                         family="multi-exposure")
    assert grey.shape == (40, 52)


def test_trained_checkpoints_register_and_fuse_like_the_official(reference_file, tmp_path, small_pair):
    torch = pytest.importorskip("torch")
    from fusionbench.models.algorithms import register_trained_checkpoints

    official = reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    state = torch.load(official, map_location="cpu", weights_only=True)
    torch.save({"format": "fusionbench-ifcnn", "format_version": 1, "variant": "ifcnn-max", "fusion_rule": "max",
                "state_dict": state, "iteration": 10, "recipe": {}, "data": "test", "code_version": "test"},
               tmp_path / "ifcnn-max.pt")
    torch.save({"format": "fusionbench-ifcnn", "format_version": 1, "variant": "baseline-mean",
                "fusion_rule": "mean", "state_dict": state, "iteration": 5, "recipe": {}, "data": "test",
                "code_version": "test"}, tmp_path / "baseline.pt")
    ALGORITHMS.load()
    try:
        assert sorted(register_trained_checkpoints([tmp_path])) == ["baseline-mean", "ifcnn-max-trained"]
        trained = fusionbench.create_algorithm("ifcnn-max-trained", device="cpu")
        official_algorithm = fusionbench.create_algorithm("ifcnn-max", device="cpu")
        assert np.array_equal(trained.fuse(small_pair), official_algorithm.fuse(small_pair))
        assert fusionbench.get_algorithm("baseline-mean").defaults["fusion_rule"] == "mean"
        assert trained.identity()["instance"]["checkpoint_sha256"] != \
            official_algorithm.identity()["instance"]["checkpoint_sha256"]
    finally:
        ALGORITHMS.remove("ifcnn-max-trained")
        ALGORITHMS.remove("baseline-mean")


def test_trained_checkpoints_found_through_the_environment(reference_file, tmp_path):
    torch = pytest.importorskip("torch")
    official = reference_file("ifcnn-official/snapshots/IFCNN-SUM.pth")
    state = torch.load(official, map_location="cpu", weights_only=True)
    torch.save({"format": "fusionbench-ifcnn", "format_version": 1, "variant": "ifcnn-sum", "fusion_rule": "sum",
                "state_dict": state, "iteration": 1, "recipe": {}, "data": "test", "code_version": "test"},
               tmp_path / "sum.pt")
    code = ("import sys, fusionbench; print('ifcnn-sum-trained' in fusionbench.list_algorithms(), "
            "'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**_env(), "FUSIONBENCH_CHECKPOINTS": str(tmp_path)})
    assert result.stdout.strip() == "True False"  # registered, metadata read without importing torch


def test_cli_fuse_released_demo_reproduces_official_medical(reference_file, tmp_path):
    from fusionbench.cli import main
    from fusionbench.image_io import read_image

    first, second = reference_file("medical/c03_1.tif"), reference_file("medical/c03_2.tif")
    official = read_image(reference_file("ifcnn-official/results/IFCNN-MAX-MD-c03.png"))
    output = tmp_path / "fused.png"
    status = main(["fuse", "ifcnn-max", str(first), str(second), "-o", str(output), "--family", "medical",
                   "--preprocessing", "released-demo", "--device", "cpu", "--option", "tile_size=100"])
    assert status == 0
    assert np.abs(read_image(output).astype(int) - official.astype(int)).max() <= 1


def test_cli_unknown_rule_is_an_error_not_a_traceback(reference_file, tmp_path, capsys):
    from fusionbench.cli import main

    first, second = reference_file("medical/c03_1.tif"), reference_file("medical/c03_2.tif")
    status = main(["fuse", "ifcnn-max", str(first), str(second), "-o", str(tmp_path / "f.png"),
                   "--option", "fusion_rule=median"])
    assert status == 2
    assert "unknown fusion rule 'median'; valid: max, mean, sum" in capsys.readouterr().err
