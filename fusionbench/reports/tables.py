"""The paper's tables from a run directory: means, rank triples, Table 5 timings.

Layout (the IFCNN paper, Tables 1-4): one table per dataset and protocol, one row per metric,
one column per algorithm; each cell is the mean over the dataset's items followed by the
triple (overall rank, #items ranked first, #items ranked second); the best mean is bold, the
second best italic. With more than :data:`TRANSPOSE_ABOVE` algorithms the table is transposed
(one row per algorithm, one column per metric), so that 40 algorithms stay readable; columns and
rows follow the run's algorithm order (:mod:`.ordering`: grouped by kind, then by name).

Every name written into a table (datasets, items, algorithms, metrics, failure messages) goes
through :mod:`.escaping` for its format (Markdown, LaTeX, CSV).

Rank rules (documented because the paper does not define them):

* **Direction**: each metric ranks by its registered direction (``higher_is_better``).
* **Ties**: values are compared after rounding to 12 significant digits (so that summation-order
  noise is not a "difference"). Per item, algorithms are placed in positions 1, 2, ...; a group
  of ``k`` tied algorithms spanning positions ``p .. p+k-1`` gives each member ``1/k`` of every
  position in that span. So #first and #second are fractional only where ties occur, and the
  #first counts over all ranked algorithms sum to exactly the number of items (likewise #second
  when at least two algorithms are ranked).
* **Overall rank**: competition ranking ("1224") of the means: tied means share the better rank.
  (The paper's own overall ranks are not always the order of its printed means — e.g. Table 1,
  VIFF — so we state ours rather than guess theirs.)
* **Failures are never hidden**: an algorithm that lacks a value on some item (its fusion or the
  metric failed there) gets no mean and no ranks; its cell reads ``n/a (failed on K of N items)``
  and the remaining algorithms are ranked among themselves on all items.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FusionBenchError
from ..image_io import write_text_atomic
from . import escaping, statistics
from .ordering import AlgorithmOrder

METRICS_COLUMNS = ["dataset", "item", "algorithm", "protocol", "metric", "value"]
#: Written by runs with ``--dialect``; kept when present.
DIALECT_COLUMN = "dialect"
#: The dialect of a ``protocol`` label when metrics.csv has no dialect column (as the harness names them).
PROTOCOL_DIALECTS = {"standard": "fusionbench"}
#: Tables with more algorithms than this put the algorithms in rows.
TRANSPOSE_ABOVE = 8
TIMINGS_COLUMNS = ["dataset", "item", "algorithm", "device", "seconds", "width", "height"]
FAILURES_COLUMNS = ["dataset", "item", "algorithm", "stage", "metric", "message"]

#: The paper's column order; other algorithms follow in name order.
PAPER_ALGORITHM_ORDER = ("gff", "lpsr", "mfcnn", "mecnn", "ifcnn-sum", "ifcnn-mean", "baseline-max",
                         "baseline-mean", "ifcnn-max")
#: The paper's row order; other metrics follow in name order.
PAPER_METRIC_ORDER = ("VIFF", "ISSIM", "NMI", "MEF-SSIM", "SF", "AG")

TIE_SIGNIFICANT_DIGITS = 12


class RunDirectoryError(FusionBenchError):
    """A run directory lacks a file or has a malformed one."""


@dataclass
class RunResults:
    """Everything a table or report needs from a run directory."""

    directory: Path
    metrics: pd.DataFrame
    timings: pd.DataFrame
    failures: pd.DataFrame
    run: dict = field(default_factory=dict)
    order: AlgorithmOrder | None = None

    def __post_init__(self) -> None:
        if self.order is None:
            self.order = AlgorithmOrder.from_run(self.run)

    def higher_is_better(self, metric: str) -> bool:
        """The metric's direction, from run.json, else the registry, else higher."""
        recorded = self.run.get("metrics", {}).get(metric)
        if recorded and "higher_is_better" in recorded:
            return bool(recorded["higher_is_better"])
        try:
            from ..registry import get_metric

            return bool(get_metric(metric).higher_is_better)
        except FusionBenchError:
            return True

    def items(self, dataset: str) -> list[str]:
        """Planned items of ``dataset`` (run.json), else those seen in the CSVs."""
        recorded = self.run.get("datasets", {}).get(dataset, {}).get("items")
        if recorded:
            return list(recorded)
        seen = pd.concat([self.metrics.loc[self.metrics.dataset == dataset, "item"],
                          self.failures.loc[self.failures.dataset == dataset, "item"]])
        return sorted(set(seen))

    def datasets(self) -> list[str]:
        recorded = list(self.run.get("datasets", {}))
        seen = sorted(set(self.metrics.dataset) | set(self.failures.dataset) - set(recorded))
        return recorded + [name for name in seen if name not in recorded]

    def protocols(self) -> list[str]:
        recorded = self.run.get("protocols") or ([self.run["protocol"]] if "protocol" in self.run else [])
        seen = sorted(set(self.metrics.protocol) - set(recorded))
        return list(recorded) + seen


