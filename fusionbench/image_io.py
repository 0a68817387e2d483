"""Image input/output shared by metrics, baselines, models and the harness.

Decoding rules (one place, so that every component sees the same pixels):

* Images decode to ``uint8`` arrays: ``H x W`` for grey, ``H x W x 3`` in RGB order for colour.
  The decoder is never asked to convert colour to grey: JPEG and colour PNG keep their stored
  channels (libjpeg-turbo through Pillow gives exactly the pixels MATLAB/Octave saw).
* 16-bit images are scaled to 8 bits as ``round(v * 255 / 65535)``.
* Float images (e.g. float TIFF) must be finite; values in [0, 1] are scaled by 255, values in
  [0, 255] are used as they are, both then rounded; anything else is refused.
* An alpha channel is dropped when it is fully opaque and refused otherwise, because compositing
  over an arbitrary background would invent pixel values.
* Grey conversion is MATLAB's ``rgb2gray`` on uint8 with its rounding (see :func:`rgb_to_grey`),
  which is what the reference metric code used; OpenCV's conversion differs by one level on
  many pixels.

Writing is lossless PNG through a temporary file and an atomic rename, so an interrupted run
never leaves a half-written image under its final name.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageError, InputMismatchError

#: MATLAB ``rgb2gray`` weights (the first row of the inverse of the NTSC YIQ matrix).
MATLAB_GREY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])

#: Largest image decoded, in pixels (width x height), checked from the header before decoding: a
#: 69-byte PNG may declare 25000 x 25000 pixels and take 2.2 GB and seconds to "decode". Raised by
#: ``--max-pixels`` (:func:`set_max_pixels`), which also sets the environment variable for workers.
DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_VARIABLE = "FUSIONBENCH_MAX_PIXELS"
# Our own check comes first; Pillow's (which only warns below twice its limit) is the backstop.
Image.MAX_IMAGE_PIXELS = None

_OPENCV_FORMATS = {"PNG", "TIFF"}  # formats whose bit depth Pillow may silently reduce


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8 grey (H x W) or RGB (H x W x 3).

    Raises :class:`ImageError` with the file name for a missing, unreadable, corrupt, empty or
    otherwise unusable file (see the module docstring for the conversion rules).
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory, expected an image file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot be read ({_short(error)})") from None
    return decode_image(data, str(path))


def max_pixels() -> int:
    """The decoding limit in pixels: ``FUSIONBENCH_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`."""
    try:
        return max(1, int(os.environ.get(MAX_PIXELS_VARIABLE, DEFAULT_MAX_PIXELS)))
    except ValueError:
        return DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int) -> None:
    """Raise or lower the decoding limit for this process and the workers it starts."""
    os.environ[MAX_PIXELS_VARIABLE] = str(int(limit))


def _check_declared_size(image: Image.Image, label: str) -> None:
    width, height = image.size
    if width * height > max_pixels():
        raise ImageError(f"{label}: declares {width} x {height} pixels, more than the limit of "
                         f"{max_pixels():,} (a decompression bomb?); raise it with --max-pixels if the image is real")


def decode_image(data: bytes, label: str = "image") -> np.ndarray:
    """Decode an encoded image (the bytes of a PNG, JPEG, TIFF, ... file) like :func:`read_image`.

    ``label`` names the image in error messages (its file name, usually). Run workers decode the
    bytes they were sent, so that no shared file system is needed.
    """
    if len(data) == 0:
        raise ImageError(f"{label}: file is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_declared_size(image, label)  # from the header alone, before any pixel is decoded
            image.load()  # forces a full decode: truncated or corrupt data raises here
            file_format = image.format
            array = _pillow_to_array(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{label}: not a readable image ({_short(error)})") from None
    if file_format in _OPENCV_FORMATS:
        array = _decode_with_opencv(data, fallback=array)
    return _finish(array, label)


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _pillow_to_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    return np.asarray(image)


def _decode_with_opencv(data: bytes, fallback: np.ndarray) -> np.ndarray:
    """Decode PNG/TIFF with OpenCV to keep 16-bit and float samples that Pillow may truncate."""
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        return fallback
    if decoded.ndim == 3 and fallback.ndim == 3 and fallback.shape[2] == 2 and decoded.shape[2] == 4:
        # Grey + alpha: OpenCV expands it to BGRA; keep it grey (one grey channel, then alpha).
        decoded = decoded[:, :, [0, 3]]
    elif decoded.ndim == 3:
        if decoded.shape[2] == 3:
            decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
        elif decoded.shape[2] == 4:
            decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    if decoded.shape[:2] != fallback.shape[:2]:
        return fallback  # e.g. multi-page TIFF: trust Pillow's first page
    return decoded


def _finish(array: np.ndarray, path: str) -> np.ndarray:
    if array.size == 0 or array.ndim < 2 or min(array.shape[:2]) == 0:
        raise ImageError(f"{path}: image is empty")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] in (2, 4):
        array = _drop_opaque_alpha(array, path)
    if array.ndim == 3 and array.shape[2] != 3:
        raise ImageError(f"{path}: has {array.shape[2]} channels, expected 1 (grey) or 3 (RGB)")
    if array.ndim > 3:
        raise ImageError(f"{path}: has {array.ndim} dimensions, expected a 2-D image")
    return np.ascontiguousarray(to_uint8(array, path))


def _drop_opaque_alpha(array: np.ndarray, path: str) -> np.ndarray:
    alpha = array[:, :, -1]
    opaque = np.iinfo(alpha.dtype).max if np.issubdtype(alpha.dtype, np.integer) else 1.0
    if not np.all(alpha == opaque):
        raise ImageError(
            f"{path}: has a transparent alpha channel; flatten it onto a background first"
        )
    colour = array[:, :, :-1]
    return colour[:, :, 0] if colour.shape[2] == 1 else colour


def to_uint8(array: np.ndarray, label: str = "image") -> np.ndarray:
    """Convert decoded samples to uint8 by the module's rules (16-bit scaled, float checked)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype in (np.uint16, np.int32, np.uint32, np.int64) and array.min() >= 0 and array.max() <= 65535:
        return np.floor(array.astype(np.float64) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        return _float_to_uint8(array.astype(np.float64), label)
    raise ImageError(f"{label}: unsupported sample type {array.dtype} with range "
                     f"[{array.min()}, {array.max()}]")


def _float_to_uint8(array: np.ndarray, label: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise ImageError(f"{label}: contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise ImageError(f"{label}: float values span [{low:g}, {high:g}], expected [0, 1] or [0, 255]")
    scale = 255.0 if high <= 1.0 else 1.0
    return np.floor(array * scale + 0.5).astype(np.uint8)


def rgb_to_grey(image: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on uint8, rounded to uint8: ``round(0.298936 R + 0.587043 G + 0.114021 B)``.

    Grey input is returned unchanged. Rounding is half away from zero, like MATLAB's uint8 cast.
    """
    if image.ndim == 2:
        return image
    grey = image.astype(np.float64) @ MATLAB_GREY_WEIGHTS
    return np.floor(grey + 0.5).astype(np.uint8)


def to_colour(image: np.ndarray) -> np.ndarray:
    """Repeat a grey image to three identical channels; RGB input is returned unchanged."""
    if image.ndim == 3:
        return image
    return np.repeat(image[:, :, None], 3, axis=2)


def is_grey(image: np.ndarray) -> bool:
    """True for a single-channel image."""
    return image.ndim == 2


def match_channels(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Grey sources repeated to RGB when others are colour (a colour visible image with a
    single-channel infrared one, as 4 of VIFB's 21 pairs are); otherwise the images as they are.

    The grey plane is thus paired with each colour plane, as VIFB's methods and metrics do.
    """
    if all(image.ndim == 2 for image in images) or all(image.ndim == 3 for image in images):
        return list(images)
    return [to_colour(image) for image in images]


def check_sources(images: Sequence[np.ndarray], labels: Sequence[str] | None = None,
                  minimum: int = 1) -> None:
    """Refuse source sets that cannot be fused or compared: too few, or mismatched size/channels."""
    labels = list(labels) if labels is not None else [f"source {i + 1}" for i in range(len(images))]
    if len(images) < minimum:
        raise InputMismatchError(f"need at least {minimum} source images, got {len(images)}")
    first, first_label = images[0], labels[0]
    for image, label in zip(images[1:], labels[1:]):
        if image.shape[:2] != first.shape[:2]:
            raise InputMismatchError(
                f"{label} is {image.shape[1]}x{image.shape[0]} but {first_label} is "
                f"{first.shape[1]}x{first.shape[0]}; sources must have the same size")
        if image.ndim != first.ndim:
            raise InputMismatchError(
                f"{label} has {_channels(image)} channel(s) but {first_label} has "
                f"{_channels(first)}; sources must all be grey or all be colour")


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def encode_png(image: np.ndarray, label: str = "image") -> bytes:
    """Lossless PNG bytes of a uint8 grey or RGB image."""
    if image.dtype != np.uint8:
        raise ImageError(f"{label}: refusing to write a {image.dtype} image, expected uint8")
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise ImageError(f"{label}: PNG encoding failed")
    return encoded.tobytes()


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 grey or RGB image as lossless PNG, atomically (temp file + rename)."""
    path = Path(path)
    data = encode_png(image, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would (0666 & ~umask).
        os.chmod(temporary, 0o666 & ~_UMASK)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back: done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))
