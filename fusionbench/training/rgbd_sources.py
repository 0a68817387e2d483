"""RGB-D training sources for the multi-focus synthesis (IFCNN paper, Sec. 2.3).

Each loader returns :class:`RGBDImage` objects: an RGB uint8 (H,W,3) array and a positive float32
(H,W) depth, larger = farther. Only the *relative* depth matters (the focus threshold is a fraction of
the maximum depth), so no loader needs metric depth.

Sources:

* NYU Depth v2 labelled ``.mat`` (HDF5; ``images`` (N,3,W,H) uint8 and ``depths`` (N,W,H) metres).
* Folders of RGB + depth images paired by file stem (``rgb/NAME.*`` + ``depth/NAME.*``).
* Middlebury stereo with ground-truth disparity: depth = 1 / disparity. Unknown disparity (0 in the
  8-bit maps, inf/NaN in the PFM maps) is almost always an occlusion next to a depth edge, i.e. the
  *farther* surface: each unknown pixel takes the smaller of the nearest known disparities to its left
  and right on the same row (the usual stereo occlusion fill); a row without any known pixel takes the
  scene's smallest known disparity. Disparities are then clipped below at their 1st percentile so that a
  few mismatched, near-zero values cannot make ``max(depth)`` (and with it the focus threshold) explode.
* Plain images (e.g. BSDS500) with a synthetic depth layout: a smooth random field (bicubically
  up-sampled coarse noise) plus a random planar ramp, seeded per image so that runs are repeatable.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataNotFoundError, ImageError
from ..image_io import read_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif", ".tiff")

# (image file, disparity file) pairs of the Middlebury layouts: 2005/2006 sets (view1/view5 with
# disp1/disp5), 2001/2003 sets (im2/im6 with disp2/disp6; Cones/Teddy imL/imR with disp2/disp6;
# Tsukuba imL with truedisp), 2014 quarter-resolution training set (im0 with disp0GT.pfm).
MIDDLEBURY_VIEW_PAIRS = (
    ("view1.png", "disp1.png"), ("view5.png", "disp5.png"),
    ("im2.ppm", "disp2.pgm"), ("im6.ppm", "disp6.pgm"),
    ("imL.png", "disp2.png"), ("imR.png", "disp6.png"), ("imL.png", "truedisp.pgm"),
    ("im0.png", "disp0GT.pfm"),
)


@dataclass(frozen=True)
class RGBDImage:
    """One training source: ``rgb`` uint8 (H,W,3), ``depth`` float32 (H,W) > 0, and where it came from."""

    rgb: np.ndarray
    depth: np.ndarray
    origin: str


def disparity_to_depth(disparity: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    """Depth = 1 / disparity, after filling unknown pixels as described in the module docstring."""
    disparity = np.asarray(disparity, dtype=np.float64)
    if unknown is None:
        unknown = ~np.isfinite(disparity) | (disparity <= 0)
    known = ~unknown
    if not known.any():
        raise ValueError("the disparity map has no known pixel")
    filled = fill_occlusions(np.where(known, disparity, 0.0), known)
    floor = np.percentile(disparity[known], 1.0)
    return (1.0 / np.maximum(filled, floor)).astype(np.float32)


def fill_occlusions(disparity: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unknown pixels := min(nearest known disparity to the left, to the right) on the same row."""
    height, width = disparity.shape
    columns = np.broadcast_to(np.arange(width), (height, width))
    left_index = np.maximum.accumulate(np.where(known, columns, -1), axis=1)
    right_index = np.minimum.accumulate(np.where(known, columns, width)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(height)[:, None]
    left = np.where(left_index >= 0, disparity[rows, np.clip(left_index, 0, width - 1)], np.inf)
    right = np.where(right_index < width, disparity[rows, np.clip(right_index, 0, width - 1)], np.inf)
    fallback = disparity[known].min()
    neighbour = np.minimum(left, right)
    neighbour = np.where(np.isfinite(neighbour), neighbour, fallback)
    return np.where(known, disparity, neighbour)


def read_pfm(path: Path) -> np.ndarray:
    """A PFM file as float32 (H,W) or (H,W,3), top row first (PFM stores rows bottom-up)."""
    with open(path, "rb") as handle:
        kind = handle.readline().strip()
        if kind not in (b"Pf", b"PF"):
            raise ImageError(f"{path} is not a PFM file (header {kind!r}).")
        dimensions = re.findall(rb"\d+", handle.readline())
        width, height = int(dimensions[0]), int(dimensions[1])
        scale = float(handle.readline().strip())
        dtype = "<f4" if scale < 0 else ">f4"
        channels = 3 if kind == b"PF" else 1
        data = np.frombuffer(handle.read(width * height * channels * 4), dtype=dtype)
    shape = (height, width, channels) if channels == 3 else (height, width)
    return np.flipud(data.reshape(shape)).astype(np.float32)


def read_disparity(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(disparity, unknown mask): 8-bit maps use 0 = unknown; PFM maps use inf/NaN = unknown."""
    if path.suffix.lower() == ".pfm":
        disparity = read_pfm(path)
        return disparity, ~np.isfinite(disparity) | (disparity <= 0)
    disparity = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if disparity is None:
        raise ImageError(f"cannot read the disparity map {path}.")
    if disparity.ndim == 3:
        disparity = disparity[..., 0]
    return disparity.astype(np.float32), disparity == 0


def load_middlebury(root: Path) -> list[RGBDImage]:
    """Every (view, disparity) pair of :data:`MIDDLEBURY_VIEW_PAIRS` found in the scene folders under ``root``."""
    images = []
    for scene in sorted(path for path in Path(root).rglob("*") if path.is_dir()):
        for image_name, disparity_name in MIDDLEBURY_VIEW_PAIRS:
            image_path, disparity_path = scene / image_name, scene / disparity_name
            if not (image_path.is_file() and disparity_path.is_file()):
                continue
            if image_name == "imL.png" and disparity_name == "disp2.png" and (scene / "truedisp.pgm").is_file():
                continue
            rgb = _read_rgb(image_path)
            disparity, unknown = read_disparity(disparity_path)
            if disparity.shape != rgb.shape[:2]:
                raise ImageError(f"{disparity_path} is {disparity.shape[1]}x{disparity.shape[0]} but "
                                 f"{image_path} is {rgb.shape[1]}x{rgb.shape[0]}.")
            images.append(RGBDImage(rgb, disparity_to_depth(disparity, unknown), str(image_path)))
    return images


def load_nyu_labelled(path: Path) -> list[RGBDImage]:
    """The official NYU Depth v2 labelled ``.mat`` (MATLAB v7.3 = HDF5): RGB images and depths in metres."""
    import h5py

    images = []
    with h5py.File(path, "r") as handle:
        rgbs, depths = handle["images"], handle["depths"]
        for index in range(rgbs.shape[0]):
            rgb = np.ascontiguousarray(np.asarray(rgbs[index]).transpose(2, 1, 0))
            depth = np.ascontiguousarray(np.asarray(depths[index], dtype=np.float32).T)
            depth = np.where(depth > 0, depth, depth[depth > 0].max() if (depth > 0).any() else 1.0)
            images.append(RGBDImage(rgb, depth.astype(np.float32), f"{path}#{index}"))
    return images


def load_rgbd_folders(rgb_dir: Path, depth_dir: Path) -> list[RGBDImage]:
    """RGB images paired with depth images of the same file stem (any bit depth; 0 = unknown = farthest)."""
    depth_files = {path.stem: path for path in _image_files(depth_dir)}
    images = []
    for rgb_path in _image_files(rgb_dir):
        depth_path = depth_files.get(rgb_path.stem)
        if depth_path is None:
            continue
        depth = cv2.imread(str(depth_path), cv2.IMREAD_UNCHANGED)
        if depth is None:
            raise ImageError(f"cannot read the depth image {depth_path}.")
        depth = depth[..., 0] if depth.ndim == 3 else depth
        depth = depth.astype(np.float32)
        depth = np.where(depth > 0, depth, depth.max() if depth.max() > 0 else 1.0)
        images.append(RGBDImage(_read_rgb(rgb_path), depth, str(rgb_path)))
    return images


def synthetic_depth(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth positive depth layout: bicubic up-sampled coarse noise plus a random planar ramp."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.0, 1.0, size=(int(rng.integers(2, 7)), int(rng.integers(2, 7)))).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = (np.cos(angle) * columns / width + np.sin(angle) * rows / height)
    layout = field + rng.uniform(0.0, 1.5) * ramp
    return (1.0 + layout - layout.min()).astype(np.float32)


def load_plain_images(directory: Path) -> list[RGBDImage]:
    """Plain images (recursively) with :func:`synthetic_depth` layouts seeded by their relative path."""
    images = []
    for path in _image_files(directory, recursive=True):
        rgb = _read_rgb(path)
        seed = zlib.crc32(str(path.relative_to(directory)).encode())
        images.append(RGBDImage(rgb, synthetic_depth(rgb.shape[0], rgb.shape[1], seed), str(path)))
    return images


DATA_KINDS = ("auto", "nyu", "rgbd-folders", "middlebury", "plain")


def discover_training_data(data_dir: Path, kind: str = "auto") -> tuple[list[RGBDImage], str]:
    """Load the training sources under ``data_dir``; returns (images, one-line description).

    ``auto`` takes real RGB-D data when there is any, in the order NYU ``.mat`` files, ``rgb/``+``depth/``
    folders, Middlebury scenes (a ``middlebury/`` folder or ``data_dir`` itself); only when none is found
    does it fall back to plain images with synthetic depth (``bsds500/`` or ``data_dir`` itself).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataNotFoundError(f"the training data folder {data_dir} does not exist.")
    loaders = {
        "nyu": lambda: [image for path in _nyu_files(data_dir) for image in load_nyu_labelled(path)],
        "rgbd-folders": lambda: (load_rgbd_folders(data_dir / "rgb", data_dir / "depth")
                                 if (data_dir / "rgb").is_dir() and (data_dir / "depth").is_dir() else []),
        "middlebury": lambda: load_middlebury(data_dir / "middlebury" if (data_dir / "middlebury").is_dir() else data_dir),
        "plain": lambda: load_plain_images(data_dir / "bsds500" if (data_dir / "bsds500").is_dir() else data_dir),
    }
    if kind not in DATA_KINDS:
        raise DataNotFoundError(f"unknown training data kind {kind!r}; valid: {', '.join(DATA_KINDS)}.")
    for candidate in (("nyu", "rgbd-folders", "middlebury", "plain") if kind == "auto" else (kind,)):
        images = loaders[candidate]()
        if images:
            return images, f"{candidate}: {len(images)} images from {data_dir}"
    raise DataNotFoundError(f"no {kind} training images found under {data_dir}.")


def _nyu_files(directory: Path) -> list[Path]:
    """``.mat`` files under ``directory`` that are HDF5 with ``images`` and ``depths`` (the NYU labelled layout)."""
    import h5py

    found = []
    for path in sorted(Path(directory).rglob("*.mat")):
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as handle:
                if "images" in handle and "depths" in handle:
                    found.append(path)
    return found


def _image_files(directory: Path, recursive: bool = False) -> list[Path]:
    paths = Path(directory).rglob("*") if recursive else Path(directory).glob("*")
    return sorted(path for path in paths if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def _read_rgb(path: Path) -> np.ndarray:
    image = read_image(path)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
