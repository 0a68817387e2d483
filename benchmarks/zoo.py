"""Speed of the networks run from their authors' weights, one fusion of a visible/infrared pair.

    python benchmarks/zoo.py [--repeats 5] [--size 640x480] [--device cpu] [--large]

For every model of :data:`MODELS` that is registered, a subprocess creates the algorithm (the
registry applies fusionbench's allocator settings), fuses once to load the weights and warm up,
then times ``--repeats`` fusions of a random pair (visible RGB, infrared grey stored as RGB, as a
dataset gives it): the whole ``fuse`` call, pre- and post-processing included. ``median s`` and
``min s`` are wall-clock seconds, ``cpu s`` the median process CPU time (all threads: a steadier
figure when other work shares the machine), ``GFLOP/s`` the network's convolution work divided by
the minimum time, ``of conv`` that rate as a share of the best rate of a plain 64 -> 64 3x3
convolution of the same size measured in the same process between the repeats (so that a change
of load on a shared machine affects both). ``goal`` is the target for 640x480 on 2 CPU cores.

``--large`` adds one fusion of a 3000x2000 pair per model with its peak resident memory (tiled
inference with the default tile size; the process's peak, imports and the decoded pair included).

The first line gives the context: load average, threads, and what a plain 64 -> 64 3x3 convolution
of the same size reaches here (channels-last, float32) — the ceiling the networks' convolutions
work against. To add a model, append a ``(name, goal seconds)`` row to :data:`MODELS` and, if
known, its convolution multiply-adds per pixel to :data:`MULTIPLY_ADDS_PER_PIXEL`.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

print = functools.partial(print, flush=True)  # noqa: A001  (progress shows at once when piped)

#: (registered name, goal in seconds for a 640x480 pair on 2 CPU cores). Extend freely.
MODELS: list[tuple[str, float]] = [
    ("seafusion", 0.45),
    ("didfuse", 0.9),
    ("tardal", 0.75),
    ("tardal++", 0.75),
    ("u2fusion", 1.6),
]

#: Convolution multiply-adds per output pixel of one fusion (both sources), where counted.
MULTIPLY_ADDS_PER_PIXEL: dict[str, int] = {
    # 2 encoders x (stem 144 + block1 9,248 + block2 34,368) + decoder 78,480
    "seafusion": 166_000,
    # 2 x encoder (576 + 3 x 36,864) + decoder (2 x 73,728 + 1,152)
    "didfuse": 370_944,
    # 9 x (2*32 + 32*32 + 64*32 + 96*32 + 128*128 + 128*64 + 64*32 + 32*1), as direct convolutions; the fast
    # path does the inner ones by Winograd F(4x4, 3x3) with a quarter of the multiplications, so its
    # GFLOP/s are direct-convolution equivalents and may exceed the plain convolution's rate.
    "tardal": 295_776,
    "tardal++": 295_776,
    # 9 x (2*44 + 44*(44 + 88 + 132 + 176 + 220) + 264*128 + 128*64 + 64*32 + 32*1), likewise
    "u2fusion": 658_728,
}


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (height 480, width 640)."""
    width, _, height = text.lower().partition("x")
    return int(height), int(width)


def make_pair(height: int, width: int):
    import numpy as np

    random = np.random.default_rng(0)
    visible = random.integers(0, 256, (height, width, 3), dtype=np.uint8)
    infrared = np.repeat(random.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2)
    return [visible, infrared]


def worker(name: str, size: tuple[int, int], repeats: int, device: str) -> dict:
    """Time ``name`` in this process; returns wall and CPU seconds and the peak resident memory."""
    import resource

    import fusionbench

    spec = fusionbench.get_algorithm(name)
    options = {"device": device} if "device" in spec.defaults else {}
    algorithm = fusionbench.create_algorithm(name, **options)
    pair = make_pair(*size)
    # Weights and warm-up; a large image warms up on a small one (its tiles are small anyway).
    warm_up = pair if size[0] * size[1] <= 1_000_000 else make_pair(256, 256)
    algorithm.fuse(warm_up, family="infrared-visual")
    walls, cpus, ceilings = [], [], []
    for _ in range(repeats):
        if size[0] * size[1] <= 1_000_000:  # the ceiling now, in turn with the model: the load changes
            ceilings.append(convolution_ceiling(size, repeats=1))
        wall, cpu = time.perf_counter(), time.process_time()
        algorithm.fuse(pair, family="infrared-visual")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if os.path.exists("/proc/self/status"):  # ru_maxrss carries a parent's larger peak across fork + exec
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        peak_kib = int(status["VmHWM"].split()[0])
    return {"walls": walls, "cpus": cpus, "peak_mib": peak_kib / 1024,
            "ceiling": max(ceilings) if ceilings else None}