def _read_csv(path: Path, columns: list[str], required: bool, optional: tuple[str, ...] = ()) -> pd.DataFrame:
    if not path.is_file():
        if required:
            raise RunDirectoryError(f"{path}: not found; is {path.parent} a fusionbench run directory?")
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(path, dtype={"item": str, "message": str, "metric": str}, keep_default_na=False,
                        na_values={"value": ["", "nan", "NaN"], "seconds": ["", "nan"]})
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise RunDirectoryError(f"{path}: missing columns {missing}")
    return frame[columns + [column for column in optional if column in frame.columns]]


def load_run(run_dir: str | Path) -> RunResults:
    """Read metrics.csv, timings.csv, failures.csv and run.json of a run directory."""
    directory = Path(run_dir)
    if not directory.is_dir():
        raise RunDirectoryError(f"{directory}: no such run directory")
    run_path = directory / "run.json"
    run = json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {}
    metrics = _read_csv(directory / "metrics.csv", METRICS_COLUMNS, required=True, optional=(DIALECT_COLUMN,))
    metrics["value"] = metrics["value"].astype(float)
    timings = _read_csv(directory / "timings.csv", TIMINGS_COLUMNS, required=False)
    failures = _read_csv(directory / "failures.csv", FAILURES_COLUMNS, required=False)
    return RunResults(directory, metrics, timings, failures, run)


def row_dialects(metrics: pd.DataFrame) -> pd.Series:
    """The dialect of each metrics row: its ``dialect`` column, else the dialect its protocol
    label stands for (``standard`` is ``fusionbench``; any other label is its dialect's name)."""
    from_protocol = metrics["protocol"].map(lambda label: PROTOCOL_DIALECTS.get(label, label))
    if DIALECT_COLUMN not in metrics.columns:
        return from_protocol
    recorded = metrics[DIALECT_COLUMN].astype(str)
    return recorded.where(recorded != "", from_protocol)


def select_dialects(results: RunResults, dialects) -> RunResults:
    """``results`` with only the metric values of ``dialects`` (all of them for an empty selection)."""
    if not dialects:
        return results
    chosen = list(dict.fromkeys(dialects))
    known = sorted(set(row_dialects(results.metrics)))
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise RunDirectoryError(f"{results.directory}: no metric values of dialect(s) {unknown}; "
                                f"the run has {known or 'none'}")
    metrics = results.metrics[row_dialects(results.metrics).isin(chosen).to_numpy()].reset_index(drop=True)
    # only the protocols of the chosen dialects get tables (a metric failure is not per protocol)
    kept = [protocol for protocol in results.protocols() if protocol in set(metrics.protocol)]
    run = {**results.run, "protocols": kept, "protocol": ",".join(kept)}
    return RunResults(results.directory, metrics, results.timings, results.failures, run, results.order)


# ---------------------------------------------------------------------------------------------
# Ranking


