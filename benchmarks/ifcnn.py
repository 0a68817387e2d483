"""IFCNN forward-pass speed: the plain model (as in the official demo) vs the fast path.

    python benchmarks/ifcnn.py [--repeats 15] [--device cpu|cuda|auto] [--large]

One 520x520 two-input colour fusion (Lytro pair 01, ImageNet-normalised), forward pass only, median
of warm runs (after 3 warm-up runs); ``cpu s`` is the median process CPU time of a run (all
threads), a steadier figure when other work shares the machine. Each configuration runs in its own subprocess so that the
allocator settings are clean:

* ``default``  — glibc as it comes;
* ``env``      — started with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=20000000000
  MALLOC_TOP_PAD_=1000000000``;
* ``mallopt``  — the same settings applied at run time by
  :func:`fusionbench.allocator.tune_glibc_allocator` (what the ``ifcnn-*`` algorithms do on
  the CPU by default, so the CLI gets it without a re-exec).

On CUDA the settings are ``float32`` (cuDNN in true float32, what fusionbench's IFCNN runner
uses) and ``tf32`` (PyTorch's default for cuDNN convolutions), and each output is also compared with
the plain model's on the CPU.

The fast path's output is compared with the plain model's (max absolute difference, float32).
``--large`` adds tiled inference of a 2000x3000 pair with its peak resident memory (CPU).
The paper reports 0.02 s per fusion on a TITAN X GPU (Table 5).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ALLOCATOR_ENVIRONMENT = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "20000000000",
                         "MALLOC_TOP_PAD_": "1000000000"}
PAPER_GPU_SECONDS = 0.02


def load_pair():
    """The Lytro pair 01 as two normalised float32 (3, 520, 520) planes (random if the data is absent)."""
    import numpy as np

    from fusionbench.models.preprocessing import to_network_input

    try:
        from fusionbench.datasets import get_dataset
        from fusionbench.image_io import read_image

        images = [read_image(path) for path in get_dataset("lytro").item("lytro-01").source_paths()]
    except Exception as error:  # no data, no network: time random input of the same size
        print(f"(lytro-01 unavailable: {error}; timing random input)", file=sys.stderr)
        random = np.random.default_rng(0)
        images = [random.integers(0, 256, (520, 520, 3), dtype=np.uint8) for _ in range(2)]
    return [to_network_input(image, normalise=True) for image in images]


def worker(model_kind: str, allocator: str, device_name: str, repeats: int) -> dict:
    """Time one configuration in this process; returns the timings and the fast path's deviation.

    ``allocator`` is the CPU allocator setting, or on CUDA the convolution precision (float32|tf32).
    """
    if allocator == "mallopt":
        from fusionbench.allocator import tune_glibc_allocator

        tune_glibc_allocator()
    import torch

    from fusionbench.models.checkpoints import load_checkpoint, official_checkpoint_path
    from fusionbench.models.fast_inference import FastIFCNN
    from fusionbench.models.inference import resolve_device

    device = resolve_device(device_name)
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = allocator == "tf32"
    network, _ = load_checkpoint(official_checkpoint_path("max"))
    network = network.to(device).eval()
    model = FastIFCNN(network).to(device) if model_kind == "fast" else network
    inputs = [torch.from_numpy(plane)[None].to(device) for plane in load_pair()]

    def forward():
        with torch.no_grad():  # the official demo's setting; the fast path adds inference_mode itself
            output = model(inputs)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return output

    for _ in range(3):
        output = forward()
    times, cpu_times = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        forward()
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    with torch.no_grad():
        reference = network(inputs)
        cpu_difference = None
        if device.type == "cuda":
            cpu_reference = network.cpu()([plane.cpu() for plane in inputs])
            cpu_difference = float((output.cpu() - cpu_reference).abs().max())
    return {"model": model_kind, "allocator": allocator, "device": str(device), "median": statistics.median(times),
            "min": min(times), "cpu": statistics.median(cpu_times), "max_abs_difference": float((output - reference).abs().max()),
            "cpu_difference": cpu_difference, "threads": torch.get_num_threads()}


def large_worker() -> dict:
    """Tiled fast inference of a 2000x3000 two-input image on the CPU: time and peak RSS."""
    import numpy as np

    from fusionbench.allocator import tune_glibc_allocator
    from fusionbench.models.checkpoints import load_checkpoint, official_checkpoint_path
    from fusionbench.models.inference import IFCNNRunner

    tune_glibc_allocator()
    network, _ = load_checkpoint(official_checkpoint_path("max"))
    runner = IFCNNRunner(network, device="cpu", fast=True, tile_size=768)
    random = np.random.default_rng(0)
    planes = [random.random((3, 2000, 3000), dtype=np.float32) for _ in range(2)]
    started = time.perf_counter()
    runner.run(planes)
    # VmHWM: ru_maxrss would include the parent's peak, which Linux carries across fork + exec.
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {"seconds": time.perf_counter() - started, "peak_rss_gib": int(status["VmHWM"].split()[0]) / 1024**2}


def run_subprocess(arguments: list[str], environment: dict[str, str] | None = None) -> dict:
    result = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True,
                            env={**os.environ, **(environment or {})})
    if result.returncode != 0:
        raise SystemExit(f"benchmark worker failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--large", action="store_true", help="also time a tiled 2000x3000 fusion (CPU)")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "ALLOCATOR"), help=argparse.SUPPRESS)
    parser.add_argument("--large-worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(*arguments.worker, arguments.device, arguments.repeats)))
        return
    if arguments.large_worker:
        print(json.dumps(large_worker()))
        return

    allocators = ("default", "env", "mallopt") if arguments.device != "cuda" else ("float32", "tf32")
    print(f"IFCNN forward pass, 520x520 two-input colour fusion, median of {arguments.repeats} warm runs "
          f"(load average {os.getloadavg()[0]:.2f})")
    print(f"{'model':<6} {'setting':<9} {'device':<7} {'median s':>9} {'min s':>7} {'cpu s':>7} "
          f"{'max |fast-plain|':>17} {'max |out-cpu plain|':>20}")
    for allocator in allocators:
        for model in ("plain", "fast"):
            environment = ALLOCATOR_ENVIRONMENT if allocator == "env" else None
            row = run_subprocess(["--worker", model, allocator, "--device", arguments.device,
                                  "--repeats", str(arguments.repeats)], environment)
            deviation = f"{row['max_abs_difference']:.2e}" if model == "fast" else "-"
            versus_cpu = f"{row['cpu_difference']:.2e}" if row["cpu_difference"] is not None else "-"
            print(f"{model:<6} {allocator:<9} {row['device']:<7} {row['median']:>9.4f} {row['min']:>7.4f} "
                  f"{row['cpu']:>7.3f} {deviation:>17} {versus_cpu:>20}", flush=True)
    if arguments.device != "cpu":
        print(f"paper (Table 5, TITAN X GPU): {PAPER_GPU_SECONDS:.3f} s per fusion")
    if arguments.large:
        row = run_subprocess(["--large-worker"])
        print(f"tiled 2000x3000 two-input fusion (fast, CPU, tiles of 768): {row['seconds']:.1f} s, "
              f"peak RSS {row['peak_rss_gib']:.2f} GiB")


if __name__ == "__main__":
    main()
