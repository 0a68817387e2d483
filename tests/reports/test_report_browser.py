"""Acceptance 2: the report renders in headless Chromium with every section, for runs over the four
dataset families; the screenshot is not blank.

Skipped (with the reason) when no Chromium is installed; ``.ci/run`` installs Debian's ``chromium``.
The default test uses a hand-made run directory (about 8 s); the ``slow`` one renders the report of a
real ``fusionbench run`` over the four paper datasets (2 items each, three quick algorithms; about 40 s).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionbench.reports.html import write_report

from run_directory_factory import make_run_directory

FOUR_FAMILIES = {"lytro": ("multi-focus", 2, True), "tno-iv": ("infrared-visual", 2, False),
                 "medical": ("medical", 2, False), "mef": ("multi-exposure", 2, True)}


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium found (apt-get install chromium; .ci/run installs it)")


def _headless(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", *arguments, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def check_in_browser(page: Path, datasets: list[str], items_per_dataset: int, tmp_path: Path) -> None:
    """Load ``page`` in headless Chromium: the DOM after scripts ran, and a 1400 x 3000 screenshot."""
    dumped = _headless(page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    for dataset in datasets:
        assert f'id="dataset-{dataset}"' in dom
    assert dom.count('<table class="paper">') >= len(datasets)
    for section in ("timings", "failures", "metadata"):
        assert f'<section id="{section}">' in dom
    charts = re.findall(r'<img src="(report_files/charts/[^"]+\.png)"', dom)
    assert len(charts) >= 3 * len(datasets) + 1  # distributions, rank counts, CD per dataset; timings
    assert all((page.parent / chart).read_bytes()[:4] == b"\x89PNG" for chart in charts)
    assert "not found (set --data-dir" not in dom  # every source picture was found
    pictures = re.findall(r'<img src="(report_files/[^"]+\.(?:webp|jpg))"', dom)
    assert pictures and all((page.parent / picture).is_file() for picture in pictures)
    # the gallery script ran: the item selector is shown with its counter, one item per dataset visible
    assert dom.count('<div class="gallery-nav">') == len(datasets)
    items = dom.count('<div class="gallery-item')
    assert re.findall(r"<span class=\"muted small\">1 of (\d+)</span>", dom) == [str(items_per_dataset)] * len(datasets)
    assert items == items_per_dataset * len(datasets)
    assert dom.count('<div class="gallery-item hidden"') == items - len(datasets)

    shot = tmp_path / "screenshot.png"
    taken = _headless(page, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,3000")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (3000, 1400)
    assert pixels.std() > 20  # a blank (all-white) page has 0
    assert (pixels < 128).mean() > 0.01  # text, tables and pictures are drawn


def test_the_report_renders_with_all_sections(tmp_path):
    _chromium()
    run = make_run_directory(tmp_path, FOUR_FAMILIES, failures=[("tno-iv", "tno-iv-01", "gff", "gff raised X")])
    check_in_browser(write_report(run), list(FOUR_FAMILIES), 2, tmp_path)


@pytest.mark.slow
def test_the_report_of_a_real_run_over_the_four_paper_datasets_renders(tmp_path, reference_file):
    _chromium()
    pytest.importorskip("fusionbench.harness")
    from fusionbench.cli import main

    reference_file("lytro/lytro-01-A.jpg")  # the dataset mirror (skips without it)
    datasets = ["lytro", "tno-iv", "medical", "mef"]
    status = main(["run", "--dataset", *datasets, "--algorithm", "average", "max-abs", "gff",
                   "--metric", "SF", "AG", "VIFF", "MEF-SSIM", "--max-items", "2", "--out", str(tmp_path / "run"),
                   "--no-progress", "--jobs", "1"])
    assert status == 0
    check_in_browser(tmp_path / "run" / "report.html", datasets, 2, tmp_path)
