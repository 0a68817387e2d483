"""Issue #20's acceptance: a run of 40 algorithms x 15 metrics x 3 datasets x 10 items (synthetic,
built here) gives readable tables and a report, checked in the files and in headless Chromium.

The time (tables + report within 15 s on two cores) is measured by ``benchmarks/report_scale.py``,
not here: this machine's load decides a wall clock. Both tests are ``slow`` (building the fixture,
the tables and the report takes 15-30 s on a loaded 2-core machine).
"""
from __future__ import annotations

import csv
import re

import pytest

from fusionbench.cli import main
from fusionbench.reports.html import write_report
from fusionbench.reports.tables import write_tables

from browser_session import Browser, find_chromium, wait_for_pictures
from large_run_factory import CLASSICAL, DATASETS, DEEP, METRICS, PLUGINS, PUBLISHED, make_large_run

#: classical, deep, published results, user plugins; each by name (case-folded)
EXPECTED_ORDER = [*sorted(CLASSICAL, key=str.casefold), *sorted(DEEP, key=str.casefold),
                  *sorted(PUBLISHED, key=str.casefold), *sorted(PLUGINS, key=str.casefold)]
MEGABYTE = 1_000_000


@pytest.fixture(scope="module")
def large_report(tmp_path_factory):
    run = make_large_run(tmp_path_factory.mktemp("large"))
    write_tables(run)
    page = write_report(run)
    return run, page, page.read_text(encoding="utf-8")


def _summary(run, dataset: str) -> list[dict]:
    with open(run / "tables" / f"{dataset}.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _by_rank(rows: list[dict], metric: str) -> list[str]:
    chosen = [row for row in rows if row["metric"] == metric]
    return [row["algorithm"] for row in sorted(chosen, key=lambda row: (int(row["overall_rank"]),
                                                                        EXPECTED_ORDER.index(row["algorithm"])))]


@pytest.mark.slow
def test_tables_and_page_at_40_algorithms(large_report):
    run, page, text = large_report
    for dataset in DATASETS:
        markdown = (run / "tables" / f"{dataset}.md").read_text(encoding="utf-8")
        header = next(line for line in markdown.splitlines() if line.startswith("| Algorithm | Group |"))
        assert header.count("|") == 2 + len(METRICS) + 1  # algorithms in rows, metrics as columns
        rows = [line.split(" | ")[0][2:].replace("\\", "") for line in markdown.splitlines()
                if line.startswith("| ") and not line.startswith(("| Algorithm", "| ---"))]
        assert rows == EXPECTED_ORDER
        summary = _summary(run, dataset)
        assert len(summary) == 40 * len(METRICS)
        # the triple is kept, best bold and second italic, per metric column
        best = _by_rank(summary, "VIFF")[0]
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {best} |"))
        assert re.search(r"\*\*[0-9.]+\*\* \(1, [0-9.]+, [0-9.]+\)", row)

    assert (run / "report.html").stat().st_size <= 5 * MEGABYTE
    assert "data:image" not in text  # pictures are files beside the page
    thumbnails = re.findall(r'<img src="report_files/[^"]+\.jpg"[^>]*>', text)
    assert len(thumbnails) == 3 * 10 * (40 + 2) and all('loading="lazy"' in tag for tag in thumbnails)
    charts = sorted(path.name for path in (run / "report_files" / "charts").glob("*.png"))
    assert len([name for name in charts if "heat-map" in name]) == len(DATASETS) + 1
    assert len([name for name in charts if "dataset-critical-difference" in name]) == len(DATASETS)
    assert not [name for name in charts if "distributions" in name]  # unreadable at 40: left out
    # significance as counts (40 algorithms: 780 pairs per metric), not a wall of p-values
    assert len(re.findall(r"\d+ of 780 pairs differ at Holm-corrected", text)) == len(DATASETS) * len(METRICS)
    assert "tables/set-a-statistics.csv" in text and "(p = " not in text

    # one order everywhere: each dataset's table rows, the gallery's choices, the timings
    for dataset in DATASETS:
        section = text[text.index(f'id="dataset-{dataset}"'):]
        section = section[:section.index("</section>")]
        table = section[section.index('<table class="paper scalable sortable">'):]
        assert re.findall(r'<tr data-name="([^"]+)"', table[:table.index("</table>")]) == EXPECTED_ORDER
        assert re.findall(r'<input type="checkbox" value="([^"]+)"', section) == EXPECTED_ORDER
        assert section.count(' checked>') == 8
    timings = text[text.index('<section id="timings">'):]
    timings = timings[:timings.index("</section>")]
    assert re.findall(r"<tr><td>set-a</td><td>([^<]+)</td>", timings) == EXPECTED_ORDER
    groups = re.findall(r'<tr data-name="[^"]+" data-group="([^"]+)"', text)
    assert groups[:40] == ["classical"] * 8 + ["deep"] * 5 + ["published results"] * 25 + ["user plugins"] * 2


@pytest.mark.slow
def test_the_page_sorts_filters_and_slides_in_chromium(large_report, tmp_path):
    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install chromium)")
    run, page, _ = large_report
    table = "#dataset-set-a table.sortable"
    rows = f"Array.from(document.querySelectorAll('{table} tbody tr'))"
    visible = f"{rows}.filter(function (row) {{ return row.offsetParent !== null; }}).map(function (row) {{ return row.dataset.name; }})"
    with Browser(1280, 900) as browser:
        browser.open(page.as_uri())
        wait_for_pictures(browser)
        assert browser.errors() == []
        assert browser.evaluate(visible) == EXPECTED_ORDER

        # sort: click the SF heading, then read the row order (by rank: best first; again: worst first)
        column = 2 + sorted(METRICS, key=_metric_order).index("SF")
        heading = f"{table} thead th:nth-child({column + 1})"
        assert browser.evaluate(f"document.querySelector('{heading}').textContent").startswith("SF")
        ranks = {row["algorithm"]: int(row["overall_rank"]) for row in _summary(run, "set-a") if row["metric"] == "SF"}
        browser.click(heading)
        ascending = browser.evaluate(visible)
        assert sorted(ascending) == sorted(EXPECTED_ORDER) and ascending[0] == _by_rank(_summary(run, "set-a"), "SF")[0]
        assert [ranks[name] for name in ascending] == sorted(ranks.values())
        browser.click(heading)
        assert [ranks[name] for name in browser.evaluate(visible)] == sorted(ranks.values(), reverse=True)
        browser.click(f"{table} thead th:nth-child(1)")
        assert browser.evaluate(visible) == sorted(EXPECTED_ORDER, key=str.lower)

        # filter: by group, then by name
        browser.type_into("#dataset-set-a .table-filter", "published")
        assert sorted(browser.evaluate(visible)) == sorted(PUBLISHED)
        browser.evaluate("var box = document.querySelector('#dataset-set-a .table-filter'); box.value = '';")
        browser.type_into("#dataset-set-a .table-filter", "vifb:G")
        assert browser.evaluate(visible) == ["vifb:GFCE", "vifb:GFF", "vifb:GTF"]

        # the slider: drag across the picture, and the range input follows (and moves the clip)
        view = "#dataset-set-a .compare-view"
        box = browser.evaluate(f"""(async function () {{
            var view = document.querySelector('{view}');
            await Promise.all(Array.from(view.querySelectorAll('img')).map(function (image) {{ return image.decode(); }}));
            view.scrollIntoView({{block: 'center'}});
            var b = view.getBoundingClientRect();
            return [b.left, b.top, b.width, b.height];
        }})()""")
        middle = box[1] + box[3] / 2
        browser.drag((box[0] + 0.2 * box[2], middle), (box[0] + 0.8 * box[2], middle))
        assert float(browser.evaluate(f"document.querySelector('{view}').dataset.position")) == pytest.approx(80, abs=2)
        assert float(browser.evaluate("document.querySelector('#dataset-set-a .compare-slider').value")) == \
            pytest.approx(80, abs=2)
        clip = browser.evaluate(f"document.querySelector('{view} .compare-over').style.clipPath")
        assert re.fullmatch(r"inset\(0(px)? (1[89]|2[01])(\.\d+)?% 0(px)? 0(px)?\)", clip), clip
        # a click moves every zoomed crop to the same point: 2 sources + the 8 algorithms shown
        crops = "document.querySelectorAll('#dataset-set-a .crops .window')"
        assert browser.evaluate(f"{crops}.length") == 10
        browser.mouse("mousePressed", box[0] + 0.1 * box[2], box[1] + 0.9 * box[3])
        browser.mouse("mouseReleased", box[0] + 0.1 * box[2], box[1] + 0.9 * box[3], 0)
        positions = browser.evaluate(f"Array.from({crops}).map(function (w) {{ return w.style.backgroundPosition; }})")
        assert len(set(positions)) == 1 and positions[0] != "50% 50%"
        # choosing algorithms: none, then all
        browser.click("#dataset-set-a .chooser summary")
        browser.click("#dataset-set-a button[data-choose='none']")
        assert browser.evaluate(f"{crops}.length") == 2
        shown = ("Array.from(document.querySelectorAll('#dataset-set-a .gallery-item:not(.hidden) .tile.fused'))"
                 ".filter(function (tile) { return tile.offsetParent !== null; }).length")
        assert browser.evaluate(shown) == 0
        browser.click("#dataset-set-a button[data-choose='all']")
        assert browser.evaluate(shown) == 40
        assert browser.errors() == []

        shot = browser.screenshot(tmp_path / "page.png", 0, 900)
    from PIL import Image
    import numpy as np

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (900, 1280) and pixels.std() > 20


