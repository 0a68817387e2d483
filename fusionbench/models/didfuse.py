"""DIDFuse (Zhao et al., IJCAI 2020) from the authors' released weights: ``didfuse``.

The network (the authors' ``AE_Encoder`` / ``AE_Decoder``, re-expressed here) is an auto-encoder
with 64 channels throughout. The encoder, applied to each source separately, gives four feature
maps: ``f1`` (3x3 convolution of the image with reflection padding, BatchNorm, PReLU), ``f2``
(3x3 convolution, BN, PReLU), and from ``f2`` a background ``b`` and a detail ``d`` map (3x3
convolution, BN, tanh each). The features of the two sources are fused map by map (the authors'
default rule ``sum``: element-wise addition), then decoded: ``o1`` = 3x3 conv of (b, d), BN,
PReLU; ``o2`` = 3x3 conv of (o1, f2), BN, PReLU; output = 3x3 conv of (o2, f1) with reflection
padding, BN, sigmoid. Every PReLU has one learned slope; the other convolutions use zero padding.

Here BatchNorm (eval mode, running statistics, eps 1e-5) is folded into the convolutions, the
two sources go through the encoder as one batch of two, the background and detail convolutions
run as one 64 -> 128 convolution, and each decoder convolution of a concatenation runs as the sum
of convolutions of its parts (no concatenated copies).

Receptive-field radius 6 (3 encoder + 3 decoder layers; 7 with the ``l1-norm`` rule's 3x3 window),
so large images are processed in tiles with a 7-pixel halo and the result is unchanged.

Processing as in the authors' ``test.py``: each image ``/255`` as float32 (grey; here a colour
visible image is made grey with Pillow's ``convert('L')`` and an infrared image with three equal
channels gives that channel); output ``x255`` and rounded to the nearest integer (the published
results were written by ``skimage.io.imsave``, whose float-to-uint8 conversion rounds in
scikit-image >= 0.16: measured, rounding matches ~99.99 % of their pixels exactly, truncation ~50 %).
The result is grey.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..datasets.fetching import RemoteFile, github_raw_url
from ..families import INFRARED_VISUAL
from ..registry import register_algorithm
from .colour_spaces import quantisation, quantise, rgb_to_single_channel, unit_planes
from .pretrained import (TiledRunner, channels_last, check_choice, check_device, check_tile_size, infrared_visual_pair,
                         load_weights, move_tensors)

NAME = "didfuse"
VERSION = "1"
CITATION = ("Zhao, Xu, Zhang, Liu, Zhang, Li, DIDFuse: deep image decomposition for infrared and visible image "
            "fusion, IJCAI 2020, 970-976")
UPSTREAM_REPOSITORY = "Zhaozixiang1228/IVIF-DIDFuse"
UPSTREAM_COMMIT = "5f287300dce7cbc90b9e08e6872455af6baa279f"
ENCODER_WEIGHTS = RemoteFile(
    mirror_path="models/didfuse/weights/Encoder_weight_IJCAI.pkl",
    url=github_raw_url(UPSTREAM_REPOSITORY, UPSTREAM_COMMIT, "Models/Encoder_weight_IJCAI.pkl"),
    sha256="4d84a4e64e58469d3d4591f83c6683ead3e422498519db99bb617cb29d268471",
    size=454_838,
)
DECODER_WEIGHTS = RemoteFile(
    mirror_path="models/didfuse/weights/Decoder_weight_IJCAI.pkl",
    url=github_raw_url(UPSTREAM_REPOSITORY, UPSTREAM_COMMIT, "Models/Decoder_weight_IJCAI.pkl"),
    sha256="c6974e2a7c66ab579a77bacb086023237a229e769d459783bad8ff43e52e9986",
    size=600_772,
)
GREY_CONVERSION = "pillow-L"
DEFAULT_QUANTISATION = "scale-round"
#: Feature fusion rules of the authors' ``Test_fusion`` (``Sum``, ``Average``, ``l1_norm``).
FUSION_RULES = ("sum", "average", "l1-norm")
RECEPTIVE_FIELD_RADIUS = 3 + 1 + 3
DEFAULT_TILE_SIZE = 640  # 640x480 in one pass; 3000x2000 peaks at 1.4-1.7 GiB (768: 2.24)
CHANNELS = 64
BATCH_NORM_EPSILON = 1e-5


class DIDFuse:
    """DIDFuse with the authors' weights; sources (visible, infrared); grey output.

    Options: ``fusion_rule`` (sum — the authors' default and their published results —,
    average, l1-norm), ``device`` (auto|cpu|cuda), ``tile_size`` (largest tile side in pixels,
    ``none`` for one pass; the output is the same), ``quantisation`` (float -> uint8 rule of
    :mod:`fusionbench.models.colour_spaces`: ``scale-round`` as the published results,
    ``scale-truncate`` as scikit-image < 0.16 would have written them).
    """

    def __init__(self, fusion_rule: str = "sum", device: str = "auto", tile_size: Any = DEFAULT_TILE_SIZE,
                 quantisation: str = DEFAULT_QUANTISATION):
        self.fusion_rule = check_choice("fusion rule", fusion_rule, FUSION_RULES)
        self.device = check_device(device)
        self.tile_size = check_tile_size(tile_size)
        self.quantisation = _quantisation_name(quantisation)
        self._runner: TiledRunner | None = None

    def identity(self) -> dict[str, Any]:
        """What decides the output beyond the options: the weights' SHA-256s and the conversions."""
        return {"weights_sha256": [ENCODER_WEIGHTS.sha256, DECODER_WEIGHTS.sha256],
                "grey_conversion": GREY_CONVERSION, "fusion_rule": self.fusion_rule,
                "quantisation": self.quantisation}

    def runner(self) -> TiledRunner:
        """The network on its device (weights fetched and torch imported on first use)."""
        if self._runner is None:
            network = DIDFuseNetwork(_state(ENCODER_WEIGHTS), _state(DECODER_WEIGHTS), self.fusion_rule)
            self._runner = TiledRunner(network, self.device, self.tile_size, RECEPTIVE_FIELD_RADIUS)
            network.to(self._runner.device)
        return self._runner

    def fuse(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(visible, infrared) uint8 -> grey uint8 of the same size."""
        visible, infrared = infrared_visual_pair(images, NAME)
        planes = [unit_planes(rgb_to_single_channel(image, GREY_CONVERSION)) for image in (infrared, visible)]
        return quantise(self.runner().run(planes)[0], self.quantisation)


def _quantisation_name(name: Any) -> str:
    return quantisation(str(name).strip().lower()).name


def _state(remote: RemoteFile) -> dict:
    """The state dict inside an authors' ``.pkl`` (a dict ``{'weight': state_dict, 'epoch': n}``)."""
    from ..errors import ConfigError

    content = load_weights(remote)
    state = content.get("weight") if isinstance(content, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"{remote.file_name}: expected {{'weight': state_dict, ...}}; not the released "
                          f"DIDFuse weights")
    return state


class DIDFuseNetwork:
    """Forward pass on prepared tensors: ``network([infrared, visible]) -> fused``, (1, 1, h, w) each.

    ``encoder_state`` / ``decoder_state`` are the authors' state dicts (keys ``cov1.cov1.1.weight``
    ...); missing or mis-shaped tensors raise a ConfigError. Built on the CPU; ``to(device)``
    moves it.
    """

    def __init__(self, encoder_state: dict, decoder_state: dict, fusion_rule: str = "sum"):
        import torch

        self.fusion_rule = check_choice("fusion rule", fusion_rule, FUSION_RULES)
        encoder = _Layers(encoder_state, ENCODER_WEIGHTS.file_name)
        decoder = _Layers(decoder_state, DECODER_WEIGHTS.file_name)
        c = CHANNELS
        # (name, index of the convolution in the authors' nn.Sequential, input channels, output channels)
        self.first = encoder.folded("cov1", 1, 1, c)
        self.second = encoder.folded("cov2", 0, c, c)
        background, detail = encoder.folded("cov3", 0, c, c), encoder.folded("cov4", 0, c, c)
        self.split = (torch.cat([background[0], detail[0]]), torch.cat([background[1], detail[1]]))
        self.slopes = [float(encoder.take("cov1.cov1.3.weight", (1,))), float(encoder.take("cov2.cov2.2.weight", (1,))),
                       float(decoder.take("cov5.cov5.2.weight", (1,))), float(decoder.take("cov6.cov6.2.weight", (1,)))]
        self.merge = decoder.folded("cov5", 0, 2 * c, c)
        weight, bias = decoder.folded("cov6", 0, 2 * c, c)
        self.refine = (weight[:, :c], weight[:, c:], bias)  # parts acting on o1 and on the fused f2
        weight, bias = decoder.folded("cov7", 1, 2 * c, 1)
        self.output = (weight[:, :c], weight[:, c:], bias)  # parts acting on o2 and on the fused f1
        for layers in (encoder, decoder):
            layers.check_all_used()

    def to(self, device) -> "DIDFuseNetwork":
        """Move every tensor to ``device`` (4-D weights in channels-last order)."""
        for name in ("first", "second", "split", "merge", "refine", "output"):
            setattr(self, name, move_tensors(getattr(self, name), device))
        return self

    def __call__(self, inputs: Sequence) -> "torch.Tensor":
        import torch
        import torch.nn.functional as F

        images = channels_last(torch.cat(list(inputs)))  # (2, 1, h, w)
        first_slope, second_slope, merge_slope, refine_slope = self.slopes
        weight, bias = self.first
        features_1 = F.leaky_relu_(F.conv2d(F.pad(images, (1, 1, 1, 1), mode="reflect"), weight, bias),
                                   first_slope)  # one learned PReLU slope == leaky ReLU with that slope
        weight, bias = self.second
        features_2 = F.leaky_relu_(F.conv2d(features_1, weight, bias, padding=1), second_slope)
        fused_1 = self._fuse(features_1)
        del features_1
        weight, bias = self.split
        background_detail = F.conv2d(features_2, weight, bias, padding=1).tanh_()
        fused_2 = self._fuse(features_2)
        del features_2
        fused_background_detail = self._fuse(background_detail, maps=2)
        del background_detail
        weight, bias = self.merge
        merged = F.leaky_relu_(F.conv2d(fused_background_detail, weight, bias, padding=1), merge_slope)
        del fused_background_detail
        from_merged, from_fused_2, bias = self.refine
        refined = F.conv2d(merged, from_merged, bias, padding=1).add_(F.conv2d(fused_2, from_fused_2, padding=1))
        refined = F.leaky_relu_(refined, refine_slope)
        del merged, fused_2
        from_refined, from_fused_1, bias = self.output
        output = F.conv2d(F.pad(refined, (1, 1, 1, 1), mode="reflect"), from_refined, bias)
        output.add_(F.conv2d(F.pad(fused_1, (1, 1, 1, 1), mode="reflect"), from_fused_1))
        return output.sigmoid_()

    def _fuse(self, features, maps: int = 1):
        """The two sources' features (batch of 2) -> fused (batch of 1), by the fusion rule.

        ``maps``: how many of the authors' feature maps lie side by side along the channels (2 for
        background + detail); the ``l1-norm`` rule weighs each map by its own activity.
        """
        import torch
        import torch.nn.functional as F

        first, second = features[:1], features[1:]
        if self.fusion_rule == "sum":
            return torch.add(first, second)
        if self.fusion_rule == "average":
            return torch.add(first, second).div_(2)
        if maps > 1:
            return torch.cat([self._fuse(part) for part in features.chunk(maps, dim=1)], dim=1)
        # l1-norm: activity = 3x3 mean (zero padding) of |y| summed over all channels of the map (the
        # authors' all-ones (C, C, 3, 3) / 9 kernel), weights a1 / (a1 + a2); 1/2 each where both are 0.
        activity = F.avg_pool2d(features.abs().sum(dim=1, keepdim=True), 3, stride=1, padding=1,
                                count_include_pad=True)
        total = activity[:1] + activity[1:]
        weight_first = torch.where(total > 0, activity[:1] / total, torch.full_like(total, 0.5))
        return first * weight_first + second * (1 - weight_first)


class _Layers:
    """Tensors of one authors' state dict, checked by shape, with BatchNorm folding."""

    def __init__(self, state: dict, file_name: str):
        import torch

        self.file_name = file_name
        self.tensors = {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}
        self.used: set[str] = set()

    def take(self, key: str, shape: tuple[int, ...]):
        from ..errors import ConfigError

        value = self.tensors.get(key)
        if value is None or tuple(value.shape) != shape:
            found = "missing" if value is None else f"shape {tuple(value.shape)}"
            raise ConfigError(f"{self.file_name}: {key} is {found}, expected shape {shape}; "
                              f"not the released DIDFuse weights")
        self.used.add(key)
        return value.detach()

    def folded(self, name: str, conv_index: int, inputs: int, outputs: int):
        """(weight, bias) of convolution ``name`` with its following eval-mode BatchNorm folded in."""
        import torch

        prefix = f"{name}.{name}."
        weight = self.take(f"{prefix}{conv_index}.weight", (outputs, inputs, 3, 3)).to(torch.float64)
        bias = self.take(f"{prefix}{conv_index}.bias", (outputs,)).to(torch.float64)
        norm = f"{prefix}{conv_index + 1}."
        gamma, beta, mean, variance = (self.take(norm + part, (outputs,)).to(torch.float64)
                                       for part in ("weight", "bias", "running_mean", "running_var"))
        self.used.add(norm + "num_batches_tracked")
        scale = gamma / torch.sqrt(variance + BATCH_NORM_EPSILON)
        return ((weight * scale[:, None, None, None]).to(torch.float32),
                ((bias - mean) * scale + beta).to(torch.float32))

    def check_all_used(self) -> None:
        from ..errors import ConfigError

        unexpected = sorted(set(self.tensors) - self.used)
        if unexpected:
            raise ConfigError(f"{self.file_name}: unexpected tensors {unexpected[:5]}; "
                              f"not the released DIDFuse weights")


register_algorithm(NAME, families=(INFRARED_VISUAL,), min_inputs=2, max_inputs=2, colour="any", version=VERSION,
                   citation=CITATION,
                   summary="DIDFuse (Zhao et al. 2020), authors' weights; sources visible, infrared; grey output",
                   defaults={"fusion_rule": "sum", "device": "auto", "tile_size": DEFAULT_TILE_SIZE,
                             "quantisation": DEFAULT_QUANTISATION})(DIDFuse)
