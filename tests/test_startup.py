"""Short commands start at once: they import neither torch nor pandas nor matplotlib.

Each check runs in a fresh interpreter (``sys.executable``) and reads its ``sys.modules`` after
the command, so that what this test process has imported does not count. The speed goals are
measured by ``benchmarks/startup.py``, not asserted here: timings on a shared machine are noise.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

HEAVY_LIBRARIES = ("torch", "pandas", "matplotlib")
# Modules whose import registers algorithms or metrics: `--help` needs none of them.
REGISTERING_PACKAGES = ("fusionbench.metrics", "fusionbench.baselines", "fusionbench.models")

# Run in a fresh interpreter; the last line they print is the exit status and the imported modules.
IMPORT_PROBE = """
import json, sys
import fusionbench
print(json.dumps({"status": 0, "modules": sorted(sys.modules)}))
"""
CLI_PROBE = """
import json, sys
from fusionbench.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exit:  # --help and --version exit from inside argparse
    status = exit.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def run_probe(probe: str, *arguments: str) -> tuple[set[str], list[str]]:
    """The modules imported by a fresh interpreter running ``probe``, and the lines it printed before."""
    finished = subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0 and finished.stdout, finished.stderr
    *printed, last = finished.stdout.splitlines()
    result = json.loads(last)
    assert result["status"] in (0, None), finished.stderr
    return set(result["modules"]), printed


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY_LIBRARIES)


def test_importing_fusionbench_imports_no_heavy_library():
    modules, _ = run_probe(IMPORT_PROBE)
    assert heavy_among(modules) == []


@pytest.mark.parametrize("arguments", [["--help"], ["list", "--help"], ["--version"]])
def test_help_imports_no_heavy_library_and_no_algorithm_or_metric(arguments):
    modules, printed = run_probe(CLI_PROBE, *arguments)
    assert printed  # the help (or version) was printed
    assert heavy_among(modules) == []
    assert sorted(modules.intersection(REGISTERING_PACKAGES)) == []


@pytest.mark.parametrize("what, expected_row", [("algorithms", "ifcnn-max "), ("metrics", "SF "),
                                                ("datasets", "lytro ")])
def test_listing_imports_no_heavy_library(what, expected_row):
    modules, printed = run_probe(CLI_PROBE, "list", what)
    assert any(line.startswith(expected_row) for line in printed)  # IFCNN is listed without importing torch
    assert heavy_among(modules) == []


def test_metrics_of_one_image_imports_no_heavy_library(tmp_path):
    from fusionbench.image_io import write_png

    rows, columns = np.mgrid[0:64, 0:64]
    paths = [tmp_path / name for name in ("fused.png", "a.png", "b.png")]
    for offset, path in enumerate(paths):
        write_png(path, ((rows * (3 + offset) + columns * 5) % 256).astype(np.uint8))
    modules, printed = run_probe(CLI_PROBE, "metrics", *map(str, paths), "--metric", "SF")
    assert [line.split()[0] for line in printed] == ["SF"]
    assert heavy_among(modules) == []
