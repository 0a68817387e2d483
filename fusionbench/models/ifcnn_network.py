"""The IFCNN network (Zhang et al., Information Fusion 54 (2020) 99-118, Sec. 2.2).

Feature extraction: CONV1 (7x7, 64 maps, no bias; ResNet-101's ImageNet conv1, frozen) and
CONV2 (3x3, 64, batch norm, ReLU). Feature fusion: an element-wise rule (MAX, MEAN or SUM, Eq. 1)
over the CONV2 features of N >= 2 inputs. Reconstruction: CONV3 (3x3, 64, BN, ReLU) and CONV4
(1x1, 3 maps, with bias). Stride 1 and replicate padding everywhere, so the output has the input's
size. Parameter names match the official released checkpoints (``conv1.weight``,
``conv2.conv.weight``, ``conv2.bn.*``, ``conv3.*``, ``conv4.weight``/``bias``).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional

FUSION_RULES = ("max", "mean", "sum")


class ConvBlock(nn.Module):
    """3x3 convolution (replicate padding 1, no bias) + batch norm + ReLU."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        padded = functional.pad(features, (1, 1, 1, 1), mode="replicate")
        return functional.relu(self.bn(self.conv(padded)))


def fuse_features(features: Sequence[torch.Tensor], rule: str) -> torch.Tensor:
    """Element-wise fusion of N feature maps (paper Eq. 1)."""
    if rule not in FUSION_RULES:
        raise ValueError(f"unknown fusion rule {rule!r}; valid: {', '.join(FUSION_RULES)}")
    stacked = torch.stack(list(features), dim=0)
    if rule == "max":
        return stacked.amax(dim=0)
    if rule == "sum":
        return stacked.sum(dim=0)
    return stacked.mean(dim=0)


class IFCNN(nn.Module):
    """IFCNN with a fixed element-wise fusion rule; ``forward`` takes a list of N (B,3,H,W) tensors."""

    def __init__(self, fusion_rule: str = "max"):
        super().__init__()
        if fusion_rule not in FUSION_RULES:
            raise ValueError(f"unknown fusion rule {fusion_rule!r}; valid: {', '.join(FUSION_RULES)}")
        self.fusion_rule = fusion_rule
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, padding=0, bias=False)
        self.conv2 = ConvBlock(64)
        self.conv3 = ConvBlock(64)
        self.conv4 = nn.Conv2d(64, 3, kernel_size=1, padding=0, bias=True)
        self.conv1.weight.requires_grad_(False)  # ImageNet ResNet-101 conv1, frozen (Sec. 2.5)

    def extract(self, image: torch.Tensor) -> torch.Tensor:
        """CONV1 + CONV2 features of one input batch."""
        return self.conv2(self.conv1(functional.pad(image, (3, 3, 3, 3), mode="replicate")))

    def reconstruct(self, fused: torch.Tensor) -> torch.Tensor:
        """CONV3 + CONV4: fused features to a 3-channel image."""
        return self.conv4(self.conv3(fused))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.reconstruct(fuse_features([self.extract(image) for image in inputs], self.fusion_rule))
