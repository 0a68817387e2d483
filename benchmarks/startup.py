"""Start-up time of the ``fusionbench`` command: how long short commands take as whole processes.

    python benchmarks/startup.py [--repeats 5] [--check]

Each command runs as a fresh process (``sys.executable`` and the ``fusionbench`` console script
beside it, or ``python -m fusionbench`` where there is none), ``--repeats`` times, interleaved
with the other commands so that a burst of load on the machine hits all of them alike, after one
untimed warm-up run each (byte-code compilation, disk cache). The processes keep their byte
code in a temporary folder (``PYTHONPYCACHEPREFIX``) as an installed package does, even where
``PYTHONDONTWRITEBYTECODE`` is set: otherwise every run would compile fusionbench anew.

The table shows the best and the median wall time. The best is compared with the goal, because
on a shared machine only the fastest run approaches the command's own cost; the median shows
the noise. The last column, the least CPU time (user + system) of the process, is less disturbed
by other work on the machine: start-up runs on one thread, so on an idle machine the wall time
comes close to it.

``import fusionbench`` is the whole process ``python -c "import fusionbench"``, interpreter
start-up included (the bare interpreter, ``python -c pass``, is the first row for comparison).
The ``metrics`` command reads small PNGs written to a temporary folder. ``--check`` exits with
status 1 when a best time misses its goal.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

IMAGE_SIDE = 256


@dataclass(frozen=True)
class Command:
    label: str
    argv: list[str]
    goal_seconds: float | None  # None: shown for comparison only


def fusionbench_command() -> list[str]:
    """The console script installed beside this interpreter, else ``python -m fusionbench``."""
    script = Path(sys.executable).with_name("fusionbench")
    return [str(script)] if script.is_file() and os.access(script, os.X_OK) else [sys.executable, "-m", "fusionbench"]


def write_test_images(folder: Path) -> list[Path]:
    """A fused image and two sources: a smooth grey gradient, blurred and sharp halves of it."""
    import numpy as np

    from fusionbench.image_io import write_png

    rows, columns = np.mgrid[0:IMAGE_SIDE, 0:IMAGE_SIDE]
    sharp = ((rows * 3 + columns * 5) % 256).astype(np.uint8)
    smooth = ((rows + columns) // 2).astype(np.uint8)
    first, second = sharp.copy(), sharp.copy()
    first[:, IMAGE_SIDE // 2:] = smooth[:, IMAGE_SIDE // 2:]
    second[:, :IMAGE_SIDE // 2] = smooth[:, :IMAGE_SIDE // 2]
    paths = [folder / "fused.png", folder / "a.png", folder / "b.png"]
    for path, image in zip(paths, (sharp, first, second)):
        write_png(path, image)
    return paths


def commands_to_time(images: list[Path]) -> list[Command]:
    fusionbench = fusionbench_command()
    return [
        Command("python -c pass", [sys.executable, "-c", "pass"], None),
        Command("import fusionbench", [sys.executable, "-c", "import fusionbench"], 0.3),
        Command("fusionbench --help", fusionbench + ["--help"], 0.5),
        Command("fusionbench list algorithms", fusionbench + ["list", "algorithms"], 1.0),
        Command("fusionbench list metrics", fusionbench + ["list", "metrics"], 1.0),
        Command("fusionbench list datasets", fusionbench + ["list", "datasets"], 1.0),
        Command("fusionbench metrics fused.png a.png b.png --metric SF",
                fusionbench + ["metrics", *map(str, images), "--metric", "SF"], 1.0),
    ]


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def environment_with_bytecode_cache(folder: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(folder)
    return environment


def run_once(command: Command, environment: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole process; a failing command stops the benchmark."""
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    finished = subprocess.run(command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=environment)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{command.label} exited with status {finished.returncode}:\n{finished.stderr}")
    return elapsed, children_cpu_seconds() - cpu_before


def measure(commands: list[Command], repeats: int,
            environment: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of every timed run of each command, by label."""
    for command in commands:
        run_once(command, environment)  # warm-up, not counted
    timings: dict[str, list[tuple[float, float]]] = {command.label: [] for command in commands}
    for _ in range(repeats):
        for command in commands:
            timings[command.label].append(run_once(command, environment))
    return timings


def format_table(commands: list[Command], timings: dict[str, list[tuple[float, float]]]) -> tuple[str, bool]:
    """The Markdown table, and whether every best time is within its goal."""
    lines = ["| command | best | median | goal | ok | CPU (least) |", "|---|---|---|---|---|---|"]
    all_met = True
    for command in commands:
        walls = [wall for wall, _ in timings[command.label]]
        best, median = min(walls), statistics.median(walls)
        least_cpu = min(cpu for _, cpu in timings[command.label])
        if command.goal_seconds is None:
            goal, verdict = "-", "-"
        else:
            met = best <= command.goal_seconds
            all_met &= met
            goal, verdict = f"<= {command.goal_seconds:.1f} s", "yes" if met else "NO"
        lines.append(f"| `{command.label}` | {best:.2f} s | {median:.2f} s | {goal} | {verdict} | {least_cpu:.2f} s |")
    return "\n".join(lines), all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--check", action="store_true", help="exit with status 1 when a goal is missed")
    arguments = parser.parse_args()
    if arguments.repeats < 1:
        parser.error("--repeats must be at least 1")
    with tempfile.TemporaryDirectory(prefix="fusionbench-startup-") as folder:
        commands = commands_to_time(write_test_images(Path(folder)))
        environment = environment_with_bytecode_cache(Path(folder) / "bytecode")
        load_before = os.getloadavg()[0]
        timings = measure(commands, arguments.repeats, environment)
    table, all_met = format_table(commands, timings)
    print(f"best and median of {arguments.repeats} runs; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(table)
    return 1 if arguments.check and not all_met else 0


if __name__ == "__main__":
    sys.exit(main())
