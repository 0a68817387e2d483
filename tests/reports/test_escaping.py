"""Every untrusted name is escaped in every format: unit cases per format, then hostile names
(``a|b<script>alert(1)</script>``, ``=HYPERLINK(...)``) through real written tables and a real page."""
from __future__ import annotations

import csv
import io
import json

from fusionbench.reports import escaping
from fusionbench.reports.html import write_report
from fusionbench.reports.tables import write_tables

SCRIPT = "a|b<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_html_escapes_markup_and_quotes():
    assert escaping.html(SCRIPT) == "a|b&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaping.html('"x" & \'y\'') == "&#34;x&#34; &amp; &#39;y&#39;"


def test_markdown_keeps_a_table_row_one_row_and_never_passes_markup():
    assert escaping.markdown(SCRIPT) == r"a\|b&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaping.markdown("`code` *x* _y_ [z] #1\nnext") == r"\`code\` \*x\* \_y\_ \[z\] \#1 next"
    assert escaping.markdown("back\\slash") == "back\\\\slash"


def test_latex_escapes_the_ten_special_characters():
    assert escaping.latex("& % $ # _ { } ~ ^ \\") == (r"\& \% \$ \# \_ \{ \} \textasciitilde{} "
                                                       r"\textasciicircum{} \textbackslash{}")
    assert escaping.latex("Δ +1%") == r"$\Delta$ +1\%"


def test_csv_neutralises_formulas_but_not_numbers():
    for text in (FORMULA, "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert escaping.csv_text(text) == "'" + text
    assert escaping.csv_text("gff") == "gff" and escaping.csv_text(-1.5) == -1.5


def test_script_json_cannot_close_its_element():
    text = escaping.script_json({"name": SCRIPT})
    assert "</script>" not in text and json.loads(text) == {"name": SCRIPT}


def _hostile_run(root):
    """A run directory (CSVs and run.json only) with a hostile algorithm and item name."""
    run = root / "run"
    run.mkdir()
    algorithms = ["gff", SCRIPT, FORMULA]
    items = [FORMULA, "item-2", "item-3"]
    with open(run / "metrics.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["dataset", "item", "algorithm", "protocol", "metric", "value"])
        for index, item in enumerate(items):
            for rank, algorithm in enumerate(algorithms):
                writer.writerow(["set_1", item, algorithm, "standard", "VIFF", 0.5 + 0.1 * rank + 0.01 * index])
    with open(run / "failures.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["dataset", "item", "algorithm", "stage", "metric", "message"])
        writer.writerow(["set_1", FORMULA, SCRIPT, "metric", "SF", "boom | <img src=x onerror=alert(2)> `x`"])
    (run / "timings.csv").write_text("dataset,item,algorithm,device,seconds,width,height\n"
                                     f'set_1,item-2,"{FORMULA.replace(chr(34), chr(34) * 2)}",cpu,0.1,8,8\n')
    (run / "run.json").write_text(json.dumps({"datasets": {"set_1": {"items": items}},
                                              "metrics": {"VIFF": {"higher_is_better": True}}}))
    return run


def test_hostile_names_round_trip_through_written_tables(tmp_path):
    run = _hostile_run(tmp_path)
    write_tables(run)
    markdown = (run / "tables" / "set_1.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "<img" not in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    # every row of the table has as many unescaped cell separators as the header
    separators = [line.replace(r"\|", "").count("|") for line in table_rows]
    assert len(set(separators)) == 1 and separators[0] == 5  # Metric + 3 algorithms
    assert r"a\|b&lt;script&gt;" in markdown

    latex = (run / "tables" / "set_1.tex").read_text(encoding="utf-8")
    body = [line for line in latex.splitlines() if line.endswith(r"\\")]
    assert all(line.replace(r"\&", "").count("&") == 3 for line in body)
    assert r"\_1" in latex and "set_1" not in latex.replace(r"set\_1", "")

    with open(run / "tables" / "set_1.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    names = {row["algorithm"] for row in rows}
    assert names == {"gff", SCRIPT, "'" + FORMULA}  # read back whole: quoting kept the commas and quotes
    assert all(not value.startswith(("=", "+", "@")) for row in rows for value in row.values()
               if value and not value[0].isdigit())
    with open(run / "tables" / "timings.csv", newline="", encoding="utf-8") as file:
        assert [row["algorithm"] for row in csv.DictReader(file)] == ["'" + FORMULA]
    statistics = (run / "tables" / "set_1-statistics.csv").read_text(encoding="utf-8")
    assert "\n=" not in statistics and ",=" not in statistics


def test_hostile_names_are_text_in_the_page(tmp_path):
    run = _hostile_run(tmp_path)
    page = write_report(run, gallery=False).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "a|b&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own
