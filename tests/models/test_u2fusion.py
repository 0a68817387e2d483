"""``u2fusion``: the authors' TensorFlow checkpoint, run in PyTorch, reproduces the published run; options, paths.

Reference pairs: ``models/u2fusion/<set>/{vi,ir,fused}`` in the mirror (every pair of every set;
see PROVENANCE.md there): VIF-Benchmark's wrapper run in Nonex111/vif_benchmark, TensorFlow 1 on
a GPU, saved with ``scipy.misc.imsave``. Each must agree within +-1 on >= 99.9 % of its values.
Measured (2026-12-07, fast path; the plain PyTorch pass gives the same to 1e-6):

======  ================  ==========  =====================================
pair    within +-1        exact       ``rescale=clip`` (no stretch), +-1
======  ================  ==========  =====================================
00881N  100 %             99.998 %    1.0 %
17      100 %             99.998 %    5.3 %
36      100 %             99.997 %    0.8 %
======  ================  ==========  =====================================

so the reference outputs were min-max stretched, as SciPy <= 1.1's ``imsave`` did to float images.
"""
from __future__ import annotations

import subprocess
import sys
from functools import lru_cache

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fusionbench  # noqa: E402
from fusionbench.errors import ConfigError  # noqa: E402
from fusionbench.image_io import match_channels, read_image  # noqa: E402
from fusionbench.models import u2fusion  # noqa: E402
from fusionbench.models.u2fusion_network import U2FusionNetwork  # noqa: E402
from reference_pairs import WITHIN_ONE_GOAL, agreement, model_folder, pair_parameters  # noqa: E402


def _require_mirror():
    if model_folder("u2fusion") is None:
        pytest.skip("reference mirror models/u2fusion not found in FUSIONBENCH_DATA (run via .ci/run)")


@lru_cache(maxsize=None)
def algorithm(**options):
    return fusionbench.create_algorithm("u2fusion", device="cpu", **options)


@lru_cache(maxsize=None)
def variables():
    from fusionbench.datasets.fetching import fetch
    from fusionbench.models.tf_checkpoint import read_tf_checkpoint

    return read_tf_checkpoint(fetch(u2fusion.CHECKPOINT_INDEX), [fetch(u2fusion.CHECKPOINT_DATA)])


@pytest.mark.parametrize("pair", pair_parameters("u2fusion"))
def test_reproduces_the_published_run(pair, record_property):
    # As fusionbench's commands and harness do: a grey source beside a colour one is repeated to RGB.
    sources = match_channels([read_image(pair.visible), read_image(pair.infrared)])
    reference = read_image(pair.fused)
    fused = algorithm().fuse(sources, family="infrared-visual")
    measured = agreement(fused, reference)
    clipped = agreement(algorithm(rescale="clip").fuse(sources, family="infrared-visual"), reference)
    print(f"\nu2fusion {pair.label}: {measured}; rescale=clip: {clipped}")
    record_property("agreement", str(measured))
    assert fused.dtype == np.uint8 and fused.shape == reference.shape
    assert measured.within_one >= WITHIN_ONE_GOAL, measured
    assert clipped.within_one < 0.5, clipped  # the reference run stretched its output


