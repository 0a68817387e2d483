"""Training recipes: the paper's numbers (Sec. 2.5) and reduced presets for CPUs and tests.

``paper``: pre-training with B_loss, batch 64, 5000 iterations, BN momentum 0.99 -> 0; fine-training
with T_loss = B_loss + P_loss (w1 = w2 = 1), BN frozen, batch 32, 60,000 iterations, HSV jitter and grey
augmentation; SGD, base learning rate 0.01 in both stages, poly decay with power 0.9; 224x224 crops.
The paper does not state SGD momentum or weight decay: we use momentum 0.9 (the common SGD setting)
and no weight decay.

``cpu-small``: the same two-stage recipe shrunk to finish within ~45 minutes per variant on a 2-core
machine shared with other work (measured: ~3-5 s per pre-training iteration under that load): 96x96 crops
from sources resized by 0.375 (Middlebury's ~430x370 views become ~160x140, so the crop-to-image ratio
and the 1-15 px blur radii relative to the crop stay close to the paper's 224 crops of 422x321 NYU
images), 300 pre-training iterations at batch 8 and 300 fine-training iterations at batch 4 (the paper
halves the batch too).

``gpu-short``: the paper's crops, batches, learning rates and BN handling with 1,000 pre-training and
3,000 fine-training iterations instead of 5,000 and 60,000 -- about 4 minutes on one H200 (measured: 0.07 s
per iteration at batch 64, 224x224), for a GPU lent for minutes rather than hours.

``smoke``: a few iterations on tiny crops, for tests.

Variants: ``ifcnn-*`` fine-train with T_loss (w2 = 1 with ResNet-101 as in the paper; 0.015 with the
EfficientNet-Lite0 substitute, see :data:`PERCEPTUAL_WEIGHTS`). ``baseline-*`` ("pre-training schedule continued with
B_loss only"): identical in every respect -- same two stages, iterations, batches, learning rates, BN
freezing and augmentation -- except that the perceptual weight w2 is 0 in the second stage. That isolates
exactly what the perceptual loss adds (the paper's comparison), at the same compute budget.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import UnknownNameError

VARIANTS = ("ifcnn-max", "ifcnn-mean", "ifcnn-sum", "baseline-max", "baseline-mean")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class StageRecipe:
    name: str  # "pre-training" or "fine-training"
    iterations: int
    batch_size: int
    base_learning_rate: float
    poly_power: float
    basic_weight: float  # w1 of Eq. 8
    perceptual_weight: float  # w2 of Eq. 8 (0 = B_loss only)
    batch_norm: str  # "schedule" (momentum start -> end, train mode) or "frozen"
    bn_momentum_start: float
    bn_momentum_end: float
    colour_augmentation: bool  # HSV jitter + grey p=0.5


@dataclass(frozen=True)
class Recipe:
    name: str
    stages: tuple[StageRecipe, ...]
    crop_size: int
    source_scale: float  # sources are resized by this factor once, when loaded
    sgd_momentum: float
    weight_decay: float
    bn_momentum_convention: str
    checkpoint_every: int
    perceptual_backbone: str
    seed: int
    input_mean: tuple[float, float, float] = IMAGENET_MEAN  # network input/output normalisation
    input_std: tuple[float, float, float] = IMAGENET_STD

    @property
    def total_iterations(self) -> int:
        return sum(stage.iterations for stage in self.stages)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Recipe":
        values = dict(values)
        values["stages"] = tuple(StageRecipe(**stage) for stage in values["stages"])
        values["input_mean"] = tuple(values["input_mean"])
        values["input_std"] = tuple(values["input_std"])
        return cls(**values)


def _two_stages(pre_iterations, pre_batch, fine_iterations, fine_batch) -> tuple[StageRecipe, StageRecipe]:
    pre = StageRecipe("pre-training", pre_iterations, pre_batch, 0.01, 0.9, 1.0, 0.0, "schedule", 0.99, 0.0, False)
    fine = StageRecipe("fine-training", fine_iterations, fine_batch, 0.01, 0.9, 1.0, 1.0, "frozen", 0.0, 0.0, True)
    return pre, fine


PRESETS = {
    "paper": Recipe("paper", _two_stages(5000, 64, 60_000, 32), crop_size=224, source_scale=1.0,
                    sgd_momentum=0.9, weight_decay=0.0, bn_momentum_convention="pytorch",
                    checkpoint_every=1000, perceptual_backbone="resnet101", seed=0),
    "cpu-small": Recipe("cpu-small", _two_stages(300, 8, 300, 4), crop_size=96, source_scale=0.375,
                        sgd_momentum=0.9, weight_decay=0.0, bn_momentum_convention="pytorch",
                        checkpoint_every=50, perceptual_backbone="efficientnet-lite0", seed=0),
    "gpu-short": Recipe("gpu-short", _two_stages(1000, 64, 3000, 32), crop_size=224, source_scale=1.0,
                        sgd_momentum=0.9, weight_decay=0.0, bn_momentum_convention="pytorch",
                        checkpoint_every=500, perceptual_backbone="resnet101", seed=0),
    "smoke": Recipe("smoke", _two_stages(12, 4, 4, 2), crop_size=32, source_scale=1.0,
                    sgd_momentum=0.9, weight_decay=0.0, bn_momentum_convention="pytorch",
                    checkpoint_every=5, perceptual_backbone="efficientnet-lite0", seed=0),
}


# w2 of Eq. 8 per perceptual backbone. The paper's w2 = 1 is for ResNet-101. EfficientNet-Lite0's head
# features react far more strongly: at the start of fine-training (cpu-small, after pre-training) the
# gradient of its P_loss w.r.t. the network's weights is a median 64x that of B_loss (4 batches: 23x-115x),
# and with w2 = 1 the first SGD steps at lr 0.01 drove B_loss from 0.017 to 1-5 (measured, the run
# diverged). w2 = 1/64 ~ 0.015 gives both terms gradients of the same size, which is what w1 = w2 = 1
# balances for the paper's backbone.
PERCEPTUAL_WEIGHTS = {"resnet101": 1.0, "efficientnet-lite0": 0.015}


def fusion_rule_of(variant: str) -> str:
    if variant not in VARIANTS:
        raise UnknownNameError(f"unknown training variant {variant!r}; valid: {', '.join(VARIANTS)}.")
    return variant.split("-", 1)[1]


def recipe_for(preset: str, variant: str, perceptual_backbone: str | None = None) -> Recipe:
    """The preset's recipe for ``variant`` (baseline-*: perceptual weight 0 in fine-training)."""
    if preset not in PRESETS:
        raise UnknownNameError(f"unknown training preset {preset!r}; valid: {', '.join(PRESETS)}.")
    fusion_rule_of(variant)
    recipe = PRESETS[preset]
    if perceptual_backbone is not None:
        recipe = dataclasses.replace(recipe, perceptual_backbone=perceptual_backbone)
    weight = 0.0 if variant.startswith("baseline-") else PERCEPTUAL_WEIGHTS[recipe.perceptual_backbone]
    return dataclasses.replace(recipe, stages=tuple(
        dataclasses.replace(stage, perceptual_weight=weight if stage.perceptual_weight > 0 else 0.0)
        for stage in recipe.stages))
