"""A lookup imports only the plugins it needs: none for a built-in name, the one declaring the name,
and every plugin only for a name no entry point declares (a module may register other names).

Fake installed distributions (a ``dist-info`` folder on ``sys.path``, as in
``test_plugin_entry_points.py``) whose entry points name spec objects, registered into a fresh
:class:`Registry` so that the process-wide registries never see them.
"""
from __future__ import annotations

import sys
import textwrap

import pytest

from fusionbench.errors import UnknownNameError
from fusionbench.registry import AlgorithmSpec, Registry

PLUGIN_MODULES = ("lazy_lookup_first", "lazy_lookup_second", "lazy_lookup_third")
ENTRY_POINTS = """
    [fusionbench.algorithms]
    lazy-first = lazy_lookup_first:SPEC
    lazy-second = lazy_lookup_second:SPEC
    lazy-third = lazy_lookup_third:SPEC
"""
PLUGIN_SOURCE = """
    from fusionbench.registry import AlgorithmSpec

    def fuse(images):
        return images[0]

    SPEC = AlgorithmSpec(name={name!r}, factory=fuse, origin=__name__)
"""


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A fresh algorithm registry with three installed plugins and one built-in-like name."""
    site = tmp_path / "site"
    info = site / "lazy_lookup-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lazy_lookup\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    # The third module registers a name other than its entry point's.
    for module, name in zip(PLUGIN_MODULES, ("lazy-first", "lazy-second", "lazy-elsewhere")):
        (site / f"{module}.py").write_text(textwrap.dedent(PLUGIN_SOURCE.format(name=name)))
    monkeypatch.syspath_prepend(str(site))
    fresh = Registry("algorithm", "fusionbench.algorithms", builtin_modules=())
    fresh.add(AlgorithmSpec(name="built-in-like", factory=lambda images: images[0]))
    yield fresh
    for module in PLUGIN_MODULES:
        sys.modules.pop(module, None)


def imported_plugins() -> list[str]:
    return [module for module in PLUGIN_MODULES if module in sys.modules]


def test_a_built_in_name_imports_no_plugin(registry):
    assert registry.get("built-in-like").name == "built-in-like"
    assert imported_plugins() == []


def test_a_plugin_name_imports_that_plugin_alone(registry):
    assert registry.get("LAZY-SECOND").origin == "lazy_lookup_second"  # entry point names ignore case too
    assert imported_plugins() == ["lazy_lookup_second"]


def test_a_name_no_entry_point_declares_imports_every_plugin(registry):
    assert registry.get("lazy-elsewhere").origin == "lazy_lookup_third"
    assert imported_plugins() == list(PLUGIN_MODULES)
    with pytest.raises(UnknownNameError, match="did you mean 'lazy-first'"):
        registry.get("lazy-firts")


def test_listing_imports_every_plugin(registry):
    assert registry.names() == ["built-in-like", "lazy-elsewhere", "lazy-first", "lazy-second"]
    assert imported_plugins() == list(PLUGIN_MODULES)