def test_registration():
    code = ("import sys, fusionbench; assert 'u2fusion' in fusionbench.list_algorithms(); "
            "assert 'torch' not in sys.modules and 'numba' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    spec = fusionbench.get_algorithm("u2fusion")
    assert spec.families == ("infrared-visual",) and spec.min_inputs == spec.max_inputs == 2
    assert spec.defaults["rescale"] == "minmax" and "TPAMI" in spec.citation
    identity = fusionbench.create_algorithm("u2fusion").identity()["instance"]
    assert identity["weights_sha256"] == [u2fusion.CHECKPOINT_INDEX.sha256, u2fusion.CHECKPOINT_DATA.sha256]


def test_checkpoint_is_pinned():
    base = "https://raw.githubusercontent.com/hanna-xu/U2Fusion/0a5882140df67b3e0b588e1f2233e18cf944f1a4/model/"
    assert u2fusion.CHECKPOINT_INDEX.url == base + "model.ckpt.index"
    assert u2fusion.CHECKPOINT_DATA.url == base + "model.ckpt.data-00000-of-00001"
    assert u2fusion.CHECKPOINT_INDEX.mirror_path == "models/u2fusion/weights/model.ckpt.index"


@pytest.mark.parametrize("options,message", [
    ({"rescale": "stretch"}, r"unknown rescale 'stretch'; valid: minmax, clip"),
    ({"device": "tpu"}, r"unknown device 'tpu'"),
    ({"fast": "maybe"}, r"fast='maybe' is not a yes/no value"),
])
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        fusionbench.create_algorithm("u2fusion", **options)


def test_scipy_bytescale():
    """SciPy <= 1.1 ``bytescale``: min -> 0, max -> 255, ``+ 0.5`` truncated; a constant image -> 0."""
    values = np.array([[0.2, 0.6], [1.0, 0.4]], dtype=np.float32)
    np.testing.assert_array_equal(u2fusion.scipy_bytescale(values), [[0, 128], [255, 64]])
    np.testing.assert_array_equal(u2fusion.scipy_bytescale(np.full((2, 3), 0.7, np.float32)), np.zeros((2, 3)))
    np.testing.assert_array_equal(u2fusion.clip_to_uint8(np.array([-0.1, 0.5, 1.2], np.float32)), [0, 128, 255])


def test_misfit_checkpoint_is_refused():
    _require_mirror()
    damaged = dict(variables())
    del damaged["Generator_1/decoder/conv2_3/bias"]
    damaged["Generator/encoder/conv1_1/kernel"] = damaged["Generator/encoder/conv1_1/kernel"][:, :, :1]
    with pytest.raises(ConfigError, match=r"model\.ckpt\.index: checkpoint does not fit U2Fusion's network: missing "
                                          r"variables Generator_1/decoder/conv2_3/bias; wrong shapes "
                                          r"Generator/encoder/conv1_1/kernel"):
        U2FusionNetwork(damaged, "model.ckpt.index")


@pytest.fixture(scope="module")
def planes():
    """Network inputs of the smallest reference pair, as (1, 1, H, W) tensors."""
    _require_mirror()
    from fusionbench.models.colour_spaces import rgb_to_single_channel, unit_planes

    pair = min((parameter.values[0] for parameter in pair_parameters("u2fusion")), key=lambda p: p.fused.stat().st_size)
    return [torch.from_numpy(unit_planes(rgb_to_single_channel(read_image(path), "pillow-L")))[None, None]
            for path in (pair.infrared, pair.visible)]


def test_fast_pass_equals_the_plain_one(planes):
    """Winograd F(4x4, 3x3) against PyTorch's convolutions: measured max |difference| 5e-7."""
    network = U2FusionNetwork(variables())
    with torch.inference_mode():
        plain, fast = network.plain(*planes), network.fast(*planes)
    assert fast.shape == plain.shape == planes[0].shape
    assert float((fast - plain).abs().max()) < 1e-5


def test_tiles_give_the_whole_image_result(planes):
    """64-pixel tiles with a 10-pixel halo (reflect padding at every layer) against one pass."""
    from fusionbench.models.pretrained import TiledRunner
    from fusionbench.models.u2fusion_network import RECEPTIVE_FIELD_RADIUS

    network = U2FusionNetwork(variables())
    arrays = [tensor[0, 0].numpy() for tensor in planes]
    whole = TiledRunner(lambda tiles: network(*tiles), "cpu", None, RECEPTIVE_FIELD_RADIUS).run(arrays)
    tiled = TiledRunner(lambda tiles: network(*tiles), "cpu", 64, RECEPTIVE_FIELD_RADIUS).run(arrays)
    assert np.abs(whole - tiled).max() < 1e-5


def test_grey_and_colour_inputs():
    _require_mirror()
    random = np.random.default_rng(1)
    grey_visible = random.integers(0, 256, (29, 41), dtype=np.uint8)
    grey_infrared = random.integers(0, 256, (29, 41), dtype=np.uint8)
    network = u2fusion.U2FusionFusion(device="cpu")
    grey = network.fuse([grey_visible, grey_infrared])
    assert grey.shape == (29, 41) and grey.dtype == np.uint8 and grey.min() == 0 and grey.max() == 255
    colour = network.fuse([np.repeat(grey_visible[:, :, None], 3, axis=2), grey_infrared])
    for channel in range(3):
        np.testing.assert_array_equal(colour[:, :, channel], grey)
    # An RGB infrared image is turned grey with Pillow's convert('L'), as scipy.misc.imread(mode='L') did.
    from PIL import Image

    rgb_infrared = random.integers(0, 256, (29, 41, 3), dtype=np.uint8)
    np.testing.assert_array_equal(network.fuse([grey_visible, rgb_infrared]),
                                  network.fuse([grey_visible, np.asarray(Image.fromarray(rgb_infrared).convert("L"))]))
