"""IFCNN with the official checkpoints reproduces the released result PNGs and the paper's Tables.

``released-demo`` against ``ifcnn-official/results`` (upstream ``Code/results``): TNO and medical
within +-1 grey level everywhere; Lytro within +-1 on >= 94% of all values (the official PNGs came
from another JPEG decoder; per image >= 93%); multi-exposure chair, door, garage, igloo, window within
+-4 (house was made from other source files: not tested, not tuned).
``paper`` against the paper's IFCNN-MAX / IFCNN-SUM columns (SF, AG standard; VIFF, ISSIM, NMI under
the ``ifcnn-paper`` protocol): the cells that reproduce, with their measured tolerances.
The default suite checks a subset; ``-m slow`` runs every item.
"""
from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np
import pytest

pytest.importorskip("torch")

import fusionbench  # noqa: E402
from fusionbench.datasets import get_dataset  # noqa: E402
from fusionbench.image_io import read_image  # noqa: E402

OFFICIAL = "ifcnn-official/results/IFCNN-{rule}-{tag}-{item}.png"
_TAGS = {"tno-iv": ("MAX", "IV"), "medical": ("MAX", "MD"), "lytro": ("MAX", "CMF"),
         "lytro-triple": ("MAX", "CMF3"), "mef": ("MEAN", "ME")}
_MEF_REPRODUCED = ("chair", "door", "garage", "igloo", "window")


@lru_cache(maxsize=None)
def algorithm(name: str, preset: str):
    return fusionbench.create_algorithm(name, preprocessing=preset)


def fuse_item(name: str, preset: str, dataset: str, item: str):
    collection = get_dataset(dataset)
    sources = [read_image(path) for path in collection.item(item).source_paths()]
    return algorithm(name, preset).fuse(sources, family=collection.family), sources


def official_difference(reference_file, dataset: str, item: str) -> np.ndarray:
    rule, tag = _TAGS[dataset]
    fused, _ = fuse_item(f"ifcnn-{rule.lower()}", "released-demo", dataset, item)
    official = read_image(reference_file(OFFICIAL.format(rule=rule, tag=tag, item=item)))
    assert fused.shape == official.shape
    return np.abs(fused.astype(int) - official.astype(int))


def item_names(dataset: str) -> list[str]:
    try:
        return [item.name for item in get_dataset(dataset).items]
    except Exception:  # the dataset registry is there even without the data; be safe at collection time
        return []


FAST_GREY = [("medical", "c01"), ("medical", "c05"), ("tno-iv", "Road2"), ("tno-iv", "Trees4917")]
ALL_GREY = [(dataset, item) for dataset in ("tno-iv", "medical") for item in item_names(dataset)]


@pytest.mark.parametrize("dataset,item", FAST_GREY)
def test_released_demo_grey_within_one_level(reference_file, dataset, item):
    assert official_difference(reference_file, dataset, item).max() <= 1


@pytest.mark.slow
@pytest.mark.parametrize("dataset,item", [case for case in ALL_GREY if case not in FAST_GREY])
def test_released_demo_grey_within_one_level_all(reference_file, dataset, item):
    assert official_difference(reference_file, dataset, item).max() <= 1


def test_released_demo_lytro_one_pair(reference_file):
    within = (official_difference(reference_file, "lytro", "lytro-04") <= 1).mean()
    assert within >= 0.94


@pytest.mark.slow
def test_released_demo_lytro_all(reference_file):
    fractions = [(official_difference(reference_file, "lytro", item) <= 1).mean() for item in item_names("lytro")]
    assert np.mean(fractions) >= 0.94  # measured 0.963
    assert min(fractions) >= 0.93  # lytro-01: 0.938


@pytest.mark.slow
def test_released_demo_lytro_triples(reference_file):
    fractions = [(official_difference(reference_file, "lytro-triple", item) <= 1).mean()
                 for item in item_names("lytro-triple")]
    assert np.mean(fractions) >= 0.94 and min(fractions) >= 0.92  # measured 0.952 mean, 0.930 lytro-01


def test_released_demo_multi_exposure_chair(reference_file):
    difference = official_difference(reference_file, "mef", "chair")
    assert difference.max() <= 4 and (difference > 1).mean() <= 0.003


@pytest.mark.slow
@pytest.mark.parametrize("item", [name for name in _MEF_REPRODUCED if name != "chair"])
def test_released_demo_multi_exposure(reference_file, item):
    difference = official_difference(reference_file, "mef", item)
    assert difference.max() <= 4 and (difference > 1).mean() <= 0.003


# ---- the paper's Tables 1-3 with the `paper` preset -----------------------------------------------

_TABLE_DATASETS = {"lytro": "multifocus", "tno-iv": "infrared-visual", "medical": "medical"}
# Cells that do not reproduce within 0.15%, with the measured deviation (report, don't tune).
_KNOWN_DEVIATIONS = {("ifcnn-max", "medical", "ISSIM"): -0.0060, ("ifcnn-sum", "lytro", "VIFF"): -0.0103}


def paper_column(shared_paper_tables, algorithm_name: str, dataset: str) -> dict[str, float]:
    with open(shared_paper_tables, newline="", encoding="utf-8") as stream:
        return {row["metric"]: float(row["mean"]) for row in csv.DictReader(stream)
                if row["dataset"] == _TABLE_DATASETS[dataset] and row["algorithm"] == algorithm_name.upper()}


def dataset_means(algorithm_name: str, dataset: str) -> dict[str, float]:
    from fusionbench.metrics.evaluation import compute_metrics

    values: dict[str, list[float]] = {}
    for item in item_names(dataset):
        fused, sources = fuse_item(algorithm_name, "paper", dataset, item)
        measured = {**compute_metrics(["SF", "AG"], fused, sources, "standard"),
                    **compute_metrics(["VIFF", "ISSIM", "NMI"], fused, sources, "ifcnn-paper")}
        for metric, value in measured.items():
            values.setdefault(metric, []).append(value)
    return {metric: float(np.mean(series)) for metric, series in values.items()}


def check_paper_column(shared_paper_tables, algorithm_name: str, dataset: str) -> None:
    paper = paper_column(shared_paper_tables, algorithm_name, dataset)
    measured = dataset_means(algorithm_name, dataset)
    for metric in ("SF", "AG", "VIFF", "ISSIM", "NMI"):
        relative = measured[metric] / paper[metric] - 1
        known = _KNOWN_DEVIATIONS.get((algorithm_name, dataset, metric))
        if known is None:
            assert abs(relative) <= 0.0015, f"{algorithm_name} {dataset} {metric}: {relative:+.3%}"
        else:
            assert abs(relative - known) <= 0.001, f"{algorithm_name} {dataset} {metric}: {relative:+.3%}"


def test_paper_preset_reproduces_medical_max_column(shared_paper_tables, reference_file):
    reference_file("medical/c01_1.tif")
    check_paper_column(shared_paper_tables, "ifcnn-max", "medical")


@pytest.mark.slow
@pytest.mark.parametrize("algorithm_name,dataset", [
    (name, dataset) for name in ("ifcnn-max", "ifcnn-sum") for dataset in ("lytro", "tno-iv", "medical")
    if (name, dataset) != ("ifcnn-max", "medical")])  # that one runs in the default suite
def test_paper_preset_reproduces_columns(shared_paper_tables, reference_file, algorithm_name, dataset):
    reference_file("medical/c01_1.tif")
    check_paper_column(shared_paper_tables, algorithm_name, dataset)
