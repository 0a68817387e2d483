"""How much a metric's value and the methods' ranking depend on the dialect computing it.

:func:`compare_dialects` reads metric values in the long form of ``metrics.csv`` (columns
``dataset, item, algorithm, protocol, metric, value, dialect``) and, for every dataset, every pair
of dialects in it (in order of first appearance) and every metric both define, compares the
values of the same fused images:

* ``differences``: the relative difference per image, ``|v_b - v_a| / |v_a|`` (dialect A is the
  reference; 0 when both are 0, infinite when only ``v_a`` is), its median and maximum over the
  images both dialects measured, and how many images that is;
* ``rankings``: the algorithms ranked by their mean over those images in each dialect (rank 1 is
  the best, in the dialect's direction: CE, RMSE and Q_CV are lower-is-better in VIFB), Kendall's
  tau-b between the two rankings (Kendall, Biometrika 1938; ties as in
  :func:`scipy.stats.kendalltau`), and the algorithms whose rank moves most, as text
  (``"GFF 3→9, LP 7→2"``; empty when no rank changes).

A metric is the same in two dialects when its name is, ignoring case (``QABF``/``Qabf``), or
when the dialect's rule says which registered metric it is a version of (VIFB's ``SSIM`` is
``SSIM-SUM``). Directions and those equivalences come from :mod:`fusionbench.metrics.dialects`;
a dialect that is not registered falls back to the registered metric's direction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

#: How many of the algorithms whose rank changes most ``most_moved`` names.
MOST_MOVED_SHOWN = 3

DIFFERENCE_COLUMNS = ("dataset", "metric", "dialect_a", "dialect_b", "median_relative_difference",
                      "max_relative_difference", "images")
RANKING_COLUMNS = ("dataset", "metric", "dialect_a", "dialect_b", "kendall_tau", "most_moved", "algorithms")


@dataclass(frozen=True)
class DialectComparison:
    """Per (dataset, metric, dialect pair): value differences and ranking changes (module docstring)."""

    differences: pd.DataFrame
    rankings: pd.DataFrame


def compare_dialects(metrics: pd.DataFrame) -> DialectComparison:
    """Compare every pair of dialects in ``metrics`` (long form, see the module docstring)."""
    values = _clean(metrics)
    differences, rankings = [], []
    for dataset, frame in values.groupby("dataset", sort=False):
        dialects = list(dict.fromkeys(frame["dialect"]))
        for dialect_a, dialect_b in combinations(dialects, 2):
            for metric_a, metric_b in _shared_metrics(frame, dialect_a, dialect_b):
                joined = _joined(frame, dialect_a, metric_a, dialect_b, metric_b)
                if joined.empty:
                    continue
                label = metric_a if metric_a.casefold() == metric_b.casefold() else f"{metric_a} / {metric_b}"
                key = (dataset, label, dialect_a, dialect_b)
                differences.append(key + _difference_summary(joined))
                rankings.append(key + _ranking_change(joined, _higher_is_better(dialect_a, metric_a),
                                                      _higher_is_better(dialect_b, metric_b)))
    return DialectComparison(pd.DataFrame(differences, columns=list(DIFFERENCE_COLUMNS)),
                             pd.DataFrame(rankings, columns=list(RANKING_COLUMNS)))


def relative_difference(value_a: float, value_b: float) -> float:
    """``|b - a| / |a|``: 0 when both are 0, infinite when only ``a`` is."""
    if value_a == 0:
        return 0.0 if value_b == 0 else math.inf
    return abs(value_b - value_a) / abs(value_a)


def _clean(metrics: pd.DataFrame) -> pd.DataFrame:
    """Numeric values only (a failed metric's empty cell is dropped), one value per image and dialect."""
    frame = metrics[["dataset", "item", "algorithm", "metric", "value", "dialect"]].copy()
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame = frame.dropna(subset=["value", "dialect"])
    for column in ("dataset", "item", "algorithm", "metric", "dialect"):
        frame[column] = frame[column].astype(str)
    # The protocols fill one fused-only value into several protocol rows of the same dialect.
    return frame.drop_duplicates(subset=["dataset", "item", "algorithm", "metric", "dialect"])


def _metric_key(dialect: str, metric: str) -> str:
    """What makes two dialects' metrics the same metric (see the module docstring)."""
    rule = _rule(dialect, metric)
    same_as = getattr(rule, "same_as", None) if rule is not None else None
    return (same_as or metric).casefold()


def _shared_metrics(frame: pd.DataFrame, dialect_a: str, dialect_b: str) -> list[tuple[str, str]]:
    """(metric in A, metric in B) for every metric both dialects measured, in A's order."""
    names_a = list(dict.fromkeys(frame.loc[frame["dialect"] == dialect_a, "metric"]))
    names_b = {_metric_key(dialect_b, name): name
               for name in dict.fromkeys(frame.loc[frame["dialect"] == dialect_b, "metric"])}
    return [(name, names_b[_metric_key(dialect_a, name)]) for name in names_a
            if _metric_key(dialect_a, name) in names_b]


def _joined(frame: pd.DataFrame, dialect_a: str, metric_a: str, dialect_b: str, metric_b: str) -> pd.DataFrame:
    """Columns item, algorithm, a, b: the images both dialects measured."""
    def side(dialect: str, metric: str, name: str) -> pd.DataFrame:
        chosen = frame[(frame["dialect"] == dialect) & (frame["metric"] == metric)]
        return chosen[["item", "algorithm", "value"]].rename(columns={"value": name})

    return side(dialect_a, metric_a, "a").merge(side(dialect_b, metric_b, "b"), on=["item", "algorithm"])


def _difference_summary(joined: pd.DataFrame) -> tuple[float, float, int]:
    differences = [relative_difference(a, b) for a, b in zip(joined["a"], joined["b"])]
    series = pd.Series(differences, dtype=float)
    return float(series.median()), float(series.max()), len(series)


def _ranking_change(joined: pd.DataFrame, higher_a: bool, higher_b: bool) -> tuple[float, str, int]:
    """(Kendall tau-b of the two rankings by mean, the most-moved text, number of algorithms)."""
    from scipy.stats import kendalltau

    means = joined.groupby("algorithm", sort=True)[["a", "b"]].mean()
    ranks_a = means["a"].rank(ascending=not higher_a, method="min")
    ranks_b = means["b"].rank(ascending=not higher_b, method="min")
    tau = float(kendalltau(ranks_a, ranks_b).statistic) if len(means) >= 2 else math.nan
    return tau, _most_moved(ranks_a, ranks_b), len(means)


def _most_moved(ranks_a: pd.Series, ranks_b: pd.Series) -> str:
    """``"GFF 3→9, LP 7→2"``: the largest rank changes first, ties by name; "" when none changes."""
    moves = sorted(((abs(ranks_b[name] - ranks_a[name]), name) for name in ranks_a.index
                    if ranks_b[name] != ranks_a[name]), key=lambda move: (-move[0], move[1]))
    names = _short_names(list(ranks_a.index))
    return ", ".join(f"{names[name]} {int(ranks_a[name])}→{int(ranks_b[name])}"
                     for _, name in moves[:MOST_MOVED_SHOWN])


def _short_names(algorithms: list[str]) -> dict[str, str]:
    """Without a ``SET:`` prefix all of them share (``vifb:GFF`` -> ``GFF``), else as they are."""
    prefixes = {name.partition(":")[0] for name in algorithms if ":" in name}
    if len(prefixes) == 1 and all(":" in name for name in algorithms):
        return {name: name.partition(":")[2] for name in algorithms}
    return {name: name for name in algorithms}


def _rule(dialect: str, metric: str):
    """The registered dialect's rule for ``metric``, or None (unknown dialect or metric)."""
    from ..errors import UnknownNameError
    from ..metrics.dialects import get_dialect

    try:
        return get_dialect(dialect).rule(metric)
    except UnknownNameError:
        return None


def _higher_is_better(dialect: str, metric: str) -> bool:
    """The dialect rule's direction; else the registered metric's; else higher."""
    rule = _rule(dialect, metric)
    if rule is not None:
        return bool(rule.higher_is_better)
    from ..errors import UnknownNameError
    from ..registry import get_metric

    try:
        return get_metric(metric).higher_is_better
    except UnknownNameError:
        return True


def format_markdown(comparison: DialectComparison, title: str | None = "Metric dialects compared") -> str:
    """The comparison as Markdown: per dataset and dialect pair, one row per metric (``title``: the
    ``#`` heading, None for none, when the text goes under a caller's own)."""
    merged = comparison.differences.merge(comparison.rankings, on=["dataset", "metric", "dialect_a", "dialect_b"],
                                          how="outer", sort=False)
    lines = [f"# {title}", ""] if title is not None else []
    if merged.empty:
        return "\n".join(lines + ["No metric was measured in two dialects.", ""])
    for (dataset, dialect_a, dialect_b), rows in merged.groupby(["dataset", "dialect_a", "dialect_b"], sort=False):
        lines += [f"## {dataset}: {dialect_a} vs {dialect_b}", "",
                  f"Relative difference per image |{dialect_b} − {dialect_a}| / |{dialect_a}|; ranking of the "
                  f"algorithms by their mean in each dialect (rank 1 best), Kendall τ between the two rankings.", "",
                  "| metric | median rel. diff. | max rel. diff. | images | Kendall τ | algorithms | most moved |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for row in rows.itertuples(index=False):
            lines.append(f"| {row.metric} | {_percent(row.median_relative_difference)} | "
                         f"{_percent(row.max_relative_difference)} | {row.images} | {_tau(row.kendall_tau)} | "
                         f"{row.algorithms} | {row.most_moved or '—'} |")
        lines.append("")
    return "\n".join(lines)


def _percent(value: float) -> str:
    if math.isinf(value):
        return "∞"
    if value == 0:
        return "0"
    return f"{value * 100:.3g} %"


def _tau(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"
