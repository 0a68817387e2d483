"""What ``fusionbench run`` was asked to do, and the parsing of its option strings."""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError

PROTOCOLS = ("standard", "ifcnn-paper")

#: Seconds one fusion or one metric call may take before its worker is stopped (``--item-timeout``).
DEFAULT_ITEM_TIMEOUT = 600.0


@dataclass
class RunSettings:
    """A run's selection, execution and output options (the library form of ``fusionbench run``)."""

    out: Path
    datasets: list[str] | None = None  # None: all
    algorithms: list[str] | None = None  # None: all that suit
    metrics: list[str] | None = None  # None: all that accept the item
    protocols: tuple[str, ...] = ("standard",)  # protocol labels: standard, ifcnn-paper, or a dialect (vifb)
    jobs: int = 0  # worker processes of the local executor; 0: one per core
    device: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # algorithm pattern -> options
    max_items: int | None = None
    progress: bool = True
    command_line: str = ""
    compare_paper: bool = False
    paper_metrics_only: bool = False  # per family, only the metrics the paper reports
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # dask: tcp://HOST:PORT or local:N
    threads_per_worker: int | None = None  # None: cores / workers
    item_timeout: float = DEFAULT_ITEM_TIMEOUT
    in_process: bool = False  # local executor: run every call in this process (debugging; no isolation)
    plugins: tuple[str, ...] = ()  # modules imported by every worker (--plugin)
    suites: tuple[str, ...] = ()  # named selections (fusionbench.harness.suites)


def default_run_directory() -> Path:
    """``runs/<UTC timestamp>``."""
    return Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")


#: The two protocols are dialects: a protocol name is the ``protocol`` column's label of its dialect.
PROTOCOL_DIALECTS = {"standard": "fusionbench", "ifcnn-paper": "ifcnn-paper"}


def parse_protocols(values: Iterable[str] | None) -> tuple[str, ...]:
    """Protocol or dialect names, or ``both`` (= standard, ifcnn-paper), comma-separated or repeated.

    The result holds the ``protocol`` column's labels: ``standard`` and ``ifcnn-paper`` for the
    protocols (dialects ``fusionbench`` and ``ifcnn-paper``), the dialect's name for any other
    dialect (``vifb``). Order is kept and duplicates dropped; the default is ``standard``.
    """
    from ..errors import UnknownNameError
    from ..metrics.dialects import list_dialects
    from ..registry import unknown_name_message

    known = list(PROTOCOL_DIALECTS) + [name for name in list_dialects() if name not in PROTOCOL_DIALECTS.values()]
    chosen: list[str] = []
    for value in values or ["standard"]:
        for part in str(value).split(","):
            for name in (PROTOCOLS if part == "both" else (part,)):
                label = protocol_label(name)
                if label not in known:
                    raise UnknownNameError(unknown_name_message("protocol", name, known + ["fusionbench"]))
                if label not in chosen:
                    chosen.append(label)
    return tuple(chosen)


def protocol_label(name: str) -> str:
    """The ``protocol`` column's label of a protocol or dialect name (fusionbench -> standard)."""
    return "standard" if name == "fusionbench" else name


def dialect_of(label: str) -> str:
    """The dialect of a ``protocol`` column label (standard -> fusionbench)."""
    return PROTOCOL_DIALECTS.get(label, label)


def parse_option_assignment(text: str) -> tuple[str, str, Any]:
    """``PATTERN.KEY=VALUE`` -> (pattern, key, value); VALUE is JSON when it parses, else a string."""
    target, separator, raw = text.partition("=")
    pattern, dot, key = target.rpartition(".")
    if not separator or not dot or not pattern or not key:
        raise ConfigError(f"option {text!r} is not of the form ALGORITHM.KEY=VALUE (e.g. ifcnn-max.preprocessing=paper)")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return pattern, key, value
