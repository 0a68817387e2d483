"""One HTML page from a run directory: tables, plots, gallery, timings, failures and run metadata.

``write_report(run_dir)`` reads only the run directory (``metrics.csv``, ``timings.csv``,
``failures.csv``, ``run.json``, ``fused/``) and the source images named in ``run.json``; it
recomputes nothing that the run measured. The page is rendered with jinja2 from
``templates/report.html.j2`` and needs no network: CSS and the small item selector are inline; the
charts (PNG) and the gallery's pictures (JPEG thumbnails, WebP close-ups) go to a sibling folder
``<page stem>_files/`` (``report_files/`` for ``report.html``) — or are embedded as data URIs with
``embed_images=True``, for a page that is a single file. The lossless PNGs are only linked (relative URLs), so the page
works opened from disk or served from the run directory.

Sections: summary; an overview heat map (algorithms x metrics by mean rank, over all datasets); per
dataset the paper-style table per protocol (mean with the rank triple, best bold, second italic; the
paper's value and the difference beside ours with ``compare_paper``) and the statistics under it, the
dataset's heat map and critical-difference diagram (Friedman + Nemenyi over items), metric
distributions, rank counts, per-metric critical-difference diagrams and the gallery; the dialects
compared (when metrics.csv holds more than one); then timings (Table 5 and a chart), failures, and the
run's metadata (versions, device, command line, algorithm identities and checkpoint hashes, metric
versions, source file hashes).

Scale (issue #20: 40 algorithms x 20 metrics): algorithms appear in one order everywhere, grouped
by kind (:mod:`.ordering`), each with one colour and marker (:mod:`.styles`). With more than
``tables.TRANSPOSE_ABOVE`` algorithms a table has one row per algorithm, which a few lines of
inline script sort by any column and filter by name or group (without script it is a plain table);
the per-metric distributions, rank counts and per-metric diagrams, unreadable (and slow to draw) at
that size, give way to the heat map and the dataset's diagram (every test stays in ``tables/DATASET-statistics.csv``). The gallery shows one
item and a chosen subset of algorithms at a time, with a before/after slider between any two
pictures and zoomed crops that follow one point on every picture. Every name from a dataset, plugin
or manifest is escaped (:mod:`.escaping`; the template's autoescape).

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
from . import plots, styles
from .statistics import dataset_ranking, describe_briefly
from .statistics import describe as describe_significance
from .tables import (
    RunResults,
    format_value,
    load_run,
    metric_tables,
    row_dialects,
    select_dialects,
    table_cells,
    timing_summary,
    transposed,
)

REPORT_NAME = "report.html"
#: Algorithms the gallery shows at first (the dataset's best by mean rank); the reader picks others.
GALLERY_DEFAULT_ALGORITHMS = 8


@dataclass
class TableView:
    """One paper-style table (dataset x protocol) ready for the template."""

    protocol: str
    algorithms: list[str]
    rows: list[dict[str, Any]]  # {"metric", "arrow", "cells": [Cell | None]}
    statistics: list[tuple[str, str]]  # (metric, sentence)
    #: algorithms in rows (more than tables.TRANSPOSE_ABOVE of them): the rows are algorithm_rows
    transposed: bool = False
    #: {"name", "group", "glyph", "colour", "cells": [(Cell | None, sort key)]}, one per algorithm
    algorithm_rows: list[dict[str, Any]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


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
    #: algorithms x metrics mean ranks of the first protocol (for the overview across datasets)
    mean_ranks: pd.DataFrame | None = None
    #: the gallery's algorithms, in order: (name, group, glyph, colour, shown at first)
    gallery_algorithms: list[tuple[str, str, str, str, bool]] = field(default_factory=list)


def write_report(run_dir: str | os.PathLike, output: str | os.PathLike | None = None, *,
                 compare_paper: bool = False, embed_images: bool = False, gallery: bool = True,
                 dialects=()) -> Path:
    """Render the report of ``run_dir`` to ``output`` (default ``RUN_DIR/report.html``); returns its path.

    ``embed_images`` makes the page self-contained (pictures as data URIs); ``dialects`` keeps only
    the metric values of those dialects. The page is written atomically; its picture folder is built
    beside it under a temporary name and swapped in when complete, so an interrupted call never
    leaves a half-written report behind.
    """
    results = select_dialects(load_run(run_dir), dialects)
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
    algorithm_styles = styles.algorithm_styles(all_algorithms)
    colours = {name: style.colour for name, style in algorithm_styles.items()}
    # The gallery's pictures are decoded and encoded in worker threads (that work releases the GIL)
    # while this thread draws the charts; the results are stored here, in page order.
    pool = ThreadPoolExecutor(gallery_threads(), thread_name_prefix="gallery") if with_gallery else None
    try:
        galleries = {name: _start_gallery(results, name, page_folder, assets, pool) for name in results.datasets()} \
            if with_gallery else {}
        datasets = [_dataset_view(results, name, page_folder, assets, paper, algorithm_styles, galleries.get(name))
                    for name in results.datasets()]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    timings = timing_summary(results)
    timing_plot = ""
    if not results.timings.empty:
        timing_plot = _chart(assets, "timings", plots.timing_chart, results.timings[["dataset", "algorithm", "seconds"]],
                             _ordered(results, set(results.timings.algorithm)), results.datasets())
    context = {
        "title": f"fusionbench report — {results.directory.name}",
        "run_dir": str(results.directory),
        "generated_by": __version__,
        "run": run,
        "summary": _summary(results, datasets),
        "overview": _overview(results, datasets, assets, algorithm_styles),
        "dialects": _dialect_section(results),
        "reproduction": _reproduction_section(results),
        "execution": _execution(run),
        "datasets": datasets,
        "compare_paper": compare_paper,
        # a self-contained page compares and zooms its embedded thumbnails, not the run's PNGs
        "embedded": assets.folder is None,
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


def _ordered(results: RunResults, names) -> list[str]:
    return results.order.sorted(names)


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
    return _ordered(results, names)


def _dataset_view(results: RunResults, dataset: str, page_folder: Path, assets: gallery_module.AssetWriter,
                  paper, algorithm_styles: dict[str, styles.Style], gallery: list | None) -> DatasetView:
    recorded = results.run.get("datasets", {}).get(dataset, {})
    items = results.items(dataset)
    view = DatasetView(name=dataset, anchor=f"dataset-{gallery_module.safe_file_name(dataset)}",
                       family=recorded.get("family", ""), item_count=len(items),
                       failure_count=int((results.failures.dataset == dataset).sum()))
    algorithms = _algorithms(results, dataset)
    for algorithm in algorithms:
        algorithm_styles.setdefault(algorithm, styles.style_at(len(algorithm_styles)))
    all_tables = []
    for protocol in results.protocols():
        tables = metric_tables(results, dataset, protocol)
        if not tables:
            continue
        all_tables.append((protocol, tables))
        view.tables.append(_table_view(results, protocol, tables, paper, algorithm_styles))
    ranking = None
    if all_tables:
        protocol, tables = all_tables[0]  # the plots show the first protocol (the run's own)
        ranking = dataset_ranking([(table.matrix, table.higher_is_better) for table in tables])
        _add_plots(view, results, dataset, protocol, tables, algorithm_styles, assets, ranking)
    if gallery is not None:
        view.gallery = _finish_gallery(gallery, assets)
        view.gallery_algorithms = _gallery_algorithms(results, algorithms, ranking, algorithm_styles)
    return view


def _table_view(results: RunResults, protocol: str, tables, paper, algorithm_styles) -> TableView:
    """The template's view of one protocol's tables: metrics in rows, or (many algorithms) in columns."""
    columns = _ordered(results, {name for table in tables for name in table.summary.algorithm})
    all_cells = [table_cells(table, paper) for table in tables]
    rows = [{"metric": table.metric, "arrow": "↑" if table.higher_is_better else "↓",
             "cells": [cells.get(name) for name in columns]} for table, cells in zip(tables, all_cells)]
    # many algorithms: the count of differing pairs, not hundreds of them (all are in tables/)
    describe = describe_briefly if transposed(columns) else describe_significance
    view = TableView(protocol, columns, rows, [(table.metric, describe(table.significance)) for table in tables],
                     transposed=transposed(columns))
    if view.transposed:
        ranks = [dict(zip(table.summary.algorithm.tolist(), table.summary.overall_rank.tolist())) for table in tables]
        kinds = [title for title, _ in results.order.groups(columns)]
        view.groups = kinds
        for name in columns:
            style = algorithm_styles[name]
            view.algorithm_rows.append({
                "name": name, "group": results.order.title(name), "group_index": kinds.index(results.order.title(name)),
                "glyph": style.glyph, "colour": style.colour,
                "cells": [(cells.get(name), _sort_key(rank.get(name))) for cells, rank in zip(all_cells, ranks)]})
    return view


def _sort_key(rank) -> str:
    """A cell's sort key: its overall rank (1 = best), or empty (sorted last) without one."""
    return "" if rank is None or rank != rank else str(int(rank))


