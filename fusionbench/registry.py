"""Registries of fusion algorithms and metrics, in the style of timm's model registry.

Built-in algorithms and metrics register exactly as plugins do, with a decorator::

    @fusionbench.register_algorithm("my-fusion", families=("multi-focus",), max_inputs=2)
    def my_fusion(images: list[np.ndarray]) -> np.ndarray: ...

    @fusionbench.register_metric("MY-METRIC", higher_is_better=True, sources=2)
    def my_metric(fused: np.ndarray, sources: list[np.ndarray]) -> float: ...

Third-party packages add entry points in the groups ``fusionbench.algorithms`` and
``fusionbench.metrics`` (the value names a module whose import registers);
``load_plugin("module.path")`` imports a module for one run. Unknown names raise
:class:`UnknownNameError` with a "did you mean" suggestion.

Everything is imported when first needed, so that ``import fusionbench`` and the CLI start at
once: this module imports neither numpy nor the built-ins nor any plugin. A lookup imports the
built-in modules of its kind (``fusionbench.metrics`` for metrics; ``fusionbench.baselines`` and
``fusionbench.models`` for algorithms, whose IFCNN imports torch only on its first fusion); a
name the built-ins lack imports the entry point of that name alone, and only a name nobody
declares imports every plugin (a module may register names other than its entry point's).
Listing (``names()``, ``specs()``, ``fusionbench list``) imports every plugin, because it shows
what each one registered.

Plugins cannot take the tool down: an entry point that fails to import is logged as a warning
and kept in ``Registry.load_errors`` (asking for its name repeats the reason; everything else,
``fusionbench list`` included, keeps working), and whatever a registered algorithm does wrong —
raising, returning a non-array, the wrong shape or dtype, NaN or infinite values — reaches the
caller as an :class:`AlgorithmError`, which the harness records for that item before going on.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .errors import AlgorithmError, ConfigError, FusionBenchError, UnknownNameError
from .families import FAMILIES

if TYPE_CHECKING:  # numpy costs a third of `import fusionbench`; the registry needs it only to fuse
    import numpy as np

ALGORITHM_ENTRY_POINTS = "fusionbench.algorithms"
METRIC_ENTRY_POINTS = "fusionbench.metrics"
_BUILTIN_METRIC_MODULES = ("fusionbench.metrics",)
_BUILTIN_ALGORITHM_MODULES = ("fusionbench.baselines", "fusionbench.models", "fusionbench.published")
_BUILTIN_MODULES = _BUILTIN_METRIC_MODULES + _BUILTIN_ALGORITHM_MODULES

_LOG = logging.getLogger("fusionbench.registry")

#: Colour policies: what the registered callable receives.
COLOUR_POLICIES = ("any", "grey", "colour")


@dataclass(frozen=True)
class AlgorithmSpec:
    """What the harness needs to know about a fusion algorithm.

    ``factory`` is a function ``fuse(images, **options) -> image`` or a class whose instances
    (built with ``**options``) have a ``fuse(images)`` method. ``colour`` says what it receives:
    ``"any"`` (sources as decoded), ``"grey"`` (MATLAB-rounded grey) or ``"colour"`` (grey
    repeated to RGB). ``needs_family`` algorithms also receive ``family=...``. ``datasets``
    restricts it to those datasets (published results exist for one dataset's items only).
    ``kind`` groups algorithms in tables and reports: ``classical``, ``deep``, ``published`` or
    ``plugin`` (derived from where the factory is defined when not given).
    """

    name: str
    factory: Callable[..., Any]
    families: tuple[str, ...] = FAMILIES
    min_inputs: int = 2
    max_inputs: int | None = None
    colour: str = "any"
    needs_family: bool = False
    version: str = "1"
    citation: str = ""
    summary: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    origin: str = "builtin"
    datasets: tuple[str, ...] | None = None
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:  # specs built directly (entry points, tests) get the kind of their factory
            object.__setattr__(self, "kind", algorithm_kind_of(self.factory))

    def suits(self, family: str, input_count: int, dataset: str | None = None) -> bool:
        """True when the algorithm handles this family, number of sources (and dataset, if given)."""
        within = input_count >= self.min_inputs and (self.max_inputs is None or input_count <= self.max_inputs)
        allowed = self.datasets is None or dataset is None or dataset in self.datasets
        return family in self.families and within and allowed

    def create(self, **options: Any) -> "FusionAlgorithm":
        """An instance ready to fuse, with ``options`` overriding the registered defaults."""
        return FusionAlgorithm(self, {**self.defaults, **options})


@dataclass(frozen=True)
class MetricSpec:
    """What the harness needs to know about a fusion quality metric.

    ``function(fused, sources) -> float``. ``sources`` is the number of source images the metric
    compares the fused image with: 0 (fused image only, e.g. SF), 2 (two-source metrics, to
    which evaluation protocols apply) or ``None`` (any number >= 1, e.g. MEF-SSIM).
    ``colour`` is what the function receives: ``"grey"`` (MATLAB ``rgb2gray``, rounded, as
    float64 in 0..255), ``"colour"`` or ``"any"`` (uint8 as decoded).
    """

    name: str
    function: Callable[..., float]
    higher_is_better: bool = True
    sources: int | None = 2
    colour: str = "grey"
    version: str = "1"
    citation: str = ""
    variant: str = ""
    origin: str = "builtin"


class FusionAlgorithm:
    """A configured algorithm: validates inputs, applies the colour policy, checks the output."""

    def __init__(self, spec: AlgorithmSpec, options: dict[str, Any]):
        from .allocator import apply_unless_disabled

        self.spec = spec
        self.options = options
        # Fusion re-allocates large arrays on every call; glibc's defaults make each one page-fault
        # afresh (about a third of GFF's and half of LP's time). See fusionbench.allocator.
        apply_unless_disabled()
        if inspect.isclass(spec.factory):
            try:
                self._instance = spec.factory(**options)
            except TypeError as error:
                raise ConfigError(f"algorithm {spec.name!r}: bad options {options} ({error})") from None
            except FusionBenchError:
                raise
            except Exception as error:  # a plugin's constructor may fail in any way; report it as ours
                raise AlgorithmError(f"algorithm {spec.name!r} could not be created: "
                                     f"{type(error).__name__}: {error}") from error
            self._call = self._instance.fuse
            self._options_for_call: dict[str, Any] = {}
        else:
            self._instance = None
            self._call = spec.factory
            self._options_for_call = options

    @property
    def name(self) -> str:
        return self.spec.name

    def identity(self) -> dict[str, Any]:
        """Everything that decides the output: name, version, options, checkpoint hash if any."""
        identity = {"name": self.spec.name, "version": self.spec.version, "options": self.options}
        extra = getattr(self._instance, "identity", None)
        if callable(extra):
            identity["instance"] = extra()
        return identity

    def fuse(self, images: Sequence[np.ndarray], family: str | None = None) -> np.ndarray:
        """Fuse uint8 sources of equal size into one uint8 image of the same size."""
        from .image_io import check_sources

        spec = self.spec
        check_sources(images, minimum=spec.min_inputs)
        if spec.max_inputs is not None and len(images) > spec.max_inputs:
            raise AlgorithmError(f"{spec.name} fuses at most {spec.max_inputs} sources, got {len(images)}")
        prepared = [_apply_colour_policy(image, spec.colour) for image in images]
        keywords = dict(self._options_for_call)
        if spec.needs_family:
            keywords["family"] = family
        try:
            fused = self._call(prepared, **keywords)
        except FusionBenchError:
            raise
        except Exception as error:
            # Any exception from the algorithm (a plugin's bug included) becomes an AlgorithmError, so
            # that the harness records it for this item and carries on with the others.
            raise AlgorithmError(f"{spec.name} raised {type(error).__name__}: {error}") from error
        return check_fused_output(spec.name, fused, prepared[0])


def _apply_colour_policy(image: np.ndarray, policy: str) -> np.ndarray:
    from .image_io import rgb_to_grey, to_colour

    if policy == "grey":
        return rgb_to_grey(image)
    if policy == "colour":
        return to_colour(image)
    return image


def check_fused_output(name: str, fused: Any, reference: np.ndarray) -> np.ndarray:
    """Refuse an algorithm's output unless it is a finite uint8 image the size of its sources."""
    import numpy as np

    if not isinstance(fused, np.ndarray):
        raise AlgorithmError(f"{name} returned {type(fused).__name__}, expected a numpy array")
    if fused.ndim == 3 and fused.shape[2] == 1:
        fused = fused[:, :, 0]
    if fused.shape[:2] != reference.shape[:2] or fused.ndim not in (2, 3) or (
            fused.ndim == 3 and fused.shape[2] != 3):
        raise AlgorithmError(f"{name} returned shape {fused.shape}, expected {reference.shape[:2]} "
                             f"(grey) or {reference.shape[:2] + (3,)} (RGB)")
    if fused.dtype != np.uint8:
        if np.issubdtype(fused.dtype, np.floating) and not np.all(np.isfinite(fused)):
            raise AlgorithmError(f"{name} returned NaN or infinite values")
        raise AlgorithmError(f"{name} returned dtype {fused.dtype}, expected uint8")
    return fused


class Registry:
    """Name -> spec; built-ins and entry points are imported when first needed (see the module docstring)."""

    def __init__(self, kind: str, entry_point_group: str, builtin_modules: Sequence[str] = _BUILTIN_MODULES):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.builtin_modules = tuple(builtin_modules)
        self._specs: dict[str, Any] = {}
        self._builtins_loaded = False
        self._loaded = False  # every entry point imported
        self._entry_points: list[Any] | None = None  # read from the installed metadata once per process
        self._imported_entry_points: set[tuple[str, str]] = set()
        #: entry point name -> one-sentence reason, for installed plugins that failed to load.
        self.load_errors: dict[str, str] = {}

    def add(self, spec: Any) -> None:
        existing = self._specs.get(spec.name)
        if existing is not None and existing.origin != spec.origin:
            raise ConfigError(f"{self.kind} {spec.name!r} is registered twice "
                              f"({existing.origin} and {spec.origin})")
        self._specs[spec.name] = spec

    def remove(self, name: str) -> None:
        self._specs.pop(name, None)

    def get(self, name: str) -> Any:
        # Cheapest first: the built-ins, then the plugin declaring this name, and every plugin only
        # for a name that neither has (a plugin module may register names besides its entry point's).
        self._load_builtins()
        spec = self._find(name)
        if spec is None:
            self._load_entry_points_named(name)
            spec = self._find(name)
        if spec is None:
            self.load()
            spec = self._find(name)
        if spec is not None:
            return spec
        if name in self.load_errors:  # the plugin meant to provide it is installed but broken
            raise FusionBenchError(self.load_errors[name])
        message = unknown_name_message(self.kind, name, self._specs)
        if self.load_errors:
            message += f" (also, {len(self.load_errors)} installed plugin(s) failed to load: " \
                       f"{'; '.join(self.load_errors.values())})"
        raise UnknownNameError(message)

    def _find(self, name: str) -> Any | None:
        """The spec registered as ``name``, ignoring case when no spec has exactly that name."""
        if name in self._specs:
            return self._specs[name]
        folded = {key.lower(): key for key in self._specs}
        return self._specs[folded[name.lower()]] if name.lower() in folded else None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._specs)

    def specs(self) -> list[Any]:
        return [self._specs[name] for name in self.names()]

    def load(self) -> None:
        """Import the built-in modules and every installed entry point, once."""
        self._load_builtins()
        if self._loaded:
            return
        self._loaded = True
        for entry_point in self._installed_entry_points():
            self._load_entry_point(entry_point)

    def _load_builtins(self) -> None:
        if not self._builtins_loaded:
            self._builtins_loaded = True
            _import_modules(self.builtin_modules)

    def _installed_entry_points(self) -> list[Any]:
        """This group's entry points, from the installed distributions' metadata (no plugin imported)."""
        if self._entry_points is None:
            from importlib import metadata  # about 50 ms to import: only when a plugin may be wanted

            self._entry_points = list(metadata.entry_points(group=self.entry_point_group))
        return self._entry_points

    def _load_entry_points_named(self, name: str) -> None:
        for entry_point in self._installed_entry_points():
            if entry_point.name.lower() == name.lower():
                self._load_entry_point(entry_point)

    def _load_entry_point(self, entry_point: Any) -> None:
        key = (entry_point.name, entry_point.value)
        if key in self._imported_entry_points:
            return
        self._imported_entry_points.add(key)
        # Every built-in (of both kinds) registers before any plugin, so that a plugin reusing a
        # built-in name is refused whichever registry happened to import it.
        _import_modules(_BUILTIN_MODULES)
        try:
            loaded = entry_point.load()
            _register_loaded_object(loaded, entry_point, self)
        except Exception as error:
            # A broken plugin must not break the tool: everything else stays usable
            # (`fusionbench list` included); asking for the broken plugin's name, or a name
            # nobody has, repeats this reason.
            reason = (f"plugin entry point {entry_point.name!r} = {entry_point.value!r} "
                      f"(group {self.entry_point_group}) failed to load: {type(error).__name__}: {error}")
            self.load_errors[entry_point.name] = reason
            _LOG.warning("warning: %s", reason)


