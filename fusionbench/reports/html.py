"""One HTML page from a run directory: tables, plots, gallery, timings, failures and run metadata.

``write_report(run_dir)`` reads only the run directory (``metrics.csv``, ``timings.csv``,
``failures.csv``, ``run.json``, ``fused/``) and the source images named in ``run.json``; it
recomputes nothing that the run measured. The page is rendered with jinja2 from
``templates/report.html.j2`` and needs no network: CSS and the small item selector are inline; the
charts (PNG) and the gallery's pictures (JPEG thumbnails, WebP close-ups) go to a sibling folder
``<page stem>_files/`` (``report_files/`` for ``report.html``) — or are embedded as data URIs with
``embed_images=True``, for a page that is a single file. The lossless PNGs are only linked (relative URLs), so the page
works opened from disk or served from the run directory.

Sections: summary; per dataset the paper-style table per protocol (mean with the rank triple, best
bold, second italic; the paper's value and the difference beside ours with ``compare_paper``) and the
statistics under it, metric distributions, rank counts, critical-difference diagrams and the gallery;
then timings (Table 5 and a chart), failures, and the run's metadata (versions, device, command line,
algorithm identities and checkpoint hashes, metric versions, source file hashes).

Rebuilding a report (every ``fusionbench run`` does) reuses the charts and gallery items whose
inputs did not change — content keys over the chart data, and over each item's file paths, sizes
and modification times, recorded in ``report_files/index.json``.

Speed: a cold report spends about half its CPU time on the charts (matplotlib; see plots for why
they are laid out by hand), a third on the gallery (decoding every fused PNG once, thumbnails,
close-ups: in worker threads, which release the GIL for that work, while this thread draws the
charts) and the rest on the tables' statistics. Measured on the full paper run (5 datasets, 52
items, 14 algorithms, 13 metrics: 682 fused images; ``python benchmarks/report.py``) on a shared
2-core machine under a load average of about 9: a cold report in 30 s of CPU time (it was 80-86 s),
a rebuild in 2 s (it was 16 s); 18.7 MB in all with linked pictures (page 0.6 MB).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from .. import __version__
from ..errors import FusionBenchError
from ..image_io import write_text_atomic
from . import gallery as gallery_module
from . import plots
from .statistics import describe as describe_significance
from .tables import (
    RunResults,
    algorithm_sort_key,
    format_value,
    load_run,
    metric_tables,
    table_cells,
    timing_summary,
)

REPORT_NAME = "report.html"


@dataclass
class TableView:
    """One paper-style table (dataset x protocol) ready for the template."""

    protocol: str
    algorithms: list[str]
    rows: list[dict[str, Any]]  # {"metric", "arrow", "cells": [Cell | None]}
    statistics: list[tuple[str, str]]  # (metric, sentence)


@dataclass
class DatasetView:
    """Everything the page shows for one dataset."""

    name: str
    anchor: str
    family: str
    item_count: int
    tables: list[TableView] = field(default_factory=list)
    plots: list[tuple[str, str, str]] = field(default_factory=list)  # (title, data URI, caption)
    gallery: list[gallery_module.GalleryItem] = field(default_factory=list)
    failure_count: int = 0


def write_report(run_dir: str | os.PathLike, output: str | os.PathLike | None = None, *,
                 compare_paper: bool = False, embed_images: bool = False, gallery: bool = True) -> Path:
    """Render the report of ``run_dir`` to ``output`` (default ``RUN_DIR/report.html``); returns its path.

    The page is written atomically; its picture folder is built beside it under a temporary name and
    swapped in when complete, so an interrupted call never leaves a half-written report behind.
    """
    results = load_run(run_dir)
    output = Path(output) if output is not None else results.directory / REPORT_NAME
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    assets_name = f"{output.stem}_files"
    final_assets = output.parent / assets_name
    building = None if embed_images else Path(tempfile.mkdtemp(prefix=f".{assets_name}-", dir=output.parent))
    try:
        assets = gallery_module.AssetWriter(building, assets_name, output.parent,
                                            previous=final_assets if final_assets.is_dir() else None)
        page = render_report(results, output.parent, assets, compare_paper=compare_paper, with_gallery=gallery)
        assets.finish()
        if final_assets.exists():
            shutil.rmtree(final_assets)
        if building is not None:
            building.rename(final_assets)
            building = None
        write_text_atomic(output, page)
    finally:
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
    return output


def render_report(results: RunResults, page_folder: Path, assets: gallery_module.AssetWriter, *,
                  compare_paper: bool = False, with_gallery: bool = True) -> str:
    """The page's HTML text (pictures go through ``assets``)."""
    paper = None
    if compare_paper:
        from .paper import load_paper_values

        paper = load_paper_values()
    run = results.run
    all_algorithms = _algorithms(results)
    colours = plots.colour_map(all_algorithms)
    # The gallery's pictures are decoded and encoded in worker threads (that work releases the GIL)
    # while this thread draws the charts; the results are stored here, in page order.
    pool = ThreadPoolExecutor(gallery_threads(), thread_name_prefix="gallery") if with_gallery else None
    try:
        galleries = {name: _start_gallery(results, name, page_folder, assets, pool) for name in results.datasets()} \
            if with_gallery else {}
        datasets = [_dataset_view(results, name, page_folder, assets, paper, colours, galleries.get(name))
                    for name in results.datasets()]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    timings = timing_summary(results)
    timing_plot = ""
    if not results.timings.empty:
        timing_plot = _chart(assets, "timings", plots.timing_chart, results.timings[["dataset", "algorithm", "seconds"]],
                             _ordered(set(results.timings.algorithm)), results.datasets())
    context = {
        "title": f"fusionbench report — {results.directory.name}",
        "run_dir": str(results.directory),
        "generated_by": __version__,
        "run": run,
        "summary": _summary(results, datasets),
        "datasets": datasets,
        "compare_paper": compare_paper,
        "timings": timings.to_dict("records"),
        "timing_plot": timing_plot,
        "failures": results.failures.to_dict("records"),
        "metadata": _metadata(run),
        "algorithm_identities": _identities(run.get("algorithms", {})),
        "metric_identities": _identities(run.get("metrics", {})),
        "sources": _sources(run.get("datasets", {})),
    }
    return _template().render(**context)


