"""The glibc allocator settings: on by default for every algorithm, off with FUSIONBENCH_TUNE_ALLOCATOR=0."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from fusionbench.allocator import ENVIRONMENT, TOP_PAD, tuning_disabled

glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                                reason="mallopt is glibc-only")


@pytest.mark.parametrize(("value", "disabled"), [(None, False), ("1", False), ("yes", False),
                                                 ("0", True), ("false", True), (" OFF ", True), ("no", True)])
def test_the_variable_turns_tuning_off(monkeypatch, value, disabled):
    if value is None:
        monkeypatch.delenv("FUSIONBENCH_TUNE_ALLOCATOR", raising=False)
    else:
        monkeypatch.setenv("FUSIONBENCH_TUNE_ALLOCATOR", value)
    assert tuning_disabled() is disabled


def test_the_environment_equivalent_matches_the_mallopt_values():
    assert ENVIRONMENT == {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "20000000000",
                           "MALLOC_TOP_PAD_": str(TOP_PAD)}


def _applied_after_creating_an_algorithm(variable: str | None) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "FUSIONBENCH_TUNE_ALLOCATOR"}
    if variable is not None:
        environment["FUSIONBENCH_TUNE_ALLOCATOR"] = variable
    script = ("import fusionbench.allocator as allocator; from fusionbench.registry import create_algorithm; "
              "before = allocator._applied; create_algorithm('average'); print(before, allocator._applied)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=True)
    return result.stdout.strip()


@glibc_only
def test_creating_an_algorithm_applies_the_settings_once_per_process():
    assert _applied_after_creating_an_algorithm(None) == "False True"
    assert _applied_after_creating_an_algorithm("0") == "False False"


@glibc_only
def test_glibc_accepts_the_settings_and_applying_twice_is_harmless():
    from fusionbench.allocator import tune_glibc_allocator

    assert tune_glibc_allocator() is True
    assert tune_glibc_allocator() is True
