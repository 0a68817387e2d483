"""Parametrised over the registry: every registered metric (built-in or plugin) has a defined,
finite value on constant images and refuses bad input with a one-sentence FusionBenchError."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fusionbench.errors import FusionBenchError, ImageError, InputMismatchError, MetricError
from fusionbench.metrics import compute_metric, compute_metrics
from fusionbench.metrics.evaluation import applicable_metrics
from fusionbench.registry import get_metric, list_metrics

#: Documented values on constant images (F = A = B = 100, and F = A = 100 with B = 0).
CONSTANT_VALUES = {
    "AG": (0.0, 0.0), "SF": (0.0, 0.0), "EN": (0.0, 0.0), "SD": (0.0, 0.0), "MI": (0.0, 0.0),
    "NMI": (0.0, 0.0), "SCD": (0.0, 0.0), "ISSIM": (1.0, 1.0), "VIFF": (1.0, 1.0), "QCB": (1.0, 1.0),
    "QABF": (0.97479, 0.97479), "MEF-SSIM": (1.0, 1.0), "SSIM-SUM": (2.0, 1.00065),
}
SIZE = (64, 64)  # large enough for every window (MEF-SSIM needs 44 on the shorter side)


@pytest.mark.parametrize("name", list_metrics())
def test_constant_images_give_the_documented_value(name):
    constant = np.full(SIZE, 100, np.uint8)
    black = np.zeros(SIZE, np.uint8)
    same = compute_metric(name, constant, [constant, constant])
    mixed = compute_metric(name, constant, [constant, black])
    assert math.isfinite(same) and math.isfinite(mixed)
    if name in CONSTANT_VALUES:
        expected_same, expected_mixed = CONSTANT_VALUES[name]
        assert same == pytest.approx(expected_same, abs=1e-5)
        assert mixed == pytest.approx(expected_mixed, abs=1e-5)


def test_every_builtin_metric_has_a_documented_constant_value():
    builtin = {name for name in list_metrics() if get_metric(name).origin == "builtin"}
    assert builtin == set(CONSTANT_VALUES)


@pytest.mark.parametrize("name", list_metrics())
def test_mismatched_sizes_are_refused(name):
    fused = np.full(SIZE, 100, np.uint8)
    with pytest.raises(InputMismatchError, match="same size|sources' size"):
        compute_metric(name, fused, [fused, np.zeros((SIZE[0], SIZE[1] + 1), np.uint8)])
    with pytest.raises(InputMismatchError, match="fused image is 65x64"):
        compute_metric(name, np.zeros((SIZE[0], SIZE[1] + 1), np.uint8), [fused, fused])


@pytest.mark.parametrize("name", list_metrics())
def test_different_channel_counts_are_refused(name):
    grey = np.full(SIZE, 100, np.uint8)
    colour = np.full(SIZE + (3,), 100, np.uint8)
    with pytest.raises(InputMismatchError, match="channel"):
        compute_metric(name, grey, [grey, colour])


@pytest.mark.parametrize("name", list_metrics())
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_float_input_is_refused(name, bad):
    image = np.full(SIZE, 0.5)
    image[3, 4] = bad
    with pytest.raises(ImageError, match="NaN or infinite"):
        compute_metric(name, image, [np.full(SIZE, 0.5), np.full(SIZE, 0.25)])


@pytest.mark.parametrize("name", list_metrics())
def test_empty_images_are_refused(name):
    empty = np.zeros((0, 0), np.uint8)
    with pytest.raises(FusionBenchError, match="empty"):
        compute_metric(name, empty, [empty, empty])


@pytest.mark.parametrize("name", list_metrics())
def test_tiny_images_give_a_value_or_a_clear_error(name):
    tiny = np.array([[10, 20], [30, 40]], np.uint8)
    try:
        value = compute_metric(name, tiny, [tiny, tiny])
    except MetricError as error:
        assert "\n" not in str(error) and ("window" in str(error) or "pixels" in str(error))
    else:
        assert math.isfinite(value)


@pytest.mark.parametrize("name", [name for name in list_metrics() if get_metric(name).sources == 2])
def test_two_source_metrics_refuse_other_source_counts(name):
    image = np.full(SIZE, 100, np.uint8)
    with pytest.raises(MetricError, match="exactly 2 sources, got 3"):
        compute_metric(name, image, [image, image, image])
    assert name not in applicable_metrics(3)
    assert name in applicable_metrics(2)


def test_compute_metrics_matches_compute_metric():
    generator = np.random.default_rng(0)
    fused, a, b = (generator.integers(0, 256, SIZE + (3,), dtype=np.uint8) for _ in range(3))
    builtin = [name for name in list_metrics() if get_metric(name).origin == "builtin"]
    together = compute_metrics(builtin, fused, [a, b], "ifcnn-paper")
    assert list(together) == builtin
    for name, value in together.items():
        assert value == compute_metric(name, fused, [a, b], "ifcnn-paper")


def test_unknown_metric_suggests_a_name():
    image = np.zeros(SIZE, np.uint8)
    with pytest.raises(FusionBenchError, match="did you mean 'VIFF'"):
        compute_metric("VIF", image, [image, image])


def test_threaded_and_sequential_evaluation_agree():
    generator = np.random.default_rng(3)
    fused, a, b = (generator.integers(0, 256, (80, 90, 3), dtype=np.uint8) for _ in range(3))
    names = ["MEF-SSIM", "VIFF", "ISSIM", "NMI", "SF", "AG", "QABF", "QCB"]
    threaded = compute_metrics(names, fused, [a, b], workers=4)
    assert list(threaded) == names
    assert threaded == compute_metrics(names, fused, [a, b], workers=1)


def test_threaded_evaluation_raises_the_first_failure_in_order():
    tiny = np.full((20, 20), 7, np.uint8)  # too small for MEF-SSIM's three scales and VIFF's windows
    with pytest.raises(MetricError, match="VIFF needs images at least 41 pixels on the shorter side"):
        compute_metrics(["SF", "VIFF", "MEF-SSIM"], tiny, [tiny, tiny], workers=3)
    with pytest.raises(MetricError, match="MEF-SSIM needs images at least 44 pixels"):
        compute_metrics(["MEF-SSIM", "VIFF"], tiny, [tiny, tiny], workers=2)