def _template() -> jinja2.Template:
    text = resources.files(__package__).joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
    environment.filters["value"] = format_value
    return environment.from_string(text)


def _ordered(names) -> list[str]:
    return sorted(names, key=algorithm_sort_key)


def _algorithms(results: RunResults, dataset: str | None = None) -> list[str]:
    """Algorithms with a value, a failure or a fused image (on ``dataset``), in the paper's order."""
    frames = [results.metrics, results.failures, results.timings]
    names = set()
    for frame in frames:
        subset = frame if dataset is None else frame[frame.dataset == dataset]
        names |= set(subset.algorithm)
    fused = results.directory / "fused"
    if fused.is_dir():
        for folder in fused.iterdir():
            if folder.is_dir() and (dataset is None or (folder / dataset).is_dir()):
                names.add(folder.name.replace("@", ":", 1))  # SET@METHOD holds SET:METHOD's images
    return _ordered(names)


def _dataset_view(results: RunResults, dataset: str, page_folder: Path, assets: gallery_module.AssetWriter,
                  paper, colours: dict[str, str], gallery: list | None) -> DatasetView:
    recorded = results.run.get("datasets", {}).get(dataset, {})
    items = results.items(dataset)
    view = DatasetView(name=dataset, anchor=f"dataset-{gallery_module.safe_file_name(dataset)}",
                       family=recorded.get("family", ""), item_count=len(items),
                       failure_count=int((results.failures.dataset == dataset).sum()))
    algorithms = _algorithms(results, dataset)
    for algorithm in algorithms:
        colours.setdefault(algorithm, plots.PALETTE[len(colours) % len(plots.PALETTE)])
    all_tables = []
    for protocol in results.protocols():
        tables = metric_tables(results, dataset, protocol)
        if not tables:
            continue
        all_tables.append((protocol, tables))
        columns = _ordered({name for table in tables for name in table.summary.algorithm})
        rows = []
        for table in tables:
            cells = table_cells(table, paper)
            rows.append({"metric": table.metric, "arrow": "↑" if table.higher_is_better else "↓",
                         "cells": [cells.get(name) for name in columns]})
        view.tables.append(TableView(protocol, columns, rows,
                                     [(table.metric, describe_significance(table.significance)) for table in tables]))
    if all_tables:
        protocol, tables = all_tables[0]  # the plots show the first protocol (the run's own)
        _add_plots(view, results, dataset, protocol, tables, colours, assets)
    if gallery is not None:
        view.gallery = _finish_gallery(gallery, assets)
    return view


