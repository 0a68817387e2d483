"""The package's transcription of the paper's tables against the shared transcription."""
from __future__ import annotations

import csv

import pytest

from fusionbench.reports.paper import is_reproducible, load_paper_values, reproduction_status

DATASETS = {"multifocus": "lytro", "infrared-visual": "tno-iv", "medical": "medical", "multi-exposure": "mef"}


def test_every_printed_cell_matches_the_shared_transcription(shared_paper_tables):
    paper = load_paper_values()
    rows = list(csv.DictReader(shared_paper_tables.open()))
    assert len(rows) == 144
    for row in rows:
        dataset = DATASETS[row["dataset"]]
        metric = "MEF-SSIM" if row["metric"] == "MESSIM" else row["metric"]
        algorithm = row["algorithm"].lower()
        if dataset == "mef" and algorithm == "baseline-max":
            algorithm = "baseline-mean"  # printed BASELINE-MAX; the text names BASELINE-MEAN
        value = paper.lookup(dataset, metric, algorithm)
        assert value is not None, row
        assert value.value == float(row["mean"]) and value.label == row["algorithm"]
        assert (value.overall_rank, value.n_first, value.n_second) == (
            int(row["overall_rank"]), int(row["n_first"]), int(row["n_second"]))


def test_sixty_two_cells_are_reproducible():
    paper = load_paper_values()
    cells = [value for dataset in paper.datasets() for value in paper.cells(dataset)]
    assert len(cells) == 144
    assert sum(is_reproducible(v.dataset, v.metric, v.algorithm) for v in cells) == 62


def test_status_and_reasons():
    assert reproduction_status("lytro", "SF", "gff", 19.29 * 1.009, 19.29)[0] == "reproduced"
    assert reproduction_status("lytro", "SF", "gff", 19.29 * 1.02, 19.29)[0] == "missed"
    status, reason = reproduction_status("lytro", "NMI", "lpsr", 0.9717, 0.9817)
    assert status == "missed" and "typo" in reason
    assert reproduction_status("mef", "MEF-SSIM", "gff", 0.95, 0.9204)[0] == "not reproducible"
    assert "MFCNN" in reproduction_status("lytro", "SF", "mfcnn", None, 19.21)[1]
    assert reproduction_status("lytro", "SF", "ifcnn-max", None, 19.5)[0] == "not run"


def test_table5_timings_are_transcribed():
    paper = load_paper_values()
    assert paper.lookup("lytro", "seconds", "gff").value == pytest.approx(0.33)
    assert paper.lookup("lytro", "seconds", "ifcnn-max").label == "IFCNN"
