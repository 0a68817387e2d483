"""Checking computed metric values against a paper's published per-image values.

A toolbox publishes its values rounded: VIFB wrote at most 5 significant digits and dropped
trailing zeros (``1.93`` is ``1.9300``). A computed value *reproduces* a published one when,
rounded to the most significant digits any value of the file has, it equals the published number.
Comparing at fewer digits (those the printed string happens to show) would accept a value that
the toolbox itself would have printed differently.

``published`` frames have columns ``method, image, metric, value`` (value as the published text);
``computed`` frames the same with float values. :func:`verify_published` returns one row per
method: how many of its values are reproduced, which metrics miss how often, the largest relative
difference, and a note for methods known not to match (e.g. VIFB's SwinFusion, whose published
values belong to other files than its published images).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import ConfigError

PUBLISHED_COLUMNS = ("method", "image", "metric", "value")
VERIFICATION_COLUMNS = ("method", "values", "reproduced", "missed", "missed_by_metric",
                        "largest_relative_difference", "note")


def read_published_values(path: str | Path) -> pd.DataFrame:
    """``method,image,metric,value`` rows, the value kept as its published text."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a readable published-values CSV ({error})") from None
    missing = [column for column in PUBLISHED_COLUMNS if column not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing columns {missing}; expected {','.join(PUBLISHED_COLUMNS)}")
    numbers = pd.to_numeric(frame["value"], errors="coerce")
    if numbers.isna().any():
        row = frame[numbers.isna()].iloc[0]
        raise ConfigError(f"{path}: value {row['value']!r} of {row['method']} {row['image']} {row['metric']} "
                          "is not a number")
    return frame[list(PUBLISHED_COLUMNS)]


def significant_digits(text: str) -> int:
    """Significant digits written in a decimal number's text (``"0.0123"`` -> 3, ``"1.9328"`` -> 5)."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return max(len(digits), 1)


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits, as ``printf('%.<digits>g')`` would print it."""
    return float(f"{value:.{digits}g}")


def verify_published(published: pd.DataFrame, computed: pd.DataFrame,
                     notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per method: published values reproduced by ``computed`` (see the module docstring)."""
    notes = notes or {}
    digits = max((significant_digits(text) for text in published["value"]), default=1)
    computed = computed[["method", "image", "metric", "value"]].drop_duplicates(["method", "image", "metric"])
    joined = published.merge(computed, on=["method", "image", "metric"], how="left", suffixes=("_published", ""))
    rows = []
    for method, frame in joined.groupby("method", sort=True):
        published_values = frame["value_published"].astype(float)
        computed_values = pd.to_numeric(frame["value"], errors="coerce")
        reproduced = [not math.isnan(ours) and round_significant(ours, digits) == theirs
                      for ours, theirs in zip(computed_values, published_values)]
        relative = ((computed_values - published_values).abs() / published_values.abs()).max()
        missed = frame.loc[[not ok for ok in reproduced], "metric"].value_counts()
        by_metric = ", ".join(f"{metric} {count}" for metric, count in
                              sorted(missed.items(), key=lambda entry: (-entry[1], entry[0])))
        rows.append((method, len(frame), sum(reproduced), len(frame) - sum(reproduced), by_metric,
                     float(relative) if not math.isnan(relative) else math.nan, notes.get(method, "")))
    return pd.DataFrame(rows, columns=list(VERIFICATION_COLUMNS))
