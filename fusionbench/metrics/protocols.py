"""Evaluation protocols: how a dataset item's sources become a metric's source arguments.

A protocol is a named rule ``arrange(sources, spec) -> sources for the metric``. ``standard``
passes the sources as they are (metric(A, B, F), as each metric's authors define it).
``ifcnn-paper`` reproduces the IFCNN paper's tables: its VIFF, ISSIM and NMI were computed with
the first source passed twice, metric(A, A, F), which measures fidelity to the first source only
(for infrared-visual and medical fusion it ignores the second modality). It applies to every
two-source metric; fused-only metrics (sources=0) and stack metrics (sources=None) are unaffected.

Adding another paper's or toolbox's convention is one :func:`register_protocol` call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..errors import UnknownNameError
from ..registry import MetricSpec, unknown_name_message

DEFAULT_PROTOCOL = "standard"


@dataclass(frozen=True)
class Protocol:
    """A named mapping from an item's sources to the arguments of two-source metrics."""

    name: str
    description: str
    two_source_rule: Callable[[list], list]

    def arrange(self, sources: Sequence, spec: MetricSpec) -> list:
        """The source arguments ``spec``'s function receives under this protocol."""
        sources = list(sources)
        if spec.sources != 2:
            return sources
        return self.two_source_rule(sources)


PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> Protocol:
    """Add a protocol to :data:`PROTOCOLS` (its name must be new)."""
    if protocol.name in PROTOCOLS:
        raise ValueError(f"protocol {protocol.name!r} is registered twice")
    PROTOCOLS[protocol.name] = protocol
    return protocol


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol called ``name`` (raises UnknownNameError with a suggestion)."""
    if isinstance(name, Protocol):
        return name
    if name not in PROTOCOLS:
        raise UnknownNameError(unknown_name_message("protocol", name, list(PROTOCOLS)))
    return PROTOCOLS[name]


def _first_source_twice(sources: list) -> list:
    # Only the first source is used, whatever the item holds; a single source is enough.
    return [sources[0], sources[0]] if sources else sources


register_protocol(Protocol(
    "standard",
    "metric(A, B, F): two-source metrics get the item's sources in the dataset's order",
    lambda sources: sources))
register_protocol(Protocol(
    "ifcnn-paper",
    "metric(A, A, F) with A the item's first source, as the IFCNN paper computed VIFF/ISSIM/NMI "
    "(fidelity to the first source only); reproduces its tables",
    _first_source_twice))
