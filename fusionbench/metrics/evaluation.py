"""Computing registered metrics on decoded images: validation, colour policy, protocol.

``compute_metric`` / ``compute_metrics`` take uint8 arrays as :func:`fusionbench.image_io.read_image`
decodes them (grey H x W or RGB H x W x 3; other dtypes are converted by the same rules as files,
so NaN/inf or out-of-range floats are refused), check that all images have the same size and the
sources the same channel count, convert to MATLAB-rounded grey once, arrange the sources by the
protocol and call each metric. The result is always a finite float or a :class:`MetricError`.

To evaluate several metrics on the same images one call at a time (as the harness does, to record
each metric's failure separately), keep one :class:`MetricInputs` and call
:meth:`MetricInputs.compute` per metric: validation and each grey conversion then happen once per
image instead of once per call. Built-in metrics receive grey levels as uint8 (see
:func:`accepts_uint8_grey`); plugin metrics with ``colour="grey"`` receive float64 as documented.

Like creating an algorithm, evaluating metrics applies fusionbench's glibc allocator settings
(:mod:`fusionbench.allocator`; ``FUSIONBENCH_TUNE_ALLOCATOR=0`` leaves the allocator alone): the
metrics' full-size maps and FFT spectra are otherwise page-faulted afresh on every call, which
costs about 15% of their time.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

import numpy as np

from ..allocator import apply_unless_disabled
from ..errors import FusionBenchError, InputMismatchError, MetricError
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


def accepts_uint8_grey(function):
    """Mark a metric function as taking grey levels as uint8 arrays (H x W, 0..255).

    The evaluation then passes MATLAB-rounded grey as uint8 instead of float64 (the same values,
    an eighth of the memory, no conversion), and a fused-image-only metric (``sources=0``) gets no
    sources (``[]``), so they are not converted for it. The function must give exactly the value
    it gives on the float64 grey of the same levels (it still accepts float64 from direct calls).
    """
    function.accepts_uint8_grey = True
    return function


#: Pixels converted to grey per call of ``rgb_to_grey`` (its float64 temporary stays cache-sized).
GREY_CHUNK_PIXELS = 1 << 16


def grey_levels(image: np.ndarray) -> np.ndarray:
    """``rgb_to_grey(image)`` (uint8), converted a block of rows at a time: each pixel's grey
    level depends on that pixel alone, so the result is the same array, without the whole image's
    float64 temporary (24 bytes per pixel, page-faulted afresh on every call)."""
    if image.ndim == 2:
        return image
    grey = np.empty(image.shape[:2], np.uint8)
    rows = max(GREY_CHUNK_PIXELS // image.shape[1], 1)
    for start in range(0, image.shape[0], rows):
        grey[start:start + rows] = rgb_to_grey(image[start:start + rows])
    return grey


def _takes_uint8_grey(spec: MetricSpec) -> bool:
    return spec.colour == "grey" and getattr(spec.function, "accepts_uint8_grey", False)


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


class MetricInputs:
    """A fused image and its sources, validated once and converted once per colour form.

    ``MetricInputs(fused, sources).compute(name, protocol)`` equals
    ``compute_metrics([name], fused, sources, protocol)[name]``; keeping the object for all the
    metrics of one fused image saves the repeated validation and grey conversions (about 2 ms per
    colour image and metric call at 520x520). Nothing is done before the first use; invalid
    images raise the same :class:`InputMismatchError` (or :class:`ImageError`) from every call.
    The arrays must not be modified while the object is in use (conversions are cached).
    """

    def __init__(self, fused: np.ndarray, sources: Sequence[np.ndarray], labels: Sequence[str] | None = None):
        apply_unless_disabled()
        self._given = (fused, list(sources), labels)
        self._decoded: tuple[np.ndarray, list[np.ndarray]] | None = None
        self._error: FusionBenchError | None = None
        self._forms: dict[tuple[str, int], np.ndarray] = {}

    @property
    def decoded(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The validated uint8 images (fused, sources) as given."""
        if self._decoded is None and self._error is None:
            try:
                self._decoded = prepare_images(*self._given)
            except FusionBenchError as error:
                self._error = error
        if self._error is not None:
            raise self._error
        return self._decoded

    @property
    def source_count(self) -> int:
        return len(self._given[1])

    def _image(self, form: str, index: int) -> np.ndarray:
        """Image ``index`` (0: fused, 1..: sources) in ``form``: any, colour, grey (float64) or uint8-grey."""
        key = (form, index)
        if key not in self._forms:
            fused, sources = self.decoded
            if form == "any":
                return ([fused] + sources)[index]
            if form == "grey":
                self._forms[key] = self._image("uint8-grey", index).astype(np.float64)
            elif form == "uint8-grey":
                self._forms[key] = grey_levels(([fused] + sources)[index])
            else:
                self._forms[key] = to_colour(([fused] + sources)[index])
        return self._forms[key]

    def arguments(self, spec: MetricSpec) -> tuple[np.ndarray, list[np.ndarray]]:
        """``(fused, sources)`` in the colour form ``spec``'s function takes (see :func:`accepts_uint8_grey`)."""
        form = "uint8-grey" if _takes_uint8_grey(spec) else spec.colour
        if form == "uint8-grey" and spec.sources == 0:
            return self._image(form, 0), []
        return self._image(form, 0), [self._image(form, index) for index in range(1, self.source_count + 1)]

    def compute(self, metric: str | MetricSpec, protocol: str = DEFAULT_PROTOCOL) -> float:
        """One metric's value on these images under ``protocol`` (a finite float or MetricError)."""
        spec = _spec(metric)
        get_protocol(protocol)
        return _evaluate(spec, self, protocol)


def _evaluate(spec: MetricSpec, images: MetricInputs, protocol_name: str) -> float:
    protocol = get_protocol(protocol_name)
    fused, sources = images.arguments(spec)
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
    return MetricInputs(fused, sources).compute(metric, protocol)


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
    images = MetricInputs(fused, sources)
    for spec in specs:
        images.arguments(spec)  # convert before any thread starts: the threads only read
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
