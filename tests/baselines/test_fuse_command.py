"""``fusionbench fuse``: writes exactly the algorithm's output; bad input is one ``error:`` line, exit 2."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from fusionbench.cli import main
from fusionbench.commands.fuse_command import accepted_options, parse_options
from fusionbench.image_io import read_image
from fusionbench.registry import create_algorithm, get_algorithm


def _texture(seed: int, shape=(96, 104)) -> np.ndarray:
    generator = np.random.default_rng(seed)
    field = np.cumsum(generator.normal(size=shape), axis=1) * 6 + np.cumsum(generator.normal(size=shape), axis=0) * 6
    return np.clip(field + 128, 0, 255).astype(np.uint8)


@pytest.fixture
def sources(tmp_path):
    paths = {}
    for name, seed in (("a", 1), ("b", 2), ("c", 3)):
        paths[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(paths[name]), _texture(seed))
    paths["small"] = tmp_path / "small.png"
    cv2.imwrite(str(paths["small"]), _texture(4)[:50])
    paths["colour"] = tmp_path / "colour.png"
    cv2.imwrite(str(paths["colour"]), np.dstack([_texture(5)] * 3))
    return {key: str(value) for key, value in paths.items()}


@pytest.mark.parametrize("name", ["lp", "gff", "average"])
def test_fuse_writes_the_algorithms_output(tmp_path, sources, name):
    output = tmp_path / "out" / "fused.png"
    options = ["--option", "r1=20"] if name == "gff" else []
    assert main(["fuse", name, sources["a"], sources["b"], sources["c"], "-o", str(output), *options]) == 0
    images = [read_image(sources[key]) for key in "abc"]
    extra = {"r1": 20} if name == "gff" else {}
    np.testing.assert_array_equal(read_image(output), create_algorithm(name, **extra).fuse(images))
    assert not list(output.parent.glob(".*.tmp"))  # atomic write leaves no temporary file


@pytest.mark.parametrize("arguments, message", [
    (["fuse", "gf", "{a}", "{b}"], "unknown algorithm 'gf'; did you mean 'gff'"),
    (["fuse", "lp", "{a}"], "at least 2 source images"),
    (["fuse", "lp", "{a}", "{missing}"], "no such file"),
    (["fuse", "lp", "{a}", "{small}"], "same size"),
    (["fuse", "gff", "{small}", "{small}"], "too small for gff's guided filter radius 45"),
    (["fuse", "lp", "{a}", "{b}", "--device", "cpu"], "has no setting 'device'"),
    (["fuse", "lp", "{a}", "{b}", "--option", "nonsense=1"], "has no setting 'nonsense'"),
    (["fuse", "lp", "{a}", "{b}", "--option", "levels"], "is not KEY=VALUE"),
    (["fuse", "mertens", "{a}", "{b}", "--family", "medical"], "not made for --family medical"),
])
def test_errors_exit_2_with_one_line(tmp_path, sources, capsys, arguments, message):
    paths = dict(sources, missing=str(tmp_path / "missing.png"))
    argv = [argument.format(**paths) for argument in arguments] + ["-o", str(tmp_path / "fused.png")]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error
    assert not (tmp_path / "fused.png").exists()


def test_a_grey_source_beside_a_colour_one_is_fused_as_its_rgb_repetition(tmp_path, sources):
    """As 4 of VIFB's 21 pairs need: a colour visible image with a single-channel infrared one."""
    from fusionbench.image_io import to_colour

    output = tmp_path / "fused.png"
    assert main(["fuse", "lp", sources["a"], sources["colour"], "-o", str(output)]) == 0
    repeated = [to_colour(read_image(sources["a"])), read_image(sources["colour"])]
    np.testing.assert_array_equal(read_image(output), create_algorithm("lp").fuse(repeated))


def test_output_must_be_png(tmp_path, sources, capsys):
    assert main(["fuse", "lp", sources["a"], sources["b"], "-o", str(tmp_path / "fused.jpg")]) == 2
    assert ".png" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter imports every built-in (torch included): ~5-12 s
def test_console_script_runs(tmp_path, sources):
    output = tmp_path / "fused.png"
    completed = subprocess.run([sys.executable, "-m", "fusionbench", "fuse", "max-abs", sources["a"], sources["b"],
                                "-o", str(output)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    np.testing.assert_array_equal(read_image(output), np.maximum(read_image(sources["a"]), read_image(sources["b"])))


def test_options_are_parsed_as_literals_and_checked():
    assert parse_options(["r1=20", "eps1=0.5", "mode=fast", "flag=True"]) == \
        {"r1": 20, "eps1": 0.5, "mode": "fast", "flag": True}
    assert accepted_options(get_algorithm("gff")) == {"r1", "eps1", "r2", "eps2"}
    assert accepted_options(get_algorithm("lpsr")) == {"levels", "epsilon"}
