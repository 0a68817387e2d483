"""The one order of algorithms on every page: grouped by kind, then by name.

Kinds, in this order: ``classical``, ``deep``, ``published`` (results published by others, such as
``vifb:GFF``) and ``plugin`` (user plugins) — :data:`fusionbench.registry.ALGORITHM_KINDS`. A report
works from the run directory alone, so an algorithm's kind is read from ``run.json`` when the run
recorded it (``algorithm_kinds.NAME``, or ``algorithms.NAME.kind``), else inferred: a name with ``:`` is a published result
(``SET:METHOD``); a name the registry knows (imported lazily, only when needed) has its spec's kind;
anything else is a user plugin (a plugin not installed where the report is built).

Within a kind, algorithms sort by name, case-folded, so that ``GFF`` and ``gff`` sit together and the
order does not depend on which algorithms ran first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..registry import ALGORITHM_KINDS as KINDS  # the registry's constant only: no plugin is loaded
KIND_TITLES = {"classical": "classical", "deep": "deep", "published": "published results",
               "plugin": "user plugins"}


def recorded_kind(identity) -> str | None:
    """The kind run.json recorded for an algorithm, when it recorded a known one."""
    kind = identity.get("kind") if isinstance(identity, dict) else None
    return kind if kind in KINDS else None


def inferred_kind(name: str) -> str:
    """The kind of an algorithm the run did not describe (see the module docstring)."""
    if ":" in name:
        return "published"
    from ..errors import FusionBenchError
    from ..registry import get_algorithm

    try:
        kind = get_algorithm(name).kind
    except FusionBenchError:
        return "plugin"
    return kind if kind in KINDS else "plugin"


@dataclass
class AlgorithmOrder:
    """Kinds per algorithm (recorded, or inferred on first use) and the sort they give."""

    recorded: dict[str, str] = field(default_factory=dict)
    _inferred: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: dict) -> "AlgorithmOrder":
        """The order of a run directory's ``run.json`` (its ``algorithms`` identities)."""
        run = run if isinstance(run, dict) else {}
        kinds = {name: recorded_kind(identity) for name, identity in run.get("algorithms", {}).items()}
        # a map beside the identities (which key the cache of fused images, so a kind is kept out of them)
        kinds.update({name: kind for name, kind in (run.get("algorithm_kinds") or {}).items() if kind in KINDS})
        return cls({name: kind for name, kind in kinds.items() if kind is not None})

    def kind(self, name: str) -> str:
        if name in self.recorded:
            return self.recorded[name]
        if name not in self._inferred:
            self._inferred[name] = inferred_kind(name)
        return self._inferred[name]

    def key(self, name: str) -> tuple:
        return KINDS.index(self.kind(name)), name.casefold(), name

    def sorted(self, names: Iterable[str]) -> list[str]:
        """``names`` (duplicates dropped) grouped by kind, then by name."""
        return sorted(set(names), key=self.key)

    def groups(self, names: Iterable[str]) -> list[tuple[str, list[str]]]:
        """(kind title, algorithms) for each kind present, in order."""
        grouped: dict[str, list[str]] = {}
        for name in self.sorted(names):
            grouped.setdefault(KIND_TITLES[self.kind(name)], []).append(name)
        return list(grouped.items())

    def title(self, name: str) -> str:
        """The group heading of an algorithm (``published results``)."""
        return KIND_TITLES[self.kind(name)]
