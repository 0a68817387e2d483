"""Published results as read-only algorithms (see :mod:`.results`).

Importing this package registers the packaged sets (VIFB's 25 methods as ``vifb:METHOD``) and
every set named in ``FUSIONBENCH_PUBLISHED`` (TOML files separated by ``os.pathsep``; ``run
--published FILE`` sets it, so that worker processes register the same algorithms).
"""
from __future__ import annotations

import os
from importlib import resources

from .results import PublishedResult, PublishedSet, load_published_set

PUBLISHED_VARIABLE = "FUSIONBENCH_PUBLISHED"
_PACKAGED = ("vifb.toml",)


def register_published_set(published: PublishedSet) -> list[str]:
    """Register ``SET:METHOD`` for every method of ``published``; their names."""
    from ..datasets import get_dataset
    from ..registry import register_algorithm

    family = get_dataset(published.dataset).family
    names = []
    for method in published.methods:
        name = published.algorithm_name(method)
        # One class per method, so that the registry creates (and the harness caches) one instance each.
        factory = type(f"Published_{published.name}_{method}", (PublishedResult,), {
            "__init__": _bound_init(published, method), "__module__": __name__,
            "__doc__": f"{published.title or published.name}: {method}'s published images"})
        register_algorithm(name, families=(family,), min_inputs=2, max_inputs=None, colour="any",
                           citation=published.citation, datasets=(published.dataset,), kind="published",
                           summary=f"published results of {method} ({published.title or published.name})")(factory)
        names.append(name)
    return names


def _bound_init(published: PublishedSet, method: str):
    def __init__(self) -> None:
        PublishedResult.__init__(self, published, method)

    return __init__


def packaged_sets() -> list[PublishedSet]:
    sets = []
    for name in _PACKAGED:
        with resources.as_file(resources.files(__name__).joinpath(name)) as path:
            sets.append(load_published_set(path))
    return sets


def user_sets() -> list[PublishedSet]:
    listed = os.environ.get(PUBLISHED_VARIABLE, "")
    return [load_published_set(path) for path in listed.split(os.pathsep) if path]


def add_published_file(path: str) -> None:
    """Register a user's TOML now and for the workers this process starts (``run --published``)."""
    register_published_set(load_published_set(path))
    listed = [entry for entry in os.environ.get(PUBLISHED_VARIABLE, "").split(os.pathsep) if entry]
    os.environ[PUBLISHED_VARIABLE] = os.pathsep.join(listed + [os.path.abspath(path)])


for _set in packaged_sets() + user_sets():
    register_published_set(_set)

__all__ = ["PublishedResult", "PublishedSet", "add_published_file", "load_published_set", "register_published_set"]
