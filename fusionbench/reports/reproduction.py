"""How closely the zoo's models reproduce a benchmark's published fused images ("reproduces published results").

VIFB publishes the fused images of SeAFusion, U2Fusion and IFCNN on its 21 pairs; fusionbench runs
the same weights itself (``seafusion``, ``u2fusion``, ``ifcnn-max``) and offers VIFB's images as the
read-only algorithms ``vifb:SeAFusion`` and so on. When a run directory holds the fused images of
both sides of such a pair, :func:`published_reproduction` compares them pixel value by pixel value.

A run directory stores fused images as ``fused/ALGORITHM/DATASET/ITEM.png`` (``:`` of a published
name written ``@``, see :func:`fusionbench.path_safety.storage_name`). Only the images are read, so
this works on any finished run, with or without its metrics.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..image_io import read_image
from ..path_safety import storage_name

#: fusionbench model -> the published algorithm made from the same weights by someone else's run.
#: VIFB's method list (fusionbench/published/vifb.toml) has SeAFusion, U2Fusion and IFCNN of the
#: zoo; it has no TarDAL or DIDFuse. VIFB does not say which IFCNN rule it ran: MAX is the one the
#: authors chose for infrared-visual pairs.
PUBLISHED_COUNTERPARTS: dict[str, str] = {
    "seafusion": "vifb:SeAFusion",
    "u2fusion": "vifb:U2Fusion",
    "ifcnn-max": "vifb:IFCNN",
}

#: VIFB's fused JPEGs carry the IJG quality-75 tables with 4:2:0 chroma (MATLAB ``imwrite``'s defaults).
VIFB_JPEG_QUALITY = 75

ITEM_COLUMNS = ["model", "published", "dataset", "item", "values", "exact", "within_one", "within_two",
                "absolute_difference_sum", "squared_difference_sum"]
SUMMARY_COLUMNS = ["model", "published", "dataset", "items", "within_one_percent", "within_two_percent",
                   "exact_percent", "mean_absolute_difference", "psnr"]


def algorithm_folder(run_dir: str | Path, algorithm: str) -> Path:
    """Where a run keeps ``algorithm``'s fused images, one folder per dataset."""
    return Path(run_dir) / "fused" / storage_name(algorithm, "algorithm", "run directory")


def fused_folder(run_dir: str | Path, algorithm: str, dataset: str) -> Path:
    """Where a run keeps ``algorithm``'s fused images of ``dataset``."""
    return algorithm_folder(run_dir, algorithm) / dataset


def comparable(model: np.ndarray, published: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as signed integers of one shape; a grey image beside a colour one is repeated to RGB.

    A model may write grey where the published run wrote a grey-looking RGB image (VIFB stores
    every result as a three-channel JPEG), so equal content must not count as a shape mismatch.
    """
    model, published = model.astype(np.int16), published.astype(np.int16)
    if model.ndim == 2 and published.ndim == 3:
        model = np.repeat(model[..., None], published.shape[2], axis=2)
    elif published.ndim == 2 and model.ndim == 3:
        published = np.repeat(published[..., None], model.shape[2], axis=2)
    if model.shape != published.shape:
        raise ValueError(f"fused images of different sizes: {model.shape} and {published.shape}")
    return model, published


def as_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` after a JPEG round trip at ``quality`` with 4:2:0 chroma (Pillow/libjpeg-turbo).

    VIFB stores every fused image as such a JPEG (MATLAB ``imwrite``'s defaults: quality 75,
    4:2:0; read from the files' quantisation tables), so the published images differ from any
    exact reproduction by the compression; passing the model's image through the same compression
    shows how much of the difference that explains.
    """
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality, subsampling=2)
    with Image.open(buffer) as decoded:
        return np.array(decoded)


