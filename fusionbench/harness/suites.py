"""Named selections of a run: ``run --suite NAME`` (repeatable); ``run --all`` runs every suite.

A suite is data: the datasets, algorithm patterns and metrics it covers. ``paper`` is what the
IFCNN paper's comparison needs (its four families, the IFCNN variants, GFF / LP / LP-SR, the
reference points and the checkpoints trained here); ``vifb`` the published results of VIFB's 25
methods on its 21 pairs; ``zoo`` the deep infrared-visual models from their authors' weights;
``plugins`` every algorithm installed by a plugin, on every dataset it suits. A suite whose
algorithms are not registered (a model zoo without its weights' module) selects nothing.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..errors import UnknownNameError
from ..registry import ALGORITHMS, unknown_name_message
from .plan import Selection

#: The datasets of the paper's comparison (Tables 1-4), and the triple-source Lytro set.
PAPER_DATASETS = ("lytro", "lytro-triple", "tno-iv", "medical", "mef")


@dataclass(frozen=True)
class Suite:
    """Datasets x algorithms: algorithm name patterns (globs) and/or kinds (classical, deep, ...)."""

    name: str
    description: str
    datasets: tuple[str, ...] | None  # None: every registered dataset
    algorithms: tuple[str, ...] = ()  # glob patterns of algorithm names
    kinds: tuple[str, ...] = ()  # every algorithm of these kinds

    def algorithm_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in ALGORITHMS.specs()
                     if spec.kind in self.kinds or any(fnmatch.fnmatchcase(spec.name, pattern)
                                                       for pattern in self.algorithms))

    def selection(self) -> Selection:
        return Selection(datasets=self.datasets, algorithms=self.algorithm_names())


SUITES = {
    "paper": Suite("paper", "the IFCNN paper's comparison: Lytro (pairs, triples), TNO, medical, MEF; IFCNN "
                            "variants, GFF, LP, LP-SR, reference points, checkpoints trained here; every metric",
                   PAPER_DATASETS, ("ifcnn-*", "baseline-*", "gff", "lp", "lpsr", "average", "max-abs", "mertens")),
    "vifb": Suite("vifb", "VIFB's 21 visible-infrared pairs with the 25 methods' published fused images",
                  ("vifb",), ("vifb:*",)),
    "zoo": Suite("zoo", "deep infrared-visual models from their authors' weights on TNO and VIFB",
                 ("tno-iv", "vifb"), ("seafusion", "tardal", "tardal+", "tardal++", "u2fusion", "didfuse")),
    "plugins": Suite("plugins", "every algorithm added by an installed or --plugin plugin, on every dataset it "
                                "suits", None, kinds=("plugin",)),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise UnknownNameError(unknown_name_message("suite", name, SUITES))
    return SUITES[name]


def list_suites() -> list[str]:
    return list(SUITES)
