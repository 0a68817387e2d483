"""The HTML report from hand-made run directories: table cells, pictures, links, failures, metadata."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from fusionbench.cli import main
from fusionbench.reports.html import write_report

from run_directory_factory import make_run_directory

FAILURE = ("lytro", "lytro-02", "lpsr", "lpsr raised RuntimeError: boom")


class _Collector(HTMLParser):
    """img src, a href, element ids, and whether block elements nest properly."""

    CHECKED = {"div", "section", "figure", "table", "tr", "td", "th", "main", "details", "ul", "li", "select"}

    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self.open: list[str] = []
        self.misnested: list[str] = []

    def handle_endtag(self, tag):
        if tag in self.CHECKED:
            if self.open and self.open[-1] == tag:
                self.open.pop()
            else:
                self.misnested.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")

    def handle_starttag(self, tag, attributes):
        if tag in self.CHECKED:
            self.open.append(tag)
        attributes = dict(attributes)
        if tag == "img":
            self.images.append(attributes["src"])
        if tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])
        if "id" in attributes:
            self.ids.append(attributes["id"])


def _collect(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = make_run_directory(tmp_path_factory.mktemp("report"), failures=[FAILURE])
    path = write_report(run)
    return run, path, path.read_text(encoding="utf-8")


def _cells(page: str, dataset: str, metric: str) -> list[str]:
    """The cells of a metric's row in the dataset's table, as plain text."""
    section = page[page.index(f'id="dataset-{dataset}"'):]
    row = re.search(rf"<tr><td><b>{metric}</b>.*?</tr>", section, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


def test_the_report_is_written_beside_the_run_with_its_pictures(report):
    run, path, page = report
    assert path == run.resolve() / "report.html"
    thumbnails = sorted((run / "report_files").rglob("*.jpg"))
    close_ups = sorted((run / "report_files").rglob("*-zoom.webp"))
    # lytro: 3 items x (2 sources + 3 results, one failed) ; medical: 2 x (2 + 3); each with a close-up
    assert len(thumbnails) == len(close_ups) == 3 * 5 - 1 + 2 * 5
    assert len(list((run / "report_files").rglob("*.webp"))) == len(close_ups)
    assert all(path.read_bytes()[:3] == b"\xff\xd8\xff" for path in thumbnails)
    # per dataset: heat map, dataset CD diagram, distributions, rank counts, per-metric CD; timings, overview
    assert len(sorted((run / "report_files" / "charts").glob("*.png"))) == 2 * 5 + 2
    assert not [entry for entry in run.iterdir() if entry.name.startswith(".report_files")]  # no leftovers


def test_table_cells_follow_the_paper_layout(report):
    _, _, page = report
    gff, lpsr, ifcnn = _cells(page, "lytro", "VIFF")
    assert ifcnn == "0.9100 (1, 3, 0)" and gff == "0.7100 (2, 0, 3)"
    assert lpsr == "n/a (failed on 1 of 3 items)"
    assert '<span class="mean best">0.9100</span>' in page and '<span class="mean second">0.7100</span>' in page
    assert _cells(page, "medical", "SF") == ["1.705 (3, 0, 0)", "1.805 (2, 0, 2)", "1.905 (1, 2, 0)"]


def test_the_page_is_well_nested(report):
    collected = _collect(report[2])
    assert collected.misnested == [] and collected.open == []
    # every gallery item sits inside its dataset's gallery
    page = report[2]
    for dataset, count in (("lytro", 3), ("medical", 2)):
        section = page[page.index(f'id="dataset-{dataset}"'):]
        gallery = section[section.index('<div class="gallery"'):section.index("</section>")]
        assert gallery.count('<div class="gallery-item"') == count


def test_every_picture_and_link_resolves(report):
    run, path, page = report
    collected = _collect(page)
    assert len([src for src in collected.images if src.startswith("report_files/charts/")]) == 2 * 5 + 2
    files = [src for src in collected.images if not src.startswith("data:")]
    assert len(files) == len(collected.images)
    assert files and all((path.parent / unquote(src)).is_file() for src in files)
    fused_links = [href for href in collected.links if href.startswith("fused/")]
    assert len(fused_links) == 3 * 3 - 1 + 2 * 3
    assert all((path.parent / unquote(href)).is_file() for href in fused_links)
    internal = [href[1:] for href in collected.links if href.startswith("#")]
    assert internal and all(target in collected.ids for target in internal)


def test_failures_timings_and_metadata_are_listed(report):
    _, _, page = report
    failures = page[page.index('<section id="failures">'):page.index('<section id="metadata">')]
    assert "1 failure(s)" in failures and "lpsr raised RuntimeError: boom" in failures
    assert '<div class="missing">failed: lpsr raised RuntimeError: boom</div>' in page
    metadata = page[page.index('<section id="metadata">'):]
    assert "fusionbench run --dataset lytro medical" in metadata and "versions.python" in metadata
    timings = page[page.index('<section id="timings">'):page.index('<section id="failures">')]
    assert "<td>ifcnn-max</td><td>cpu</td><td>64x64</td><td>0.0300</td>" in timings


def test_a_page_elsewhere_links_back_into_the_run(tmp_path):
    run = make_run_directory(tmp_path)
    path = write_report(run, tmp_path / "pages" / "mine.html")
    page = path.read_text(encoding="utf-8")
    assert (tmp_path / "pages" / "mine_files").is_dir()
    fused_links = [href for href in _collect(page).links if "fused/" in href]
    assert fused_links and all(href.startswith("../run/fused/") for href in fused_links)
    assert all((path.parent / unquote(href)).is_file() for href in fused_links)


def test_embedded_pictures_make_one_file_and_rewriting_replaces_old_pictures(tmp_path):
    run = make_run_directory(tmp_path, {"tno-iv": ("infrared-visual", 1, False)})
    write_report(run)
    stale = run / "report_files" / "stale.webp"
    stale.write_bytes(b"old")
    write_report(run)
    assert not stale.exists()
    write_report(run, embed_images=True)
    assert not (run / "report_files").exists()
    images = _collect((run / "report.html").read_text(encoding="utf-8")).images
    assert images and all(src.startswith("data:image/") for src in images)
    assert len([src for src in images if src.startswith("data:image/png;base64,")]) == 5 + 1  # the charts
    # the slider and the zoomed crops use the embedded thumbnails, not files next to the run
    page = (run / "report.html").read_text(encoding="utf-8")
    assert 'data-full="data:image/jpeg;base64,' in page and 'data-full="fused/' not in page


def test_a_rebuild_reuses_unchanged_pictures_and_redraws_changed_ones(tmp_path, monkeypatch):
    from fusionbench.image_io import read_image, write_png
    from fusionbench.reports import gallery, plots

    run = make_run_directory(tmp_path, {"medical": ("medical", 2, False)})
    first = write_report(run).read_text(encoding="utf-8")
    monkeypatch.setattr(gallery, "encode_webp", lambda *a: pytest.fail("an unchanged picture was re-encoded"))
    monkeypatch.setattr(gallery, "encode_jpeg", lambda *a: pytest.fail("an unchanged picture was re-encoded"))
    monkeypatch.setattr(plots, "figure_png", lambda *a: pytest.fail("an unchanged chart was redrawn"))
    assert write_report(run).read_text(encoding="utf-8") == first
    monkeypatch.undo()

    # a changed fused image redraws exactly its item; a changed value redraws the charts it changes
    changed = run / "fused" / "gff" / "medical" / "medical-02.png"
    write_png(changed, 255 - read_image(changed))
    metrics = (run / "metrics.csv").read_text()
    assert "medical,medical-01,gff,standard,VIFF,0.7\n" in metrics
    (run / "metrics.csv").write_text(metrics.replace("medical,medical-01,gff,standard,VIFF,0.7\n",
                                                     "medical,medical-01,gff,standard,VIFF,0.95\n"))  # now first on that item
    encoded, drawn = [], []
    monkeypatch.setattr(gallery, "encode_webp", lambda image, quality, real=gallery.encode_webp: (
        encoded.append(image.shape), real(image, quality))[1])
    monkeypatch.setattr(gallery, "encode_jpeg", lambda image, quality, real=gallery.encode_jpeg: (
        encoded.append(image.shape), real(image, quality))[1])
    monkeypatch.setattr(plots, "figure_png", lambda figure, real=plots.figure_png: (drawn.append(1), real(figure))[1])
    write_report(run)
    assert len(encoded) == 2 * (2 + 3)  # medical-02: two sources and three results, each with a close-up
    # medical's heat map, dataset CD diagram, distributions, rank counts and per-metric CD; the timing
    # chart is unchanged (and a run of one dataset has no overview across datasets)
    assert len(drawn) == 5
    assert len(list((run / "report_files").rglob("*.webp"))) == len(list((run / "report_files").rglob("*.jpg"))) == 2 * 5


def test_missing_sources_are_named_not_fatal(tmp_path):
    run = make_run_directory(tmp_path, {"medical": ("medical", 1, False)})
    for source in (tmp_path / "sources").rglob("*.png"):
        source.unlink()
    page = write_report(run).read_text(encoding="utf-8")
    assert page.count("source file ") == 2 and "not found (set --data-dir" in page


def test_compare_paper_puts_the_printed_value_beside_ours(tmp_path):
    run = make_run_directory(tmp_path, {"lytro": ("multi-focus", 2, True)})
    write_report(run, compare_paper=True)
    gff = _cells((run / "report.html").read_text(encoding="utf-8"), "lytro", "VIFF")[0]
    # ours 0.705; Table 1 prints GFF VIFF 0.9806 (5, 0, 6)
    assert gff == "0.7050 (3, 0, 0) paper 0.9806 (5, 0, 6), Δ -28.11%"


def test_the_cli_writes_the_report_and_refuses_a_missing_run(tmp_path, capsys):
    run = make_run_directory(tmp_path, {"medical": ("medical", 1, False)})
    assert main(["report", str(run), "-o", str(tmp_path / "out.html"), "--no-gallery"]) == 0
    assert "report: " in capsys.readouterr().out
    assert 'class="gallery"' not in (tmp_path / "out.html").read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "nothing-here")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
