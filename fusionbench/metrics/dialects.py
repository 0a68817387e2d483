"""Metric dialects: one name, one table saying how each metric is computed in a paper's or toolbox's code.

A :class:`Dialect` maps metric names to :class:`Rule` rows. A rule names the *core* function
(one of fusionbench's metric cores, with keyword parameters: no metric is implemented twice)
and the input conventions around it: argument order, colour handling, how a single-channel
source pairs with colour planes, and how the two source terms combine. Three dialects are
registered:

* ``fusionbench``: the registered metrics under the ``standard`` protocol (metric(A, B, F), grey
  by MATLAB-rounded ``rgb2gray``), identical values to :func:`compute_metric`;
* ``ifcnn-paper``: the registered metrics under the ``ifcnn-paper`` protocol (metric(A, A, F));
* ``vifb``: the 13 metrics of VIFB (Zhang, Ye & Xiao, CVPRW 2020; ``xingchenzhang/VIFB`` at
  22b2ea9d, folder ``metrics/``) as its MATLAB code computes them: visible, infrared, fused
  argument order; every metric on each RGB plane of the fused image separately and the three
  results averaged (plane k of the visible image, and plane k of the infrared image, or its only
  plane when it is single-channel); see each rule's description.

``compute_in_dialect(dialect, metric, fused, sources)`` takes uint8 arrays as
:func:`fusionbench.image_io.read_image` decodes them, sources in the dataset's order (visible
first, then infrared). :meth:`Dialect.compute_many` computes several metrics of one fused image
with the same values, all their colour planes in one pool of threads.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Mapping, Sequence

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from ..allocator import apply_unless_disabled
from ..errors import InputMismatchError, MetricError, UnknownNameError
from ..image_io import match_channels
from ..registry import get_metric, list_metrics, unknown_name_message
from . import chen_blum, chen_varshney, differences, gradients, image_memo, mutual_information, qabf, ssim_sum, \
    statistics
from .evaluation import MetricInputs, _as_uint8


@dataclass(frozen=True)
class Rule:
    """How one metric is computed in a dialect.

    ``core``: the function. ``parameters``: keyword arguments for it. ``call``: how it is called:

    * ``"fused"``: ``core(F, [], **parameters)`` (fused-image-only registered cores);
    * ``"fused-sources"``: ``core(F, [X1, X2], **parameters)`` (two-source registered cores, which
      combine the two terms themselves);
    * ``"pairwise"``: ``core(X, F, **parameters)`` per source, then combined by ``combine``
      (``"sum"`` or ``"mean"``) and passed through ``finish`` if given;
    * ``"image"``: ``core(F, **parameters)`` on the whole (multi-plane) image;
    * ``"triple"``: ``core(X1, X2, F, **parameters)``;
    * ``"registry"``: the registered metric under protocol ``protocol`` (fusionbench's own rules).

    ``colour``: ``"registry"`` (the metric's registered colour policy), ``"planes"`` (each plane of
    a colour fused image separately, the results averaged; source planes paired by index, a
    single-channel source paired with every plane), ``"planes-side-by-side"`` (the planes of a
    colour fused image placed side by side as one grey image, M x 3N) or ``"stack"`` (the
    image as it is, all planes together).

    ``higher_is_better``: the metric's direction in this dialect (rankings and tables read it; it
    does not change values, so it is not part of :meth:`Dialect.version`). ``same_as``: the
    registered metric this rule is a version of when the names differ (VIFB's ``SSIM`` is
    fusionbench's ``SSIM-SUM``), so that comparisons across dialects pair them.
    """

    core: Callable
    call: str
    colour: str
    description: str
    parameters: Mapping = field(default_factory=dict)
    order: tuple[int, ...] = (0, 1)
    combine: str | None = None
    finish: Callable[[float], float] | None = None
    protocol: str | None = None
    version: str = "1"
    #: Compute the planes in threads (the expensive cores release the GIL in OpenCV/NumPy; the
    #: planes are independent, so the value does not depend on it).
    parallel_planes: bool = False
    higher_is_better: bool = True
    same_as: str | None = None

    def core_name(self) -> str:
        return f"{self.core.__module__.rsplit('.', 1)[-1]}.{self.core.__name__}"


class Dialect:
    """A named table of :class:`Rule` rows (see the module docstring)."""

    def __init__(self, name: str, description: str, rules: Mapping[str, Rule] | Callable[[], Mapping[str, Rule]],
                 version: str = "1", protocol: str | None = None):
        self.name = name
        self.description = description
        self._rules = rules
        self._version = version
        #: The protocol whose registered metrics this dialect is (None: a dialect with rules of its own).
        self.protocol = protocol

    @property
    def label(self) -> str:
        """The ``protocol`` column's label of this dialect's values (its protocol's name, else its own)."""
        return self.protocol or self.name

    @property
    def rules(self) -> Mapping[str, Rule]:
        return self._rules() if callable(self._rules) else self._rules

    def metrics(self) -> list[str]:
        """The metric names this dialect defines, in its order."""
        return list(self.rules)

    def rule(self, metric: str) -> Rule:
        rules = self.rules
        if metric not in rules:
            raise UnknownNameError(unknown_name_message(f"metric of dialect {self.name!r}", metric, list(rules)))
        return rules[metric]

    def metric_names(self, requested: Sequence[str] | None, source_count: int) -> list[str]:
        """This dialect's names of ``requested`` (any case; names it lacks are left out), or, for None,
        every metric of it that applies to an item with ``source_count`` sources."""
        if requested is None and self.protocol is not None:
            from .evaluation import applicable_metrics

            return applicable_metrics(source_count)
        if requested is None:  # every rule of a dialect of its own compares a fused image with 2 sources
            return self.metrics() if source_count == 2 else []
        known = {name.casefold(): name for name in self.metrics()}
        return [known[name.casefold()] for name in requested if name.casefold() in known]

    def higher_is_better(self, metric: str) -> bool:
        """Is a higher value of ``metric`` better in this dialect?"""
        return self.rule(metric).higher_is_better

    def describe(self, metric: str) -> str:
        """One line: what this dialect does for ``metric`` (differently from fusionbench's own)."""
        return self.rule(metric).description

    def version(self, metric: str) -> str:
        """A string for cache keys: changes whenever the metric's value in this dialect may change."""
        rule = self.rule(metric)
        parameters = ",".join(f"{key}={value}" for key, value in sorted(rule.parameters.items()))
        return (f"{self.name}/{self._version}/{metric}/{rule.version}:{rule.core_name()}({parameters})"
                f"/{rule.call}/{rule.colour}/{rule.combine}/{rule.protocol}")

    def compute(self, metric: str, fused: np.ndarray, sources: Sequence[np.ndarray]) -> float:
        """``metric`` as this dialect computes it (a finite float or :class:`MetricError`)."""
        rule = self.rule(metric)
        apply_unless_disabled()  # as MetricInputs does: full-size maps reuse mapped pages (fusionbench.allocator)
        if rule.call == "registry":  # a grey source beside colour ones as its RGB repetition, as everywhere
            return MetricInputs(fused, match_channels(sources)).compute(metric, rule.protocol)
        fused, sources = _prepare(fused, sources)
        try:
            value = _apply(rule, fused, sources)
        except MetricError as error:
            raise MetricError(f"{metric} ({self.name}): {error}") from None
        return self._checked(metric, value)

    def _checked(self, metric: str, value: float) -> float:
        if not math.isfinite(value):
            raise MetricError(f"{metric} ({self.name}) gave a non-finite value ({value}) on these images")
        return value

    def compute_many(self, metrics: Sequence[str], fused: np.ndarray, sources: Sequence[np.ndarray]
                     ) -> dict[str, float | MetricError]:
        """Each of ``metrics`` as :meth:`compute` gives it (the same value), or the
        :class:`MetricError` it raised, for one fused image: the calls of all of them (one per
        colour plane) share one pool of :func:`plane_workers` threads, the expensive rules'
        (``parallel_planes``) first, so that both cores stay busy to the end instead of
        alternating between a metric's three planes and a serial cheap metric. Input errors (sizes,
        dtypes) are raised, as by :meth:`compute`."""
        apply_unless_disabled()
        results: dict[str, float | MetricError] = {}
        pieces: dict[str, tuple[list[Callable[[], float]], Callable[[list[float]], float]]] = {}
        prepared = None
        views = _PlaneViews()
        for metric in metrics:
            rule = self.rule(metric)
            if rule.call == "registry":
                try:
                    results[metric] = self.compute(metric, fused, sources)
                except MetricError as error:
                    results[metric] = error
                continue
            prepared = prepared or _prepare(fused, sources)
            try:
                pieces[metric] = _pieces(rule, *prepared, plane=views)
            except MetricError as error:
                results[metric] = MetricError(f"{metric} ({self.name}): {error}")
        order = sorted(pieces, key=lambda metric: not self.rule(metric).parallel_planes)
        workers = plane_workers()
        images = [*views.views.values(), *(prepared[0], *prepared[1])] if prepared else []
        with image_memo.keys_kept_for(images):  # each plane hashed once for all the metrics that key it
            if workers > 1:
                pool = _plane_pool(workers)
                with _opencv_in_one_thread():
                    futures = {metric: [pool.submit(call) for call in pieces[metric][0]] for metric in order}
                    outcomes = {metric: [_outcome(future.result) for future in futures[metric]] for metric in order}
            else:
                outcomes = {metric: [_outcome(call) for call in pieces[metric][0]] for metric in order}
        for metric in pieces:
            errors = [outcome for outcome in outcomes[metric] if isinstance(outcome, MetricError)]
            if errors:
                results[metric] = MetricError(f"{metric} ({self.name}): {errors[0]}")
                continue
            try:
                results[metric] = self._checked(metric, pieces[metric][1](outcomes[metric]))
            except MetricError as error:
                results[metric] = error
        return {metric: results[metric] for metric in metrics}

    def __repr__(self) -> str:
        return f"Dialect({self.name!r})"


def _prepare(fused: np.ndarray, sources: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate and convert to uint8 as :func:`prepare_images`, but sources may mix grey and colour
    (VIFB pairs a single-channel infrared image with every colour plane)."""
    labels = ["fused image"] + [f"source {index + 1}" for index in range(len(sources))]
    images = [_as_uint8(image, label) for image, label in zip([fused, *sources], labels)]
    for image, label in zip(images[1:], labels[1:]):
        if image.shape[:2] != images[0].shape[:2]:
            raise InputMismatchError(
                f"{labels[0]} is {images[0].shape[1]}x{images[0].shape[0]} but {label} is "
                f"{image.shape[1]}x{image.shape[0]}; the fused image must have the sources' size")
    return images[0], images[1:]


def _plane(image: np.ndarray, index: int) -> np.ndarray:
    """Plane ``index`` of a colour image; a single-channel image is its own plane for every index."""
    return image if image.ndim == 2 else image[:, :, index]


def _call(rule: Rule, fused: np.ndarray, sources: list[np.ndarray]) -> float:
    if rule.call == "fused":
        return float(rule.core(fused, [], **rule.parameters))
    if rule.call == "image":
        return float(rule.core(fused, **rule.parameters))
    if rule.call == "fused-sources":
        return float(rule.core(fused, sources, **rule.parameters))
    if rule.call == "triple":
        return float(rule.core(sources[0], sources[1], fused, **rule.parameters))
    if rule.call == "pairwise":
        terms = [float(rule.core(source, fused, **rule.parameters)) for source in sources]
        value = sum(terms) if rule.combine == "sum" else sum(terms) / len(terms)
        return rule.finish(value) if rule.finish is not None else value
    raise ValueError(f"unknown call form {rule.call!r}")


def _apply(rule: Rule, fused: np.ndarray, sources: list[np.ndarray]) -> float:
    calls, combine = _pieces(rule, fused, sources)
    workers = plane_workers()
    if rule.parallel_planes and workers > 1 and len(calls) > 1:
        with _opencv_in_one_thread():
            return combine(list(_plane_pool(workers).map(lambda call: call(), calls)))
    return combine([call() for call in calls])


@contextmanager
def _opencv_in_one_thread():
    """OpenCV's own threads off while the planes' threads run: each of its calls (DFTs, Sobel, exp)
    would otherwise split itself over the cores the other planes are using (measured: 10% more
    CPU time and 10-20% more wall time for the 13 VIFB metrics on 2 cores)."""
    previous = cv2.getNumThreads()
    if previous == 1:
        yield
        return
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _pieces(rule: Rule, fused: np.ndarray, sources: list[np.ndarray], plane: Callable | None = None
            ) -> tuple[list[Callable[[], float]], Callable[[list[float]], float]]:
    """The independent calls a rule makes on these images (one per colour plane, or one) and how
    their values combine into the metric's value (the mean of the planes' values, in plane order).
    ``plane(image, k)``: plane k of an image (default :func:`_plane`)."""
    plane = plane or _plane
    if rule.call not in ("fused", "image"):
        if len(sources) != 2:
            raise MetricError(f"compares the fused image with exactly 2 sources, got {len(sources)}")
        sources = [sources[index] for index in rule.order]
    if rule.colour == "stack" or fused.ndim == 2 and rule.colour != "planes":
        arguments = [(fused, sources if fused.ndim == 3 else [_grey_source(s) for s in sources])]
    elif rule.colour == "planes-side-by-side":
        arguments = [(np.concatenate([fused[:, :, k] for k in range(3)], axis=1), sources)]
    elif rule.colour == "planes" and fused.ndim == 2:
        arguments = [(fused, [_grey_source(source) for source in sources])]
    elif rule.colour == "planes":
        arguments = [(plane(fused, k), [plane(source, k) for source in sources]) for k in range(3)]
    else:
        raise ValueError(f"unknown colour handling {rule.colour!r}")
    calls = [partial(_call, rule, image, image_sources) for image, image_sources in arguments]
    return calls, (_single if len(calls) == 1 else _plane_mean)


class _PlaneViews:
    """Plane k of each image as one view object per (image, plane) for all the rules of one
    :meth:`Dialect.compute_many` call, so that a plane's content key is computed once
    (:func:`fusionbench.metrics.image_memo.keys_kept_for`); a single-channel image is its own plane."""

    def __init__(self):
        self.views: dict[tuple[int, int], np.ndarray] = {}
        self._images: list[np.ndarray] = []  # keeps each id valid while its views are in use

    def __call__(self, image: np.ndarray, index: int) -> np.ndarray:
        if image.ndim == 2:
            return image
        key = (id(image), index)
        if key not in self.views:
            self._images.append(image)
            self.views[key] = image[:, :, index]
        return self.views[key]


def _outcome(call: Callable[[], float]) -> float | MetricError:
    """``float(call())``, or the MetricError it raised (anything else propagates: a bug)."""
    try:
        return float(call())
    except MetricError as error:
        return error


def _single(values: list[float]) -> float:
    return values[0]


def _plane_mean(values: list[float]) -> float:
    return sum(values) / 3.0


def plane_workers() -> int:
    """Threads for the planes of a ``parallel_planes`` rule: ``FUSIONBENCH_PLANE_WORKERS``, else a
    run worker's share of the cores (``FUSIONBENCH_THREADS``, set by the harness: 2 workers on 2 cores
    each computing 3 planes at once would oversubscribe them), else 3 wherever there are 2 CPUs or
    more; 1 computes the planes in order. Read at each call: a worker sets its share after this
    module may be imported.

    3 threads on 2 CPUs: the planes are 3 equal tasks, so 2 threads leave a core idle while the
    third plane runs (2 plane times), where 3 threads share both cores (1.5 plane times; the work
    releases the GIL, and a plane waiting for a map another plane computes waits without a core).
    """
    for variable in ("FUSIONBENCH_PLANE_WORKERS", "FUSIONBENCH_THREADS"):
        value = os.environ.get(variable, "")
        if value.strip().isdigit():
            return max(1, min(3, int(value)))
    return 3 if (os.cpu_count() or 1) >= 2 else 1


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _plane_pool(workers: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fusionbench-plane")
        return _POOLS[workers]


def _grey_source(source: np.ndarray) -> np.ndarray:
    # A grey fused image with colour sources: MATLAB-rounded rgb2gray of the source (fusionbench's
    # grey conversion; VIFB's files differ per metric here, and no VIFB image is in this case).
    from .evaluation import grey_levels
    return grey_levels(source)


# --- the registered dialects --------------------------------------------------------------------

DIALECTS: dict[str, Dialect] = {}


def register_dialect(dialect: Dialect) -> Dialect:
    """Add a dialect (its name must be new)."""
    if dialect.name in DIALECTS:
        raise ValueError(f"dialect {dialect.name!r} is registered twice")
    DIALECTS[dialect.name] = dialect
    return dialect


def list_dialects() -> list[str]:
    """Names of the registered dialects."""
    return list(DIALECTS)


def get_dialect(name: str | Dialect) -> Dialect:
    """The dialect called ``name`` (raises UnknownNameError with a suggestion)."""
    if isinstance(name, Dialect):
        return name
    if name not in DIALECTS:
        raise UnknownNameError(unknown_name_message("dialect", name, list(DIALECTS)))
    return DIALECTS[name]


def dialect_for(name: str | Dialect) -> Dialect:
    """A dialect by its name, or by the name of the protocol it is (``standard`` is ``fusionbench``)."""
    if isinstance(name, str) and name not in DIALECTS:
        for dialect in DIALECTS.values():
            if dialect.protocol == name:
                return dialect
    return get_dialect(name)


def check_metric_names(dialects: Sequence[Dialect], names: Sequence[str]) -> None:
    """Raise UnknownNameError (with a suggestion) for a name none of ``dialects`` defines."""
    known = list(dict.fromkeys(metric for dialect in dialects for metric in dialect.metrics()))
    folded = {metric.casefold() for metric in known}
    for name in names:
        if name.casefold() not in folded:
            own = [dialect.name for dialect in dialects if dialect.protocol is None]
            kind = f"metric of dialect {', '.join(dialect.name for dialect in dialects)}" if own else "metric"
            raise UnknownNameError(unknown_name_message(kind, name, known))


def compute_in_dialect(dialect: str | Dialect, metric: str, fused: np.ndarray, sources: Sequence[np.ndarray]) -> float:
    """``metric``'s value on ``fused`` and ``sources`` (uint8 as decoded, dataset order) in ``dialect``."""
    return get_dialect(dialect).compute(metric, fused, sources)


def _registry_rules(protocol: str, description: str) -> Callable[[], dict[str, Rule]]:
    def rules() -> dict[str, Rule]:
        table = {}
        for name in list_metrics():
            spec = get_metric(name)
            table[name] = Rule(spec.function, "registry", "registry", description, protocol=protocol,
                               version=spec.version, higher_is_better=spec.higher_is_better)
        return table
    return rules


register_dialect(Dialect(
    "fusionbench", "fusionbench's registered metrics: metric(A, B, F), MATLAB-rounded grey (the 'standard' protocol)",
    _registry_rules("standard", "as registered (see 'list metrics'): metric(A, B, F)"), protocol="standard"))
register_dialect(Dialect(
    "ifcnn-paper", "the registered metrics as the IFCNN paper computed them: metric(A, A, F)",
    _registry_rules("ifcnn-paper", "as registered, with the first source passed twice: metric(A, A, F)"),
    protocol="ifcnn-paper"))

_VIFB_PLANES = "on each RGB plane, averaged"
VIFB_RULES: dict[str, Rule] = {
    "AG": Rule(gradients.average_gradient, "fused", "planes",
               f"sum(sqrt((gx^2+gy^2)/2))/((M-1)(N-1)) with MATLAB gradient (central differences) {_VIFB_PLANES}",
               parameters={"differences": "central"}),
    "CE": Rule(mutual_information.cross_entropy, "pairwise", "planes",
               f"mean of CE(V,F) and CE(I,F), sum p_X log2(p_X/p_F) over levels in both, {_VIFB_PLANES}",
               combine="mean", higher_is_better=False),
    "EI": Rule(gradients.edge_intensity, "image", "stack",
               "mean Sobel gradient magnitude, replicated borders, over all pixels of all planes"),
    "EN": Rule(mutual_information.entropy, "fused", "planes", f"256-bin entropy in bits {_VIFB_PLANES}"),
    "MI": Rule(mutual_information.mutual_information, "fused-sources", "planes",
               f"MI(V,F) + MI(I,F) in nats (min-max stretched levels) {_VIFB_PLANES}",
               parameters={"unit": "nats"}),
    "PSNR": Rule(differences.root_sum_squared_error, "pairwise", "planes",
                 "20 log10(255/sqrt(E)), E the mean of sqrt(sum (X-F)^2)/MN over V and I (not an MSE), "
                 + _VIFB_PLANES, combine="mean", finish=differences.psnr_from_error),
    "Qabf": Rule(qabf.qabf, "fused-sources", "planes",
                 "Q^AB/F with conv2 Sobel, orientation difference not modulo pi, G = 255 g_F where g_X = g_F, "
                 + _VIFB_PLANES,
                 parameters={"orientation_modulo_pi": False, "equal_strength_scale": 255.0,
                             "x_kernel": "convolution"}, parallel_planes=True),
    "Qcb": Rule(chen_blum.chen_blum, "fused-sources", "planes",
                "Q_CB on min-max stretched, rounded images, unnormalised 31x31 Gaussians, " + _VIFB_PLANES,
                parameters={"stretch": True, "normalised_gaussians": False}, parallel_planes=True),
    "Qcv": Rule(chen_varshney.chen_varshney, "triple", "planes",
                "Q_CV (Chen-Varshney; lower is better): 16x16 blocks, alpha 5, Mannos-Sakrison CSF, stretched "
                "images, " + _VIFB_PLANES, parallel_planes=True, higher_is_better=False),
    "RMSE": Rule(differences.root_sum_squared_error, "pairwise", "planes",
                 "mean over V and I of sqrt(sum (X-F)^2)/MN (VIFB's error, not a root mean square) " + _VIFB_PLANES,
                 combine="mean", higher_is_better=False),
    "SF": Rule(gradients.spatial_frequency, "fused", "planes-side-by-side",
               "sqrt((sum dx^2 + sum dy^2)/MN) over all differences, the RGB planes side by side (M x 3N, seams "
               "included)", parameters={"region": "all"}),
    "SSIM": Rule(ssim_sum.ssim_sum, "fused-sources", "planes",
                 f"SSIM(V,F) + SSIM(I,F) (Gaussian 11x11, 'valid') {_VIFB_PLANES}", parallel_planes=True,
                 same_as="SSIM-SUM"),
    "SD": Rule(statistics.standard_deviation, "fused", "planes",
               f"population standard deviation (VIFB names it 'Variance') {_VIFB_PLANES}"),
}
register_dialect(Dialect(
    "vifb", "VIFB's MATLAB metrics (xingchenzhang/VIFB 22b2ea9d, metrics/): (visible, infrared, fused), "
            "per RGB plane, averaged", VIFB_RULES))
