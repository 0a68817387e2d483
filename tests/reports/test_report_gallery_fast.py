"""The gallery's fast paths give what the straightforward code gives: one PNG decode instead of
two gives ``image_io.read_image``'s pixels (and its errors), and JPEG thumbnails keep the picture."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from fusionbench.errors import FusionBenchError
from fusionbench.image_io import read_image
from fusionbench.reports import gallery


def _write(path, array, **options):
    Image.fromarray(array).save(path, **options)
    return path


@pytest.mark.parametrize("kind", ["grey", "rgb", "grey16", "palette", "rgba", "jpeg"])
def test_read_picture_gives_read_image_pixels(tmp_path, kind):
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    if kind == "grey":
        path = _write(tmp_path / "a.png", grey)
    elif kind == "rgb":
        path = _write(tmp_path / "a.png", rgb)
    elif kind == "grey16":
        path = tmp_path / "a.png"
        cv2.imwrite(str(path), rng.integers(0, 65536, (37, 53), dtype=np.uint16))
    elif kind == "palette":
        path = tmp_path / "a.png"
        Image.fromarray(rgb).convert("P").save(path)
    elif kind == "rgba":
        path = _write(tmp_path / "a.png", np.dstack([rgb, np.full((37, 53), 255, np.uint8)]))
    else:
        path = _write(tmp_path / "a.jpg", rgb, quality=90)
    expected = read_image(path)
    got = gallery.read_picture(path)
    assert got.dtype == expected.dtype and got.shape == expected.shape and np.array_equal(got, expected)
    assert got.flags["C_CONTIGUOUS"]


def test_read_picture_reports_broken_files_like_read_image(tmp_path):
    path = _write(tmp_path / "a.png", np.zeros((40, 40, 3), np.uint8))
    path.write_bytes(path.read_bytes()[:-30])  # truncated: no IEND
    with pytest.raises(FusionBenchError) as expected:
        read_image(path)
    with pytest.raises(FusionBenchError) as got:
        gallery.read_picture(path)
    assert str(got.value) == str(expected.value)
    with pytest.raises(FusionBenchError, match="no such file"):
        gallery.read_picture(tmp_path / "missing.png")


def test_jpeg_thumbnails_round_trip(tmp_path):
    image = np.dstack([np.tile(np.linspace(0, 255, 64).astype(np.uint8), (32, 1))] * 3)
    image[:, :, 0] = 200  # a colour, to catch swapped channels
    data = gallery.encode_jpeg(image, 80)
    assert data[:3] == b"\xff\xd8\xff"
    (tmp_path / "picture.jpg").write_bytes(data)
    decoded = np.asarray(Image.open(tmp_path / "picture.jpg").convert("RGB"), dtype=float)
    assert decoded.shape == (32, 64, 3) and np.abs(decoded - image).mean() < 3.0
    assert gallery.encode_jpeg(image[:, :, 1].copy(), 80)[:3] == b"\xff\xd8\xff"  # grey too
