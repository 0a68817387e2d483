"""The IFCNN training loop (paper Secs. 2.3-2.5): online synthesis, two stages, checkpoints, resume.

One process, or one per GPU under ``torchrun`` (DistributedDataParallel; each rank draws its own share
of the batch; batch norm is synchronised across GPUs so its statistics see the whole batch). Mixed
precision (float16 autocast + gradient scaling) on CUDA.

The network sees inputs normalised with the recipe's mean/std (ImageNet's -- the procedure with which
the official checkpoints reproduce the paper's Tables) and predicts in the same normalised space;
B_loss (Eq. 7) is taken in that space, P_loss (Eq. 6) on the de-normalised [0,1] images.

Outputs in ``out_dir``: ``last.pt`` (every ``checkpoint_every`` iterations, at the end of each stage and
at the end; resume continues from it), ``pre-training.pt`` and ``final.pt`` (stage ends), ``log.csv``
(iteration, stage, learning rate, BN momentum, both losses, seconds per iteration).
"""
from __future__ import annotations

import csv
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..models.checkpoints import load_weights, read_plain_checkpoint
from ..models.ifcnn_network import IFCNN
from .augmentation import augment_triple
from .checkpoint_file import FORMAT, FORMAT_VERSION, code_version, load_checkpoint, save_checkpoint
from .losses import basic_loss, build_perceptual_loss
from .recipes import Recipe, StageRecipe, fusion_rule_of
from .rgbd_sources import RGBDImage
from .schedule import (freeze_batch_norm, linear_bn_momentum, poly_learning_rate, set_bn_momentum,
                       torch_bn_momentum, unfreeze_batch_norm)
from .synthesis import draw_synthesis, synthesize_pair

LOG_COLUMNS = ("iteration", "stage", "learning_rate", "bn_momentum", "basic_loss", "perceptual_loss",
               "total_loss", "seconds")
OFFICIAL_CONV1_FILE = "ifcnn-official/snapshots/IFCNN-MAX.pth"


@dataclass
class TrainingJob:
    variant: str
    recipe: Recipe
    images: list[RGBDImage]
    data_description: str
    out_dir: Path
    device: str = "auto"
    perceptual_weights: Path | None = None
    resume: bool = False
    progress: bool = True
    tensorboard: bool = False
    conv1_weight: torch.Tensor | None = None  # None: ResNet-101's conv1 from the official IFCNN snapshot
    max_iterations: int | None = None  # stop early after this many total iterations (tests, time boxes)
    init_from: Path | None = None  # start after the completed stages of another run's stage-end checkpoint
    extra: dict = field(default_factory=dict)


class MultiFocusSampler:
    """Draws batches of synthesised, augmented multi-focus triples on the training device."""

    def __init__(self, images: list[RGBDImage], source_scale: float, device: torch.device, seed: int):
        self.sources = [self._to_tensors(image, source_scale, device) for image in images]
        self.generator = torch.Generator().manual_seed(seed)

    @staticmethod
    def _to_tensors(image: RGBDImage, scale: float, device: torch.device):
        rgb, depth = image.rgb, image.depth
        if scale != 1.0:
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)  # no mixed depths across edges
        # torch.tensor copies: decoded images may be read-only arrays, which torch.from_numpy warns about.
        rgb_tensor = torch.tensor(rgb).permute(2, 0, 1).to(device, torch.float32) / 255.0
        return rgb_tensor, torch.tensor(depth, dtype=torch.float32).to(device)

    def batch(self, size: int, crop_size: int, colour: bool):
        """(I_1, I_2, I_s), each (size, 3, crop, crop) in [0, 1]."""
        stacks = []
        for _ in range(size):
            rgb, depth = self.sources[int(torch.randint(len(self.sources), (1,), generator=self.generator))]
            triple = synthesize_pair(rgb, depth, draw_synthesis(self.generator))
            stacks.append(augment_triple(torch.cat(triple, dim=0), crop_size, self.generator, colour))
        stack = torch.stack(stacks).clamp(0.0, 1.0)
        return stack[:, 0:3], stack[:, 3:6], stack[:, 6:9]