def _import_modules(modules: Sequence[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def _register_loaded_object(loaded: Any, entry_point: Any, registry: Registry) -> None:
    """An entry point may name a module (registering on import) or a spec/callable to register."""
    if isinstance(loaded, (AlgorithmSpec, MetricSpec)):
        registry.add(loaded)


def unknown_name_message(kind: str, name: str, known: Sequence[str]) -> str:
    """'unknown metric 'VIF'; did you mean 'VIFF'?' style message."""
    import difflib

    candidates = list(known)
    lower = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
    suggestion = ", ".join(repr(lower[match]) for match in close)
    if suggestion:
        return f"unknown {kind} {name!r}; did you mean {suggestion}?"
    return f"unknown {kind} {name!r}; known: {', '.join(sorted(candidates)) or 'none'}"


ALGORITHMS = Registry("algorithm", ALGORITHM_ENTRY_POINTS, _BUILTIN_ALGORITHM_MODULES)
METRICS = Registry("metric", METRIC_ENTRY_POINTS, _BUILTIN_METRIC_MODULES)


#: Algorithm kinds, in the order tables and reports group them.
ALGORITHM_KINDS = ("classical", "deep", "published", "plugin")


def algorithm_kind_of(factory: Any) -> str:
    """``deep`` for fusionbench.models, ``published`` for fusionbench.published, ``classical`` for
    the rest of fusionbench, ``plugin`` for everything else."""
    module = getattr(factory, "__module__", "") or ""
    if module.startswith("fusionbench.models"):
        return "deep"
    if module.startswith("fusionbench.published"):
        return "published"
    return "classical" if module.startswith("fusionbench.") else "plugin"


def _origin_of(obj: Any) -> str:
    module = getattr(obj, "__module__", "") or ""
    return "builtin" if module.startswith("fusionbench.") else module


def register_algorithm(name: str, *, families: Sequence[str] = FAMILIES, min_inputs: int = 2,
                       max_inputs: int | None = None, colour: str = "any", needs_family: bool = False,
                       version: str = "1", citation: str = "", summary: str = "",
                       defaults: dict[str, Any] | None = None, datasets: Sequence[str] | None = None,
                       kind: str | None = None) -> Callable:
    """Decorator registering a fusion function or class under ``name`` (see module docstring)."""
    if colour not in COLOUR_POLICIES:
        raise ConfigError(f"colour policy {colour!r} is not one of {COLOUR_POLICIES}")
    unknown = [family for family in families if family not in FAMILIES]
    if unknown:
        raise ConfigError(f"algorithm {name!r}: unknown families {unknown}; valid: {FAMILIES}")

    def decorator(factory: Callable) -> Callable:
        summary_text = summary or (inspect.getdoc(factory) or "").split("\n")[0]
        ALGORITHMS.add(AlgorithmSpec(
            name=name, factory=factory, families=tuple(families), min_inputs=min_inputs,
            max_inputs=max_inputs, colour=colour, needs_family=needs_family, version=version,
            citation=citation, summary=summary_text, defaults=dict(defaults or {}),
            origin=_origin_of(factory), datasets=tuple(datasets) if datasets is not None else None,
            kind=kind or algorithm_kind_of(factory)))
        return factory

    return decorator


def register_metric(name: str, *, higher_is_better: bool = True, sources: int | None = 2,
                    colour: str = "grey", version: str = "1", citation: str = "",
                    variant: str = "") -> Callable:
    """Decorator registering ``function(fused, sources) -> float`` as metric ``name``.

    ``sources``: 2 (a pair metric, called per protocol), 0 (the fused image alone) or None (a stack
    of 2 or more sources, e.g. the exposures of MEF-SSIM).
    """
    if colour not in COLOUR_POLICIES:
        raise ConfigError(f"colour policy {colour!r} is not one of {COLOUR_POLICIES}")

    def decorator(function: Callable) -> Callable:
        METRICS.add(MetricSpec(
            name=name, function=function, higher_is_better=higher_is_better, sources=sources,
            colour=colour, version=version, citation=citation,
            variant=variant or (inspect.getdoc(function) or "").split("\n")[0],
            origin=_origin_of(function)))
        return function

    return decorator


def get_algorithm(name: str) -> AlgorithmSpec:
    """The registered algorithm spec (raises UnknownNameError with suggestions)."""
    return ALGORITHMS.get(name)


def create_algorithm(name: str, **options: Any) -> FusionAlgorithm:
    """A ready-to-use algorithm instance, like ``timm.create_model``."""
    return ALGORITHMS.get(name).create(**options)


def get_metric(name: str) -> MetricSpec:
    """The registered metric spec (raises UnknownNameError with suggestions)."""
    return METRICS.get(name)


def list_algorithms() -> list[str]:
    """Names of every registered algorithm, built-in and plugin."""
    return ALGORITHMS.names()


def list_metrics() -> list[str]:
    """Names of every registered metric, built-in and plugin."""
    return METRICS.names()


def load_plugin(module_path: str) -> None:
    """Import a module whose decorators register algorithms/metrics (``--plugin module.path``).

    ``module_path`` is a dotted module name, importable as usual or relative to the current
    directory (the ``fusionbench`` console script does not put it on ``sys.path``), or the path
    of a ``.py`` file. Built-ins and entry points load first, so that a plugin reusing a taken
    name is refused.
    """
    ALGORITHMS.load()
    METRICS.load()
    try:
        if module_path.endswith(".py"):
            _import_file(module_path)
        else:
            _import_module_here_too(module_path)
    except FusionBenchError:
        raise
    except Exception as error:  # ImportError, SyntaxError, or whatever the module raises on import
        raise FusionBenchError(f"plugin module {module_path!r} could not be imported: "
                               f"{type(error).__name__}: {error}") from None


def _import_module_here_too(module_path: str) -> None:
    """Import ``module_path``; if its top-level package is missing, look in the current directory too."""
    try:
        importlib.import_module(module_path)
    except ModuleNotFoundError as error:
        top_level = module_path.split(".")[0]
        here = os.getcwd()
        if error.name != top_level or here in sys.path or "" in sys.path:
            raise
        sys.path.append(here)
        importlib.import_module(module_path)


def _import_file(file_path: str) -> None:
    """Import a plugin given as a ``.py`` file, under a module name derived from its path."""
    import importlib.util

    path = os.path.abspath(file_path)
    if not os.path.isfile(path):
        raise FusionBenchError(f"plugin file {file_path!r} does not exist")
    module_name = "fusionbench_plugin_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