def _gallery_algorithms(results: RunResults, algorithms: list[str], ranking, algorithm_styles):
    """The gallery's algorithm choices; the dataset's best few by average rank are shown at first."""
    ranked = sorted(ranking.average_ranks, key=ranking.average_ranks.get) if ranking is not None else []
    ranked += [name for name in algorithms if name not in ranked]
    shown = set(ranked[:GALLERY_DEFAULT_ALGORITHMS])
    return [(name, results.order.title(name), algorithm_styles[name].glyph, algorithm_styles[name].colour,
             name in shown) for name in algorithms]


def _add_plots(view: DatasetView, results: RunResults, dataset: str, protocol: str, tables, algorithm_styles,
               assets: gallery_module.AssetWriter, ranking) -> None:
    values = results.metrics[(results.metrics.dataset == dataset) & (results.metrics.protocol == protocol)]
    metrics = [table.metric for table in tables]
    directions = {table.metric: table.higher_is_better for table in tables}
    algorithms = _ordered(results, set(values.algorithm))
    if not algorithms:
        return
    colours = {name: style.colour for name, style in algorithm_styles.items()}
    suffix = f" (protocol {protocol})" if len(results.protocols()) > 1 else ""
    name = gallery_module.safe_file_name(dataset)
    mean_ranks = view.mean_ranks = _mean_rank_frame(results, tables)
    view.plots.append((f"Overview: mean rank per metric{suffix}", _chart(
        assets, f"{name}-heat-map", plots.rank_heat_map, mean_ranks, f"{dataset}: mean rank over items",
        results.order.groups(mean_ranks.index), _styles_of(algorithm_styles, mean_ranks.index)),
        "Each cell: the algorithm's mean rank over the items for that metric (1 = best; ties share ranks); "
        "— where it failed on an item. Algorithms grouped by kind, as in the tables."))
    if len(ranking.average_ranks) >= 2:
        view.plots.append((f"Critical-difference diagram{suffix}", _chart(
            assets, f"{name}-dataset-critical-difference", plots.dataset_critical_difference,
            _ranking_title(dataset, ranking), ranking.average_ranks, ranking.critical_difference, ranking.groups,
            _styles_of(algorithm_styles, ranking.average_ranks)),
            f"Average rank over {ranking.n_items} items of the mean rank over {ranking.n_metrics} metrics "
            "(1 = best; Demšar 2006). Thick bars join algorithms within Nemenyi's critical difference "
            "(α = 0.05) of each other: the test finds no difference between them. Algorithms that failed on "
            "any item are left out; every per-metric test is in tables/DATASET-statistics.csv."))
    if transposed(algorithms):
        return  # per-metric distributions, rank counts and diagrams of this many algorithms are unreadable
    view.plots.append((f"Distributions over items{suffix}", _chart(
        assets, f"{name}-distributions", plots.metric_distributions,
        values[["item", "algorithm", "metric", "value"]], directions, algorithms, metrics,
        {algorithm: colours[algorithm] for algorithm in algorithms}),
        "One dot per item; boxes show quartiles and median, whiskers 1.5 × IQR."))
    counts = pd.concat([table.summary[["algorithm", "n_first", "n_second"]] for table in tables]).fillna(0.0)
    ranked = _ordered(results, set(counts.algorithm))
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


