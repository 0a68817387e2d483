"""SeAFusion (Tang, Yuan, Ma, Information Fusion 2022) from the authors' released weights: ``seafusion``.

The network (the authors' ``FusionNet``, re-expressed here) has two encoders of the same shape,
one for the visible luma and one for the infrared image: a 3x3 convolution to 16 channels, then
two gradient residual dense blocks (16 -> 32 -> 48 channels). Each block adds

* a dense path: two 3x3 convolutions, each seeing the block input and all earlier outputs, then a
  1x1 convolution of the concatenation (input, first, second);
* a gradient path: per-channel 3x3 Sobel-like filters in x and y (learned: the released weights
  moved them away from the exact Sobel kernel by up to 0.17), ``|gx| + |gy|``, a 1x1 convolution;

and applies LeakyReLU(0.1). The two 48-channel encodings are concatenated and decoded by 3x3
convolutions 96 -> 64 -> 32 -> 16 (LeakyReLU 0.2) and 16 -> 1 with ``tanh(x)/2 + 1/2``. Every
convolution has stride 1 and zero padding; the decoder's BatchNorm layers are in the weights but
were never called by the authors' forward pass, so they play no part (nothing to fold). All
convolutions here are the released tensors, regrouped: a convolution of a concatenation runs as the
sum of convolutions of its parts, and each block's two 1x1 convolutions (and their sum) as matrix
products of the channels-last maps accumulated into one output.

Receptive-field radius 9 (stem 1 + two blocks x 2 + decoder 4), so large images are processed in
tiles with a 9-pixel halo and the result is unchanged.

Processing as in the reference runs (wrapper ``SeAFusion.py`` of Linfeng-Tang/VIF-Benchmark):
visible RGB (grey is repeated) ``/255`` -> Y, Cb, Cr (:data:`~fusionbench.models.colour_spaces.
YCBCR_SPACES` ``"seafusion"``); infrared grey (Pillow ``convert('L')``; three equal channels give
that channel); the network is called as (visible Y, infrared); its Y with the visible Cb, Cr goes
back to RGB; quantisation ``"minmax-truncate"`` (min-max over the whole RGB image, x255,
truncated). The output is RGB, as the published results are, even for grey inputs.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..datasets.fetching import RemoteFile, github_raw_url
from ..families import INFRARED_VISUAL
from ..registry import register_algorithm
from .colour_spaces import quantisation, quantise, rgb_to_single_channel, rgb_to_ycbcr, unit_planes, ycbcr_to_rgb
from .pretrained import (TiledRunner, channels_last, check_device, check_tile_size, infrared_visual_pair,
                         load_weights, move_tensors)

NAME = "seafusion"
VERSION = "1"
CITATION = ("Tang, Yuan, Ma, Image fusion in the loop of high-level vision tasks: a semantic-aware real-time "
            "infrared and visible image fusion network, Information Fusion 82 (2022) 28-42")
UPSTREAM_REPOSITORY = "Linfeng-Tang/VIF-Benchmark"
UPSTREAM_COMMIT = "23f2e51fc1b084310d998999222ce02dc364b6eb"
WEIGHTS = RemoteFile(
    mirror_path="models/seafusion/weights/SeAFusion.pth",
    url=github_raw_url(UPSTREAM_REPOSITORY, UPSTREAM_COMMIT, "Checkpoint/SeAFusion/SeAFusion.pth"),
    sha256="8d65a7f9a50f36349803368cf9920f40420776995e7e8cc8a56d8d30e499431d",
    size=682_043,
)
COLOUR_SPACE = "seafusion"
INFRARED_GREY = "pillow-L"
DEFAULT_QUANTISATION = "minmax-truncate"
RECEPTIVE_FIELD_RADIUS = 1 + 2 + 2 + 4
DEFAULT_TILE_SIZE = 768
_ENCODER_BLOCKS = ("rgbd1", "rgbd2")
_DECODER_LAYERS = ("decode4", "decode3", "decode2")


class SeAFusion:
    """SeAFusion with the authors' weights; sources (visible, infrared); RGB output.

    Options: ``device`` (auto|cpu|cuda), ``tile_size`` (largest tile side in pixels, ``none`` for
    one pass; tiles overlap by the receptive field, so the output is the same), ``quantisation``
    (float -> uint8 rule of :mod:`fusionbench.models.colour_spaces`; default the reference run's
    ``minmax-truncate``).
    """

    def __init__(self, device: str = "auto", tile_size: Any = DEFAULT_TILE_SIZE,
                 quantisation: str = DEFAULT_QUANTISATION):
        self.device = check_device(device)
        self.tile_size = check_tile_size(tile_size)
        self.quantisation = _quantisation_name(quantisation)
        self._runner: TiledRunner | None = None

    def identity(self) -> dict[str, Any]:
        """What decides the output beyond the options: the weights' SHA-256 and the conversions."""
        return {"weights_sha256": [WEIGHTS.sha256], "colour_space": COLOUR_SPACE, "infrared_grey": INFRARED_GREY,
                "quantisation": self.quantisation}

    def runner(self) -> TiledRunner:
        """The network on its device (weights fetched and torch imported on first use)."""
        if self._runner is None:
            network = SeAFusionNetwork(load_weights(WEIGHTS))
            self._runner = TiledRunner(network, self.device, self.tile_size, RECEPTIVE_FIELD_RADIUS)
            network.to(self._runner.device)
        return self._runner

    def fuse(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(visible, infrared) uint8 -> RGB uint8 of the same size."""
        visible, infrared = infrared_visual_pair(images, NAME)
        if visible.ndim == 2:
            visible = np.repeat(visible[:, :, None], 3, axis=2)  # Pillow's convert('RGB') of grey
        luma, cb, cr = rgb_to_ycbcr(unit_planes(visible), COLOUR_SPACE)
        thermal = unit_planes(rgb_to_single_channel(infrared, INFRARED_GREY))
        fused_luma = self.runner().run([luma, thermal])[0]
        return quantise(ycbcr_to_rgb(fused_luma, cb, cr, COLOUR_SPACE), self.quantisation)


def _quantisation_name(name: Any) -> str:
    return quantisation(str(name).strip().lower()).name


class SeAFusionNetwork:
    """The forward pass on prepared tensors: ``network([visible_y, infrared]) -> fused_y``, (1, 1, h, w) each.

    ``state`` is the authors' ``state_dict`` (keys ``vis_conv.conv.weight`` ...); unknown,
    missing or mis-shaped tensors raise a ConfigError. Built on the CPU; ``to(device)`` moves it.
    """

    def __init__(self, state: dict):
        import torch

        from ..errors import ConfigError

        if not isinstance(state, dict):
            raise ConfigError(f"{WEIGHTS.file_name}: expected a state dict, got {type(state).__name__}")
        tensors = {key: value.detach().to(torch.float32) for key, value in state.items()
                   if isinstance(value, torch.Tensor) and value.is_floating_point()}
        used: set[str] = set()

        def take(key: str, shape: tuple[int, ...]) -> "torch.Tensor":
            value = tensors.get(key)
            if value is None or tuple(value.shape) != shape:
                found = "missing" if value is None else f"shape {tuple(value.shape)}"
                raise ConfigError(f"{WEIGHTS.file_name}: {key} is {found}, expected shape {shape}; "
                                  f"not the released SeAFusion weights")
            used.add(key)
            return value.clone()

        self.branches = [self._encoder(take, prefix) for prefix in ("vis", "inf")]
        self.decoder = [(take(f"{layer}.conv.weight", (out, inp, 3, 3)), take(f"{layer}.conv.bias", (out,)))
                        for layer, inp, out in zip(_DECODER_LAYERS, (96, 64, 32), (64, 32, 16))]
        weight, bias = self.decoder[0]  # sees concat(visible encoding, infrared encoding)
        self.decoder[0] = (weight[:, :48], weight[:, 48:], bias)
        self.head = (take("decode1.conv.weight", (1, 16, 3, 3)), take("decode1.conv.bias", (1,)))
        ignored = {key for key in tensors if ".bn." in key}  # defined upstream but never called
        unexpected = sorted(set(tensors) - used - ignored)
        if unexpected:
            raise ConfigError(f"{WEIGHTS.file_name}: unexpected tensors {unexpected[:5]}; "
                              f"not the released SeAFusion weights")

    @staticmethod
    def _encoder(take, prefix: str) -> dict:
        encoder = {"stem": (take(f"{prefix}_conv.conv.weight", (16, 1, 3, 3)), take(f"{prefix}_conv.conv.bias", (16,))),
                   "blocks": []}
        for block, (channels, out) in zip(_ENCODER_BLOCKS, ((16, 32), (32, 48))):
            key = f"{prefix}_{block}"
            first = (take(f"{key}.dense.conv1.conv.weight", (channels, channels, 3, 3)),
                     take(f"{key}.dense.conv1.conv.bias", (channels,)))
            second = take(f"{key}.dense.conv2.conv.weight", (channels, 2 * channels, 3, 3))
            # conv(concat(input, first), W) == conv(input, W[:, :C]) + conv(first, W[:, C:]).
            second = (second[:, :channels], second[:, channels:], take(f"{key}.dense.conv2.conv.bias", (channels,)))
            gradient = (take(f"{key}.sobelconv.convx.weight", (channels, 1, 3, 3)),
                        take(f"{key}.sobelconv.convy.weight", (channels, 1, 3, 3)))
            down = take(f"{key}.convdown.conv.weight", (out, 3 * channels, 1, 1))[:, :, 0, 0]
            up = take(f"{key}.convup.conv.weight", (out, channels, 1, 1))[:, :, 0, 0]
            # down(concat(input, first, second)) + up(|gx| + |gy|), as matrices (channels in, out)
            # applied to each part: the 1x1 convolutions are matrix products of channels-last maps.
            mix = tuple(part.t().contiguous() for part in (*down.split(channels, dim=1), up))
            mix_bias = take(f"{key}.convdown.conv.bias", (out,)) + take(f"{key}.convup.conv.bias", (out,))
            encoder["blocks"].append({"channels": channels, "out": out, "first": first, "second": second,
                                      "gradient": gradient, "mix": mix, "mix_bias": mix_bias})
        return encoder

    def to(self, device) -> "SeAFusionNetwork":
        """Move every tensor to ``device`` (4-D weights in channels-last order)."""
        self.branches, self.decoder, self.head = move_tensors((self.branches, self.decoder, self.head), device)
        return self

    def __call__(self, inputs: Sequence) -> "torch.Tensor":
        import torch.nn.functional as F

        visible, infrared = (_encode(branch, channels_last(image)) for branch, image in zip(self.branches, inputs))
        (from_visible, from_infrared, bias), *decoder = self.decoder
        features = F.conv2d(visible, from_visible, bias, padding=1).add_(F.conv2d(infrared, from_infrared, padding=1))
        del visible, infrared
        features = F.leaky_relu_(features, 0.2)
        for weight, bias in decoder:
            features = F.leaky_relu_(F.conv2d(features, weight, bias, padding=1), 0.2)
        weight, bias = self.head
        return F.conv2d(features, weight, bias, padding=1).tanh_().mul_(0.5).add_(0.5)


def _encode(branch: dict, image):
    """One encoder (stem and two blocks): (1, 1, h, w) -> (1, 48, h, w), channels-last.

    Nothing is concatenated: a convolution of a concatenation is computed as the sum of the
    convolutions of its parts (writing channel slices of channels-last maps costs about five
    in-place passes each; this is ~7 % faster on the CPU than filling a shared buffer).
    """
    import torch
    import torch.nn.functional as F

    weight, bias = branch["stem"]
    features = F.leaky_relu_(F.conv2d(image, weight, bias, padding=1), 0.2)
    for block in branch["blocks"]:
        channels = block["channels"]
        weight, bias = block["first"]
        first = F.leaky_relu_(F.conv2d(features, weight, bias, padding=1), 0.2)
        from_input, from_first, bias = block["second"]
        second = F.conv2d(features, from_input, bias, padding=1).add_(F.conv2d(first, from_first, padding=1))
        second = F.leaky_relu_(second, 0.2)
        gradient_x, gradient_y = (F.conv2d(features, weight, padding=1, groups=channels)
                                  for weight in block["gradient"])
        gradient = gradient_x.abs_().add_(gradient_y.abs_())
        del gradient_x, gradient_y
        output = torch.empty((features.shape[0], block["out"]) + features.shape[2:], dtype=features.dtype,
                             device=features.device, memory_format=torch.channels_last)
        matrix = _as_matrix(output)
        parts = (features, first, second, gradient)
        torch.addmm(block["mix_bias"], _as_matrix(parts[0]), block["mix"][0], out=matrix)
        for part, weights in zip(parts[1:], block["mix"][1:]):
            matrix.addmm_(_as_matrix(part), weights)
        del parts, first, second, gradient
        features = F.leaky_relu_(output, 0.1)
    return features


def _as_matrix(features):
    """A channels-last (N, C, H, W) map as the (N*H*W, C) matrix it is in memory (a view, no copy)."""
    return features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])


register_algorithm(NAME, families=(INFRARED_VISUAL,), min_inputs=2, max_inputs=2, colour="any", version=VERSION,
                   citation=CITATION,
                   summary="SeAFusion (Tang et al. 2022), authors' weights; sources visible, infrared; RGB output",
                   defaults={"device": "auto", "tile_size": DEFAULT_TILE_SIZE,
                             "quantisation": DEFAULT_QUANTISATION})(SeAFusion)
