"""Protocols map an item's sources to a metric's source arguments."""
from __future__ import annotations

import numpy as np
import pytest

from fusionbench.errors import UnknownNameError
from fusionbench.metrics import compute_metric
from fusionbench.metrics.protocols import PROTOCOLS, Protocol, get_protocol
from fusionbench.registry import get_metric


def test_builtin_protocols():
    assert set(PROTOCOLS) >= {"standard", "ifcnn-paper"}
    for protocol in PROTOCOLS.values():
        assert protocol.name and protocol.description


def test_arrange():
    a, b, c = object(), object(), object()
    standard, paper = get_protocol("standard"), get_protocol("ifcnn-paper")
    assert standard.arrange([a, b], get_metric("VIFF")) == [a, b]
    assert paper.arrange([a, b], get_metric("VIFF")) == [a, a]
    # fused-only and stack metrics are unaffected
    assert paper.arrange([a, b, c], get_metric("SF")) == [a, b, c]
    assert paper.arrange([a, b, c], get_metric("MEF-SSIM")) == [a, b, c]


def test_unknown_protocol_suggests_a_name():
    with pytest.raises(UnknownNameError, match="did you mean 'ifcnn-paper'"):
        get_protocol("ifcnn")


def test_ifcnn_paper_equals_passing_the_first_source_twice():
    generator = np.random.default_rng(1)
    fused, a, b = (generator.integers(0, 256, (48, 50), dtype=np.uint8) for _ in range(3))
    for name in ["VIFF", "ISSIM", "NMI", "QABF", "MI"]:
        assert compute_metric(name, fused, [a, b], "ifcnn-paper") == compute_metric(name, fused, [a, a.copy()])
    assert compute_metric("SF", fused, [a, b], "ifcnn-paper") == compute_metric("SF", fused, [a, b])


def test_a_new_protocol_is_one_small_object():
    second_twice = Protocol("second-twice", "metric(B, B, F)", lambda sources: [sources[1], sources[1]])
    a, b = object(), object()
    assert second_twice.arrange([a, b], get_metric("NMI")) == [b, b]
    assert second_twice.arrange([a, b], get_metric("AG")) == [a, b]
