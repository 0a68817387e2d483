"""``seafusion``: the authors' weights reproduce the published runs pixel for pixel; options, tiling, CLI.

Reference pairs: ``models/seafusion/<set>/{vi,ir,fused}`` in the mirror (every pair of every set;
see PROVENANCE.md there). Each must agree within +-1 grey level on >= 99.9 % of its values; the
measured agreement is printed (``pytest -s``) and recorded as a test property.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fusionbench  # noqa: E402
from fusionbench.errors import ConfigError  # noqa: E402
from fusionbench.image_io import read_image, to_colour  # noqa: E402
from fusionbench.models import seafusion  # noqa: E402
from fusionbench.models.pretrained import load_weights  # noqa: E402
from reference_pairs import LARGE_PAIR_PROBE, WITHIN_ONE_GOAL, agreement, model_folder, pair_parameters  # noqa: E402


@pytest.fixture(scope="module")
def algorithm():
    if model_folder("seafusion") is None:
        pytest.skip("reference mirror models/seafusion not found in FUSIONBENCH_DATA (run via .ci/run)")
    return fusionbench.create_algorithm("seafusion", device="cpu")


@pytest.fixture(scope="module")
def state():
    if model_folder("seafusion") is None:
        pytest.skip("reference mirror models/seafusion not found in FUSIONBENCH_DATA (run via .ci/run)")
    return load_weights(seafusion.WEIGHTS)


@pytest.mark.parametrize("pair", pair_parameters("seafusion"))
def test_reproduces_the_published_run(algorithm, pair, record_property):
    visible, infrared = read_image(pair.visible), read_image(pair.infrared)
    reference = read_image(pair.fused)
    # The registry's fuse takes sources of one kind; fusionbench's commands and harness repeat a grey
    # source beside a colour one to RGB (image_io.match_channels), and so does this. The class itself
    # also takes the grey plane, with the same result (next test).
    fused = algorithm.fuse([visible, to_colour(infrared)], family="infrared-visual")
    measured = agreement(fused, reference)
    print(f"\nseafusion {pair.label}: {measured}")
    record_property("agreement", str(measured))
    assert fused.dtype == np.uint8 and fused.shape == visible.shape[:2] + (3,)
    assert measured.within_one >= WITHIN_ONE_GOAL, measured


def test_grey_and_equal_channel_infrared_give_the_same_result():
    pairs = [parameter.values[0] for parameter in pair_parameters("seafusion") if parameter.values[0] is not None]
    if not pairs:
        pytest.skip("reference mirror models/seafusion not found in FUSIONBENCH_DATA (run via .ci/run)")
    pair = min(pairs, key=lambda candidate: candidate.fused.stat().st_size)
    network = seafusion.SeAFusion(device="cpu")
    visible, infrared = read_image(pair.visible), read_image(pair.infrared)
    assert infrared.ndim == 2
    np.testing.assert_array_equal(network.fuse([visible, infrared]), network.fuse([visible, to_colour(infrared)]))


def plain_forward(state: dict, visible_y, infrared):
    """The authors' FusionNet forward, written out layer by layer with the stored tensors (no regrouping)."""
    import torch.nn.functional as F

    def conv(x, key, padding=1):
        return F.conv2d(x, state[f"{key}.weight"], state.get(f"{key}.bias"), padding=padding)

    def block(x, key):
        first = F.leaky_relu(conv(x, f"{key}.dense.conv1.conv"), 0.2)
        dense = torch.cat([x, first], 1)
        dense = torch.cat([dense, F.leaky_relu(conv(dense, f"{key}.dense.conv2.conv"), 0.2)], 1)
        channels = x.shape[1]
        sobel = sum(F.conv2d(x, state[f"{key}.sobelconv.conv{axis}.weight"], padding=1, groups=channels).abs()
                    for axis in "xy")
        return F.leaky_relu(conv(dense, f"{key}.convdown.conv", 0) + conv(sobel, f"{key}.convup.conv", 0), 0.1)

    def encoder(x, prefix):
        x = F.leaky_relu(conv(x, f"{prefix}_conv.conv"), 0.2)
        return block(block(x, f"{prefix}_rgbd1"), f"{prefix}_rgbd2")

    x = torch.cat([encoder(visible_y, "vis"), encoder(infrared, "inf")], 1)
    for layer in ("decode4", "decode3", "decode2"):
        x = F.leaky_relu(conv(x, f"{layer}.conv"), 0.2)
    return torch.tanh(conv(x, "decode1.conv")) / 2 + 0.5


def test_fast_network_equals_the_plain_forward(state):
    generator = torch.Generator().manual_seed(3)
    visible, infrared = (torch.rand(1, 1, 37, 53, generator=generator) for _ in range(2))
    network = seafusion.SeAFusionNetwork(state).to("cpu")
    with torch.inference_mode():
        fast, plain = network([visible, infrared]), plain_forward(state, visible, infrared)
    assert fast.shape == (1, 1, 37, 53)
    assert float((fast - plain).abs().max()) < 1e-5


@pytest.mark.parametrize("tile_size", [64, 100])
def test_tiles_give_the_whole_image_result(state, tile_size):
    generator = np.random.default_rng(5)
    visible = generator.integers(0, 256, (150, 230, 3), dtype=np.uint8)
    infrared = generator.integers(0, 256, (150, 230), dtype=np.uint8)
    whole = seafusion.SeAFusion(device="cpu", tile_size=None)
    tiled = seafusion.SeAFusion(device="cpu", tile_size=tile_size)
    luma = seafusion.rgb_to_ycbcr(seafusion.unit_planes(visible), "seafusion")[0]
    thermal = seafusion.unit_planes(infrared)
    whole_planes = whole.runner().run([luma, thermal])
    tiled_planes = tiled.runner().run([luma, thermal])
    assert float(np.abs(whole_planes - tiled_planes).max()) < 1e-5
    difference = np.abs(whole.fuse([visible, infrared]).astype(int) - tiled.fuse([visible, infrared]).astype(int))
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.999


