"""``fusionbench train``: train an IFCNN variant with the paper's recipe (Secs. 2.3-2.5) or a reduced preset."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

NAME = "train"
HELP = "train an IFCNN variant (online multi-focus synthesis from RGB-D data)"
TRAIN_DATA_VARIABLE = "FUSIONBENCH_TRAIN_DATA"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..training.losses import PERCEPTUAL_BACKBONES
    from ..training.recipes import PRESETS, VARIANTS
    from ..training.rgbd_sources import DATA_KINDS

    parser.add_argument("--variant", required=True, choices=VARIANTS, help="which network and loss to train")
    parser.add_argument("--preset", default="cpu-small", choices=tuple(PRESETS),
                        help="recipe: paper (Sec. 2.5 numbers), cpu-small, gpu-short, smoke (default: cpu-small)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (checkpoints, log.csv)")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"training data folder (default: ${TRAIN_DATA_VARIABLE})")
    parser.add_argument("--data-kind", default="auto", choices=DATA_KINDS,
                        help="which kind of training source to use (default: auto = real RGB-D if present)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--perceptual-backbone", default=None, choices=PERCEPTUAL_BACKBONES,
                        help="frozen ImageNet network of P_loss (default: the preset's)")
    parser.add_argument("--perceptual-weights", type=Path, default=None, help="weights file for that network")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--init-from", type=Path, default=None, metavar="CHECKPOINT",
                        help="start after the completed stages of a stage-end checkpoint with the same recipe "
                             "(e.g. reuse an identical pre-training)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch")
    parser.add_argument("--max-iterations", type=int, default=None, help="stop after this many iterations in total")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard scalars")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(arguments: argparse.Namespace) -> int:
    import torch

    from ..errors import ConfigError
    from ..training.recipes import recipe_for
    from ..training.rgbd_sources import discover_training_data
    from ..training.trainer import TrainingJob, train

    data_dir = arguments.data or (Path(os.environ[TRAIN_DATA_VARIABLE]) if os.environ.get(TRAIN_DATA_VARIABLE) else None)
    if data_dir is None:
        raise ConfigError(f"no training data: pass --data DIR or set {TRAIN_DATA_VARIABLE}.")
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    recipe = recipe_for(arguments.preset, arguments.variant, arguments.perceptual_backbone)
    images, description = discover_training_data(data_dir, arguments.data_kind)
    job = TrainingJob(variant=arguments.variant, recipe=recipe, images=images, data_description=description,
                      out_dir=arguments.out, device=arguments.device, perceptual_weights=arguments.perceptual_weights,
                      resume=arguments.resume, progress=not arguments.no_progress, tensorboard=arguments.tensorboard,
                      max_iterations=arguments.max_iterations, init_from=arguments.init_from)
    began = time.time()
    payload = train(job)
    if payload is not None:
        print(f"{arguments.variant}: {payload['iteration']} iterations ({payload['stage']}) in "
              f"{time.time() - began:.0f} s this session; checkpoint {arguments.out / 'last.pt'}")
    return 0
