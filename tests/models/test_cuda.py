"""CUDA checks: the same numbers on the GPU as on the CPU, and training with mixed precision.

Every test here skips without a CUDA GPU (the default suite never needs one). On a GPU machine run
``python -m pytest tests/models/test_cuda.py``.
"""
from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

from fusionbench.models.fast_inference import FastIFCNN  # noqa: E402
from fusionbench.models.inference import IFCNNRunner  # noqa: E402
from fusionbench.training.recipes import recipe_for  # noqa: E402
from fusionbench.training.rgbd_sources import RGBDImage, synthetic_depth  # noqa: E402
from fusionbench.training.trainer import TrainingJob, train  # noqa: E402
from ifcnn_testing import plain, random_network  # noqa: E402


def smoke_job(out_dir, **changes) -> TrainingJob:
    """The smoke recipe on blocky synthetic RGB-D textures, on the GPU."""
    rng = np.random.default_rng(0)
    images = [RGBDImage(np.kron(rng.uniform(0, 255, (14, 16, 3)), np.ones((4, 4, 1))).astype(np.uint8),
                        synthetic_depth(56, 64, index), f"test-{index}") for index in range(4)]
    conv1 = torch.randn(64, 3, 7, 7, generator=torch.Generator().manual_seed(0)) * 0.05
    job = TrainingJob(variant="baseline-max", recipe=recipe_for("smoke", "baseline-max"), images=images,
                      data_description="test images", out_dir=out_dir, progress=False, conv1_weight=conv1,
                      device="cuda")
    return dataclasses.replace(job, **changes)


@pytest.mark.parametrize("rule", ["max", "mean", "sum"])
def test_runner_on_cuda_equals_the_plain_model_on_the_cpu(rule):
    network = random_network(rule)
    planes = [np.random.default_rng(index).random((3, 97, 131), dtype=np.float32) for index in range(3)]
    expected = plain(network, [torch.from_numpy(plane)[None] for plane in planes])[0].numpy()
    for fast in (True, False):
        on_gpu = IFCNNRunner(random_network(rule), device="cuda", fast=fast).run(planes)
        assert np.abs(on_gpu - expected).max() <= 1e-4, f"fast={fast}"


def test_tiled_cuda_inference_equals_whole_image_cpu_inference():
    network = random_network("max")
    planes = [np.random.default_rng(index).random((3, 150, 170), dtype=np.float32) for index in range(2)]
    whole = IFCNNRunner(network, device="cpu", tile_size=None).run(planes)
    tiled = IFCNNRunner(random_network("max"), device="cuda", tile_size=64).run(planes)
    assert np.abs(tiled - whole).max() <= 1e-4


def test_runner_leaves_the_global_tf32_setting_as_it_found_it():
    before = torch.backends.cudnn.allow_tf32
    IFCNNRunner(random_network("sum"), device="cuda").run([np.zeros((3, 16, 16), np.float32)] * 2)
    assert torch.backends.cudnn.allow_tf32 == before


def test_official_ifcnn_gives_the_same_fused_image_on_gpu_and_cpu(reference_file):
    from fusionbench.image_io import read_image
    from fusionbench.registry import create_algorithm

    reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    sources = [read_image(reference_file(f"lytro/lytro-01-{side}.jpg")) for side in "AB"]
    on_cpu = create_algorithm("ifcnn-max", device="cpu").fuse(sources, family="multi-focus")
    on_gpu = create_algorithm("ifcnn-max", device="cuda").fuse(sources, family="multi-focus")
    difference = np.abs(on_cpu.astype(int) - on_gpu.astype(int))
    assert difference.max() <= 1 and (difference == 0).mean() >= 0.999


def test_fast_path_module_runs_on_cuda_in_channels_last():
    network = random_network("max").cuda()
    inputs = [torch.rand(1, 3, 40, 52, device="cuda") for _ in range(2)]
    fast = FastIFCNN(network).cuda()
    assert fast.conv12.is_cuda and fast.conv12.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(fast(inputs), plain(network, inputs), atol=1e-3)  # TF32 allowed here: layout check only


def test_training_on_cuda_uses_mixed_precision_and_lowers_the_loss(tmp_path):
    from fusionbench.training.checkpoint_file import load_checkpoint

    job = smoke_job(tmp_path / "run")
    train(job)
    with open(job.out_dir / "log.csv", newline="") as handle:
        log = list(csv.DictReader(handle))
    losses = [float(row["basic_loss"]) for row in log if row["stage"] == "pre-training"]
    assert all(np.isfinite(losses)) and np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])
    checkpoint = load_checkpoint(job.out_dir / "last.pt")
    assert checkpoint["scaler"].get("scale") is not None  # AMP was on, and its scaler is saved for resuming
    assert all(not tensor.is_cuda for tensor in checkpoint["state_dict"].values())  # loads on CPU-only machines


def test_training_on_cuda_resumes_to_the_end_of_the_recipe(tmp_path):
    interrupted = smoke_job(tmp_path / "run", max_iterations=6)
    train(interrupted)
    resumed = train(smoke_job(tmp_path / "run", resume=True))
    assert resumed["iteration"] == interrupted.recipe.total_iterations
