"""Named selections of a run: ``run --suite NAME`` (repeatable); ``run --all`` runs every suite.

A suite is data: the datasets, algorithm patterns and metrics it covers. ``paper`` is what the
IFCNN paper's comparison needs (its four families, the IFCNN variants, GFF / LP / LP-SR, the
reference points and the checkpoints trained here); ``plugins`` is every algorithm installed by a
plugin, on every dataset it suits. Later suites (VIFB, the model zoo) add themselves here.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownNameError
from ..registry import ALGORITHMS, unknown_name_message
from .plan import Selection

#: The datasets of the paper's comparison (Tables 1-4), and the triple-source Lytro set.
PAPER_DATASETS = ("lytro", "lytro-triple", "tno-iv", "medical", "mef")


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    datasets: tuple[str, ...] | None  # None: every registered dataset
    builtin_algorithms: bool | None  # True: fusionbench's own; False: plugins' only; None: every one

    def selection(self) -> Selection:
        origin_wanted = self.builtin_algorithms
        names = tuple(spec.name for spec in ALGORITHMS.specs()
                      if origin_wanted is None or (spec.origin == "builtin") == origin_wanted)
        return Selection(datasets=self.datasets, algorithms=names)


SUITES = {
    "paper": Suite("paper", "the IFCNN paper's comparison: Lytro (pairs, triples), TNO, medical, MEF; IFCNN "
                            "variants, GFF, LP, LP-SR, reference points, checkpoints trained here; every metric",
                   PAPER_DATASETS, True),
    "plugins": Suite("plugins", "every algorithm added by an installed or --plugin plugin, on every dataset it "
                                "suits", None, False),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise UnknownNameError(unknown_name_message("suite", name, SUITES))
    return SUITES[name]


def list_suites() -> list[str]:
    return list(SUITES)
