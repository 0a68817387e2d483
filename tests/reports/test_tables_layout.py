"""Table layout by size: metrics in rows up to 8 algorithms, algorithms in rows beyond (Markdown and
LaTeX), in the run's grouped order, the paper's triple and best/second kept."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fusionbench.reports.ordering import AlgorithmOrder
from fusionbench.reports.tables import latex_table, markdown_table, rank_summary, statistics, MetricTable

NINE = ["vifb:GFF", "gff", "lpsr", "seafusion", "my-plugin", "average", "lp", "max-abs", "vifb:ADF"]


def _tables(algorithms):
    rng = np.random.default_rng(3)
    tables = []
    for metric, higher in (("VIFF", True), ("RMSE", False)):
        rows = [{"item": f"i{item}", "algorithm": name, "value": 1.0 + index + 0.01 * rng.random()}
                for item in range(4) for index, name in enumerate(algorithms)]
        values = pd.DataFrame(rows)
        tables.append(MetricTable("d", "standard", metric, higher, rank_summary(values, higher),
                                  statistics.significance(values, higher)))
    return tables


def test_more_than_eight_algorithms_go_in_rows_in_the_grouped_order():
    order = AlgorithmOrder.from_run({"algorithms": {"my-plugin": {"kind": "plugin"}}})
    text = markdown_table(_tables(NINE), order=order, with_statistics=False)
    lines = text.splitlines()
    assert lines[0] == "| Algorithm | Group | VIFF ↑ | RMSE ↓ |"
    assert [line.split(" | ")[0][2:] for line in lines[2:]] == [
        "average", "gff", "lp", "lpsr", "max-abs", "seafusion", "vifb:ADF", "vifb:GFF", "my-plugin"]
    assert lines[2].split(" | ")[1] == "classical" and lines[-1].split(" | ")[1] == "user plugins"
    # values grow along NINE: VIFF's best is the last (vifb:ADF), RMSE's the first (vifb:GFF), each
    # first on all 4 items; the second best in italics
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[2:] for line in lines[2:]}
    assert rows["vifb:ADF"][0].startswith("**9.00") and rows["vifb:ADF"][0].endswith("(1, 4, 0)")
    assert rows["vifb:GFF"][1].startswith("**1.00") and rows["vifb:GFF"][1].endswith("(1, 4, 0) |")
    assert rows["max-abs"][0].startswith("*8.00") and rows["gff"][1].startswith("*2.00")
    latex = latex_table(_tables(NINE), "caption", order=order)
    body = [line for line in latex.splitlines() if line.endswith(r"\\")]
    assert body[0].startswith("Algorithm & VIFF") and len(body) == 1 + 9
    assert all(line.count("&") == 2 for line in body)


def test_up_to_eight_algorithms_keep_the_paper_layout():
    text = markdown_table(_tables(NINE[:8]), with_statistics=False)
    assert text.splitlines()[0].startswith("| Metric | ")
    assert [line.split(" | ")[0][2:] for line in text.splitlines()[2:]] == ["VIFF ↑", "RMSE ↓"]
