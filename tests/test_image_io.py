"""Decoding rules of fusionbench.image_io: what is converted, what is refused, and how."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from fusionbench.errors import ImageError, InputMismatchError
from fusionbench.image_io import check_sources, read_image, rgb_to_grey, write_png


@pytest.fixture
def grey():
    return np.arange(48 * 40, dtype=np.int64).reshape(48, 40).__mod__(256).astype(np.uint8)


def test_png_round_trip(tmp_path, grey):
    colour = np.dstack([grey, 255 - grey, grey // 2])
    assert np.array_equal(read_image(write_png(tmp_path / "g.png", grey)), grey)
    assert np.array_equal(read_image(write_png(tmp_path / "c.png", colour)), colour)  # RGB order kept


def test_sixteen_bit_is_scaled_to_eight(tmp_path, grey):
    sixteen = grey.astype(np.uint16) * 257  # 257 = 65535 / 255
    cv2.imwrite(str(tmp_path / "g16.png"), sixteen)
    assert np.array_equal(read_image(tmp_path / "g16.png"), grey)
    odd = np.full((4, 4), 32768, np.uint16)  # 32768 * 255 / 65535 = 127.5019 -> 128
    cv2.imwrite(str(tmp_path / "half.png"), odd)
    assert np.all(read_image(tmp_path / "half.png") == 128)


def test_opaque_alpha_is_dropped_and_transparent_alpha_refused(tmp_path, grey):
    colour = np.dstack([grey, 255 - grey, grey // 2])
    Image.fromarray(np.dstack([colour, np.full_like(grey, 255)]), "RGBA").save(tmp_path / "opaque.png")
    assert np.array_equal(read_image(tmp_path / "opaque.png"), colour)
    Image.fromarray(np.dstack([grey, np.full_like(grey, 255)]), "LA").save(tmp_path / "grey_alpha.png")
    assert np.array_equal(read_image(tmp_path / "grey_alpha.png"), grey)
    alpha = np.full_like(grey, 255)
    alpha[3, 3] = 0
    Image.fromarray(np.dstack([colour, alpha]), "RGBA").save(tmp_path / "holes.png")
    with pytest.raises(ImageError, match=r"holes\.png: has a transparent alpha channel"):
        read_image(tmp_path / "holes.png")


def test_float_tiff(tmp_path, grey):
    cv2.imwrite(str(tmp_path / "unit.tif"), grey.astype(np.float32) / 255)
    assert np.array_equal(read_image(tmp_path / "unit.tif"), grey)
    for bad in (np.nan, np.inf, -np.inf):
        image = grey.astype(np.float32)
        image[1, 2] = bad
        cv2.imwrite(str(tmp_path / "bad.tif"), image)
        with pytest.raises(ImageError, match=r"bad\.tif: contains NaN or infinite values"):
            read_image(tmp_path / "bad.tif")
    cv2.imwrite(str(tmp_path / "range.tif"), grey.astype(np.float32) * 4)
    with pytest.raises(ImageError, match=r"range\.tif: float values span \[0, 1020\]"):
        read_image(tmp_path / "range.tif")


@pytest.mark.parametrize("name, content, message", [
    ("empty.png", b"", "file is empty"),
    ("text.png", b"hello, not an image", "not a readable image"),
    ("truncated.jpg", None, "not a readable image"),
])
def test_unreadable_files(tmp_path, grey, name, content, message):
    path = tmp_path / name
    if content is None:
        cv2.imwrite(str(tmp_path / "full.jpg"), np.dstack([grey] * 3))
        content = (tmp_path / "full.jpg").read_bytes()[:300]
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as raised:
        read_image(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(ImageError, match="is a directory"):
        read_image(tmp_path)
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "absent.png")


def test_rgb_to_grey_rounds_like_matlab():
    pixel = np.array([[[10, 200, 31]]], np.uint8)
    exact = 0.298936021293775 * 10 + 0.587043074451121 * 200 + 0.114020904255103 * 31
    assert rgb_to_grey(pixel)[0, 0] == int(np.floor(exact + 0.5))
    assert rgb_to_grey(np.full((1, 1, 3), 255, np.uint8))[0, 0] == 255


def test_check_sources(grey):
    with pytest.raises(InputMismatchError, match="same size"):
        check_sources([grey, grey[:-1]])
    with pytest.raises(InputMismatchError, match="channel"):
        check_sources([grey, np.dstack([grey] * 3)])


def test_written_files_get_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    import os
    import stat

    from fusionbench.image_io import write_text_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    write_png(tmp_path / "g.png", np.zeros((4, 4), np.uint8))
    write_text_atomic(tmp_path / "t.txt", "x")
    for name in ("g.png", "t.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


def test_a_grey_source_beside_colour_ones_is_repeated_to_rgb_and_matching_sets_are_untouched():
    from fusionbench.image_io import match_channels

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    colour = np.zeros((3, 4, 3), dtype=np.uint8)
    visible, infrared = match_channels([colour, grey])
    assert infrared.shape == (3, 4, 3) and all(np.array_equal(infrared[:, :, c], grey) for c in range(3))
    assert visible is colour
    both_grey = match_channels([grey, grey])
    assert all(image is grey for image in both_grey)
