"""Training throughput per stage: seconds per iteration (median) for a preset's pre- and fine-training.

    python benchmarks/training_throughput.py [--preset cpu-small] [--iterations 5] [--device auto]
        [--data DIR] [--threads N] [--perceptual-backbone NAME] [--perceptual-weights FILE]

Runs a few iterations of each stage of the preset (batch, crop and losses as in the preset; without
--data the sources are synthetic-depth textures) and prints a table with the projected full-recipe time.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from fusionbench.training.recipes import recipe_for
from fusionbench.training.rgbd_sources import RGBDImage, discover_training_data, synthetic_depth
from fusionbench.training.trainer import TrainingJob, train


def synthetic_sources(count: int = 8, height: int = 321, width: int = 422) -> list[RGBDImage]:
    rng = np.random.default_rng(0)
    return [RGBDImage(np.kron(rng.uniform(0, 255, (height // 8 + 1, width // 8 + 1, 3)),
                              np.ones((8, 8, 1)))[:height, :width].astype(np.uint8),
                      synthetic_depth(height, width, index), f"synthetic-{index}") for index in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--variant", default="ifcnn-max")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--perceptual-backbone", default=None, help="override the preset's (resnet101|efficientnet-lite0)")
    parser.add_argument("--perceptual-weights", type=Path, default=None,
                        help="weights file for the perceptual network (timing does not depend on its values)")
    arguments = parser.parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    recipe = recipe_for(arguments.preset, arguments.variant, arguments.perceptual_backbone)
    images, description = (discover_training_data(arguments.data) if arguments.data
                           else (synthetic_sources(), "synthetic textures"))
    short = dataclasses.replace(recipe, stages=tuple(dataclasses.replace(stage, iterations=arguments.iterations + 1)
                                                     for stage in recipe.stages), checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as folder:
        job = TrainingJob(arguments.variant, short, images, description, Path(folder) / "run",
                          device=arguments.device, progress=False, perceptual_weights=arguments.perceptual_weights,
                          conv1_weight=torch.zeros(64, 3, 7, 7))
        train(job)
        with open(Path(folder) / "run" / "log.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
    print(f"preset {arguments.preset}, variant {arguments.variant}, perceptual {recipe.perceptual_backbone}, "
          f"device {arguments.device}, "
          f"threads {torch.get_num_threads()}, data: {description}")
    print(f"{'stage':<14} {'batch':>5} {'crop':>5} {'s/iter':>8} {'iter/s':>8} {'iterations':>10} {'projected h':>11}")
    total_hours = 0.0
    for stage in recipe.stages:
        seconds = statistics.median([float(row["seconds"]) for row in rows if row["stage"] == stage.name][1:])
        hours = seconds * stage.iterations / 3600
        total_hours += hours
        print(f"{stage.name:<14} {stage.batch_size:>5} {recipe.crop_size:>5} {seconds:>8.3f} {1 / seconds:>8.2f} "
              f"{stage.iterations:>10} {hours:>11.2f}")
    print(f"{'total':<14} {'':>5} {'':>5} {'':>8} {'':>8} {recipe.total_iterations:>10} {total_hours:>11.2f}")


if __name__ == "__main__":
    main()
