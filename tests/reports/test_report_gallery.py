"""Gallery pieces: the automatic close-up region, thumbnails, asset URLs."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fusionbench.reports import gallery


def test_window_means_match_a_direct_computation():
    values = np.arange(30, dtype=float).reshape(5, 6)
    means = gallery.window_means(values, 2)
    assert means.shape == (4, 5)
    assert means[0, 0] == pytest.approx((0 + 1 + 6 + 7) / 4)
    assert means[3, 4] == pytest.approx((22 + 23 + 28 + 29) / 4)


def test_region_side_is_a_fifth_of_the_shorter_side_within_bounds():
    assert gallery.region_side(520, 520) == 104
    assert gallery.region_side(270, 360) == 54
    assert gallery.region_side(40, 300) == 16  # at least 16 px
    assert gallery.region_side(10, 300) == 10  # never more than the image


def test_the_region_is_where_the_algorithms_disagree():
    base = np.full((100, 120), 100, np.uint8)
    other = base.copy()
    other[60:80, 10:30] = 200  # the only difference: a 20 x 20 block at row 60, column 10
    region = gallery.choose_region([base, other, base])
    assert region.side == 20
    assert (region.top, region.left) == (60, 10)
    frame = region.as_percentages(100, 120)
    assert frame == pytest.approx({"top": 60.0, "left": 100 * 10 / 120, "height": 20.0, "width": 100 * 20 / 120})


def test_colour_results_are_compared_in_grey():
    first = np.zeros((50, 50, 3), np.uint8)
    second = first.copy()
    second[0:10, 40:50] = (255, 255, 255)
    # a 16-px window (the minimum) holds the whole 10-px block only at row 0, column 34
    assert gallery.choose_region([first, second]) == gallery.Region(0, 34, 16)


def test_agreement_everywhere_or_a_single_result_gives_the_centre():
    image = np.random.default_rng(1).integers(0, 255, (60, 80), dtype=np.uint8)
    assert gallery.choose_region([image, image.copy()]) == gallery.Region(22, 32, 16)
    assert gallery.choose_region([image]) == gallery.Region(22, 32, 16)


def test_disagreement_is_the_population_standard_deviation():
    images = [np.full((2, 2), value, np.uint8) for value in (10, 20, 30)]
    assert gallery.disagreement_map(images) == pytest.approx(np.full((2, 2), np.std([10, 20, 30])))


def test_thumbnails_keep_the_aspect_ratio_and_never_upscale():
    assert gallery.thumbnail(np.zeros((520, 520, 3), np.uint8)).shape == (320, 320, 3)
    assert gallery.thumbnail(np.zeros((270, 640), np.uint8)).shape == (135, 320)
    small = np.zeros((64, 48), np.uint8)
    assert gallery.thumbnail(small) is small


def test_webp_round_trip_is_close(tmp_path):
    image = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (32, 1))
    path = tmp_path / "picture.webp"
    path.write_bytes(gallery.encode_webp(image, 92))
    decoded = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert decoded.shape == (32, 64)
    assert np.abs(decoded - image).mean() < 2.0


def test_assets_are_files_with_relative_urls_or_data_uris(tmp_path):
    writer = gallery.AssetWriter(tmp_path / "building", "report_files", tmp_path)
    url = writer.store("a dataset/item 1/00-x.webp", b"RIFF0000WEBP")
    assert url == "report_files/a%20dataset/item%201/00-x.webp"
    assert (tmp_path / "building" / "a dataset" / "item 1" / "00-x.webp").read_bytes() == b"RIFF0000WEBP"
    embedded = gallery.AssetWriter(None, "report_files", tmp_path).store("x.webp", b"\x00\x01")
    assert embedded == "data:image/webp;base64,AAE="


def test_relative_url_from_the_page_folder(tmp_path):
    target = tmp_path / "run" / "fused" / "gff" / "lytro" / "lytro 01.png"
    assert gallery.relative_url(target, tmp_path / "run") == "fused/gff/lytro/lytro%2001.png"
    assert gallery.relative_url(target, tmp_path / "elsewhere") == "../run/fused/gff/lytro/lytro%2001.png"


def test_a_gallery_item_has_sources_results_close_ups_and_failures(tmp_path):
    a = np.zeros((40, 40), np.uint8)
    b = np.full((40, 40), 50, np.uint8)
    writer = gallery.AssetWriter(tmp_path / "files", "files", tmp_path)
    fused_path = tmp_path / "fused.png"
    entry = gallery.gallery_item("my set", "item/1", [("A.png", a, ""), ("B.png", None, "source missing")],
                                 [("mean", (a // 2 + b // 2), fused_path, ""), ("max", b, None, ""),
                                  ("broken", None, None, "failed: boom")], writer)
    assert entry.anchor == "item-my_set-item_1"
    assert [tile.label for tile in entry.tiles] == ["A.png", "B.png", "mean", "max", "broken"]
    assert [bool(tile.thumbnail) for tile in entry.tiles] == [True, False, True, True, False]
    assert [bool(tile.close_up) for tile in entry.tiles] == [True, False, True, True, False]
    assert entry.tiles[1].missing == "source missing" and entry.tiles[4].missing == "failed: boom"
    assert entry.tiles[2].link == "fused.png"
    assert writer.files_written == 6
    assert entry.region == gallery.Region(12, 12, 16)  # disagreement is uniform: every window ties, the centre wins
