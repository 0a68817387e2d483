"""Shared test setup: where the ground truth lives.

Golden comparisons read ``../shared`` (beside the checkout, or ``FUSIONBENCH_SHARED``) through the
same data-directory setting the product uses: when ``FUSIONBENCH_DATA`` is unset it is pointed at
``shared/datasets`` and ``shared/reference``. Tests that need those files skip with a clear reason
when they are absent; ``.ci/run`` always provides them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FUSIONBENCH_SHARED", REPOSITORY.parent / "shared")).resolve()

if "FUSIONBENCH_DATA" not in os.environ and SHARED.is_dir():
    os.environ["FUSIONBENCH_DATA"] = os.pathsep.join([str(SHARED / "datasets"), str(SHARED / "reference")])

# The checkpoints trained here are found beside an editable install's package; with `pip install .`
# the package lives in site-packages, so the tests name the checkout's folder explicitly.
if "FUSIONBENCH_CHECKPOINTS" not in os.environ and (REPOSITORY / "checkpoints").is_dir():
    os.environ["FUSIONBENCH_CHECKPOINTS"] = str(REPOSITORY / "checkpoints")


def find_reference(relative_path: str) -> Path | None:
    """``relative_path`` inside one of the data directories (datasets or reference mirror), or None."""
    from fusionbench.datasets.fetching import find_in_mirrors

    return find_in_mirrors(relative_path)


@pytest.fixture
def reference_file():
    """Function: relative path in the data directories -> Path; skips the test if absent."""

    def locate(relative_path: str) -> Path:
        path = find_reference(relative_path)
        if path is None:
            pytest.skip(f"ground truth {relative_path} not found in FUSIONBENCH_DATA (run via .ci/run)")
        return path

    return locate


@pytest.fixture
def shared_paper_tables() -> Path:
    """The paper's Tables 1-4 as transcribed in ../shared/paper (for cross-checks only)."""
    path = SHARED / "paper" / "paper_tables.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found (run via .ci/run)")
    return path