def _tie_rounded(values: np.ndarray) -> np.ndarray:
    """Values rounded to TIE_SIGNIFICANT_DIGITS significant digits (ties = equal after this)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where(values == 0, 0, np.floor(np.log10(np.abs(values))))
    scale = 10.0 ** (TIE_SIGNIFICANT_DIGITS - 1 - magnitude)
    return np.round(values * scale) / scale


def position_credits(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """``credits[a, p]``: the share of position ``p+1`` that algorithm ``a`` gets on one item.

    A tied group spanning positions ``p .. p+k-1`` gives each member ``1/k`` of each of them
    (module docstring); every column sums to 1.
    """
    rounded = _tie_rounded(np.asarray(values, dtype=np.float64))
    keys = -rounded if higher_is_better else rounded
    order = np.argsort(keys, kind="stable")
    credits = np.zeros((len(keys), len(keys)))
    if len(keys) and np.all(keys[order[1:]] != keys[order[:-1]]):  # no ties: each algorithm one position
        credits[order, np.arange(len(keys))] = 1.0
        return credits
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and keys[order[stop]] == keys[order[start]]:
            stop += 1
        group = order[start:stop]
        credits[np.ix_(group, np.arange(start, stop))] = 1.0 / len(group)
        start = stop
    return credits


def competition_ranks(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """"1224" ranking: 1 + the number of strictly better values (ties share the better rank)."""
    rounded = _tie_rounded(np.asarray(values, dtype=np.float64))
    keys = -rounded if higher_is_better else rounded
    return np.array([1 + int(np.sum(keys < key)) for key in keys])


def rank_summary(values: pd.DataFrame | None, higher_is_better: bool, matrix: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per algorithm: mean and (overall rank, #first, #second) by the rules of the module doc.

    ``values`` has columns ``item, algorithm, value`` (NaN or an absent row = no value). Returns
    one row per algorithm with columns ``algorithm, mean, overall_rank, n_first, n_second,
    mean_rank, n_items, n_missing``; algorithms with a missing value have NaN in the first five
    numeric columns and their count in ``n_missing``. ``matrix`` is
    ``statistics.value_matrix(values)`` when the caller has it already.
    """
    matrix = statistics.value_matrix(values) if matrix is None else matrix
    items = len(matrix)
    missing = matrix.isna().to_numpy().sum(axis=0)
    complete = [name for name, count in zip(matrix.columns, missing) if count == 0 and items > 0]
    rows = {name: {"algorithm": name, "mean": math.nan, "overall_rank": math.nan, "n_first": math.nan,
                   "n_second": math.nan, "mean_rank": math.nan, "n_items": items,
                   "n_missing": int(count)} for name, count in zip(matrix.columns, missing)}
    if complete:
        # Row-major, so that the means below add the items one after the other (as they always did).
        block = np.ascontiguousarray(matrix[complete].to_numpy(dtype=np.float64))
        credits = np.zeros((len(complete), len(complete)))
        for row in block:
            credits += position_credits(row, higher_is_better)
        means = block.mean(axis=0)
        ranks = competition_ranks(means, higher_is_better)
        mean_ranks = statistics.fractional_ranks(matrix[complete], higher_is_better).mean(axis=0)
        for index, name in enumerate(complete):
            rows[name].update(mean=float(means[index]), overall_rank=int(ranks[index]),
                              n_first=float(credits[index, 0]),
                              n_second=float(credits[index, 1]) if len(complete) > 1 else 0.0,
                              mean_rank=float(mean_ranks[name]))
    frame = pd.DataFrame(list(rows.values()), columns=["algorithm", "mean", "overall_rank", "n_first", "n_second",
                                                       "mean_rank", "n_items", "n_missing"])
    return frame.sort_values("algorithm", key=lambda column: column.map(algorithm_sort_key)).reset_index(drop=True)


def algorithm_sort_key(name: str) -> tuple:
    return (PAPER_ALGORITHM_ORDER.index(name), "") if name in PAPER_ALGORITHM_ORDER else (len(PAPER_ALGORITHM_ORDER), name)


