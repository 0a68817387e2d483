"""Model cards of the networks run from their authors' weights: what ``fusionbench list algorithms --verbose`` shows.

Each card is a summary of the page ``docs/models/NAME.md`` (the full card: processing, options,
per-pair agreement, speed). The weights and their SHA-256 are the modules' own constants (the ones
``fuse`` downloads and checks), so a card cannot drift from what runs. Nothing here imports torch:
the model modules register without it and the IFCNN file list is a packaged CSV.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..datasets.fetching import RemoteFile
from . import didfuse, seafusion, tardal, u2fusion
from .checkpoints import FUSION_RULES, official_checkpoint_mirror_path

NOT_REDISTRIBUTED = "fusionbench downloads the weights from the authors' pinned URL and does not redistribute them"


@dataclass(frozen=True)
class ModelCard:
    """Provenance and verification of one registered network; ``document`` is the full card.

    The paper is the registered algorithm's ``citation``; it is not repeated here.
    """

    code: str
    licence: str
    weights: tuple[RemoteFile, ...]
    verification: str
    document: str


def _tardal_card(variant: str, verification: str) -> ModelCard:
    return ModelCard(
        code=f"{tardal.REPOSITORY} @ {tardal.COMMIT[:8]}",
        licence=("none: no LICENSE file at the pinned commit (GPL-3.0 only on the later v1.0 line, which no "
                 f"longer ships these weights); {NOT_REDISTRIBUTED}"),
        weights=(tardal.WEIGHTS[variant],), verification=verification, document="docs/models/tardal.md")


def _ifcnn_card(rule: str, verification: str) -> ModelCard:
    from ..datasets.registry import IFCNN_COMMIT, IFCNN_REPOSITORY, upstream_files

    return ModelCard(
        code=f"{IFCNN_REPOSITORY} @ {IFCNN_COMMIT[:8]}",
        licence=f"none: the repository has no LICENSE file and its README grants none; {NOT_REDISTRIBUTED}",
        weights=(upstream_files()[official_checkpoint_mirror_path(rule)],), verification=verification,
        document="docs/models/ifcnn.md")


_IFCNN_VERIFICATION = {
    "max": ("released results (preprocessing=released-demo): every TNO and medical pair within +-1, Lytro 96.3 % "
            "of values within +-1 (another JPEG decoder); preprocessing=paper: the paper's IFCNN-MAX means of SF, "
            "AG, VIFF, ISSIM, NMI within 0.15 % on Lytro, TNO, medical (medical ISSIM -0.6 %)"),
    "mean": ("released multi-exposure results (preprocessing=released-demo): 5 of 6 scenes within +-4, "
             "at least 99.7 % of values within +-1"),
    "sum": ("no released SUM images; preprocessing=paper: the paper's IFCNN-SUM means within 0.15 % on Lytro, "
            "TNO, medical (Lytro VIFF -1.0 %)"),
}


@lru_cache(maxsize=1)
def model_cards() -> dict[str, ModelCard]:
    """Algorithm name -> card, for every network run from its authors' weights."""
    cards = {
        "seafusion": ModelCard(
            code=f"Linfeng-Tang/SeAFusion (weights: {seafusion.UPSTREAM_REPOSITORY} @ {seafusion.UPSTREAM_COMMIT[:8]})",
            licence=("weights MIT (Linfeng-Tang/VIF-Benchmark); the author's repository Linfeng-Tang/SeAFusion has "
                     f"no licence; {NOT_REDISTRIBUTED}"),
            weights=(seafusion.WEIGHTS,),
            verification=("5 reference pairs (two VIF-Benchmark runs): 100 % of values within +-1, "
                          "exact 99.997-99.999 %"),
            document="docs/models/seafusion.md"),
        "didfuse": ModelCard(
            code=f"{didfuse.UPSTREAM_REPOSITORY} @ {didfuse.UPSTREAM_COMMIT[:8]}",
            licence=f"none: the repository has no LICENSE file; {NOT_REDISTRIBUTED}",
            weights=(didfuse.ENCODER_WEIGHTS, didfuse.DECODER_WEIGHTS),
            verification="5 of the authors' published results: 100 % of values within +-1, exact 99.996-100 %",
            document="docs/models/didfuse.md"),
        "tardal": _tardal_card("tardal", "the authors' notebook pair M3FD_00471 (1024x768): 100 % of values within "
                                         "+-1, exact 99.996 %"),
        "tardal+": _tardal_card("tardal+", "no published run of tardal+.pt is known; same network and processing as "
                                           "tardal++ (verified)"),
        "tardal++": _tardal_card("tardal++", "3 pairs of VIF-Benchmark's float16 GPU run: 100 % of values within "
                                             "+-2, 99.998-100 % within +-1, exact 86.5-99.5 %"),
        "u2fusion": ModelCard(
            code=f"{u2fusion.REPOSITORY} @ {u2fusion.COMMIT[:8]} (TensorFlow 1 checkpoint, read without TensorFlow)",
            licence=f"none: the repository has no LICENSE file; {NOT_REDISTRIBUTED}",
            weights=(u2fusion.CHECKPOINT_INDEX, u2fusion.CHECKPOINT_DATA),
            verification="3 pairs of VIF-Benchmark's run: 100 % of values within +-1, exact 99.997-99.998 %",
            document="docs/models/u2fusion.md"),
    }
    cards.update({f"ifcnn-{rule}": _ifcnn_card(rule, _IFCNN_VERIFICATION[rule]) for rule in FUSION_RULES})
    return cards