def official_conv1_weight() -> torch.Tensor:
    """ResNet-101's ImageNet conv1 (64x3x7x7), as frozen inside the official IFCNN-MAX snapshot."""
    from ..datasets import fetch
    from ..datasets.registry import upstream_files

    path = fetch(upstream_files()[OFFICIAL_CONV1_FILE])  # SHA-256 checked
    return read_plain_checkpoint(path)["conv1.weight"]


def choose_device(requested: str, local_rank: int) -> torch.device:
    if requested not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {requested!r}; valid: auto, cpu, cuda.")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was requested but PyTorch sees no CUDA GPU.")
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def stage_at(recipe: Recipe, iteration: int) -> tuple[int, int]:
    """(stage index, 0-based iteration inside that stage) of global iteration ``iteration``."""
    offset = 0
    for index, stage in enumerate(recipe.stages):
        if iteration < offset + stage.iterations:
            return index, iteration - offset
        offset += stage.iterations
    return len(recipe.stages) - 1, recipe.stages[-1].iterations


def train(job: TrainingJob) -> dict:
    """Run (or resume) the job; returns the final checkpoint payload written by rank 0."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(job.device, local_rank)
    distributed = world_size > 1
    if distributed:
        import torch.distributed as dist

        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        return _train(job, device, rank, world_size)
    finally:
        if distributed:
            torch.distributed.destroy_process_group()


def _train(job: TrainingJob, device: torch.device, rank: int, world_size: int) -> dict:
    recipe, out_dir = job.recipe, Path(job.out_dir)
    version = code_version()  # of the code that starts the run (HEAD may move while it trains)
    is_main = rank == 0
    for stage in recipe.stages:
        if stage.batch_size % world_size:
            raise ConfigError(f"the {stage.name} batch size {stage.batch_size} is not divisible by {world_size} processes.")
    last_path = out_dir / "last.pt"
    if last_path.exists() and not job.resume:
        raise ConfigError(f"{out_dir} already holds a checkpoint (last.pt); pass --resume or choose another --out.")
    out_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(recipe.seed)  # CONV2-4 initialisation: repeatable runs
    network = IFCNN(fusion_rule_of(job.variant))
    resumed = load_checkpoint(last_path) if (job.resume and last_path.exists()) else None
    if resumed is not None:
        if resumed["variant"] != job.variant or recipe_in(resumed, last_path) != recipe:
            raise ConfigError(f"{last_path}: written for {resumed['variant']} with another recipe; "
                              f"resume with the same --variant and --preset or choose another --out.")
        load_weights(network, resumed["state_dict"], str(last_path))
        start = resumed["iteration"]
    elif job.init_from is not None:
        start = _initialise_from(network, job)
        job.extra.setdefault("initialised_from", f"{Path(job.init_from).name} (iteration {start})")
    else:
        network.conv1.weight.data.copy_(official_conv1_weight() if job.conv1_weight is None else job.conv1_weight)
        start = 0
    network.conv1.weight.requires_grad_(False)
    network.to(device)
    uses_perceptual = any(stage.perceptual_weight > 0 for stage in recipe.stages)
    perceptual = (build_perceptual_loss(recipe.perceptual_backbone, job.perceptual_weights).to(device)
                  if uses_perceptual else None)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if world_size > 1 and device.type == "cuda":
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    model: nn.Module = network

    sampler = MultiFocusSampler(job.images, recipe.source_scale, device, recipe.seed + 1000 * rank)
    if resumed is not None and resumed.get("rng") is not None and rank == 0:
        with restoring(last_path, "rng"):
            sampler.generator.set_state(resumed["rng"])
    elif resumed is not None or start > 0:
        sampler.generator.manual_seed(recipe.seed + 1000 * rank + start)
    mean = torch.tensor(recipe.input_mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(recipe.input_std, device=device).view(1, 3, 1, 1)

    log = _Log(out_dir, start, job.tensorboard) if is_main else None
    total = recipe.total_iterations if job.max_iterations is None else min(job.max_iterations, recipe.total_iterations)
    progress = _progress_bar(total, start, job.progress and is_main)
    optimizer, optimizer_stage = None, None
    payload = resumed
    iteration = start
    while iteration < total:
        stage_index, stage_iteration = stage_at(recipe, iteration)
        stage = recipe.stages[stage_index]
        if optimizer_stage != stage_index:
            _configure_batch_norm(network, stage)
            optimizer = torch.optim.SGD([p for p in network.parameters() if p.requires_grad],
                                        lr=stage.base_learning_rate, momentum=recipe.sgd_momentum,
                                        weight_decay=recipe.weight_decay)
            if resumed is not None and iteration == start and stage_iteration > 0 and resumed.get("optimizer"):
                with restoring(last_path, "optimizer"):
                    optimizer.load_state_dict(resumed["optimizer"])
                if resumed.get("scaler"):
                    with restoring(last_path, "scaler"):
                        scaler.load_state_dict(resumed["scaler"])
            optimizer_stage = stage_index
            if world_size > 1:  # re-wrapped per stage: DDP must see which parameters train in this stage
                model = nn.parallel.DistributedDataParallel(
                    network, device_ids=[device.index] if device.type == "cuda" else None)
        began = time.perf_counter()
        learning_rate = poly_learning_rate(stage.base_learning_rate, stage_iteration, stage.iterations, stage.poly_power)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        bn_momentum = float("nan")
        if stage.batch_norm == "schedule":
            paper_momentum = linear_bn_momentum(stage_iteration, stage.iterations, stage.bn_momentum_start,
                                                stage.bn_momentum_end)
            bn_momentum = torch_bn_momentum(paper_momentum, recipe.bn_momentum_convention)
            set_bn_momentum(network, bn_momentum)
        near, far, truth = sampler.batch(stage.batch_size // world_size, recipe.crop_size, stage.colour_augmentation)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            prediction = model([(near - mean) / std, (far - mean) / std])
            b_loss = basic_loss(prediction.float(), (truth - mean) / std)
            p_loss = torch.zeros((), device=device)
            if stage.perceptual_weight > 0:
                p_loss = perceptual((prediction.float() * std + mean), truth)
            total_loss = stage.basic_weight * b_loss + stage.perceptual_weight * p_loss
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total_loss).backward()
        scaler.step(optimizer)
        scaler.update()
        iteration += 1
        seconds = time.perf_counter() - began
        if is_main:
            b_value, p_value, total_value = (float(value.detach()) for value in (b_loss, p_loss, total_loss))
            log.write(iteration, stage.name, learning_rate, bn_momentum, b_value, p_value, total_value, seconds)
            progress.set_postfix(stage=stage.name[:4], b=f"{b_value:.4f}", p=f"{p_value:.4f}",
                                 lr=f"{learning_rate:.2e}", refresh=False)
            progress.update(1)
            stage_end = stage_iteration + 1 == stage.iterations
            if iteration % recipe.checkpoint_every == 0 or stage_end or iteration == total:
                payload = _payload(job, network, iteration, stage.name, optimizer, sampler, scaler, version)
                save_checkpoint(payload, last_path)
                if stage_end:
                    save_checkpoint(payload, out_dir / ("final.pt" if stage_index == len(recipe.stages) - 1
                                                        else f"{stage.name}.pt"))
    progress.close()
    if is_main:
        log.close()
    return payload


def _initialise_from(network: IFCNN, job: TrainingJob) -> int:
    """Load a stage-end checkpoint whose completed stages (and all shared settings) equal this recipe's.

    Lets a variant reuse another run's identical pre-training, or re-run a later stage with changed
    settings, without repeating the earlier stages. Returns the iteration to continue from.
    """
    payload = load_checkpoint(job.init_from)
    source = recipe_in(payload, job.init_from)
    iteration = payload["iteration"]
    stage_index, stage_iteration = stage_at(job.recipe, iteration)
    done = len(job.recipe.stages) if iteration >= job.recipe.total_iterations else stage_index
    same_settings = (source.stages[:done] == job.recipe.stages[:done] and
                     _recipe_settings(source) == _recipe_settings(job.recipe))
    if payload["fusion_rule"] != network.fusion_rule or stage_iteration != 0 or not same_settings:
        raise ConfigError(f"{job.init_from}: iteration {iteration} of {payload['variant']} does not end a stage that "
                          f"this {job.variant} recipe shares; --init-from needs a stage-end checkpoint of an equal recipe.")
    load_weights(network, payload["state_dict"], str(job.init_from))
    return iteration


def recipe_in(payload: dict, path: Path) -> Recipe:
    """The recipe a checkpoint was trained with; ConfigError naming ``path`` if it is not one."""
    try:
        return Recipe.from_dict(payload["recipe"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{path}: its recipe is not a training recipe ({_one_line(error)}).") from None


@contextmanager
def restoring(path: Path, part: str):
    """Turn a saved ``part`` (optimizer, rng, scaler) that torch refuses into a ConfigError naming ``path``.

    The file passed :func:`~.checkpoint_file.check_payload`, so the types are right; what is left is
    content that does not fit this run (other parameter groups, a generator state of another size).
    """
    try:
        yield
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ConfigError(f"{path}: its saved {part} state does not fit this run ({_one_line(error)}).") from None


def _one_line(error: Exception) -> str:
    """``Type: first line`` of an exception, short: the CLI prints errors as one line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def _recipe_settings(recipe: Recipe) -> Recipe:
    import dataclasses

    return dataclasses.replace(recipe, stages=(), name="", checkpoint_every=0, perceptual_backbone="")