def metric_sort_key(name: str) -> tuple:
    return (PAPER_METRIC_ORDER.index(name), "") if name in PAPER_METRIC_ORDER else (len(PAPER_METRIC_ORDER), name)


# ---------------------------------------------------------------------------------------------
# Building the tables of a run


@dataclass
class MetricTable:
    """One row of a paper table: a metric's summary over algorithms on one dataset/protocol."""

    dataset: str
    protocol: str
    metric: str
    higher_is_better: bool
    summary: pd.DataFrame
    significance: statistics.SignificanceResult
    #: items x algorithms values (NaN: no value), for rankings over several metrics
    matrix: pd.DataFrame | None = None


def values_for(results: RunResults, dataset: str, protocol: str, metric: str) -> pd.DataFrame:
    """item x algorithm values, with NaN for every planned (item, algorithm) lacking a value."""
    rows = results.metrics[(results.metrics.dataset == dataset) & (results.metrics.protocol == protocol)
                           & (results.metrics.metric == metric)]
    failures = results.failures[results.failures.dataset == dataset]
    return _planned_values(rows, failures, metric, results.items(dataset))


def _planned_values(rows: pd.DataFrame, failures: pd.DataFrame, metric: str, items: list[str]) -> pd.DataFrame:
    """:func:`values_for` from the metric's rows and the dataset's failures, already selected."""
    failed = failures[(failures.stage == "fuse") | (failures.metric == metric)]
    algorithms = sorted(set(rows.algorithm) | set(failed.algorithm))
    grid = pd.MultiIndex.from_product([items, algorithms], names=["item", "algorithm"]).to_frame(index=False)
    merged = grid.merge(rows[["item", "algorithm", "value"]], on=["item", "algorithm"], how="left")
    return merged


def _planned_matrix(rows: pd.DataFrame, failures: pd.DataFrame, metric: str, items: list[str]) -> pd.DataFrame:
    """``statistics.value_matrix(_planned_values(...))``, built directly (the common case: each
    (item, algorithm) has at most one row) instead of through a merge and a pivot table."""
    failed = failures[(failures.stage == "fuse") | (failures.metric == metric)]
    algorithms = sorted(set(rows.algorithm) | set(failed.algorithm))
    names = sorted(set(items))
    try:
        ordered = [str(name) for name in names] == names and len(names) > 0 and len(algorithms) > 0
    except TypeError:
        ordered = False
    keys = list(zip(rows["item"].tolist(), rows["algorithm"].tolist()))
    if not ordered or not all(isinstance(item, str) and isinstance(algorithm, str) for item, algorithm in keys) \
            or len(set(keys)) < len(keys):
        return statistics.value_matrix(_planned_values(rows, failures, metric, items))
    item_index = {name: index for index, name in enumerate(names)}
    algorithm_index = {name: index for index, name in enumerate(algorithms)}
    table = np.full((len(names), len(algorithms)), np.nan)
    for (item, algorithm), value in zip(keys, rows["value"].to_numpy(dtype=np.float64)):
        row = item_index.get(item)
        if row is not None:  # values of unplanned items are left out, as the merge does
            table[row, algorithm_index[algorithm]] = value
    return statistics.matrix_frame(table, names, algorithms)


def metric_tables(results: RunResults, dataset: str, protocol: str) -> list[MetricTable]:
    """Every metric measured on ``dataset`` under ``protocol``, in the paper's row order."""
    subset = results.metrics[(results.metrics.dataset == dataset) & (results.metrics.protocol == protocol)]
    failures = results.failures[results.failures.dataset == dataset]
    failed_metrics = failures[failures.stage == "metric"]
    names = sorted(set(subset.metric) | set(failed_metrics.metric), key=metric_sort_key)
    by_metric = dict(iter(subset.groupby("metric", sort=False))) if len(subset) else {}
    items = results.items(dataset)
    tables = []
    for metric in names:
        matrix = _planned_matrix(by_metric.get(metric, subset.iloc[:0]), failures, metric, items)
        direction = results.higher_is_better(metric)
        tables.append(MetricTable(dataset, protocol, metric, direction, rank_summary(None, direction, matrix),
                                  statistics.significance(None, direction, matrix), matrix))
    return tables