def _add_plots(view: DatasetView, results: RunResults, dataset: str, protocol: str, tables, colours,
               assets: gallery_module.AssetWriter) -> None:
    values = results.metrics[(results.metrics.dataset == dataset) & (results.metrics.protocol == protocol)]
    metrics = [table.metric for table in tables]
    directions = {table.metric: table.higher_is_better for table in tables}
    algorithms = _ordered(set(values.algorithm))
    if not algorithms:
        return
    suffix = f" (protocol {protocol})" if len(results.protocols()) > 1 else ""
    name = gallery_module.safe_file_name(dataset)
    view.plots.append((f"Distributions over items{suffix}", _chart(
        assets, f"{name}-distributions", plots.metric_distributions,
        values[["item", "algorithm", "metric", "value"]], directions, algorithms, metrics,
        {algorithm: colours[algorithm] for algorithm in algorithms}),
        "One dot per item; boxes show quartiles and median, whiskers 1.5 × IQR."))
    counts = pd.concat([table.summary[["algorithm", "n_first", "n_second"]] for table in tables]).fillna(0.0)
    ranked = _ordered(set(counts.algorithm))
    view.plots.append((f"Rank counts{suffix}", _chart(
        assets, f"{name}-rank-counts", plots.rank_counts, counts, ranked, view.item_count * len(tables)),
        "How often each algorithm ranked first / second over all items and metrics (ties shared)."))
    diagrams = [(table.metric, table.significance.average_ranks, table.significance.pairwise,
                 table.significance.n_items) for table in tables if len(table.significance.average_ranks) >= 2]
    if diagrams:
        view.plots.append((f"Critical-difference diagrams{suffix}", _chart(
            assets, f"{name}-critical-difference", plots.critical_difference, diagrams),
            "Average rank over items (1 = best). Thick bars join algorithms whose pairwise Wilcoxon "
            "signed-rank test (Holm-corrected, α = 0.05) finds no difference; the red bar is Nemenyi's "
            "critical difference for scale. Algorithms that failed on any item are left out."))


def _chart(assets: gallery_module.AssetWriter, name: str, draw, *arguments) -> str:
    """URL of the chart ``draw(*arguments)``: a file of the picture folder (reused from the previous
    report when its data are unchanged), or a data URI when pictures are embedded."""
    if assets.folder is None:
        return plots.data_uri_png(draw(*arguments))
    key = gallery_module.content_key("chart", plots.PLOTS_VERSION, name, draw.__name__, data_fingerprint(arguments))
    cached = assets.reuse(key)
    if cached is not None:
        return cached
    assets.begin()
    url = assets.store(f"charts/{name}-{key[:12]}.png", draw(*arguments), "image/png")
    assets.remember(key, url)
    return url


def data_fingerprint(value) -> str:
    """SHA-256 of the full content of nested frames, dicts, lists and scalars (exact, not a repr)."""
    digest = hashlib.sha256()

    def feed(part) -> None:
        if isinstance(part, pd.DataFrame):
            digest.update(b"frame" + part.to_csv(index=False).encode("utf-8"))
        elif isinstance(part, dict):
            digest.update(b"{")
            for key in sorted(part, key=str):
                feed(key)
                feed(part[key])
            digest.update(b"}")
        elif isinstance(part, (list, tuple)):
            digest.update(b"[")
            for element in part:
                feed(element)
            digest.update(b"]")
        else:
            digest.update(repr(part).encode("utf-8") + b";")

    feed(value)
    return digest.hexdigest()


def gallery_threads() -> int:
    """Worker threads for the gallery's pictures: the usable cores, at most 4 (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@dataclass
class _PendingItem:
    """One gallery item on its way: reused from the previous report, or being rendered."""

    key: str
    dataset: str
    item: str
    sources: list
    fused: list
    page_folder: Path
    rendering: Future | None = None


def _start_gallery(results: RunResults, dataset: str, page_folder: Path, assets: gallery_module.AssetWriter,
                   pool: ThreadPoolExecutor | None) -> list[_PendingItem]:
    """The dataset's gallery items; those whose files changed since the last report (or that it
    lacks) start rendering on ``pool``."""
    algorithms = _algorithms(results, dataset)
    recorded = results.run.get("datasets", {}).get(dataset, {}).get("sources", {})
    failures = results.failures[(results.failures.dataset == dataset) & (results.failures.stage == "fuse")]
    failure_messages: dict[tuple[str, str], str] = {}
    for item, algorithm, message in zip(failures.item.tolist(), failures.algorithm.tolist(), failures.message.tolist()):
        failure_messages.setdefault((item, algorithm), message)  # the first, as listed
    pending = []
    for item in results.items(dataset):
        sources = [_source_path(results.directory, dataset, item, index, entry)
                   for index, entry in enumerate(recorded.get(item, []))]
        fused = []
        for algorithm in algorithms:
            # published results SET:METHOD are stored as SET@METHOD (see fusionbench.path_safety.storage_name)
            path = results.directory / "fused" / algorithm.replace(":", "@", 1) / dataset / f"{item}.png"
            if path.is_file():
                fused.append((algorithm, path, ""))
            elif (item, algorithm) in failure_messages:
                fused.append((algorithm, None, f"failed: {failure_messages[(item, algorithm)]}"))
        key = gallery_module.content_key(
            "gallery-item", dataset, item, assets.url_prefix, str(page_folder),
            [(label, gallery_module.file_stamp(path), missing) for label, path, missing in sources + fused])
        entry = _PendingItem(key, dataset, item, sources, fused, page_folder)
        if pool is not None and not assets.can_reuse(key):
            entry.rendering = pool.submit(_render_gallery_item, entry)
        pending.append(entry)
    return pending


def _finish_gallery(pending: list[_PendingItem], assets: gallery_module.AssetWriter) -> list[gallery_module.GalleryItem]:
    """Gallery items, in order; an item whose files are unchanged since the last report is reused, not redrawn."""
    entries = []
    for entry in pending:
        if entry.rendering is None:
            cached = assets.reuse(entry.key)
            if cached is not None:
                entries.append(gallery_module.item_from_json(cached))
                continue
        rendered = entry.rendering.result() if entry.rendering is not None else _render_gallery_item(entry)
        assets.begin()
        item = gallery_module.store_item(rendered, assets)
        assets.remember(entry.key, gallery_module.item_to_json(item))
        entries.append(item)
    return entries


def _render_gallery_item(entry: _PendingItem) -> gallery_module.RenderedItem:
    """Decode the item's pictures and encode its thumbnails and close-ups (runs in a worker thread)."""
    return gallery_module.render_item(
        entry.dataset, entry.item, [_read_tile(label, path, missing) for label, path, missing in entry.sources],
        [(*_read_tile(label, path, missing)[:2], path, missing) for label, path, missing in entry.fused],
        entry.page_folder)


