"""Entry-point discovery, with a fake installed distribution on sys.path (no pip needed).

A ``NAME.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` on ``sys.path`` is exactly
what ``pip install`` leaves behind, so ``importlib.metadata`` sees it as an installed plugin;
removing it from ``sys.path`` is uninstalling it.
"""
from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from fusionbench.errors import FusionBenchError, UnknownNameError
from fusionbench.registry import ALGORITHMS, METRICS, Registry


@pytest.fixture
def install_fake_plugin(tmp_path, monkeypatch):
    """Function(distribution, entry_points_ini, modules: {name: source}) installing a fake plugin."""
    installed_modules: list[str] = []
    # The process-wide registries read entry points once: load them now, before a fake plugin is on
    # sys.path, so that no other test ever sees these fakes (or their load errors).
    ALGORITHMS.load()
    METRICS.load()

    def install(distribution: str, entry_points: str, modules: dict[str, str]) -> None:
        site = tmp_path / distribution
        info = site / f"{distribution}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            installed_modules.append(module)
        monkeypatch.syspath_prepend(str(site))

    yield install
    for module in installed_modules:
        sys.modules.pop(module, None)
        ALGORITHMS.remove("fake-mean")
        METRICS.remove("FAKE-MAX")


GOOD_PLUGIN = """
    import numpy as np
    from fusionbench import register_algorithm, register_metric

    @register_algorithm("fake-mean", families=("medical",), max_inputs=2, colour="grey")
    def fake_mean(images):
        '''Mean of two grey sources.'''
        return ((images[0].astype(int) + images[1]) // 2).astype(np.uint8)

    @register_metric("FAKE-MAX", higher_is_better=False, sources=0)
    def fake_max(fused, sources):
        '''Largest grey value.'''
        return float(fused.max())
"""


def test_an_installed_entry_point_is_registered_lazily_on_first_lookup(install_fake_plugin):
    install_fake_plugin("fake_plugin", """
        [fusionbench.algorithms]
        fake-mean = fake_plugin_module
        [fusionbench.metrics]
        FAKE-MAX = fake_plugin_module
    """, {"fake_plugin_module": GOOD_PLUGIN})
    algorithms = Registry("algorithm", "fusionbench.algorithms")
    assert "fake_plugin_module" not in sys.modules  # nothing imported before the first lookup
    algorithms.load()
    spec = ALGORITHMS.get("fake-mean")
    assert (spec.families, spec.max_inputs, spec.colour, spec.origin) == (("medical",), 2, "grey", "fake_plugin_module")
    assert spec.summary == "Mean of two grey sources."
    assert "fake-mean" in ALGORITHMS.names() and "FAKE-MAX" in METRICS.names()
    assert METRICS.get("fake-max").higher_is_better is False  # lookup ignores case


def test_a_plugin_that_fails_to_import_is_reported_but_does_not_break_listing(install_fake_plugin, caplog):
    install_fake_plugin("broken_dist", """
        [fusionbench.algorithms]
        shiny-fusion = module_that_is_not_there
        sloppy-fusion = sloppy_module
    """, {"sloppy_module": "raise RuntimeError('sloppy plugin crashed on import')\n"})
    registry = Registry("algorithm", "fusionbench.algorithms")
    with caplog.at_level(logging.WARNING, logger="fusionbench.registry"):
        assert registry.names() == []  # listing still works
    assert "shiny-fusion" in caplog.text and "ModuleNotFoundError" in caplog.text
    assert "RuntimeError: sloppy plugin crashed on import" in caplog.text
    assert set(registry.load_errors) == {"shiny-fusion", "sloppy-fusion"}
    with pytest.raises(FusionBenchError, match=r"'shiny-fusion' = 'module_that_is_not_there'.*failed to load: "
                                               r"ModuleNotFoundError"):
        registry.get("shiny-fusion")
    with pytest.raises(UnknownNameError, match=r"2 installed plugin\(s\) failed to load"):
        registry.get("something-else")