def _mean_rank_frame(results: RunResults, tables) -> pd.DataFrame:
    """Algorithms (report order) x metrics (table order): each table's mean rank over items."""
    columns = {table.metric: dict(zip(table.summary.algorithm.tolist(), table.summary.mean_rank.tolist()))
               for table in tables}
    algorithms = _ordered(results, {name for ranks in columns.values() for name in ranks})
    return pd.DataFrame({metric: [ranks.get(name, float("nan")) for name in algorithms]
                         for metric, ranks in columns.items()}, index=algorithms)


def _styles_of(algorithm_styles: dict[str, styles.Style], names) -> dict[str, styles.Style]:
    """The styles of ``names`` only (what a chart's content key depends on)."""
    return {name: algorithm_styles[name] for name in names if name in algorithm_styles}


def _ranking_title(dataset: str, ranking) -> str:
    if ranking.friedman_p != ranking.friedman_p:  # NaN: too few algorithms or items
        return f"{dataset}: average ranks (Friedman test not applicable)"
    return (f"{dataset}: Friedman χ² = {ranking.friedman_statistic:.1f}, p = {ranking.friedman_p:.2g}; "
            f"Nemenyi CD = {ranking.critical_difference:.2f} (k = {len(ranking.average_ranks)}, n = {ranking.n_items})")