def convolution_ceiling(size: tuple[int, int], repeats: int = 5) -> float:
    """GFLOP/s of a plain channels-last float32 64 -> 64 3x3 convolution of ``size`` here."""
    import torch
    import torch.nn.functional as F

    from fusionbench.allocator import apply_unless_disabled

    apply_unless_disabled()
    height, width = size
    features = torch.rand(1, 64, height, width).contiguous(memory_format=torch.channels_last)
    weight = torch.rand(64, 64, 3, 3).contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.inference_mode():
        F.conv2d(features, weight, padding=1)
        for _ in range(repeats):
            start = time.perf_counter()
            F.conv2d(features, weight, padding=1)
            best = min(best, time.perf_counter() - start)
    return 2 * 64 * 64 * 9 * height * width / best / 1e9


def run_worker(name: str, size: tuple[int, int], repeats: int, device: str) -> dict | str:
    command = [sys.executable, __file__, "--worker", name, "--size", f"{size[1]}x{size[0]}",
               "--repeats", str(repeats), "--device", device]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {finished.returncode}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--large", action="store_true", help="also one 3000x2000 fusion per model, with peak memory")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    size = parse_size(arguments.size)
    if arguments.worker:
        print(json.dumps(worker(arguments.worker, size, arguments.repeats, arguments.device)))
        return 0

    import fusionbench
    import torch

    registered = set(fusionbench.list_algorithms())
    rows = [(name, goal) for name, goal in MODELS if name in registered]
    missing = [name for name, _ in MODELS if name not in registered]
    ceiling = convolution_ceiling(size)
    print(f"load average {os.getloadavg()[0]:.1f}, {torch.get_num_threads()} threads, device {arguments.device}; "
          f"plain 64->64 3x3 convolution at {arguments.size}: {ceiling:.0f} GFLOP/s"
          + (f"; not registered: {', '.join(missing)}" if missing else ""))
    print(f"{'model':<12} {'size':>10} {'median s':>9} {'min s':>7} {'cpu s':>7} {'GFLOP/s':>8} {'of conv':>8} "
          f"{'goal':>6}")
    for name, goal in rows:
        result = run_worker(name, size, arguments.repeats, arguments.device)
        if isinstance(result, str):
            print(f"{name:<12} {arguments.size:>10} failed: {result}")
            continue
        fastest = min(result["walls"])
        multiply_adds = MULTIPLY_ADDS_PER_PIXEL.get(name)
        rate = 2 * multiply_adds * size[0] * size[1] / fastest / 1e9 if multiply_adds else None
        share = f"{rate / result['ceiling']:.0%}" if rate and result["ceiling"] else "-"
        goal_text = f"{goal:.2f}" if size == (480, 640) else "-"
        print(f"{name:<12} {arguments.size:>10} {statistics.median(result['walls']):>9.3f} {fastest:>7.3f} "
              f"{statistics.median(result['cpus']):>7.3f} {f'{rate:.0f}' if rate else '-':>8} {share:>8} "
              f"{goal_text:>6}")
    if arguments.large:
        print(f"\n{'model':<12} {'size':>10} {'s':>9} {'peak MiB':>9}")
        for name, _ in rows:
            result = run_worker(name, (2000, 3000), 1, arguments.device)
            if isinstance(result, str):
                print(f"{name:<12} {'3000x2000':>10} failed: {result}")
                continue
            print(f"{name:<12} {'3000x2000':>10} {result['walls'][0]:>9.2f} {result['peak_mib']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