def _metric_order(name: str):
    from fusionbench.reports.tables import metric_sort_key

    return metric_sort_key(name)


@pytest.mark.slow
def test_dialects_give_a_section_and_select_rows(tmp_path, capsys):
    from large_run_factory import ALGORITHMS

    run = make_large_run(tmp_path, algorithms=ALGORITHMS[:10], metrics={"SF": True, "EN": True},
                         datasets=("set-a",), items=4, dialects=("fusionbench", "vifb"))
    text = write_report(run, gallery=False).read_text(encoding="utf-8")
    section = text[text.index('<section id="dialects">'):]
    section = section[:section.index("</section>")]
    assert "fusionbench, vifb" in section
    rows = re.findall(r"<tr><td>set-a</td><td>(\w+)</td><td>fusionbench / vifb</td><td>(-?[0-9.]+)", section)
    assert ("EN", "1.000") in rows  # the same values: the rankings agree (tau = 1)
    assert any(metric == "SF" and float(tau) < 1 for metric, tau in rows)

    assert main(["tables", str(run), "--dialect", "vifb"]) == 0
    markdown = (run / "tables" / "set-a.md").read_text(encoding="utf-8")
    assert "## Protocol vifb" in markdown and "## Protocol standard" not in markdown
    assert main(["report", str(run), "--dialect", "fusionbench", "--self-contained", "--no-gallery"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert 'id="dialects"' not in page and "protocol <code>vifb</code>" not in page
    assert not (run / "report_files").exists() and "data:image/png;base64," in page
    assert main(["tables", str(run), "--dialect", "no-such-dialect"]) == 2
    assert "no metric values of dialect(s) ['no-such-dialect']" in capsys.readouterr().err
