"""Computing registered metrics on decoded images: validation, colour policy, protocol.

``compute_metric`` / ``compute_metrics`` take uint8 arrays as :func:`fusionbench.image_io.read_image`
decodes them (grey H x W or RGB H x W x 3; other dtypes are converted by the same rules as files,
so NaN/inf or out-of-range floats are refused), check that all images have the same size and the
sources the same channel count, convert to MATLAB-rounded grey once, arrange the sources by the
protocol and call each metric. The result is always a finite float or a :class:`MetricError`.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

import numpy as np

from ..errors import InputMismatchError, MetricError
from ..image_io import check_sources, rgb_to_grey, to_colour, to_uint8
from ..registry import MetricSpec, get_metric, list_metrics
from .protocols import DEFAULT_PROTOCOL, get_protocol


def _spec(metric: str | MetricSpec) -> MetricSpec:
    return metric if isinstance(metric, MetricSpec) else get_metric(metric)


def prepare_images(fused: np.ndarray, sources: Sequence[np.ndarray],
                   labels: Sequence[str] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate and convert the fused image and sources to uint8 (see the module docstring)."""
    labels = list(labels) if labels is not None else ["fused image"] + [f"source {i + 1}" for i in range(len(sources))]
    images = [_as_uint8(image, label) for image, label in zip([fused, *sources], labels)]
    fused, sources = images[0], images[1:]
    if sources:
        check_sources(sources, labels[1:])
        if fused.shape[:2] != sources[0].shape[:2]:
            raise InputMismatchError(
                f"{labels[0]} is {fused.shape[1]}x{fused.shape[0]} but {labels[1]} is "
                f"{sources[0].shape[1]}x{sources[0].shape[0]}; the fused image must have the sources' size")
    return fused, sources


def _as_uint8(image: np.ndarray, label: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputMismatchError(f"{label} has shape {image.shape}, expected H x W (grey) or H x W x 3 (RGB)")
    if image.size == 0:
        raise InputMismatchError(f"{label} is empty")
    return to_uint8(image, label)


def _grey_float(image: np.ndarray) -> np.ndarray:
    return rgb_to_grey(image).astype(np.float64)


def _check_source_count(spec: MetricSpec, arranged: list) -> None:
    if spec.sources == 2 and len(arranged) != 2:
        raise MetricError(f"{spec.name} compares the fused image with exactly 2 sources, got {len(arranged)}; "
                          "evaluate it on two-source items (or use a protocol that selects two)")
    if spec.sources is None and len(arranged) < 2:
        raise MetricError(f"{spec.name} compares the fused image with a stack of at least 2 sources, "
                          f"got {len(arranged)}")


def metric_applies(spec: MetricSpec, source_count: int) -> bool:
    """True when ``spec`` can be evaluated on an item with ``source_count`` sources."""
    if spec.sources == 0:
        return True
    if spec.sources is None:
        return source_count >= 2  # stack metrics compare several exposures (MEF-SSIM refuses one)
    return source_count == spec.sources


def applicable_metrics(source_count: int, names: Iterable[str] | None = None) -> list[str]:
    """Registered metric names (all, or ``names``) that apply to ``source_count`` sources."""
    candidates = list(names) if names is not None else list_metrics()
    return [name for name in candidates if metric_applies(_spec(name), source_count)]


class _PreparedImages:
    """The images of one evaluation in every colour form a metric may ask for, converted once."""

    def __init__(self, fused: np.ndarray, sources: list[np.ndarray]):
        self.decoded = (fused, sources)
        self._forms: dict[str, tuple[np.ndarray, list[np.ndarray]]] = {"any": self.decoded}

    def form(self, policy: str) -> tuple[np.ndarray, list[np.ndarray]]:
        if policy not in self._forms:
            convert = _grey_float if policy == "grey" else to_colour
            fused, sources = self.decoded
            self._forms[policy] = (convert(fused), [convert(source) for source in sources])
        return self._forms[policy]


def _evaluate(spec: MetricSpec, images: _PreparedImages, protocol_name: str) -> float:
    protocol = get_protocol(protocol_name)
    fused, sources = images.form(spec.colour)
    arranged = protocol.arrange(sources, spec)
    _check_source_count(spec, arranged)
    try:
        value = spec.function(fused, arranged)
    except MetricError as error:
        message = str(error)
        if message.startswith(spec.name):
            raise
        raise MetricError(f"{spec.name}: {message}") from None  # say which metric refused
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise MetricError(f"{spec.name} returned {type(value).__name__}, expected a number") from None
    if not math.isfinite(value):
        raise MetricError(f"{spec.name} gave a non-finite value ({value}) on these images")
    return value


def compute_metric(metric: str | MetricSpec, fused: np.ndarray, sources: Sequence[np.ndarray],
                   protocol: str = DEFAULT_PROTOCOL) -> float:
    """One metric's value for a fused image and its sources under ``protocol``."""
    spec = _spec(metric)
    get_protocol(protocol)
    fused, sources = prepare_images(fused, sources)
    return _evaluate(spec, _PreparedImages(fused, sources), protocol)


def compute_metrics(names: Iterable[str | MetricSpec], fused: np.ndarray, sources: Sequence[np.ndarray],
                    protocol: str = DEFAULT_PROTOCOL, workers: int | None = None) -> dict[str, float]:
    """Several metrics on the same images; validation and grey conversion happen once.

    Independent metrics run concurrently in up to ``workers`` threads (default: one per CPU,
    at most 4): their NumPy and OpenCV kernels release the GIL, so on a 2-core machine the six
    paper metrics of one pair take about half the wall time. Values do not depend on ``workers``
    (each metric is a pure function of the same arrays); ``workers=1`` runs them in order.
    The first failing metric, in the order of ``names``, raises.
    """
    specs = [_spec(name) for name in names]
    get_protocol(protocol)
    fused, sources = prepare_images(fused, sources)
    images = _PreparedImages(fused, sources)
    for policy in {spec.colour for spec in specs}:
        images.form(policy)  # convert before any thread starts: the threads only read
    workers = min(len(specs), workers or min(os.cpu_count() or 1, 4))
    if workers <= 1:
        return {spec.name: _evaluate(spec, images, protocol) for spec in specs}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fusionbench-metric") as pool:
        # Longest first (by a rough cost rank) so the short ones fill the gaps.
        futures = {spec.name: pool.submit(_evaluate, spec, images, protocol)
                   for spec in sorted(specs, key=lambda spec: -_COST_RANK.get(spec.name, 1))}
        return {spec.name: futures[spec.name].result() for spec in specs}


#: Rough relative cost of the built-in metrics on a 520x520 pair (for scheduling only).
_COST_RANK = {"MEF-SSIM": 10, "QCB": 7, "QABF": 6, "VIFF": 5, "ISSIM": 4, "SSIM-SUM": 2}
