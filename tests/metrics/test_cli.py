"""``fusionbench metrics`` and ``fusionbench evaluate``, including bad input through the CLI:
exit status 2, one ``error:`` line naming the file, never a traceback."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fusionbench.cli import main


def _write(path, image):
    assert cv2.imwrite(str(path), image)
    return str(path)


@pytest.fixture
def images(tmp_path):
    """A small grey pair and a fused image, plus a zoo of bad files."""
    generator = np.random.default_rng(0)
    base = np.clip(np.cumsum(generator.normal(size=(64, 64)), axis=1) * 8 + 128, 0, 255)
    a = base.astype(np.uint8)
    b = np.clip(base.T, 0, 255).astype(np.uint8)
    fused = ((a.astype(int) + b) // 2).astype(np.uint8)
    paths = {"a": _write(tmp_path / "a.png", a), "b": _write(tmp_path / "b.png", b),
             "fused": _write(tmp_path / "fused.png", fused)}
    paths["small"] = _write(tmp_path / "small.png", a[:32])
    paths["colour"] = _write(tmp_path / "colour.png", np.dstack([b, b, b]))
    paths["colour_a"] = _write(tmp_path / "colour_a.png", np.dstack([a, a, a]))
    paths["b16"] = _write(tmp_path / "b16.png", b.astype(np.uint16) * 257)  # exactly b after scaling
    opaque = np.dstack([b, b, b, np.full_like(b, 255)])
    paths["opaque"] = _write(tmp_path / "opaque.png", opaque)
    transparent = opaque.copy()
    transparent[0, 0, 3] = 10
    paths["transparent"] = _write(tmp_path / "transparent.png", transparent)
    nan = b.astype(np.float32) / 255
    nan[5, 5] = np.nan
    paths["nan"] = _write(tmp_path / "nan.tif", nan)
    inf = b.astype(np.float32)
    inf[5, 5] = np.inf
    paths["inf"] = _write(tmp_path / "inf.tif", inf)
    paths["float"] = _write(tmp_path / "float.tif", b.astype(np.float32) / 255)
    (tmp_path / "empty.png").write_bytes(b"")
    paths["empty"] = str(tmp_path / "empty.png")
    (tmp_path / "corrupt.png").write_bytes((tmp_path / "a.png").read_bytes()[:120])
    paths["corrupt"] = str(tmp_path / "corrupt.png")
    (tmp_path / "notes.jpg").write_text("not an image")
    paths["text"] = str(tmp_path / "notes.jpg")
    (tmp_path / "folder.png").mkdir()
    paths["folder"] = str(tmp_path / "folder.png")
    paths["missing"] = str(tmp_path / "missing.png")
    return paths


def _run(capsys, *argv):
    status = main(["metrics", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_metrics_prints_each_value(images, capsys):
    status, out, err = _run(capsys, images["fused"], images["a"], images["b"], "--metric", "SF", "NMI", "--metric", "SD")
    assert status == 0 and err == ""
    values = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}
    assert list(values) == ["SF", "NMI", "SD"]
    assert values["SD"] > 0 and 0 < values["NMI"] < 2


def test_metrics_json_and_protocol(images, capsys):
    status, out, _ = _run(capsys, images["fused"], images["a"], images["b"], "--metric", "ISSIM", "--json",
                          "--protocol", "ifcnn-paper")
    report = json.loads(out)
    assert status == 0 and report["protocol"] == "ifcnn-paper" and set(report["metrics"]) == {"ISSIM"}
    status, out, _ = _run(capsys, images["fused"], images["a"], images["a"], "--metric", "ISSIM", "--json")
    assert json.loads(out)["metrics"]["ISSIM"] == pytest.approx(report["metrics"]["ISSIM"], rel=1e-12)


def test_metrics_default_is_every_applicable_metric(images, capsys):
    status, out, _ = _run(capsys, images["fused"], images["a"], images["b"], "--json")
    assert status == 0
    assert {"VIFF", "ISSIM", "NMI", "SF", "AG", "MEF-SSIM", "QABF", "MI", "EN", "SD", "SSIM-SUM", "QCB",
            "SCD"} <= set(json.loads(out)["metrics"])


def test_sixteen_bit_opaque_alpha_and_float_inputs_are_converted(images, capsys):
    _, reference, _ = _run(capsys, images["fused"], images["a"], images["b"], "--metric", "NMI", "VIFF")
    for first, second in [("a", "b16"), ("a", "float"), ("colour_a", "colour"), ("colour_a", "opaque")]:
        status, out, err = _run(capsys, images["fused"], images[first], images[second], "--metric", "NMI", "VIFF")
        assert status == 0 and out == reference, (first, second)


def test_a_grey_source_beside_a_colour_one_is_measured_as_its_rgb_repetition(images, capsys, tmp_path):
    """As VIFB pairs a single-channel infrared image with each plane of a colour visible one."""
    from fusionbench.image_io import read_image, to_colour, write_png

    repeated = tmp_path / "a-as-rgb.png"
    write_png(repeated, to_colour(read_image(images["a"])))
    status, mixed, _ = _run(capsys, images["fused"], images["a"], images["colour"], "--metric", "SF", "NMI")
    assert status == 0
    _, reference, _ = _run(capsys, images["fused"], str(repeated), images["colour"], "--metric", "SF", "NMI")
    assert mixed == reference


@pytest.mark.parametrize("case, sources, message", [
    ("mismatched size", ["a", "small"], "small.png is 64x32 but .*a.png is 64x64"),
    ("transparent alpha", ["a", "transparent"], "transparent.png: has a transparent alpha channel"),
    ("NaN float TIFF", ["a", "nan"], "nan.tif: contains NaN or infinite values"),
    ("inf float TIFF", ["a", "inf"], "inf.tif: contains NaN or infinite values"),
    ("empty file", ["a", "empty"], "empty.png: file is empty"),
    ("corrupt file", ["a", "corrupt"], "corrupt.png: not a readable image"),
    ("not an image", ["a", "text"], "notes.jpg: not a readable image"),
    ("directory", ["a", "folder"], "folder.png: is a directory"),
    ("missing file", ["a", "missing"], "missing.png: no such file"),
])
def test_bad_input_is_one_error_line(images, capsys, case, sources, message):
    status, out, err = _run(capsys, images["fused"], *[images[name] for name in sources], "--metric", "SF", "NMI")
    assert status == 2, case
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err


def test_unknown_metric_and_protocol(images, capsys):
    status, _, err = _run(capsys, images["fused"], images["a"], images["b"], "--metric", "QABF2")
    assert status == 2 and "did you mean 'QABF'" in err
    status, _, err = _run(capsys, images["fused"], images["a"], images["b"], "--protocol", "paper")
    assert status == 2 and err.startswith("error: unknown protocol 'paper'")


def test_explicit_metric_that_cannot_apply_is_an_error(images, capsys):
    status, _, err = _run(capsys, images["fused"], images["a"], images["b"], images["a"], "--metric", "NMI")
    assert status == 2 and "exactly 2 sources, got 3" in err


def test_bad_input_in_a_fresh_process_has_no_traceback(images):
    result = subprocess.run([sys.executable, "-m", "fusionbench", "metrics", images["fused"], images["a"],
                             images["transparent"]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "transparent.png" in result.stderr


def test_evaluate_writes_one_row_per_image_and_metric(tmp_path, reference_file, capsys):
    results = reference_file("ifcnn-official/results/IFCNN-MAX-CMF-lytro-01.png").parent
    golden = {(row["item"], row["metric"]): float(row["value"])
              for row in csv.DictReader(open(reference_file("metrics-golden/official-ifcnn.csv")))
              if row["dataset"] == "lytro"}
    out = tmp_path / "lytro.csv"
    status = main(["evaluate", "--dataset", "lytro", "--fused-dir", str(results), "--pattern",
                   "IFCNN-MAX-CMF-{name}.png", "--algorithm", "IFCNN-MAX", "--metric", "SF", "AG", "NMI",
                   "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["dataset", "item", "algorithm", "protocol", "metric", "value", "dialect"]
    assert len(rows) == 20 * 3
    for row in rows:
        assert (row["dataset"], row["algorithm"], row["protocol"]) == ("lytro", "IFCNN-MAX", "standard")
        assert float(row["value"]) == pytest.approx(golden[(row["item"], row["metric"])], rel=1e-6)
    assert "wrote 60 rows" in capsys.readouterr().out


def test_evaluate_reports_missing_fused_images(tmp_path, reference_file, capsys):
    reference_file("lytro/lytro-01-A.jpg")
    (tmp_path / "fused").mkdir()
    status = main(["evaluate", "--dataset", "lytro", "--fused-dir", str(tmp_path / "fused"), "--out",
                   str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert status == 2 and "20 of 20 fused images are missing" in err and "lytro-01.png" in err
    assert not (tmp_path / "x.csv").exists()
    status = main(["evaluate", "--dataset", "lytro", "--fused-dir", str(tmp_path / "fused"), "--pattern", "x.png",
                   "--out", str(tmp_path / "x.csv")])
    assert status == 2 and "must contain '{name}'" in capsys.readouterr().err


def test_evaluate_refuses_bad_folders_and_outputs(tmp_path, capsys):
    status = main(["evaluate", "--dataset", "lytro", "--fused-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "x.csv")])
    assert status == 2 and "absent: no such folder" in capsys.readouterr().err
    status = main(["evaluate", "--dataset", "lytro", "--fused-dir", str(tmp_path), "--out", str(tmp_path)])
    assert status == 2 and "is a directory; give a CSV file name" in capsys.readouterr().err
    status = main(["evaluate", "--dataset", "lytroo", "--fused-dir", str(tmp_path), "--out", str(tmp_path / "x.csv")])
    assert status == 2 and "did you mean 'lytro'" in capsys.readouterr().err
