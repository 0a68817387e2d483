"""The report's image gallery: sources and every algorithm's fused image side by side, with a close-up.

Like the paper's Figs. 9-15, each item shows its sources, then every algorithm's result, each with a
magnified close-up of one region. The region is chosen automatically as **the square window where the
algorithms disagree most**:

    D(x, y)  = standard deviation over algorithms of the fused grey values at (x, y)
    region   = argmax over all s x s windows W fully inside the image of mean_{(x, y) in W} D(x, y)
    s        = max(16, round(0.2 * min(H, W)))        (a fifth of the shorter side)

computed with an integral image; among tied windows the one nearest the image centre wins (then the
first in raster order). Where the algorithms agree everywhere (or only one algorithm ran) the centre
window is used. Grey values are MATLAB
``rgb2gray`` of colour results. The disagreement map is what a reader wants to inspect: where the
methods differ is where a choice of method matters.

What is written (sizes measured for the full paper run are in the report module's docstring):
thumbnails are downscaled with area averaging to at most :data:`THUMBNAIL_SIDE` pixels and stored as
lossy WebP (quality 80); close-ups are the region at native resolution (quality 92, shown magnified
with nearest-neighbour scaling so that fusion artefacts stay visible). The lossless PNGs are only
linked, never copied or embedded.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import cv2
import numpy as np
from PIL import Image

from ..image_io import rgb_to_grey

#: Bump when the pictures change (it invalidates pictures reused from an earlier report).
GALLERY_VERSION = "1"
THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 80
CLOSE_UP_QUALITY = 92
REGION_FRACTION = 0.2
MINIMUM_REGION_SIDE = 16


@dataclass(frozen=True)
class Region:
    """A square window of an image: rows ``top:top+side``, columns ``left:left+side``."""

    top: int
    left: int
    side: int

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The window's pixels (all channels)."""
        return image[self.top:self.top + self.side, self.left:self.left + self.side]

    def as_percentages(self, height: int, width: int) -> dict[str, float]:
        """CSS box of the window over an image of this size, in percent (for the overlay frame)."""
        return {"top": 100.0 * self.top / height, "left": 100.0 * self.left / width,
                "height": 100.0 * self.side / height, "width": 100.0 * self.side / width}


def region_side(height: int, width: int, fraction: float = REGION_FRACTION) -> int:
    """Side of the close-up window: ``fraction`` of the shorter side, at least 16 px, at most the image."""
    return int(min(min(height, width), max(MINIMUM_REGION_SIDE, round(fraction * min(height, width)))))


def disagreement_map(images: Sequence[np.ndarray]) -> np.ndarray:
    """Per-pixel standard deviation (population, ddof=0) of the grey values over ``images`` (float64)."""
    greys = np.stack([rgb_to_grey(image).astype(np.float64) for image in images])
    return greys.std(axis=0)


def window_means(values: np.ndarray, side: int) -> np.ndarray:
    """Mean of ``values`` over every ``side x side`` window fully inside it (integral image).

    Entry ``[i, j]`` is the mean over rows ``i:i+side`` and columns ``j:j+side``.
    """
    integral = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    integral[1:, 1:] = values.cumsum(axis=0).cumsum(axis=1)
    sums = (integral[side:, side:] - integral[:-side, side:] - integral[side:, :-side] + integral[:-side, :-side])
    return sums / (side * side)