def format_value(value: float) -> str:
    """Four significant digits, as the paper prints (trailing zeros kept: 0.9800)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1e4:
        return f"{value:.0f}"
    return f"{value:#.4g}".rstrip(".")


def format_count(count: float) -> str:
    """Integer counts as integers; tie shares with up to two decimals."""
    return str(int(round(count))) if abs(count - round(count)) < 1e-9 else f"{count:.2f}".rstrip("0")


def _emphasis(summary: pd.DataFrame) -> dict[str, str]:
    """'best' / 'second' by overall rank (competition ranks: ties share the emphasis)."""
    marks = {}
    ranks = summary.overall_rank.tolist()
    below_first = [rank for rank in ranks if rank > 1]  # NaN (failed) compares False
    second = 2 if 2 in ranks else min(below_first, default=None)
    for algorithm, rank in zip(summary.algorithm.tolist(), ranks):
        if rank == 1:
            marks[algorithm] = "best"
        elif rank == second:
            marks[algorithm] = "second"
    return marks


def _records(frame: pd.DataFrame) -> list:
    """``frame.itertuples(index=False)`` without pandas' per-row overhead (same values)."""
    from collections import namedtuple

    record = namedtuple("Row", list(frame.columns), rename=True)
    return [record(*values) for values in zip(*(frame[column].tolist() for column in frame.columns))]


@dataclass
class Cell:
    """The text parts of one table cell."""

    mean: str
    triple: str
    emphasis: str  # "", "best", "second"
    paper: str = ""  # "paper 0.9823 (2, 3, 2), Δ +0.01%" when comparing


def table_cells(table: MetricTable, paper=None) -> dict[str, Cell]:
    """Cell text per algorithm; ``paper`` is a PaperValues (see reports.paper) or None."""
    marks = _emphasis(table.summary)
    cells = {}
    for row in _records(table.summary):
        if row.n_missing:
            cell = Cell(f"n/a (failed on {row.n_missing} of {row.n_items} items)", "", "")
        else:
            cell = Cell(format_value(row.mean), f"({int(row.overall_rank)}, {format_count(row.n_first)}, "
                                                f"{format_count(row.n_second)})", marks.get(row.algorithm, ""))
        if paper is not None:
            printed = paper.lookup(table.dataset, table.metric, row.algorithm)
            if printed is not None:
                cell.paper = printed.describe(None if row.n_missing else row.mean)
        cells[row.algorithm] = cell
    return cells


def _markdown_cell(cell: Cell) -> str:
    text = escaping.markdown(cell.mean)
    if cell.emphasis == "best":
        text = f"**{text}**"
    elif cell.emphasis == "second":
        text = f"*{text}*"
    text = f"{text} {escaping.markdown(cell.triple)}".strip()
    return f"{text}<br>{escaping.markdown(cell.paper)}" if cell.paper else text


def _latex_escape(text: str) -> str:
    return escaping.latex(text)


def _latex_cell(cell: Cell) -> str:
    text = escaping.latex(cell.mean)
    if cell.emphasis == "best":
        text = rf"\textbf{{{text}}}"
    elif cell.emphasis == "second":
        text = rf"\textit{{{text}}}"
    text = f"{text} {escaping.latex(cell.triple)}".strip()
    return rf"\shortstack{{{text}\\ \scriptsize {escaping.latex(cell.paper)}}}" if cell.paper else text


def table_algorithms(tables: list[MetricTable], order: AlgorithmOrder | None = None) -> list[str]:
    """The algorithms of ``tables`` in the run's order (the paper's order without one)."""
    names = {name for table in tables for name in table.summary.algorithm}
    return order.sorted(names) if order is not None else sorted(names, key=algorithm_sort_key)


