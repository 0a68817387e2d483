"""The "reproduces published results" tables of reports/zoo-reproduction.md, from a run directory.

    fusionbench run --dataset vifb --algorithm seafusion u2fusion ifcnn-max vifb:SeAFusion vifb:U2Fusion \\
        vifb:IFCNN --metric EN --no-report --out /tmp/zoo-vifb
    python benchmarks/zoo_reproduction.py /tmp/zoo-vifb [--jpeg-quality 75]

Prints Markdown: the agreement of each zoo model with its published counterpart (pooled over the
items), the same after compressing the model's images as the published JPEGs were (quality 75,
4:2:0: how much of the difference the compression explains), what that compression alone changes
(each model's images against themselves compressed), and the agreement per item.
Everything is computed by :func:`fusionbench.reports.reproduction.published_reproduction`.
"""
from __future__ import annotations

import argparse
import math

import pandas as pd

from fusionbench.reports.reproduction import (PUBLISHED_COUNTERPARTS, VIFB_JPEG_QUALITY, published_reproduction_items,
                                              summarise)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def decibels(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}"


def summary_table(summary: pd.DataFrame) -> str:
    rows = [[f"`{row.model}`", f"`{row.published}`", str(row.items), f"{row.within_one_percent:.2f} %",
             f"{row.within_two_percent:.2f} %", f"{row.exact_percent:.2f} %", f"{row.mean_absolute_difference:.2f}",
             decibels(row.psnr)] for row in summary.itertuples()]
    return markdown_table(["model", "published", "items", "within ±1", "within ±2", "exact", "mean abs diff",
                           "PSNR dB"], rows)


def item_table(items: pd.DataFrame, compressed: pd.DataFrame) -> str:
    """Per item and pair: within ±1 and mean |difference|, as is and after the JPEG compression."""
    merged = items.merge(compressed, on=["model", "published", "dataset", "item"], suffixes=("", "_jpeg"))
    rows = []
    for row in merged.itertuples():
        rows.append([f"`{row.model}`", row.item, f"{100 * row.within_one / row.values:.1f} %",
                     f"{row.absolute_difference_sum / row.values:.2f}",
                     f"{100 * row.within_one_jpeg / row.values_jpeg:.1f} %",
                     f"{row.absolute_difference_sum_jpeg / row.values_jpeg:.2f}"])
    return markdown_table(["model", "item", "within ±1", "mean abs diff", "as JPEG: within ±1",
                           "as JPEG: mean abs diff"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("run_dir", help="a run directory with the fused images of both sides of each pair")
    parser.add_argument("--jpeg-quality", type=int, default=VIFB_JPEG_QUALITY,
                        help="quality of the published JPEGs (default: VIFB's 75)")
    arguments = parser.parse_args()
    items = published_reproduction_items(arguments.run_dir)
    compressed = published_reproduction_items(arguments.run_dir, model_jpeg_quality=arguments.jpeg_quality)
    print("### The models' fused images against the published ones\n")
    print(summary_table(summarise(items)))
    print(f"\n### The models' fused images compressed as the published JPEGs (quality {arguments.jpeg_quality}, "
          "4:2:0) against them\n")
    print(summary_table(summarise(compressed)))
    # Each model against itself compressed: the difference the JPEG step alone makes (the floor).
    alone = published_reproduction_items(arguments.run_dir, {model: model for model in PUBLISHED_COUNTERPARTS},
                                         model_jpeg_quality=arguments.jpeg_quality)
    print(f"\n### The compression alone: each model's images against themselves compressed (quality "
          f"{arguments.jpeg_quality}, 4:2:0)\n")
    print(summary_table(summarise(alone)))
    print("\n### Per item\n")
    print(item_table(items, compressed))


if __name__ == "__main__":
    main()