def item_agreement(model: np.ndarray, published: np.ndarray, model_jpeg_quality: int | None = None) -> dict[str, int]:
    """Counts and sums of one item's differences, to be pooled over items (exact integers, no rounding).

    With ``model_jpeg_quality`` the model's image is first compressed as :func:`as_jpeg` does.
    """
    model, published = comparable(model, published)
    if model_jpeg_quality is not None:
        model = as_jpeg(model.astype(np.uint8), model_jpeg_quality).astype(np.int16)
    difference = np.abs(model - published).astype(np.int64)
    return {"values": int(difference.size), "exact": int(np.count_nonzero(difference == 0)),
            "within_one": int(np.count_nonzero(difference <= 1)), "within_two": int(np.count_nonzero(difference <= 2)),
            "absolute_difference_sum": int(difference.sum()), "squared_difference_sum": int((difference ** 2).sum())}


def common_items(run_dir: str | Path, model: str, published: str) -> list[tuple[str, str]]:
    """(dataset, item) pairs for which the run holds the fused images of both algorithms, sorted."""
    model_root = algorithm_folder(run_dir, model)
    pairs: list[tuple[str, str]] = []
    if not model_root.is_dir():
        return pairs
    for dataset_folder in sorted(path for path in model_root.iterdir() if path.is_dir()):
        counterpart = fused_folder(run_dir, published, dataset_folder.name)
        pairs.extend((dataset_folder.name, image.stem) for image in sorted(dataset_folder.glob("*.png"))
                     if (counterpart / image.name).is_file())
    return pairs


def published_reproduction_items(run_dir: str | Path, pairs: dict[str, str] | None = None,
                                 model_jpeg_quality: int | None = None) -> pd.DataFrame:
    """One row per (model, published counterpart, dataset, item) found in the run: the raw counts."""
    rows = []
    for model, published in (PUBLISHED_COUNTERPARTS if pairs is None else pairs).items():
        for dataset, item in common_items(run_dir, model, published):
            counts = item_agreement(read_image(fused_folder(run_dir, model, dataset) / f"{item}.png"),
                                    read_image(fused_folder(run_dir, published, dataset) / f"{item}.png"),
                                    model_jpeg_quality)
            rows.append({"model": model, "published": published, "dataset": dataset, "item": item, **counts})
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def psnr(squared_difference_sum: int, values: int) -> float:
    """PSNR in dB of 8-bit images from the pooled squared differences; infinite when they are equal."""
    mean_squared = squared_difference_sum / values
    return math.inf if mean_squared == 0 else 10 * math.log10(255 ** 2 / mean_squared)


def summarise(items: pd.DataFrame) -> pd.DataFrame:
    """Per (model, published, dataset): values pooled over the items, percentages and PSNR of the pool."""
    rows = []
    for (model, published, dataset), group in items.groupby(["model", "published", "dataset"], sort=False):
        values = int(group["values"].sum())
        rows.append({"model": model, "published": published, "dataset": dataset, "items": len(group),
                     "within_one_percent": 100 * group["within_one"].sum() / values,
                     "within_two_percent": 100 * group["within_two"].sum() / values,
                     "exact_percent": 100 * group["exact"].sum() / values,
                     "mean_absolute_difference": group["absolute_difference_sum"].sum() / values,
                     "psnr": psnr(int(group["squared_difference_sum"].sum()), values)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def published_reproduction(run_dir: str | Path, pairs: dict[str, str] | None = None,
                           model_jpeg_quality: int | None = None) -> pd.DataFrame:
    """For each (model, published counterpart) pair present in ``run_dir``: how closely the model's
    fused images reproduce the published ones.

    Columns: model, published, dataset, items, within_one_percent, within_two_percent,
    exact_percent (of all pixel values of all items together), mean_absolute_difference (grey
    levels) and psnr (dB, of the pooled mean squared difference). ``pairs`` defaults to
    :data:`PUBLISHED_COUNTERPARTS`; a pair with no common item gives no row. With
    ``model_jpeg_quality`` (75 for VIFB) the model's images are JPEG-compressed first (:func:`as_jpeg`).
    """
    return summarise(published_reproduction_items(run_dir, pairs, model_jpeg_quality))
