"""One colour and marker per algorithm, the same in every chart and on every page.

Runs hold up to about 40 algorithms, more than any palette of distinguishable colours: a
categorical palette of 20 colours (the colour-blind-safe Okabe & Ito 2008 eight first, so that
small runs look as they always did, then twelve more of Carto's *Bold* and *Vivid* palettes) is
combined with markers, so that the 20th and the 21st algorithm share a colour but not a marker:
20 x 7 = 140 distinct styles. The HTML page shows the same pair as a coloured glyph.
Styles are assigned in the report's algorithm order (:mod:`.ordering`), over all datasets at once,
so an algorithm keeps its style across datasets and charts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#7F3C8D", "#11A579", "#3969AC", "#F2B701", "#E73F74", "#80BA5A", "#E68310", "#008695",
           "#CF1C90", "#A5AA99", "#5D69B1", "#99C945")
#: matplotlib markers and the glyph the page shows for each.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
GLYPHS = ("●", "■", "▲", "◆", "▼", "✚", "✖")


@dataclass(frozen=True)
class Style:
    """How one algorithm is drawn."""

    colour: str
    marker: str
    glyph: str


def style_at(index: int) -> Style:
    """The ``index``-th style: colours first, then the next marker with the colours again."""
    marker = (index // len(PALETTE)) % len(MARKERS)
    return Style(PALETTE[index % len(PALETTE)], MARKERS[marker], GLYPHS[marker])


def algorithm_styles(algorithms: Sequence[str]) -> dict[str, Style]:
    """A style per algorithm, by position in ``algorithms`` (give the report's full order)."""
    return {name: style_at(index) for index, name in enumerate(algorithms)}
