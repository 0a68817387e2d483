"""What ``run.json`` records about the software, the machine and the run's inputs."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

from .. import __version__
from .plan import Plan
from .settings import RunSettings


#: Label in run.json -> the distributions that may provide it (OpenCV has four wheels).
_DISTRIBUTIONS = {"scipy": ("scipy",), "opencv": ("opencv-python-headless", "opencv-python",
                                                  "opencv-contrib-python-headless", "opencv-contrib-python"),
                  "pandas": ("pandas",), "pillow": ("Pillow", "pillow"), "torch": ("torch",),
                  "torchvision": ("torchvision",)}


def software_versions() -> dict[str, str]:
    """Versions from the installed packages' metadata.

    Read from metadata, not by importing: importing torch and torchvision only for their version
    took 2-3 s of every run's plan stage (20 s under load), in a driver that never runs a network.
    """
    from importlib import metadata

    versions = {"python": platform.python_version(), "fusionbench": __version__, "numpy": np.__version__}
    for label, distributions in _DISTRIBUTIONS.items():
        for distribution in distributions:
            try:
                versions[label] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:  # an optional package that is absent is simply not listed
                continue
    return versions


def processor_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_metadata(settings: RunSettings, plan: Plan, created: str) -> dict:
    return {
        "fusionbench_version": __version__,
        "created": created,
        "command_line": settings.command_line,
        "protocol": settings.protocols[0] if len(settings.protocols) == 1 else ",".join(settings.protocols),
        "protocols": list(settings.protocols),
        "suites": list(settings.suites),
        "device": settings.device or "auto",  # per item, timings.csv holds the device actually used
        "platform": {"processor": processor_name(), "cores": os.cpu_count(), "system": platform.platform()},
        "versions": software_versions(),
        "datasets": plan.datasets,
        "algorithms": plan.algorithms,
        "algorithm_kinds": plan.algorithm_kinds,
        "metrics": plan.metrics,
        "skipped_algorithms": plan.skipped,
    }