def _overview(results: RunResults, datasets: list[DatasetView], assets: gallery_module.AssetWriter,
              algorithm_styles) -> str:
    """URL of the heat map over all datasets (mean over datasets of each dataset's mean rank), or
    "" for a run of one dataset (its own heat map says it all)."""
    frames = [view.mean_ranks for view in datasets if view.mean_ranks is not None]
    if len(frames) < 2:
        return ""
    mean_ranks = pd.concat(frames, keys=range(len(frames))).groupby(level=1).mean()
    metrics = list(dict.fromkeys(metric for frame in frames for metric in frame.columns))
    mean_ranks = mean_ranks.loc[_ordered(results, mean_ranks.index), metrics]
    return _chart(assets, "overview-heat-map", plots.rank_heat_map, mean_ranks,
                  f"All {len(frames)} datasets: mean over datasets of the mean rank",
                  results.order.groups(mean_ranks.index), _styles_of(algorithm_styles, mean_ranks.index))


def _dialect_section(results: RunResults) -> dict[str, Any] | None:
    """Differences and ranking changes between dialects, when metrics.csv holds more than one."""
    dialects = row_dialects(results.metrics)
    if dialects.nunique() < 2:
        return None
    from .dialect_comparison import compare_dialects

    frame = results.metrics[["dataset", "item", "algorithm", "protocol", "metric", "value"]].assign(
        dialect=dialects.to_numpy())
    comparison = compare_dialects(frame)
    differences = comparison.differences.sort_values("median_relative_difference", ascending=False)
    rankings = comparison.rankings.sort_values("kendall_tau")
    return {"dialects": sorted(set(dialects)), "differences": differences.to_dict("records"),
            "rankings": rankings.to_dict("records")}


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


def _reproduction_section(results: RunResults) -> list[dict[str, Any]]:
    """How closely models reproduce published images of the same items (when the run holds both)."""
    from .reproduction import PUBLISHED_COUNTERPARTS, VIFB_JPEG_QUALITY, published_reproduction

    present = set(results.metrics.algorithm) | set(results.timings.get("algorithm", ()))
    pairs = {model: published for model, published in PUBLISHED_COUNTERPARTS.items()
             if model in present and published in present}
    if not pairs:
        return []
    plain = published_reproduction(results.directory, pairs)
    # VIFB's files are quality-75 JPEGs: the same compression applied to the model's images says how
    # much of the difference is the compression's
    compressed = published_reproduction(results.directory, pairs, VIFB_JPEG_QUALITY)
    rows = plain.merge(compressed[["model", "published", "dataset", "within_one_percent", "mean_absolute_difference"]],
                       on=["model", "published", "dataset"], suffixes=("", "_compressed"), how="left")
    return rows.to_dict("records")


def _execution(run: dict) -> dict[str, Any] | None:
    """Executor, workers, stage seconds and parallel efficiency from run.json (harness metadata)."""
    stages = run.get("stage_seconds")
    if not isinstance(stages, dict):
        return None
    return {"executor": run.get("executor"), "workers": run.get("workers"),
            "threads": run.get("threads_per_worker"), "efficiency": run.get("parallel_efficiency"),
            "wall": run.get("wall_seconds"),
            "stages": [(str(name), float(seconds)) for name, seconds in stages.items()
                       if isinstance(seconds, (int, float))]}


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
