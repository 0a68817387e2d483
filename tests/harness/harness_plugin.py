"""Small, hand-computable algorithms and metrics for the harness tests.

Imported by the in-process tests through a fixture (registered, then removed) and by the
subprocess interruption test with ``--plugin harness_plugin`` (``PYTHONPATH=tests/harness``).
``FUSIONBENCH_TEST_SLEEP`` (seconds) slows ``test-slow-mean`` down so that a run can be killed
in the middle.
"""
from __future__ import annotations

import os
import time

import numpy as np

from fusionbench.errors import AlgorithmError
from fusionbench.registry import AlgorithmSpec, MetricSpec

PAIR_FAMILIES = ("multi-focus", "infrared-visual", "medical")


def mean_fusion(images):
    """floor(mean of the sources + 0.5): hand-computable."""
    return np.floor(np.mean([image.astype(np.float64) for image in images], axis=0) + 0.5).astype(np.uint8)


def max_fusion(images):
    return np.max(np.stack(images), axis=0)


def slow_mean_fusion(images):
    time.sleep(float(os.environ.get("FUSIONBENCH_TEST_SLEEP", "0")))
    return mean_fusion(images)


def broken_on_item_b(images):
    """Fails when the first source's top-left pixel is 200 (item 'b' of the test dataset)."""
    if int(images[0].flat[0]) == 200:
        raise AlgorithmError("test-broken refuses this item")
    return images[0].copy()


def _is_item_b(images) -> bool:
    return int(images[0].flat[0]) == 200


def abort_on_item_b(images):
    """Kills its process with SIGABRT on item 'b' (a plugin's C extension crashing, say)."""
    if _is_item_b(images):
        os.abort()
    return mean_fusion(images)


def exit_on_item_b(images):
    """``raise SystemExit`` on item 'b': not an Exception, so no ``except Exception`` stops it."""
    if _is_item_b(images):
        raise SystemExit(3)
    return mean_fusion(images)


def hang_on_item_b(images):
    """Never returns on item 'b'."""
    while _is_item_b(images):
        time.sleep(1)
    return mean_fusion(images)


def abort_once_per_item(images):
    """Kills its worker the first time it sees an item (marker files in FUSIONBENCH_TEST_MARKERS),
    then fuses it normally: a worker lost mid-run whose order, retried, succeeds."""
    import hashlib
    from pathlib import Path

    marker = Path(os.environ["FUSIONBENCH_TEST_MARKERS"]) / hashlib.sha256(images[0].tobytes()).hexdigest()
    if not marker.exists():
        marker.touch()
        os.abort()
    return mean_fusion(images)


def abort_metric_on_item_b(fused, sources):
    """A metric whose call kills the worker on item 'b' (standard protocol: sources[0] is A)."""
    if _is_item_b(sources):
        os.abort()
    return float(np.mean(fused))


def fused_mean(fused, sources):
    """Mean grey level of the fused image (fused-only metric)."""
    return float(np.mean(fused))


def distance_to_second(fused, sources):
    """Mean |F - S2| (lower is better): under ifcnn-paper S2 is the first source again."""
    return float(np.mean(np.abs(fused - sources[1])))


ALGORITHM_SPECS = [
    AlgorithmSpec("test-mean", mean_fusion, families=PAIR_FAMILIES, max_inputs=2, colour="grey", origin="tests"),
    AlgorithmSpec("test-max", max_fusion, families=PAIR_FAMILIES, max_inputs=2, colour="grey", origin="tests"),
    AlgorithmSpec("test-broken", broken_on_item_b, families=PAIR_FAMILIES, max_inputs=2, colour="grey",
                  origin="tests"),
    AlgorithmSpec("test-slow-mean", slow_mean_fusion, families=PAIR_FAMILIES, max_inputs=2, colour="grey",
                  origin="tests"),
    AlgorithmSpec("test-abort", abort_on_item_b, families=PAIR_FAMILIES, max_inputs=2, colour="grey",
                  origin="tests"),
    AlgorithmSpec("test-exit", exit_on_item_b, families=PAIR_FAMILIES, max_inputs=2, colour="grey", origin="tests"),
    AlgorithmSpec("test-hang", hang_on_item_b, families=PAIR_FAMILIES, max_inputs=2, colour="grey", origin="tests"),
    AlgorithmSpec("test-abort-once", abort_once_per_item, families=PAIR_FAMILIES, max_inputs=2, colour="grey",
                  origin="tests"),
]
METRIC_SPECS = [
    MetricSpec("TEST-FUSED-MEAN", fused_mean, higher_is_better=True, sources=0, origin="tests"),
    MetricSpec("TEST-DISTANCE-B", distance_to_second, higher_is_better=False, sources=2, origin="tests"),
    MetricSpec("TEST-ABORT-METRIC", abort_metric_on_item_b, higher_is_better=True, sources=2, origin="tests"),
]


def register() -> None:
    from fusionbench.registry import ALGORITHMS, METRICS

    ALGORITHMS.load()
    METRICS.load()
    for spec in ALGORITHM_SPECS:
        ALGORITHMS.add(spec)
    for spec in METRIC_SPECS:
        METRICS.add(spec)


def unregister() -> None:
    from fusionbench.registry import ALGORITHMS, METRICS

    for spec in ALGORITHM_SPECS:
        ALGORITHMS.remove(spec.name)
    for spec in METRIC_SPECS:
        METRICS.remove(spec.name)


if os.environ.get("FUSIONBENCH_TEST_PLUGIN_AUTOREGISTER") == "1":
    register()