def _configure_batch_norm(network: nn.Module, stage: StageRecipe) -> None:
    network.train()
    if stage.batch_norm == "frozen":
        freeze_batch_norm(network)
    else:
        unfreeze_batch_norm(network)


def _payload(job: TrainingJob, network: IFCNN, iteration: int, stage: str, optimizer, sampler, scaler,
             version: str) -> dict:
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "variant": job.variant,
        "fusion_rule": network.fusion_rule,
        "state_dict": {key: value.detach().cpu().clone() for key, value in network.state_dict().items()},
        "iteration": iteration, "stage": stage, "recipe": job.recipe.as_dict(), "data": job.data_description,
        "code_version": version, "optimizer": optimizer.state_dict(),
        "rng": sampler.generator.get_state(), "scaler": scaler.state_dict(), **job.extra,
    }


def _progress_bar(total: int, start: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=start, disable=not enabled, unit="it", dynamic_ncols=True, mininterval=2.0)


class _Log:
    """``log.csv`` (rows past the resumed iteration are dropped) and, optionally, TensorBoard scalars."""

    def __init__(self, out_dir: Path, start: int, tensorboard: bool):
        path = out_dir / "log.csv"
        kept = []
        if path.exists():
            with open(path, newline="") as handle:
                kept = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= start]
        self.handle = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=LOG_COLUMNS)
        self.writer.writeheader()
        self.writer.writerows(kept)
        self.handle.flush()
        self.board = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ConfigError("--tensorboard needs the tensorboard package (pip install tensorboard).") from None
            self.board = SummaryWriter(str(out_dir / "tensorboard"))

    def write(self, iteration, stage, learning_rate, bn_momentum, b_loss, p_loss, total_loss, seconds):
        self.writer.writerow({"iteration": iteration, "stage": stage, "learning_rate": f"{learning_rate:.8g}",
                              "bn_momentum": f"{bn_momentum:.6g}", "basic_loss": f"{b_loss:.8g}",
                              "perceptual_loss": f"{p_loss:.8g}", "total_loss": f"{total_loss:.8g}",
                              "seconds": f"{seconds:.4f}"})
        self.handle.flush()
        if self.board is not None:
            for name, value in (("loss/basic", b_loss), ("loss/perceptual", p_loss), ("loss/total", total_loss),
                                ("learning_rate", learning_rate)):
                self.board.add_scalar(name, value, iteration)

    def close(self):
        self.handle.close()
        if self.board is not None:
            self.board.close()
