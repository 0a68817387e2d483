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
JPEG (quality 80: a tenth of the encoding time of WebP, which was most of a paper report's time, for
files about a third larger); close-ups are the region at native resolution as lossy WebP (quality 92,
shown magnified with nearest-neighbour scaling so that fusion artefacts stay visible). The lossless
PNGs are only linked, never copied or embedded.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import cv2
import numpy as np
from PIL import Image

from ..image_io import decode_image, max_pixels, read_image, rgb_to_grey

#: Bump when the pictures change (it invalidates pictures reused from an earlier report).
GALLERY_VERSION = "2"
THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 80
CLOSE_UP_QUALITY = 92
#: libwebp's effort (0 fastest .. 6 smallest) for the close-ups. 2 encodes about twice as fast as
#: the default 4 for files about 4% larger at the same quality.
WEBP_METHOD = 2
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
    greys = np.empty((len(images), *images[0].shape[:2]))  # filled in place: no per-image float copies
    for index, image in enumerate(images):
        greys[index] = rgb_to_grey(image)
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


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG bytes (optimised Huffman tables) of a uint8 grey or RGB image (libjpeg-turbo,
    through OpenCV, which releases the GIL while it encodes)."""
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def encode_webp(image: np.ndarray, quality: int) -> bytes:
    """Lossy WebP bytes of a uint8 grey or RGB image (libwebp ``method`` :data:`WEBP_METHOD`)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="WEBP", quality=quality, method=WEBP_METHOD)
    return buffer.getvalue()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"


def read_picture(path: str | os.PathLike) -> np.ndarray:
    """``image_io.read_image(path)``, decoded once where that is known to give the same pixels.

    ``read_image`` decodes a PNG with Pillow and then again with OpenCV (whose pixels it keeps, to
    preserve 16-bit samples). For the PNGs a run writes — complete, 8-bit grey or RGB, within the
    pixel limit — OpenCV's decode alone gives exactly those pixels at half the cost; any other file
    (JPEG, 16-bit, palette, alpha, truncated, too large, unreadable) goes through ``read_image``
    itself, with its checks and error messages.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError:
        return read_image(path)  # raises the ImageError that names the problem
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) > 26 and data[24] == 8 \
            and data[25] in (0, 2) and data.endswith(_PNG_END):  # 8-bit grey (0) or RGB (2), ends with IEND
        width, height = struct.unpack(">II", data[16:24])
        if 0 < width * height <= max_pixels():
            decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if decoded is not None and decoded.dtype == np.uint8 and decoded.shape[:2] == (height, width):
                if data[25] == 0 and decoded.ndim == 2:
                    return np.ascontiguousarray(decoded)
                if data[25] == 2 and decoded.ndim == 3 and decoded.shape[2] == 3:
                    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return decode_image(data, str(path))


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

    def can_reuse(self, key: str) -> bool:
        """Whether :meth:`reuse` will find ``key``'s record with all its files."""
        record = self.previous_index.get(key)
        return record is not None and self.folder is not None and all(
            (self.previous / name).is_file() for name in record["files"])

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
    settings = [GALLERY_VERSION, THUMBNAIL_SIDE, THUMBNAIL_QUALITY, CLOSE_UP_QUALITY, REGION_FRACTION, WEBP_METHOD]
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
    return _relative_url(path, os.path.realpath(page_folder))


def _relative_url(path: Path, resolved_page_folder: str) -> str:
    relative = os.path.relpath(os.path.realpath(path), resolved_page_folder)
    return "/".join(quote(part) for part in Path(relative).parts)


def gallery_item(dataset: str, item: str, sources: Sequence[tuple[str, np.ndarray | None, str]],
                 fused: Sequence[tuple[str, np.ndarray | None, Path | None, str]], assets: AssetWriter) -> GalleryItem:
    """Tiles for one item: ``sources`` are (label, image or None, why-missing) and ``fused`` are
    (algorithm, image or None, lossless PNG path or None, why-missing)."""
    return store_item(render_item(dataset, item, sources, fused, assets.page_folder), assets)


@dataclass
class RenderedItem:
    """A gallery item whose pictures are encoded but not stored yet: the tiles' ``thumbnail`` and
    ``close_up`` hold the pictures' file names (relative to the picture folder), ``files`` their bytes."""

    entry: GalleryItem
    files: dict[str, bytes]


def render_item(dataset: str, item: str, sources: Sequence[tuple[str, np.ndarray | None, str]],
                fused: Sequence[tuple[str, np.ndarray | None, Path | None, str]], page_folder: Path) -> RenderedItem:
    """The work of :func:`gallery_item` that needs no :class:`AssetWriter`: choosing the region,
    downscaling and encoding. It touches no shared state, so items can be rendered in threads
    (OpenCV, numpy and libwebp release the GIL while they work)."""
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
    files: dict[str, bytes] = {}
    resolved_page_folder = os.path.realpath(page_folder)  # once per item, not per picture
    for index, (kind, label, image, link, missing) in enumerate(pictures):
        tile = Tile(label=label, kind=kind, missing=missing)
        if link is not None:
            tile.link = _relative_url(link, resolved_page_folder)
        if image is not None:
            tile.height, tile.width = image.shape[:2]
            stem = f"{folder}/{index:02d}-{safe_file_name(label)}"
            tile.thumbnail = f"{stem}.jpg"
            files[tile.thumbnail] = encode_jpeg(thumbnail(image), THUMBNAIL_QUALITY)
            if entry.region is not None and image.shape[:2] == reference.shape[:2]:
                tile.close_up = f"{stem}-zoom.webp"
                files[tile.close_up] = encode_webp(np.ascontiguousarray(entry.region.crop(image)), CLOSE_UP_QUALITY)
        entry.tiles.append(tile)
    return RenderedItem(entry, files)


def store_item(rendered: RenderedItem, assets: AssetWriter) -> GalleryItem:
    """Store the pictures of a rendered item through ``assets``; the item, with the pictures' URLs."""
    entry = rendered.entry
    for tile in entry.tiles:
        if tile.thumbnail is not None:
            tile.thumbnail = assets.store(tile.thumbnail, rendered.files[tile.thumbnail], _mime(tile.thumbnail))
        if tile.close_up is not None:
            tile.close_up = assets.store(tile.close_up, rendered.files[tile.close_up], _mime(tile.close_up))
    return entry


def _mime(name: str) -> str:
    return {".jpg": "image/jpeg", ".png": "image/png"}.get(Path(name).suffix, "image/webp")
