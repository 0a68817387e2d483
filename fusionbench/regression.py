"""Regression check of metric values: a run's metrics.csv against an expected CSV.

Rows are matched on ``(dataset, item, algorithm, protocol, metric)``. A value *drifts* when
``|actual − expected| > atol + rtol·|expected|`` (numpy's ``isclose`` rule). ``rtol`` may be set
per algorithm with glob patterns (:func:`relative_tolerances`): the classical baselines are exact
arithmetic on integers and repeat bit for bit, while a CNN's float32 sums change with the
convolution kernels a CPU or GPU picks, which flips a few output pixels by one grey level and moves
metric values by up to ~3e-5 relative (measured: CPU against an H200). Rows only in the
expected file are *missing* (a fusion or metric failed or was dropped); rows only in the run
are *extra* (a new algorithm/metric/item: add them deliberately with ``--update``). Any of the
three fails the check.

Each row belongs to a metric dialect (:mod:`fusionbench.metrics.dialects`): its ``dialect`` column,
or, in files written before that column (or a row with it empty), the dialect its ``protocol``
label names (``standard``: ``fusionbench``, the default). :func:`select_dialects` keeps the rows of
some dialects only, so a check (and an update) can cover one dialect's values.
"""
from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ConfigError
from .image_io import write_text_atomic

KEY_COLUMNS = ["dataset", "item", "algorithm", "protocol", "metric"]
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9


@dataclass
class RegressionReport:
    drifted: pd.DataFrame  # key columns + expected, actual, difference, relative
    missing: pd.DataFrame  # key columns + expected
    extra: pd.DataFrame  # key columns + actual
    compared: int

    @property
    def passed(self) -> bool:
        return self.drifted.empty and self.missing.empty and self.extra.empty


