"""A synthetic run directory at the scale of issue #20: 40 algorithms x 15 metrics x 3 datasets x 10
items (generated on the fly, never shipped; tiny PNGs made with numpy and OpenCV).

The 40 algorithms mix the four kinds: registered classical and deep names, 25 published VIFB
results (``vifb:GFF``...) and two user plugins. run.json records the kind of most of them, as a
harness recording it would; a few (``gff``, ``seafusion``, the published ones) are left unrecorded so
that the report's inference (registry, ``:`` in the name) is exercised too. Each algorithm has a
fixed quality, so the expected order of means is known: ``quality(name)`` decreases along
:data:`ALGORITHMS`, and every metric (higher or lower is better) agrees with it up to item noise.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

CLASSICAL = ("average", "baseline-max", "baseline-mean", "gff", "lp", "lpsr", "max-abs", "mertens")
DEEP = ("didfuse", "ifcnn-max", "ifcnn-sum", "seafusion", "tardal")
PUBLISHED = tuple(f"vifb:{name}" for name in (
    "ADF", "CBF", "CNN", "DLF", "FPDE", "GFCE", "GFF", "GTF", "HMSD_GF", "Hybrid_MSD", "IFCNN", "IFEVIP", "LP_SR",
    "LatLRR", "MGFF", "MSVD", "NSCT_SR", "RP_SR", "ResNet", "SeAFusion", "SwinFusion", "TIF", "U2Fusion",
    "VSMWLS", "YDTR"))
PLUGINS = ("plugin-sharpen", "Plugin-Zeta")
ALGORITHMS = CLASSICAL + DEEP + PUBLISHED + PLUGINS
KINDS = {**{name: "classical" for name in CLASSICAL}, **{name: "deep" for name in DEEP},
         **{name: "published" for name in PUBLISHED}, **{name: "plugin" for name in PLUGINS}}
UNRECORDED_KINDS = ("gff", "seafusion", *PUBLISHED)
#: metric -> higher is better
METRICS = {"VIFF": True, "ISSIM": True, "NMI": True, "MEF-SSIM": True, "SF": True, "AG": True, "EN": True,
           "SD": True, "MI": True, "PSNR": True, "RMSE": False, "QABF": True, "QCB": True, "QCV": False, "SSIM": True}
DATASETS = ("set-a", "set-b", "set-c")
HEADERS = {
    "metrics.csv": "dataset,item,algorithm,protocol,metric,value",
    "timings.csv": "dataset,item,algorithm,device,seconds,width,height",
    "failures.csv": "dataset,item,algorithm,stage,metric,message",
}


def quality(algorithm: str) -> float:
    """1.0 for the first algorithm down to about 0.2 for the last."""
    return 1.0 - 0.02 * ALGORITHMS.index(algorithm)


def _sources(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """An infrared-like and a visible-like picture of one made-up scene: warm blobs on a dark
    background; a sky gradient over textured blocks ("buildings") with edges."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    infrared = 40 + 25 * y + rng.normal(0, 4, (height, width))
    for _ in range(3):
        centre_y, centre_x, radius = rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.04, 0.1)
        infrared += 170 * np.exp(-((y - centre_y) ** 2 + ((x - centre_x) * 0.6) ** 2) / (2 * radius ** 2))
    visible = 200 - 120 * y + rng.normal(0, 6, (height, width))
    for _ in range(5):
        left, right = sorted(rng.uniform(0, 1, 2))
        top = rng.uniform(0.3, 0.7)
        block = (x >= left) & (x <= right) & (y >= top)
        stripes = 25 * (np.sin(x * width / 2.5) > 0.6)  # windows: fine detail that fusion keeps or loses
        visible = np.where(block, 70 + rng.uniform(0, 60) + stripes, visible)
    return (np.clip(infrared, 0, 255).astype(np.uint8), np.clip(visible, 0, 255).astype(np.uint8))