def _gallery(results: RunResults, dataset: str, items: list[str], algorithms: list[str], page_folder: Path,
             assets: gallery_module.AssetWriter) -> list[gallery_module.GalleryItem]:
    """Gallery items of ``dataset``, rendered in this thread (see :func:`render_report` for the threaded way)."""
    return _finish_gallery(_start_gallery(results, dataset, page_folder, assets, None), assets)


def _read_tile(label: str, path: Path | None, missing: str):
    """(label, image or None, why missing) for a picture file that may be absent or unreadable."""
    if path is None:
        return label, None, missing
    try:
        return label, gallery_module.read_picture(path), missing
    except FusionBenchError as error:
        return label, None, str(error)


def _source_path(run_dir: Path, dataset: str, item: str, index: int, entry: dict):
    """(label, path or None, why missing) for a source recorded in run.json."""
    name = str(entry.get("path") or entry.get("file") or f"source {index + 1}")
    label = Path(name).name
    path = _find_source(run_dir, dataset, item, index, name)
    if path is None:
        return label, None, f"source file {name} not found (set --data-dir to the dataset mirror)"
    return label, path, ""


def _find_source(run_dir: Path, dataset: str, item: str, index: int, name: str) -> Path | None:
    """The recorded path, else the data-directory mirrors, else the dataset registry (no download)."""
    from ..datasets.fetching import fetch, find_in_mirrors

    candidate = Path(name)
    for path in (candidate, run_dir / candidate):
        if path.is_file():
            return path
    mirrored = find_in_mirrors(name)
    if mirrored is not None:
        return mirrored
    try:
        from ..datasets import get_dataset

        return fetch(get_dataset(dataset).item(item).sources[index], download=False)
    except (FusionBenchError, IndexError):
        return None


def _summary(results: RunResults, datasets: list[DatasetView]) -> dict[str, Any]:
    return {
        "datasets": len(datasets),
        "item_count": sum(view.item_count for view in datasets),
        "algorithms": len(_algorithms(results)),
        "metrics": len(set(results.metrics.metric)),
        "value_count": len(results.metrics),
        "failures": len(results.failures),
        "protocols": ", ".join(results.protocols()),
    }


def _metadata(run: dict) -> list[tuple[str, str]]:
    """Top-level scalar facts of run.json, in a readable order."""
    keys = ["fusionbench_version", "created", "command_line", "protocol", "device", "jobs"]
    rows = [(key, _text(run[key])) for key in keys if key in run]
    rows += [(key, _text(value)) for key, value in run.items()
             if key not in keys and not isinstance(value, dict) and key not in ("algorithms", "metrics", "datasets")]
    for key, value in run.items():
        if isinstance(value, dict) and key not in ("algorithms", "metrics", "datasets"):
            rows += [(f"{key}.{name}", _text(entry)) for name, entry in value.items()]
    return rows


def _identities(entries: dict) -> list[tuple[str, str]]:
    return [(name, _text(identity)) for name, identity in sorted(entries.items(), key=lambda pair: pair[0])]


def _sources(datasets: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for dataset, entry in datasets.items():
        for item, files in entry.get("sources", {}).items():
            for file in files:
                rows.append((dataset, item, str(file.get("file", "")), str(file.get("sha256", ""))))
    return rows


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(part) for part in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={_text(entry)}" for key, entry in value.items())
    return str(value)