def transposed(algorithms: list[str]) -> bool:
    """Whether a table of these algorithms puts them in rows (more than :data:`TRANSPOSE_ABOVE`)."""
    return len(algorithms) > TRANSPOSE_ABOVE


def _metric_heading(table: MetricTable, escape) -> str:
    return f"{escape(table.metric)} {'↑' if table.higher_is_better else '↓'}"


def markdown_table(tables: list[MetricTable], paper=None, with_statistics: bool = True,
                   order: AlgorithmOrder | None = None) -> str:
    """The paper-style Markdown table (metrics x algorithms, or algorithms x metrics beyond
    :data:`TRANSPOSE_ABOVE` algorithms) with statistics under it."""
    if not tables:
        return "_no metric values_\n"
    algorithms = table_algorithms(tables, order)
    cells = [table_cells(table, paper) for table in tables]
    if transposed(algorithms):
        lines = ["| Algorithm | Group | " + " | ".join(_metric_heading(table, escaping.markdown) for table in tables)
                 + " |", "| --- | --- |" + " --- |" * len(tables)]
        for name in algorithms:
            group = order.title(name) if order is not None else ""
            lines.append(f"| {escaping.markdown(name)} | {group} | " + " | ".join(
                _markdown_cell(row[name]) if name in row else "—" for row in cells) + " |")
    else:
        lines = ["| Metric | " + " | ".join(escaping.markdown(name) for name in algorithms) + " |",
                 "| --- |" + " --- |" * len(algorithms)]
        for table, row in zip(tables, cells):
            lines.append(f"| {_metric_heading(table, escaping.markdown)} | " + " | ".join(
                _markdown_cell(row[name]) if name in row else "—" for name in algorithms) + " |")
    text = "\n".join(lines) + "\n"
    if with_statistics:
        text += "\n" + "\n".join(f"- **{escaping.markdown(table.metric)}**: "
                                  f"{escaping.markdown(statistics.describe(table.significance))}"
                                  for table in tables) + "\n"
    return text


