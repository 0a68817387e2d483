"""An image whose header declares an absurd size is refused before decoding: one line, fast, small."""
from __future__ import annotations

import struct
import subprocess
import sys
import time
import zlib

import pytest

from fusionbench.errors import ImageError
from fusionbench.image_io import decode_image, read_image, set_max_pixels


def png_header_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG (65 bytes) that declares width x height grey pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_bomb_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_declaring(25000, 25000))
    started = time.perf_counter()
    with pytest.raises(ImageError, match=r"bomb\.png: declares 25000 x 25000 pixels.*--max-pixels"):
        read_image(bomb)
    assert time.perf_counter() - started < 1.0  # decoding it took 8 s and 2.2 GB before the check


def test_the_limit_is_100_megapixels_and_can_be_raised(monkeypatch):
    monkeypatch.delenv("FUSIONBENCH_MAX_PIXELS", raising=False)
    just_over = png_header_declaring(10001, 10000)
    with pytest.raises(ImageError, match="declares 10001 x 10000"):
        decode_image(just_over, "x.png")
    set_max_pixels(200_000_000)  # now the header passes and decoding itself finds the data missing
    with pytest.raises(ImageError, match="not a readable image"):
        decode_image(just_over, "x.png")


def test_the_cli_refuses_a_bomb_in_one_line_within_200_megabytes(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_declaring(25000, 25000))
    code = ("from fusionbench.cli import main; "
            f"status = main(['metrics', {str(bomb)!r}, {str(bomb)!r}, {str(bomb)!r}, '--metric', 'SF']); "
            "peak = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) * 1024; "
            "print(status, peak)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    status, peak = completed.stdout.split()
    assert int(status) == 2
    assert completed.stderr.startswith("error: ") and completed.stderr.count("\n") == 1
    assert "bomb.png: declares 25000 x 25000 pixels" in completed.stderr
    assert int(peak) < 200 * 2**20


def test_max_pixels_on_the_command_line_lowers_or_raises_the_limit(tmp_path, monkeypatch, capsys):
    from fusionbench.cli import main
    from fusionbench.image_io import write_png
    import numpy as np

    monkeypatch.delenv("FUSIONBENCH_MAX_PIXELS", raising=False)
    image = tmp_path / "small.png"
    write_png(image, np.zeros((30, 40), dtype=np.uint8))
    assert main(["metrics", str(image), str(image), str(image), "--metric", "SF", "--max-pixels", "1000"]) == 2
    assert "declares 40 x 30 pixels, more than the limit of 1,000" in capsys.readouterr().err
    assert main(["metrics", str(image), str(image), str(image), "--metric", "SF", "--max-pixels", "1200"]) == 0