def test_grey_visible_gives_rgb_output(state):
    generator = np.random.default_rng(8)
    visible = generator.integers(0, 256, (40, 60), dtype=np.uint8)
    infrared = generator.integers(0, 256, (40, 60), dtype=np.uint8)
    network = seafusion.SeAFusion(device="cpu")
    fused = network.fuse([visible, infrared])
    assert fused.shape == (40, 60, 3) and fused.dtype == np.uint8
    np.testing.assert_array_equal(fused, network.fuse([to_colour(visible), infrared]))


def test_weights_are_read_as_plain_data_only(monkeypatch, state):
    calls = []
    original = torch.load

    def recording_load(*arguments, **keywords):
        calls.append(keywords.get("weights_only"))
        return original(*arguments, **keywords)

    monkeypatch.setattr(torch, "load", recording_load)
    seafusion.SeAFusion(device="cpu").runner()
    assert calls == [True]


def test_identity_carries_the_weights_hash():
    identity = fusionbench.create_algorithm("seafusion").identity()
    assert identity["instance"]["weights_sha256"] == [
        "8d65a7f9a50f36349803368cf9920f40420776995e7e8cc8a56d8d30e499431d"]
    assert identity["instance"]["quantisation"] == "minmax-truncate"
    other = fusionbench.create_algorithm("seafusion", quantisation="minmax-round").identity()
    assert other["instance"]["quantisation"] == "minmax-round"


def test_weights_are_declared_with_a_pinned_url_and_hash():
    weights = seafusion.WEIGHTS
    assert weights.mirror_path == "models/seafusion/weights/SeAFusion.pth"
    assert weights.url == ("https://raw.githubusercontent.com/Linfeng-Tang/VIF-Benchmark/"
                           "23f2e51fc1b084310d998999222ce02dc364b6eb/Checkpoint/SeAFusion/SeAFusion.pth")
    assert len(weights.sha256) == 64 and weights.size == 682_043


def test_spec():
    spec = fusionbench.get_algorithm("seafusion")
    assert spec.families == ("infrared-visual",) and spec.min_inputs == spec.max_inputs == 2
    assert spec.defaults == {"device": "auto", "tile_size": 768, "quantisation": "minmax-truncate"}
    assert "Information Fusion" in spec.citation


@pytest.mark.parametrize("options,message", [
    ({"device": "tpu"}, r"unknown device 'tpu'; valid: auto, cpu, cuda"),
    ({"tile_size": "big"}, r"tile_size='big' is not a whole number"),
    ({"tile_size": 8}, r"tile_size=8 is too small"),
    ({"quantisation": "round"}, r"unknown quantisation 'round'; valid: .*minmax-truncate"),
])
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        fusionbench.create_algorithm("seafusion", **options)


def test_three_sources_are_refused():
    image = np.zeros((8, 8), dtype=np.uint8)
    with pytest.raises(Exception, match="at most 2"):
        fusionbench.create_algorithm("seafusion").fuse([image, image, image], family="infrared-visual")


def test_registration_does_not_import_torch():
    code = ("import sys, fusionbench; names = fusionbench.list_algorithms(); "
            "assert {'seafusion', 'didfuse'} <= set(names), names; "
            "fusionbench.create_algorithm('seafusion').identity(); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_fuse(tmp_path):
    pairs = [parameter.values[0] for parameter in pair_parameters("seafusion") if parameter.values[0] is not None]
    if not pairs:
        pytest.skip("reference mirror models/seafusion not found in FUSIONBENCH_DATA (run via .ci/run)")
    pair = min(pairs, key=lambda candidate: candidate.fused.stat().st_size)
    from fusionbench.image_io import write_png

    visible, infrared = tmp_path / "visible.png", tmp_path / "infrared.png"
    write_png(visible, read_image(pair.visible))
    write_png(infrared, read_image(pair.infrared))  # grey beside the colour visible image, as published
    output = tmp_path / "fused.png"
    finished = subprocess.run([sys.executable, "-m", "fusionbench", "fuse", "seafusion", str(visible), str(infrared),
                               "-o", str(output), "--device", "cpu"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    measured = agreement(read_image(output), read_image(pair.fused))
    assert measured.within_one >= WITHIN_ONE_GOAL, measured


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak from /proc/self/status")
def test_a_3000x2000_pair_fuses_in_bounded_memory():
    """Tiles of 768 pixels: measured peak 1.48-1.67 GiB for the whole process (torch and the pair included)."""
    if model_folder("seafusion") is None:
        pytest.skip("reference mirror models/seafusion not found in FUSIONBENCH_DATA (run via .ci/run)")
    finished = subprocess.run([sys.executable, "-c", LARGE_PAIR_PROBE, "seafusion"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    peak_mib = float(finished.stdout.split()[-1])
    print(f"\nseafusion 3000x2000: peak resident memory {peak_mib:.0f} MiB")
    assert peak_mib < 2000


def test_cuda_without_a_gpu_is_a_clear_error(state):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    image = np.zeros((16, 16), dtype=np.uint8)
    with pytest.raises(ConfigError, match="PyTorch sees no CUDA GPU"):
        seafusion.SeAFusion(device="cuda").fuse([image, image])
