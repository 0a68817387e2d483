"""``didfuse``: the authors' weights reproduce their published results pixel for pixel; rules, tiling, options.

Reference pairs: ``models/didfuse/<set>/{vi,ir,fused}`` in the mirror (every pair of every set; see
PROVENANCE.md there). Each must agree within +-1 grey level on >= 99.9 % of its values; the
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
from fusionbench.models import didfuse  # noqa: E402
from fusionbench.models.colour_spaces import quantise  # noqa: E402
from reference_pairs import LARGE_PAIR_PROBE, WITHIN_ONE_GOAL, agreement, model_folder, pair_parameters  # noqa: E402


def _require_mirror():
    if model_folder("didfuse") is None:
        pytest.skip("reference mirror models/didfuse not found in FUSIONBENCH_DATA (run via .ci/run)")


@pytest.fixture(scope="module")
def algorithm():
    _require_mirror()
    return fusionbench.create_algorithm("didfuse", device="cpu")


@pytest.fixture(scope="module")
def states():
    _require_mirror()
    return didfuse._state(didfuse.ENCODER_WEIGHTS), didfuse._state(didfuse.DECODER_WEIGHTS)


@pytest.mark.parametrize("pair", pair_parameters("didfuse"))
def test_reproduces_the_published_results(algorithm, pair, record_property):
    visible, infrared = read_image(pair.visible), read_image(pair.infrared)
    reference = read_image(pair.fused)
    fused = algorithm.fuse([visible, infrared], family="infrared-visual")
    measured = agreement(fused, reference)
    print(f"\ndidfuse {pair.label}: {measured}")
    record_property("agreement", str(measured))
    assert fused.dtype == np.uint8 and fused.shape == visible.shape[:2]
    assert measured.within_one >= WITHIN_ONE_GOAL, measured


def test_rounding_not_truncation_matches_the_published_results():
    """Why ``scale-round`` is the default: truncating the same network output misses about half the pixels."""
    pairs = [parameter.values[0] for parameter in pair_parameters("didfuse") if parameter.values[0] is not None]
    if not pairs:
        _require_mirror()
    pair = min(pairs, key=lambda candidate: candidate.fused.stat().st_size)
    network = didfuse.DIDFuse(device="cpu")
    planes = [didfuse.unit_planes(read_image(path)) for path in (pair.infrared, pair.visible)]
    output = network.runner().run(planes)[0]
    reference = read_image(pair.fused)
    rounded, truncated = (agreement(quantise(output, rule), reference) for rule in ("scale-round", "scale-truncate"))
    print(f"\ndidfuse {pair.label}: scale-round {rounded}; scale-truncate {truncated}")
    assert rounded.exact > 0.999 and truncated.exact < 0.9


def plain_forward(encoder: dict, decoder: dict, infrared, visible, rule: str):
    """The authors' AE_Encoder / AE_Decoder and Test_fusion, layer by layer with unfolded BatchNorm."""
    import torch.nn.functional as F

    state = {**encoder, **decoder}

    def layer(x, name, conv, activation, reflect=False):
        prefix = f"{name}.{name}."
        if reflect:
            x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        x = F.conv2d(x, state[f"{prefix}{conv}.weight"], state[f"{prefix}{conv}.bias"], padding=0 if reflect else 1)
        norm = f"{prefix}{conv + 1}."
        x = F.batch_norm(x, state[norm + "running_mean"], state[norm + "running_var"], state[norm + "weight"],
                         state[norm + "bias"], training=False, eps=1e-5)
        if activation == "prelu":
            return F.prelu(x, state[f"{prefix}{conv + 2}.weight"])
        return torch.tanh(x) if activation == "tanh" else torch.sigmoid(x)

    def encode(x):
        first = layer(x, "cov1", 1, "prelu", reflect=True)
        second = layer(first, "cov2", 0, "prelu")
        return first, second, layer(second, "cov3", 0, "tanh"), layer(second, "cov4", 0, "tanh")

    def l1_addition(a, b):
        kernel = torch.ones(a.shape[1], a.shape[1], 3, 3) / 9
        activity_a, activity_b = (F.conv2d(x.abs(), kernel, padding=1) for x in (a, b))
        return activity_a / (activity_a + activity_b) * a + activity_b / (activity_a + activity_b) * b

    fuse = {"sum": lambda a, b: a + b, "average": lambda a, b: (a + b) / 2, "l1-norm": l1_addition}[rule]
    first, second, background, detail = (fuse(a, b) for a, b in zip(encode(infrared), encode(visible)))
    merged = layer(torch.cat([background, detail], 1), "cov5", 0, "prelu")
    refined = layer(torch.cat([merged, second], 1), "cov6", 0, "prelu")
    return layer(torch.cat([refined, first], 1), "cov7", 1, "sigmoid", reflect=True)


