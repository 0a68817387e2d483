"""Published results as read-only algorithms: the published image of the item whose sources are
given (SHA-256 checked), refused for foreign sources; user TOMLs make any paper's images one."""
from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from fusionbench.datasets import get_dataset
from fusionbench.errors import AlgorithmError, ConfigError, DataNotFoundError
from fusionbench.image_io import match_channels, read_image
from fusionbench.published.results import PublishedResult, load_published_set


@pytest.fixture(scope="module")
def vifb_set():
    with resources.as_file(resources.files("fusionbench.published").joinpath("vifb.toml")) as path:
        return load_published_set(path)


def item_sources(name: str):
    item = get_dataset("vifb").item(name)
    try:
        return match_channels([read_image(path) for path in item.source_paths()])
    except DataNotFoundError:
        pytest.skip("the VIFB mirror is not in FUSIONBENCH_DATA")


def test_the_vifb_set_lists_25_methods_with_pinned_files(vifb_set):
    assert len(vifb_set.methods) == 25 and {"GFF", "IFCNN", "SeAFusion", "SwinFusion", "YDTR"} <= set(vifb_set.methods)
    remote = vifb_set.file_of("GFF", "carLight")
    assert remote.mirror_path == "vifb/fused/GFF/carLight_GFF.jpg" and remote.url.endswith("carLight_GFF.jpg")
    assert "SwinFusion" in vifb_set.notes


def test_fusing_returns_the_published_image_of_that_item(vifb_set):
    from fusionbench.datasets.fetching import fetch

    algorithm = PublishedResult(vifb_set, "GFF")
    for name in ("carLight", "manWalking"):  # manWalking: a single-channel infrared JPEG
        fused = algorithm.fuse(item_sources(name))
        assert np.array_equal(fused, read_image(fetch(vifb_set.file_of("GFF", name))))
    other = item_sources("kettle")
    with pytest.raises(AlgorithmError, match="these sources are none of them"):
        algorithm.fuse([other[0], np.ascontiguousarray(other[1][::-1])])
    assert algorithm.identity()["method"] == "GFF" and len(algorithm.identity()["files"]) == 64


def test_a_user_toml_maps_items_to_files_beside_it_and_may_not_escape(tmp_path):
    folder = tmp_path / "paper"
    (folder / "results" / "Mine").mkdir(parents=True)
    toml = folder / "published.toml"
    toml.write_text('name = "mypaper"\ndataset = "vifb"\nmethods = ["Mine"]\n'
                    'pattern = "results/{method}/{item}.png"\n', encoding="utf-8")
    published = load_published_set(toml)
    assert published.file_of("Mine", "kettle").path == folder.resolve() / "results" / "Mine" / "kettle.png"
    toml.write_text('name = "mypaper"\ndataset = "vifb"\nmethods = ["Mine"]\n'
                    'pattern = "../../{method}/{item}.png"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="outside"):
        load_published_set(toml).file_of("Mine", "kettle")
    toml.write_text('name = "../x"\ndataset = "vifb"\nmethods = ["Mine"]\npattern = "{method}/{item}.png"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="not a safe name"):
        load_published_set(toml)


def test_run_published_makes_a_users_images_an_algorithm(tmp_path, capsys):
    import shutil

    from fusionbench.cli import main
    from fusionbench.datasets.fetching import fetch

    folder = tmp_path / "paper"
    (folder / "results" / "Mine").mkdir(parents=True)
    items = get_dataset("vifb").items[:2]
    for item in items:
        try:
            shutil.copy(fetch(item.sources[0]), folder / "results" / "Mine" / f"{item.name}.jpg")
        except DataNotFoundError:
            pytest.skip("the VIFB mirror is not in FUSIONBENCH_DATA")
    toml = folder / "published.toml"
    toml.write_text('name = "mypaper"\ndataset = "vifb"\nmethods = ["Mine"]\npattern = "results/{method}/{item}.jpg"\n',
                    encoding="utf-8")
    out = tmp_path / "run"
    status = main(["run", "--published", str(toml), "--dataset", "vifb", "--algorithm", "mypaper:Mine", "average",
                   "--metric", "SF", "--max-items", "2", "--out", str(out), "--no-progress", "--no-report", "--jobs", "1"])
    assert status == 0, capsys.readouterr().err
    # the report's grouped order reads each algorithm's kind from run.json
    kinds = json.loads((out / "run.json").read_text(encoding="utf-8"))["algorithm_kinds"]
    assert kinds == {"mypaper:Mine": "published", "average": "classical"}
    fused = read_image(out / "fused" / "mypaper@Mine" / "vifb" / f"{items[0].name}.png")
    assert np.array_equal(fused, read_image(fetch(items[0].sources[0])))  # the "published" image: the visible one