def _fused(algorithm: str, infrared: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """A different, plausible result per algorithm: a weighted mix, some blurred, some sharpened."""
    index = ALGORITHMS.index(algorithm) if algorithm in ALGORITHMS else 0
    weight = 0.25 + 0.5 * (index % 7) / 6
    mixed = weight * infrared.astype(np.float64) + (1 - weight) * visible
    if index % 3 == 1:
        mixed = cv2.GaussianBlur(mixed, (0, 0), 1.2)
    elif index % 3 == 2:
        mixed = mixed + 0.8 * (mixed - cv2.GaussianBlur(mixed, (0, 0), 2.0))
    return np.clip(mixed, 0, 255).astype(np.uint8)


def make_large_run(root: Path, *, algorithms=ALGORITHMS, metrics=METRICS, datasets=DATASETS, items: int = 10,
                   size: tuple[int, int] = (48, 64), dialects: tuple[str, ...] = ()) -> Path:
    """Write the run directory ``root/run`` (sources under ``root/sources``); returns its path.

    With ``dialects`` (e.g. ``("fusionbench", "vifb")``) metrics.csv gains the dialect column and
    every value is written once per dialect (protocol ``standard`` for fusionbench, else the
    dialect's name), the second dialect's values shifted per algorithm so that rankings move.
    """
    rng = np.random.default_rng(20)
    run = root / "run"
    (run / "fused").mkdir(parents=True, exist_ok=True)
    header = HEADERS["metrics.csv"] + (",dialect" if dialects else "")
    lines = {"metrics.csv": [header], "timings.csv": [HEADERS["timings.csv"]],
             "failures.csv": [HEADERS["failures.csv"]]}
    record = {"fusionbench_version": "0.1.0", "created": "2026-12-07T09:00:00Z",
              "command_line": "fusionbench run (synthetic, tests/reports/large_run_factory.py)",
              "protocol": "standard", "protocols": ["standard", *[name for name in dialects[1:]]],
              "device": "cpu", "jobs": 2, "datasets": {},
              "algorithms": {name: {"name": name, "version": "1", "options": {},
                                    **({} if name in UNRECORDED_KINDS else {"kind": KINDS.get(name, "plugin")})}
                             for name in algorithms},
              "metrics": {name: {"version": "1", "higher_is_better": higher} for name, higher in metrics.items()}}
    height, width = size
    for dataset in datasets:
        names = [f"{dataset}-{index + 1:02d}" for index in range(items)]
        record["datasets"][dataset] = {"family": "infrared-visual", "items": names, "sources": {}}
        for item in names:
            sources = _sources(rng, height, width)
            paths = []
            for tag, image in zip("AB", sources):
                path = root / "sources" / dataset / f"{item}-{tag}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), image)
                paths.append(path)
            record["datasets"][dataset]["sources"][item] = [{"file": str(path), "sha256": "0" * 64} for path in paths]
            for algorithm in algorithms:
                fused = _fused(algorithm, *sources)
                path = run / "fused" / algorithm.replace(":", "@", 1) / dataset / f"{item}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), fused)
                lines["timings.csv"].append(f"{dataset},{item},{algorithm},cpu,{0.01 + rng.uniform(0, 0.05):.4f},"
                                            f"{width},{height}")
                base = quality(algorithm) if algorithm in ALGORITHMS else 0.5
                for metric, higher in metrics.items():
                    value = base + rng.normal(0, 0.03)
                    value = value if higher else 2.0 - value
                    if not dialects:
                        lines["metrics.csv"].append(f"{dataset},{item},{algorithm},standard,{metric},{float(value)!r}")
                        continue
                    for index, dialect in enumerate(dialects):
                        shifted = value + (0.1 * ((ALGORITHMS.index(algorithm) * 7) % 5) if index and metric == "SF"
                                           else 0.0)
                        protocol = "standard" if dialect == "fusionbench" else dialect
                        lines["metrics.csv"].append(f"{dataset},{item},{algorithm},{protocol},{metric},"
                                                    f"{float(shifted)!r},{dialect}")
    for name, rows in lines.items():
        (run / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    (run / "run.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return run