def latex_table(tables: list[MetricTable], caption: str, paper=None, order: AlgorithmOrder | None = None) -> str:
    """The same table as a LaTeX ``table`` environment (booktabs; transposed as the Markdown one)."""
    algorithms = table_algorithms(tables, order)
    cells = [table_cells(table, paper) for table in tables]
    if transposed(algorithms):
        header = "Algorithm & " + " & ".join(_metric_heading(table, escaping.latex) for table in tables) + r" \\"
        body = [escaping.latex(name) + " & " + " & ".join(
            _latex_cell(row[name]) if name in row else "--" for row in cells) + r" \\" for name in algorithms]
        columns = len(tables)
    else:
        header = "Metric & " + " & ".join(escaping.latex(name.upper()) for name in algorithms) + r" \\"
        body = [escaping.latex(table.metric) + " & " + " & ".join(
            _latex_cell(row[name]) if name in row else "--" for name in algorithms) + r" \\"
            for table, row in zip(tables, cells)]
        columns = len(algorithms)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{escaping.latex(caption)}}}",
             r"\begin{tabular}{l" + "c" * columns + "}", r"\toprule", header, r"\midrule", *body,
             r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def summary_frame(tables: list[MetricTable], paper=None) -> pd.DataFrame:
    """Long CSV form: one row per protocol x metric x algorithm (full precision)."""
    frames = []
    for table in tables:
        frame = table.summary.copy()
        frame.insert(0, "metric", table.metric)
        frame.insert(0, "protocol", table.protocol)
        frame.insert(0, "dataset", table.dataset)
        frame["higher_is_better"] = table.higher_is_better
        if paper is not None:
            printed = [paper.lookup(table.dataset, table.metric, name) for name in frame.algorithm]
            frame["paper_mean"] = [p.value if p else math.nan for p in printed]
            frame["difference_percent"] = [100 * (m - p.value) / p.value if p and p.value else math.nan
                                           for m, p in zip(frame["mean"], printed)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def statistics_frame(tables: list[MetricTable]) -> pd.DataFrame:
    """Friedman, average ranks and Holm-Wilcoxon pairs as one long CSV."""
    rows = []
    for table in tables:
        base = {"dataset": table.dataset, "protocol": table.protocol, "metric": table.metric}
        result = table.significance
        rows.append({**base, "test": "friedman", "statistic": result.friedman_statistic, "p_raw": result.friedman_p})
        for name, rank in result.average_ranks.items():
            rows.append({**base, "test": "average_rank", "first": name, "statistic": rank})
        for pair in _records(result.pairwise):
            rows.append({**base, "test": "wilcoxon_holm", "first": pair.first, "second": pair.second,
                         "p_raw": pair.p_raw, "p_holm": pair.p_holm, "better": pair.better})
    return pd.DataFrame(rows, columns=["dataset", "protocol", "metric", "test", "first", "second", "statistic",
                                       "p_raw", "p_holm", "better"])


# ---------------------------------------------------------------------------------------------
# Table 5: timings


def timing_summary(results: RunResults) -> pd.DataFrame:
    """Median seconds per fusion per dataset x algorithm x device, with the usual image size."""
    timings = results.timings
    if timings.empty:
        return pd.DataFrame(columns=["dataset", "algorithm", "device", "median_seconds", "mean_seconds", "n_items",
                                     "image_size"])
    rows = []
    timings = timings.reset_index(drop=True)
    sizes = (timings.width.astype(int).astype(str) + "x" + timings.height.astype(int).astype(str)).to_numpy()
    for (dataset, algorithm, device), group in timings.groupby(["dataset", "algorithm", "device"], sort=False):
        seen = set(sizes[group.index.to_numpy()])
        rows.append({"dataset": dataset, "algorithm": algorithm, "device": device,
                     "median_seconds": float(group.seconds.median()), "mean_seconds": float(group.seconds.mean()),
                     "n_items": len(group), "image_size": next(iter(seen)) if len(seen) == 1 else "various"})
    frame = pd.DataFrame(rows)
    return frame.sort_values(["dataset", "algorithm"], key=lambda column: column.map(
        results.order.key) if column.name == "algorithm" else column).reset_index(drop=True)


def timing_markdown(results: RunResults, paper=None, summary: pd.DataFrame | None = None) -> str:
    """Table 5 in Markdown; ``summary`` is :func:`timing_summary` when the caller has it already."""
    summary = timing_summary(results) if summary is None else summary
    if summary.empty:
        return "_no timings_\n"
    platform = results.run.get("platform", {}).get("processor", "")
    jobs = results.run.get("jobs", "")
    platform = escaping.markdown(platform)
    lines = [f"Seconds per fusion (median over items; fusion only, excluding file I/O). Processor: {platform or 'unknown'}; "
             f"jobs = {jobs} (parallel workers share the cores, so CPU timings with jobs > 1 are pessimistic).", "",
             "| Dataset | Algorithm | Device | Image size | Median s | Mean s | Items |" + (" Paper s |" if paper else ""),
             "| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if paper else "")]
    for row in summary.itertuples():
        dataset, algorithm, device = (escaping.markdown(text) for text in (row.dataset, row.algorithm, row.device))
        line = (f"| {dataset} | {algorithm} | {device} | {row.image_size} | {row.median_seconds:.3f} | "
                f"{row.mean_seconds:.3f} | {row.n_items} |")
        if paper is not None:
            printed = paper.lookup(row.dataset, "seconds", row.algorithm)
            line += f" {printed.value:g} ({escaping.markdown(printed.note)}) |" if printed else " — |"
        lines.append(line)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Writing tables/


def write_tables(run_dir: str | Path, compare_paper: bool = False, dialects=()) -> list[Path]:
    """Write ``tables/DATASET.{md,tex,csv}``, ``DATASET-statistics.csv`` and ``timings.{md,csv}``
    (of the metric values of ``dialects`` only, when given)."""
    results = select_dialects(load_run(run_dir), dialects)
    paper = None
    if compare_paper:
        from .paper import load_paper_values

        paper = load_paper_values()
    folder = results.directory / "tables"
    written = []
    for dataset in results.datasets():
        all_tables, markdown, latex = [], [f"# {escaping.markdown(dataset)}\n"], []
        for protocol in results.protocols():
            tables = metric_tables(results, dataset, protocol)
            if not tables:
                continue
            all_tables += tables
            items = len(results.items(dataset))
            markdown.append(f"## Protocol {escaping.markdown(protocol)} ({items} items)\n\n"
                            + markdown_table(tables, paper, order=results.order))
            latex.append(latex_table(tables, f"{dataset}, protocol {protocol}: mean (overall rank, #first, #second)",
                                     paper, order=results.order))
        if not all_tables:
            continue
        failures = results.failures[results.failures.dataset == dataset]
        if len(failures):
            markdown.append("## Failures\n\n" + "\n".join(_markdown_failure(row) for row in failures.itertuples())
                            + "\n")
        for suffix, text in ((".md", "\n".join(markdown)), (".tex", "\n".join(latex)),
                             (".csv", _csv(summary_frame(all_tables, paper))),
                             ("-statistics.csv", _csv(statistics_frame(all_tables)))):
            path = folder / f"{_file_stem(dataset)}{suffix}"
            write_text_atomic(path, text)
            written.append(path)
    timings = timing_summary(results)
    timing_text = "# Table 5: fusion time\n\n" + timing_markdown(results, paper, timings)
    write_text_atomic(folder / "timings.md", timing_text)
    write_text_atomic(folder / "timings.csv", _csv(timings))
    written += [folder / "timings.md", folder / "timings.csv"]
    return written


def _markdown_failure(row) -> str:
    metric = f" {row.metric}" if row.metric else ""
    return (f"- {escaping.markdown(row.algorithm)} on {escaping.markdown(row.item)} "
            f"({escaping.markdown(row.stage + metric)}): {escaping.markdown(row.message)}")


def _csv(frame: pd.DataFrame) -> str:
    """CSV text with every text field safe from spreadsheet formula injection (see :mod:`.escaping`)."""
    return escaping.csv_frame(frame).to_csv(index=False)


def _file_stem(dataset: str) -> str:
    """The dataset's name as a file name: itself when harmless (every registered name), else with
    path separators and leading dots replaced, so that a manifest cannot write outside ``tables/``."""
    stem = dataset.replace("/", "_").replace("\\", "_").replace("\0", "_")
    return stem.lstrip(".") or "_"


TABLES_STAMP = "tables/.inputs.sha256"
#: Bump when the written tables change for the same inputs (2: grouped order, transposed beyond 8
#: algorithms, escaped names), so that a rerun rewrites tables written by an older version.
TABLES_FORMAT = "2"


def write_tables_if_changed(run_dir: str | Path, compare_paper: bool = False) -> bool:
    """Write ``tables/`` unless they were written from exactly these CSVs and options.

    Tables (with their significance tests) are a pure function of metrics.csv, timings.csv,
    failures.csv, run.json's metric directions and ``compare_paper``; a fully cached rerun skips
    them. Returns True when the tables were written.
    """
    from .. import __version__
    from ..cache_key import content_key

    directory = Path(run_dir)
    parts = [(directory / name).read_bytes().decode("utf-8") for name in ("metrics.csv", "timings.csv", "failures.csv")]
    metrics = json.loads((directory / "run.json").read_text(encoding="utf-8")).get("metrics", {})
    stamp = content_key(parts, metrics, compare_paper, __version__, TABLES_FORMAT)
    stamp_path = directory / TABLES_STAMP
    if stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp:
        return False
    write_tables(directory, compare_paper=compare_paper)
    write_text_atomic(stamp_path, stamp)
    return True
