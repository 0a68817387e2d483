"""A plugin's failures become AlgorithmError (recorded per item by the harness), never a crash."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from fusionbench.errors import AlgorithmError, ConfigError
from fusionbench.registry import AlgorithmSpec


def _algorithm(function, **spec_fields):
    return AlgorithmSpec(name="probe", factory=function, origin="tests", **spec_fields).create()


GREY_PAIR = [np.full((6, 5), 40, np.uint8), np.full((6, 5), 80, np.uint8)]


def test_a_correct_plugin_output_passes_through_unchanged():
    fused = _algorithm(lambda images: (images[0] // 2 + images[1] // 2)).fuse(GREY_PAIR)
    assert fused.dtype == np.uint8 and fused.shape == (6, 5)
    assert np.all(fused == 60)


def test_an_exception_inside_the_plugin_becomes_an_algorithm_error_naming_it():
    def raising(images):
        raise ZeroDivisionError("division by zero in my plugin")

    with pytest.raises(AlgorithmError, match=r"probe raised ZeroDivisionError: division by zero in my plugin"):
        _algorithm(raising).fuse(GREY_PAIR)


@pytest.mark.parametrize("output, message", [
    (np.zeros((5, 5), np.uint8), r"shape \(5, 5\), expected \(6, 5\)"),
    (np.zeros((6, 5, 4), np.uint8), r"shape \(6, 5, 4\)"),
    (np.zeros(30, np.uint8), r"shape \(30,\)"),
    (np.zeros((6, 5), np.float64), r"dtype float64, expected uint8"),
    (np.full((6, 5), np.nan), r"NaN or infinite"),
    (np.full((6, 5), np.inf, np.float32), r"NaN or infinite"),
    ([[0] * 5] * 6, r"returned list, expected a numpy array"),
    (None, r"returned NoneType"),
])
def test_unusable_outputs_are_refused_with_the_reason(output, message):
    with pytest.raises(AlgorithmError, match=message):
        _algorithm(lambda images: output).fuse(GREY_PAIR)


def test_a_single_channel_third_axis_is_accepted_as_grey():
    fused = _algorithm(lambda images: images[0][:, :, None]).fuse(GREY_PAIR)
    assert fused.shape == (6, 5) and np.all(fused == 40)


def test_a_class_plugin_whose_constructor_fails_is_an_algorithm_error():
    class NeedsWeights:
        def __init__(self):
            raise FileNotFoundError("weights.pth")

        def fuse(self, images):  # pragma: no cover - never reached
            return images[0]

    with pytest.raises(AlgorithmError, match=r"'probe' could not be created: FileNotFoundError: weights.pth"):
        _algorithm(NeedsWeights)


def test_a_class_plugin_with_bad_options_is_a_config_error():
    class Windowed:
        def __init__(self, window=3):
            self.window = window

        def fuse(self, images):
            return images[0]

    with pytest.raises(ConfigError, match="bad options"):
        AlgorithmSpec(name="probe", factory=Windowed, origin="tests").create(size=4)


def test_the_broken_test_plugin_fails_exactly_as_documented(monkeypatch):
    from fusionbench.registry import ALGORITHMS, load_plugin

    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[2])
    load_plugin("tests.plugins.broken_plugin")
    try:
        algorithm = ALGORITHMS.get("broken-plugin").create()
        with pytest.raises(AlgorithmError, match="RuntimeError: deliberate failure on a dark item"):
            algorithm.fuse([np.full((4, 4), 10, np.uint8)] * 2)
        with pytest.raises(AlgorithmError, match=r"shape \(3, 4\), expected \(4, 4\)"):
            algorithm.fuse([np.full((4, 4), 250, np.uint8)] * 2)
        fused = algorithm.fuse([np.full((4, 4), 100, np.uint8), np.full((4, 4), 110, np.uint8)])
        assert np.all(fused == 105)
    finally:
        ALGORITHMS.remove("broken-plugin")
        sys.modules.pop("tests.plugins.broken_plugin", None)