@pytest.mark.parametrize("rule", didfuse.FUSION_RULES)
def test_fast_network_equals_the_plain_forward(states, rule):
    generator = torch.Generator().manual_seed(4)
    infrared, visible = (torch.rand(1, 1, 41, 29, generator=generator) for _ in range(2))
    network = didfuse.DIDFuseNetwork(*states, fusion_rule=rule).to("cpu")
    with torch.inference_mode():
        fast, plain = network([infrared, visible]), plain_forward(*states, infrared, visible, rule)
    assert fast.shape == (1, 1, 41, 29)
    assert float((fast - plain).abs().max()) < 1e-5


@pytest.mark.parametrize("rule", didfuse.FUSION_RULES)
def test_tiles_give_the_whole_image_result(states, rule):
    generator = np.random.default_rng(6)
    planes = [generator.random((130, 210), dtype=np.float32) for _ in range(2)]
    whole = didfuse.DIDFuse(fusion_rule=rule, device="cpu", tile_size=None).runner().run(planes)
    tiled = didfuse.DIDFuse(fusion_rule=rule, device="cpu", tile_size=64).runner().run(planes)
    assert float(np.abs(whole - tiled).max()) < 1e-5


def test_sum_is_symmetric_and_colour_inputs_become_grey(states):
    generator = np.random.default_rng(9)
    visible = generator.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    infrared = generator.integers(0, 256, (30, 40), dtype=np.uint8)
    network = didfuse.DIDFuse(device="cpu")
    fused = network.fuse([visible, infrared])
    assert fused.shape == (30, 40) and fused.dtype == np.uint8
    grey_visible = didfuse.rgb_to_single_channel(visible, "pillow-L")
    np.testing.assert_array_equal(fused, network.fuse([grey_visible, infrared]))
    np.testing.assert_array_equal(fused, network.fuse([grey_visible, to_colour(infrared)]))
    np.testing.assert_array_equal(fused, network.fuse([infrared, grey_visible]))


def test_identity_carries_the_weights_hashes():
    identity = fusionbench.create_algorithm("didfuse").identity()["instance"]
    assert identity["weights_sha256"] == ["4d84a4e64e58469d3d4591f83c6683ead3e422498519db99bb617cb29d268471",
                                          "c6974e2a7c66ab579a77bacb086023237a229e769d459783bad8ff43e52e9986"]
    assert identity["fusion_rule"] == "sum" and identity["quantisation"] == "scale-round"


def test_weights_are_declared_with_pinned_urls_and_hashes():
    base = "https://raw.githubusercontent.com/Zhaozixiang1228/IVIF-DIDFuse/5f287300dce7cbc90b9e08e6872455af6baa279f/"
    assert didfuse.ENCODER_WEIGHTS.url == base + "Models/Encoder_weight_IJCAI.pkl"
    assert didfuse.DECODER_WEIGHTS.url == base + "Models/Decoder_weight_IJCAI.pkl"
    assert didfuse.ENCODER_WEIGHTS.mirror_path == "models/didfuse/weights/Encoder_weight_IJCAI.pkl"


def test_spec():
    spec = fusionbench.get_algorithm("didfuse")
    assert spec.families == ("infrared-visual",) and spec.min_inputs == spec.max_inputs == 2
    assert spec.defaults == {"fusion_rule": "sum", "device": "auto", "tile_size": 640,
                             "quantisation": "scale-round"}
    assert "IJCAI 2020" in spec.citation


@pytest.mark.parametrize("options,message", [
    ({"fusion_rule": "max"}, r"unknown fusion rule 'max'; valid: sum, average, l1-norm"),
    ({"device": "gpu"}, r"unknown device 'gpu'; valid: auto, cpu, cuda"),
    ({"tile_size": "none"}, None),
    ({"quantisation": "scale-truncate"}, None),
    ({"quantisation": "nearest"}, r"unknown quantisation 'nearest'"),
])
def test_options(options, message):
    if message is None:
        fusionbench.create_algorithm("didfuse", **options)
        return
    with pytest.raises(ConfigError, match=message):
        fusionbench.create_algorithm("didfuse", **options)


def test_a_state_dict_that_does_not_fit_is_a_clear_error(states):
    encoder, decoder = states
    broken = dict(encoder)
    broken["cov2.cov2.0.weight"] = broken["cov2.cov2.0.weight"][:32]
    with pytest.raises(ConfigError, match=r"cov2.cov2.0.weight is shape \(32, 64, 3, 3\), expected shape"):
        didfuse.DIDFuseNetwork(broken, decoder)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak from /proc/self/status")
def test_a_3000x2000_pair_fuses_in_bounded_memory():
    """Tiles of 640 pixels: measured peak 1.38-1.68 GiB, torch and the pair included (768: 2.24 GiB)."""
    _require_mirror()
    finished = subprocess.run([sys.executable, "-c", LARGE_PAIR_PROBE, "didfuse"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    peak_mib = float(finished.stdout.split()[-1])
    print(f"\ndidfuse 3000x2000: peak resident memory {peak_mib:.0f} MiB")
    assert peak_mib < 2000
