"""Fixtures of the hostile-input tests: the harness test plugin, a tiny dataset and a CLI runner.

A module the tests import from, not a conftest.py: tests/harness has a conftest module its tests
import by name, and two folders' conftest modules would shadow each other.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HARNESS_TESTS = Path(__file__).resolve().parents[1] / "harness"
if str(HARNESS_TESTS) not in sys.path:
    sys.path.insert(0, str(HARNESS_TESTS))

import harness_plugin  # noqa: E402 - tests/harness's hand-computable test algorithms and metrics


@pytest.fixture
def test_registry():
    """The harness test algorithms and metrics, registered for one test."""
    harness_plugin.register()
    yield harness_plugin
    harness_plugin.unregister()


@pytest.fixture
def cli(capsys):
    """Run ``fusionbench ARGS`` in-process; (exit status, stdout, stderr)."""
    from fusionbench.cli import main

    def call(*arguments: str):
        status = main([str(argument) for argument in arguments])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """The harness tests' three tiny pairs (tests/harness/conftest.py)."""
    from crafted_inputs import write_tiny_dataset

    return write_tiny_dataset(tmp_path / "tiny-data")