def read_values(path: str | Path, label: str) -> pd.DataFrame:
    """A ``dataset,item,algorithm,protocol,metric,value[,dialect]`` CSV (duplicates refused); the
    result always has a ``dialect`` column (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {label} file not found")
    frame = pd.read_csv(path, dtype={column: str for column in KEY_COLUMNS}, keep_default_na=False)
    missing = [column for column in KEY_COLUMNS + ["value"] if column not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing columns {missing}; expected {','.join(KEY_COLUMNS)},value")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    duplicated = frame.duplicated(KEY_COLUMNS)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise ConfigError(f"{path}: duplicate row for {tuple(first[KEY_COLUMNS])}")
    given = frame["dialect"].astype(str) if "dialect" in frame.columns else pd.Series("", index=frame.index)
    frame["dialect"] = given.where(given != "", frame["protocol"].map(dialect_of_protocol))
    return frame[KEY_COLUMNS + ["value", "dialect"]]


def dialect_of_protocol(protocol: str) -> str:
    """The dialect a ``protocol`` label stands for (``standard`` -> ``fusionbench``); an unknown label
    (a plugin's dialect not loaded here) is taken as the dialect's own name."""
    from .errors import UnknownNameError
    from .metrics.dialects import dialect_for

    try:
        return dialect_for(protocol).name
    except UnknownNameError:
        return protocol


def select_dialects(frame: pd.DataFrame, dialects: list[str] | None) -> pd.DataFrame:
    """The rows of ``dialects`` (names of dialects or of the protocols they are); all for None."""
    if not dialects:
        return frame
    from .metrics.dialects import dialect_for

    names = {dialect_for(name).name for name in dialects}
    return frame[frame["dialect"].isin(names)]


def parse_tolerance_overrides(texts: list[str] | None) -> list[tuple[str, float]]:
    """``["ifcnn-*=1e-4", ...]`` -> ``[("ifcnn-*", 1e-4), ...]``; a ConfigError names a malformed entry."""
    overrides = []
    for text in texts or []:
        pattern, separator, value = text.partition("=")
        try:
            tolerance = float(value)
        except ValueError:
            tolerance = math.nan
        if not separator or not pattern.strip() or not tolerance >= 0:
            raise ConfigError(f"--rtol-for {text!r}: expected ALGORITHM_PATTERN=RTOL, e.g. 'ifcnn-*=1e-4'")
        overrides.append((pattern.strip(), tolerance))
    return overrides


def relative_tolerances(algorithms: pd.Series, rtol: float,
                        overrides: list[tuple[str, float]] | None = None) -> pd.Series:
    """Per-row relative tolerance: ``rtol``, or that of the last override whose glob matches the algorithm."""
    tolerances = pd.Series(rtol, index=algorithms.index, dtype=float)
    for pattern, tolerance in overrides or []:
        tolerances[algorithms.map(lambda name: fnmatch.fnmatchcase(name, pattern))] = tolerance
    return tolerances


def compare(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float = DEFAULT_RTOL,
            atol: float = DEFAULT_ATOL, overrides: list[tuple[str, float]] | None = None) -> RegressionReport:
    """Match rows and classify them (module docstring); ``overrides`` set ``rtol`` per algorithm pattern."""
    # The dialect follows from the protocol label, so the key stays the five columns.
    merged = expected[KEY_COLUMNS + ["value"]].merge(actual[KEY_COLUMNS + ["value"]], on=KEY_COLUMNS, how="outer",
                                                     suffixes=("_expected", "_actual"), indicator=True)
    both = merged[merged["_merge"] == "both"].copy()
    difference = both["value_actual"] - both["value_expected"]
    tolerance = atol + relative_tolerances(both["algorithm"], rtol, overrides) * both["value_expected"].abs()
    # NaN on one side only is drift; NaN on both sides is agreement.
    nan_mismatch = both["value_actual"].isna() != both["value_expected"].isna()
    drift_mask = (difference.abs() > tolerance) | nan_mismatch
    drifted = both[drift_mask].rename(columns={"value_expected": "expected", "value_actual": "actual"})
    drifted["difference"] = drifted["actual"] - drifted["expected"]
    drifted["relative"] = drifted["difference"] / drifted["expected"].abs().where(drifted["expected"] != 0, math.nan)
    missing = merged[merged["_merge"] == "left_only"].rename(columns={"value_expected": "expected"})
    extra = merged[merged["_merge"] == "right_only"].rename(columns={"value_actual": "actual"})
    return RegressionReport(
        drifted=drifted[KEY_COLUMNS + ["expected", "actual", "difference", "relative"]].reset_index(drop=True),
        missing=missing[KEY_COLUMNS + ["expected"]].reset_index(drop=True),
        extra=extra[KEY_COLUMNS + ["actual"]].reset_index(drop=True),
        compared=len(both))


def format_report(report: RegressionReport, rtol: float, atol: float, limit: int = 200,
                  overrides: list[tuple[str, float]] | None = None) -> str:
    """Readable text: a summary line, then a table per problem kind (at most ``limit`` rows each)."""
    per_algorithm = "".join(f", {pattern}: {tolerance:g}" for pattern, tolerance in overrides or [])
    lines = [f"compared {report.compared} values (rtol {rtol:g}{per_algorithm}, atol {atol:g}): "
             f"{len(report.drifted)} drifted, {len(report.missing)} missing, {len(report.extra)} extra"]
    for title, frame in (("drifted", report.drifted), ("missing (expected but not in the run)", report.missing),
                         ("extra (in the run but not expected)", report.extra)):
        if frame.empty:
            continue
        shown = frame.head(limit).copy()
        for column in ("expected", "actual", "difference"):
            if column in shown:
                shown[column] = shown[column].map(lambda value: f"{value:.10g}")
        if "relative" in shown:
            shown["relative"] = shown["relative"].map(lambda value: "" if math.isnan(value) else f"{value:+.3e}")
        lines += ["", f"{title}:", shown.to_string(index=False)]
        if len(frame) > limit:
            lines.append(f"... and {len(frame) - limit} more")
    return "\n".join(lines)


def update_expected(actual: pd.DataFrame, path: str | Path, dialects: list[str] | None = None) -> int:
    """Rewrite the expected file from the run's values (sorted; full precision). With ``dialects``,
    only those dialects' rows are replaced; the file's rows of other dialects are kept."""
    frame = select_dialects(actual, dialects)
    if dialects and Path(path).is_file():
        kept = read_values(path, "expected metrics")
        others = kept[~kept.index.isin(select_dialects(kept, dialects).index)]
        frame = pd.concat([others, frame])
    frame = frame.sort_values(KEY_COLUMNS).reset_index(drop=True)
    frame = frame.assign(value=frame["value"].map(lambda value: repr(float(value))))
    write_text_atomic(Path(path), frame.to_csv(index=False, lineterminator="\n"))
    return len(frame)
