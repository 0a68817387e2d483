"""Plan a run: datasets x algorithms x metrics -> tasks, each with the content keys of its outputs.

A *task* is one (dataset item, algorithm): fuse the item, then compute every selected metric on
the fused image under every selected protocol. Its key (:func:`fusionbench.run_cache.fused_key`)
covers the algorithm's identity (name, version, options, checkpoint hash) and the source files'
SHA-256, and each metric value's key adds the metric's name, version and protocol — so a task
whose keys are all in the run's cache is not run again. Planning creates each algorithm once
(its identity may hash a checkpoint) but fuses nothing.
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..cache_key import file_sha256
from ..datasets import Dataset, get_dataset, list_datasets
from ..errors import ConfigError, DataNotFoundError
from ..families import MULTI_EXPOSURE
from ..path_safety import check_name, storage_name
from ..registry import ALGORITHMS, METRICS, AlgorithmSpec, MetricSpec
from ..run_cache import fused_key, metric_key
from .settings import PROTOCOL_DIALECTS, RunSettings

#: Metrics lower-is-better in dialects that define metrics fusionbench does not register.
_LOWER_IS_BETTER = {"CE", "RMSE", "QCV"}

#: The paper's metrics per family (Sec. 3.1): two-source sets and multi-exposure stacks.
PAPER_PAIR_METRICS = ("VIFF", "ISSIM", "NMI", "SF", "AG")
PAPER_MEF_METRICS = ("MEF-SSIM", "SF", "AG")


@dataclass(frozen=True)
class MetricJob:
    """One metric value of a task: its name, the protocol columns it fills, its cache key, and the
    dialect computing it (None: the registered metric under the protocol)."""

    name: str
    protocols: tuple[str, ...]
    key: str
    dialect: str | None = None


@dataclass
class Task:
    """Fuse one item with one algorithm and measure the result."""

    dataset: str
    item: str
    family: str
    source_paths: list[str]
    source_hashes: list[str]
    algorithm: str
    options: dict[str, Any]
    key: str
    png: str  # the fused image, relative to the run directory
    metrics: list[MetricJob] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """One slice of a run: datasets x algorithms x metrics (None = every registered one that fits)."""

    datasets: tuple[str, ...] | None = None
    algorithms: tuple[str, ...] | None = None  # names or glob patterns
    metrics: tuple[str, ...] | None = None
    paper_metrics_only: bool = False
    explicit_algorithms: bool = False  # named by the user: a missing checkpoint is an error, not a skip


@dataclass
class Plan:
    """The tasks of a run and what run.json records about its inputs."""

    tasks: list[Task]
    datasets: dict[str, dict]
    algorithms: dict[str, dict]  # name -> identity
    metrics: dict[str, dict]  # name -> version, direction, sources
    skipped: dict[str, str]  # algorithm -> why it was left out
    notes: list[str]
    #: name -> classical | deep | published | plugin, for the report's grouped order. Kept apart from
    #: the identities, which key the cache of fused images: a kind is a label, not an input.
    algorithm_kinds: dict[str, str] = field(default_factory=dict)


def paper_metrics(family: str) -> tuple[str, ...]:
    """The metrics the paper reports for a family."""
    return PAPER_MEF_METRICS if family == MULTI_EXPOSURE else PAPER_PAIR_METRICS


def metric_accepts(spec: MetricSpec, source_count: int) -> bool:
    """A metric applies to an item with that many sources (the metrics package's rule)."""
    from ..metrics.evaluation import metric_applies

    return metric_applies(spec, source_count)


def options_for(name: str, settings: RunSettings, spec: AlgorithmSpec) -> dict[str, Any]:
    """Options from ``--set`` patterns matching ``name`` (later patterns win), plus ``--device``."""
    options: dict[str, Any] = {}
    for pattern, values in settings.options.items():
        if fnmatch.fnmatchcase(name, pattern):
            options.update(values)
    if settings.device and "device" in spec.defaults:
        options.setdefault("device", settings.device)
    return options


def source_hash(source: Any, path: Any) -> str:
    """A source's SHA-256: the registry's (already verified by fetch) or the file's."""
    return getattr(source, "sha256", None) or file_sha256(path)


def selected_algorithms(patterns: Sequence[str] | None) -> list[AlgorithmSpec]:
    """Specs named by ``patterns`` (exact names, any case, or globs); every one for None."""
    if patterns is None:
        return ALGORITHMS.specs()
    chosen: dict[str, AlgorithmSpec] = {}
    for pattern in patterns:
        if any(character in pattern for character in "*?["):
            matches = [spec for spec in ALGORITHMS.specs() if fnmatch.fnmatchcase(spec.name, pattern)]
            if not matches:
                raise ConfigError(f"no algorithm matches {pattern!r} (see 'fusionbench list algorithms')")
        else:
            matches = [ALGORITHMS.get(pattern)]
        chosen.update((spec.name, spec) for spec in matches)
    return list(chosen.values())


def selected_metrics(names: Sequence[str] | None, dialects: Sequence[str] = ()) -> list[MetricSpec]:
    """Registered metrics named (all for None); a name only a selected dialect defines is skipped here."""
    if names is None:
        return METRICS.specs()
    from ..errors import UnknownNameError

    defined = {metric.casefold() for dialect in dialect_tables(dialects) for metric in dialect.metrics()}
    chosen = []
    for name in names:
        try:
            chosen.append(METRICS.get(name))
        except UnknownNameError:
            if name.casefold() not in defined:
                raise
    return chosen


def dialect_tables(labels: Sequence[str]) -> list:
    """The dialects (other than the protocols' own) among the protocol labels of a run."""
    from ..metrics.dialects import get_dialect

    return [get_dialect(label) for label in labels if label not in PROTOCOL_DIALECTS]


def dialect_direction(dialect, metric: str) -> bool:
    """Higher is better? The dialect's own word if it has one, else the registered metric's."""
    explicit = getattr(dialect.rule(metric), "higher_is_better", None)
    if explicit is not None:
        return bool(explicit)
    from ..errors import UnknownNameError

    try:
        return METRICS.get(metric).higher_is_better
    except UnknownNameError:
        return metric.upper() not in _LOWER_IS_BETTER


class _Planner:
    """Accumulates the tasks of several selections, each (item, algorithm) once."""

    def __init__(self, settings: RunSettings, log: Callable[[str], None]):
        self.settings = settings
        self.log = log
        self.tasks: dict[tuple[str, str, str], Task] = {}
        self.identities: dict[str, dict] = {}
        self.kinds: dict[str, str] = {}
        self.options: dict[str, dict] = {}
        self.skipped: dict[str, str] = {}
        self.notes: list[str] = []
        self.datasets: dict[str, dict] = {}
        self.metrics: dict[str, MetricSpec] = {}
        self.dataset_objects: dict[str, Dataset] = {}
        self.dialect_metrics: dict[str, dict] = {}  # metrics only a dialect defines, for run.json
        self._requested_metrics: tuple[str, ...] | None = None

    def add(self, selection: Selection) -> None:
        self._requested_metrics = selection.metrics
        algorithms = selected_algorithms(selection.algorithms)
        metrics = selected_metrics(selection.metrics, self.settings.protocols)
        for name in selection.datasets or list_datasets():
            self._add_dataset(self._dataset(name), algorithms, metrics, selection)

    def _dataset(self, name: str) -> Dataset:
        dataset = get_dataset(name)
        known = self.dataset_objects.get(dataset.name)
        if known is not None and known != dataset:
            raise ConfigError(f"two different datasets are named {dataset.name!r} in this run; rename one")
        self.dataset_objects[dataset.name] = dataset
        return dataset

    def _add_dataset(self, dataset: Dataset, algorithms: list[AlgorithmSpec], metrics: list[MetricSpec],
                     selection: Selection) -> None:
        max_items = self.settings.max_items
        items = list(dataset.items[:max_items] if max_items else dataset.items)
        suitable = [spec for spec in algorithms
                    if any(spec.suits(dataset.family, len(item.sources), dataset.name) for item in items)]
        if not suitable:
            self.notes.append(f"{dataset.name}: no selected algorithm suits family {dataset.family}")
            return
        record = self.datasets.setdefault(dataset.name, {"family": dataset.family, "items": [], "sources": {}})
        for item in items:
            paths = item.source_paths()
            hashes = [source_hash(source, path) for source, path in zip(item.sources, paths)]
            if item.name not in record["sources"]:
                record["items"].append(item.name)
                record["sources"][item.name] = [{"file": path.name, "sha256": digest}
                                                for path, digest in zip(paths, hashes)]
            accepted = [spec for spec in metrics if metric_accepts(spec, len(paths)) and (
                not selection.paper_metrics_only or spec.name in paper_metrics(dataset.family))]
            self.metrics.update((spec.name, spec) for spec in accepted)
            for spec in suitable:
                if spec.suits(dataset.family, len(paths), dataset.name) and self._identity(spec, selection) is not None:
                    self._add_task(dataset, item.name, [str(path) for path in paths], hashes, spec, accepted)

    def _identity(self, spec: AlgorithmSpec, selection: Selection) -> dict | None:
        if spec.name in self.skipped:
            return None
        if spec.name not in self.identities:
            options = options_for(spec.name, self.settings, spec)
            try:
                self.identities[spec.name] = _json_safe(spec.create(**options).identity())
                self.kinds[spec.name] = spec.kind
            except DataNotFoundError as error:
                if selection.explicit_algorithms:
                    raise
                self.skipped[spec.name] = str(error)
                self.log(f"note: skipping {spec.name}: {error}")
                return None
            self.options[spec.name] = options
        return self.identities[spec.name]

    def _add_task(self, dataset: Dataset, item: str, paths: list[str], hashes: list[str], spec: AlgorithmSpec,
                  metrics: list[MetricSpec]) -> None:
        key = fused_key(self.identities[spec.name], hashes)
        task = self.tasks.get((dataset.name, item, spec.name))
        if task is None:
            # Each becomes a path component of the fused image: a plugin or manifest may not escape.
            folder = storage_name(spec.name, "algorithm name", f"algorithm {spec.name!r} ({spec.origin})")
            check_name(dataset.name, "dataset name", f"dataset {dataset.name!r}")
            check_name(item, "item name", f"dataset {dataset.name!r}")
            task = Task(dataset.name, item, dataset.family, paths, hashes, spec.name, self.options[spec.name], key,
                        f"fused/{folder}/{dataset.name}/{item}.png")
            self.tasks[(dataset.name, item, spec.name)] = task
        known = {(job.name, job.dialect) for job in task.metrics}
        jobs = metric_jobs(metrics, self.settings.protocols, key)
        if len(paths) == 2:  # the dialects' metrics compare a fused image with two sources
            jobs += self._dialect_jobs(key)
        task.metrics.extend(job for job in jobs if (job.name, job.dialect) not in known)

    def _dialect_jobs(self, fused: str) -> list[MetricJob]:
        jobs = []
        requested = {name.casefold() for name in self._requested_metrics} if self._requested_metrics else None
        for dialect in dialect_tables(self.settings.protocols):
            for name in dialect.metrics():
                if requested is None or name.casefold() in requested:
                    jobs.append(MetricJob(name, (dialect.name,), metric_key(name, dialect.version(name), dialect.name,
                                                                            fused), dialect.name))
                    self.dialect_metrics.setdefault(name, {"version": dialect.version(name), "sources": 2,
                                                           "higher_is_better": dialect_direction(dialect, name)})
        return jobs

    def plan(self) -> Plan:
        metrics = {name: {"version": spec.version, "higher_is_better": spec.higher_is_better, "sources": spec.sources}
                   for name, spec in sorted(self.metrics.items())}
        for name, record in sorted(self.dialect_metrics.items()):
            metrics.setdefault(name, record)
        return Plan(list(self.tasks.values()), self.datasets, self.identities, metrics, self.skipped, self.notes,
                    self.kinds)


def metric_jobs(metrics: Sequence[MetricSpec], protocols: Sequence[str], fused: str) -> list[MetricJob]:
    """The registered metrics' values of one fused image. Protocols decide only how two-source
    metrics are called, so every other value is computed once and fills every protocol column.
    (Other dialects' metrics are jobs of their own: see ``_Planner._dialect_jobs``.)"""
    protocols = tuple(protocol for protocol in protocols if protocol in PROTOCOL_DIALECTS)
    if not protocols:
        return []
    jobs = [MetricJob(spec.name, protocols, metric_key(spec.name, spec.version, None, fused))
            for spec in metrics if spec.sources != 2]
    jobs += [MetricJob(spec.name, (protocol,), metric_key(spec.name, spec.version, protocol, fused))
             for spec in metrics if spec.sources == 2 for protocol in protocols]
    return jobs


def build_plan(settings: RunSettings, selections: Sequence[Selection],
               log: Callable[[str], None] = print) -> Plan:
    """Resolve names, fetch sources, create each algorithm once (identity), list the tasks."""
    planner = _Planner(settings, log)
    for selection in selections:
        planner.add(selection)
    return planner.plan()


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))
