"""The example plugin's algorithm and metric compute what their docstrings say (hand-checkable cases)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from fusionbench.registry import ALGORITHMS, METRICS

PLUGIN_SOURCE = Path(__file__).resolve().parents[2] / "examples" / "fusionbench-example-plugin" / "src"


@pytest.fixture(scope="module")
def plugin():
    """The plugin's two modules, imported from the source tree (and unregistered afterwards)."""
    sys.path.insert(0, str(PLUGIN_SOURCE))
    try:
        algorithm = importlib.import_module("fusionbench_example_plugin.laplacian_energy")
        metric = importlib.import_module("fusionbench_example_plugin.entropy_gain")
        yield algorithm, metric
    finally:
        sys.path.remove(str(PLUGIN_SOURCE))
        ALGORITHMS.remove("laplacian-energy")
        METRICS.remove("EN-GAIN")
        for name in [name for name in sys.modules if name.startswith("fusionbench_example_plugin")]:
            del sys.modules[name]


def test_flat_sources_get_equal_weights(plugin):
    fused = ALGORITHMS.get("laplacian-energy").create().fuse([np.full((9, 9), 10, np.uint8),
                                                             np.full((9, 9), 20, np.uint8)])
    assert np.all(fused == 15)


def test_identical_sources_fuse_to_themselves(plugin):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (16, 12, 3), dtype=np.uint8)
    assert np.array_equal(ALGORITHMS.get("laplacian-energy").create().fuse([image, image, image]), image)


def test_the_textured_source_wins_where_it_is_textured(plugin):
    """Left half: A is a checkerboard, B flat; right half the other way round (a multi-focus toy)."""
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 200 + 20).astype(np.uint8)
    a = np.where(np.arange(32) < 16, checker, 120).astype(np.uint8)
    b = np.where(np.arange(32) >= 16, checker, 120).astype(np.uint8)
    fused = ALGORITHMS.get("laplacian-energy").create(window=3).fuse([a, b])
    # away from the seam, E_A is ~(4 * 200)^2 / 2 against eps = 1: the weight of the flat source is < 1e-5
    assert np.array_equal(fused[:, :12], a[:, :12]) and np.array_equal(fused[:, 20:], b[:, 20:])


def test_energy_of_a_hand_computed_laplacian(plugin):
    algorithm, _ = plugin
    image = np.zeros((5, 5), np.uint8)
    image[2, 2] = 10  # Laplacian: -40 at the centre, +10 at the four neighbours, 0 elsewhere
    energy = algorithm.laplacian_energy(image, window=3)
    assert energy[2, 2] == pytest.approx((40 ** 2 + 4 * 10 ** 2) / 9)
    assert energy[0, 0] == pytest.approx(0.0)


def test_entropy_gain_in_bits(plugin):
    _, metric = plugin
    half = np.zeros((4, 4)); half[:, 2:] = 255.0         # two equally likely values: 1 bit
    quarters = np.repeat(np.array([[0.0, 85, 170, 255]]), 4, axis=0)  # four equally likely: 2 bits
    constant = np.full((4, 4), 7.0)                       # 0 bits
    assert metric.grey_entropy(half) == pytest.approx(1.0)
    assert metric.entropy_gain(quarters, [half, constant]) == pytest.approx(1.0)
    assert metric.entropy_gain(half, [quarters]) == pytest.approx(-1.0)
    spec = METRICS.get("EN-GAIN")
    assert spec.higher_is_better and spec.sources is None and spec.colour == "grey"