def choose_region(fused_images: Sequence[np.ndarray], fraction: float = REGION_FRACTION) -> Region:
    """The window of highest mean disagreement between the fused images (see module docstring)."""
    height, width = fused_images[0].shape[:2]
    side = region_side(height, width, fraction)
    same_size = [image for image in fused_images if image.shape[:2] == (height, width)]
    if len(same_size) >= 2:
        means = window_means(disagreement_map(same_size), side)
        # Rounding makes windows that differ only by floating-point noise tie.
        means = np.round(means, 9)
        if means.max() > 0:
            tops, lefts = np.nonzero(means == means.max())
            centre_top, centre_left = (height - side) / 2, (width - side) / 2
            nearest = int(np.argmin((tops - centre_top) ** 2 + (lefts - centre_left) ** 2))  # first if tied
            return Region(int(tops[nearest]), int(lefts[nearest]), side)
    return Region((height - side) // 2, (width - side) // 2, side)


def thumbnail(image: np.ndarray, longest_side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """Downscale (area averaging) so that the longer side is at most ``longest_side``; never upscale."""
    height, width = image.shape[:2]
    scale = longest_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_webp(image: np.ndarray, quality: int) -> bytes:
    """Lossy WebP bytes of a uint8 grey or RGB image."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    """``data:`` URI embedding ``data`` (for a report that is one file)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def safe_file_name(text: str) -> str:
    """A file-name-safe version of a dataset/item/algorithm name (letters, digits, ``-_.``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


@dataclass
class Tile:
    """One picture in the gallery: a source or an algorithm's result."""

    label: str
    kind: str  # "source" or "fused"
    thumbnail: str | None = None  # URL (relative path or data: URI) of the downscaled image
    close_up: str | None = None  # URL of the magnified region
    link: str | None = None  # relative URL of the lossless original, when there is one
    width: int = 0
    height: int = 0
    missing: str = ""  # why there is no picture (failed algorithm, source not found)


@dataclass
class GalleryItem:
    """One item of a dataset: its tiles and the close-up region shared by all of them."""

    dataset: str
    name: str
    anchor: str
    tiles: list[Tile] = field(default_factory=list)
    region: Region | None = None
    frame: dict[str, float] = field(default_factory=dict)  # the region as CSS percentages


class AssetWriter:
    """Stores the page's pictures either as files under a folder or as data URIs in the page.

    Files are written to ``folder`` and referred to as ``url_prefix/NAME``, so that a report can be
    built in a temporary folder and moved into place afterwards. Rebuilding a report reuses the
    pictures of the ``previous`` folder whose inputs are unchanged (see :meth:`reuse`): each group of
    files is recorded under a content key in ``index.json``, and reused files are hard-linked (or
    copied) into the new folder instead of being decoded and encoded again.
    """

    INDEX_NAME = "index.json"

    def __init__(self, folder: Path | None, url_prefix: str, page_folder: Path, previous: Path | None = None):
        self.folder = folder
        self.url_prefix = url_prefix.rstrip("/")
        self.page_folder = page_folder
        self.previous = previous if folder is not None else None
        self.previous_index = _read_index(self.previous)
        self.index: dict[str, dict] = {}
        self.bytes_written = 0
        self.files_written = 0
        self.files_reused = 0
        self._stored: list[str] = []

    def url(self, relative_name: str) -> str:
        """How the page refers to a file of the folder."""
        return "/".join(quote(part) for part in f"{self.url_prefix}/{relative_name}".split("/"))

    def store(self, relative_name: str, data: bytes, mime: str = "image/webp") -> str:
        """Keep ``data`` and return the URL by which the page refers to it."""
        self.bytes_written += len(data)
        self.files_written += 1
        if self.folder is None:
            return data_uri(data, mime)
        path = self.folder / relative_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)  # a fresh folder, moved into place as a whole when the report is done
        self._stored.append(relative_name)
        return self.url(relative_name)

    def begin(self) -> None:
        """Start recording the files of one cacheable group (see :meth:`remember`)."""
        self._stored = []

    def remember(self, key: str, value) -> None:
        """Record the files stored since :meth:`begin` and a JSON ``value`` under ``key``."""
        if self.folder is not None:
            self.index[key] = {"files": list(self._stored), "value": value}

    def reuse(self, key: str):
        """The value recorded under ``key`` by the previous build, with its files linked into the new
        folder; None when there is no such record or one of its files is gone."""
        record = self.previous_index.get(key)
        if record is None or self.folder is None:
            return None
        sources = [self.previous / name for name in record["files"]]
        if not all(source.is_file() for source in sources):
            return None
        for name, source in zip(record["files"], sources):
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:  # another file system, or links not supported
                shutil.copy2(source, target)
        self.files_reused += len(sources)
        self.index[key] = record
        return record["value"]

    def finish(self) -> None:
        """Write the index of this build into its folder (for the next build to reuse)."""
        if self.folder is not None:
            (self.folder / self.INDEX_NAME).write_text(json.dumps(self.index), encoding="utf-8")


def _read_index(folder: Path | None) -> dict:
    if folder is None or not (folder / AssetWriter.INDEX_NAME).is_file():
        return {}
    try:
        index = json.loads((folder / AssetWriter.INDEX_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a damaged index only costs a full rebuild
        return {}
    return index if isinstance(index, dict) else {}


def content_key(*parts) -> str:
    """SHA-256 over a JSON rendering of ``parts`` and this module's picture settings."""
    settings = [GALLERY_VERSION, THUMBNAIL_SIDE, THUMBNAIL_QUALITY, CLOSE_UP_QUALITY, REGION_FRACTION]
    text = json.dumps([settings, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_stamp(path: Path | None) -> list:
    """(path, size, modification time in ns) — what a reused picture depends on; [] for no file."""
    if path is None:
        return []
    try:
        status = Path(path).stat()
    except OSError:
        return [str(path)]
    return [str(Path(path).resolve()), status.st_size, status.st_mtime_ns]


def item_to_json(entry: GalleryItem) -> dict:
    """A gallery item as plain JSON data (for the reuse index)."""
    return asdict(entry)


def item_from_json(data: dict) -> GalleryItem:
    """The inverse of :func:`item_to_json`."""
    region = Region(**data["region"]) if data.get("region") else None
    return GalleryItem(dataset=data["dataset"], name=data["name"], anchor=data["anchor"],
                       tiles=[Tile(**tile) for tile in data["tiles"]], region=region, frame=dict(data["frame"]))


def relative_url(path: Path, page_folder: Path) -> str:
    """URL of ``path`` relative to the page's folder, with forward slashes (works from disk and served)."""
    relative = os.path.relpath(Path(path).resolve(), Path(page_folder).resolve())
    return "/".join(quote(part) for part in Path(relative).parts)


def gallery_item(dataset: str, item: str, sources: Sequence[tuple[str, np.ndarray | None, str]],
                 fused: Sequence[tuple[str, np.ndarray | None, Path | None, str]], assets: AssetWriter) -> GalleryItem:
    """Tiles for one item: ``sources`` are (label, image or None, why-missing) and ``fused`` are
    (algorithm, image or None, lossless PNG path or None, why-missing)."""
    anchor = f"item-{safe_file_name(dataset)}-{safe_file_name(item)}"
    entry = GalleryItem(dataset=dataset, name=item, anchor=anchor)
    available = [image for _, image, _, _ in fused if image is not None]
    reference = available[0] if available else next((image for _, image, _ in sources if image is not None), None)
    if reference is not None:
        entry.region = choose_region(available or [reference])
        entry.frame = entry.region.as_percentages(*reference.shape[:2])
    folder = f"{safe_file_name(dataset)}/{safe_file_name(item)}"
    pictures = [("source", label, image, None, missing) for label, image, missing in sources]
    pictures += [("fused", label, image, link, missing) for label, image, link, missing in fused]
    for index, (kind, label, image, link, missing) in enumerate(pictures):
        tile = Tile(label=label, kind=kind, missing=missing)
        if link is not None:
            tile.link = relative_url(link, assets.page_folder)
        if image is not None:
            tile.height, tile.width = image.shape[:2]
            stem = f"{folder}/{index:02d}-{safe_file_name(label)}"
            tile.thumbnail = assets.store(f"{stem}.webp", encode_webp(thumbnail(image), THUMBNAIL_QUALITY))
            if entry.region is not None and image.shape[:2] == reference.shape[:2]:
                tile.close_up = assets.store(f"{stem}-zoom.webp",
                                             encode_webp(np.ascontiguousarray(entry.region.crop(image)),
                                                         CLOSE_UP_QUALITY))
        entry.tiles.append(tile)
    return entry
