"""Finding data files: a local mirror, the user cache, or a checked download with pooch.

Every file the project needs from outside (dataset images, official checkpoints, the LP-SR
dictionary) is a :class:`RemoteFile` with an upstream URL and a SHA-256. :func:`fetch` looks
for it, in order, in each mirror directory (``--data-dir`` / ``FUSIONBENCH_DATA``, several
separated by ``os.pathsep``) at its mirror path or by its bare file name, then in the user
cache (``FUSIONBENCH_CACHE``, default the OS cache folder), and finally downloads it into the
cache with pooch, which checks the hash. A file whose bytes do not match is refused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote

from ..cache_key import file_sha256
from ..errors import ChecksumError, DataNotFoundError

DATA_ENVIRONMENT_VARIABLE = "FUSIONBENCH_DATA"
CACHE_ENVIRONMENT_VARIABLE = "FUSIONBENCH_CACHE"

_EXPLICIT_DATA_DIRECTORIES: list[Path] = []


@dataclass(frozen=True)
class RemoteFile:
    """A file with a public upstream location and a known SHA-256."""

    mirror_path: str  # relative path inside a mirror directory, e.g. "lytro/lytro-01-A.jpg"
    url: str
    sha256: str
    size: int | None = None

    @property
    def file_name(self) -> str:
        return self.mirror_path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LocalFile:
    """A user's own file (a dataset folder with a manifest): used where it is, hashed when needed."""

    path: Path
    sha256: str | None = None  # optional: checked by fetch when the manifest gives it

    @property
    def mirror_path(self) -> str:
        return str(self.path)

    @property
    def file_name(self) -> str:
        return self.path.name


def set_data_directories(directories: Iterable[str | os.PathLike] | str | None) -> None:
    """Set the mirror directories for this process (what ``--data-dir`` does)."""
    _EXPLICIT_DATA_DIRECTORIES.clear()
    if directories is None:
        return
    if isinstance(directories, (str, os.PathLike)):
        directories = str(directories).split(os.pathsep)
    _EXPLICIT_DATA_DIRECTORIES.extend(Path(directory).expanduser() for directory in directories if str(directory))


def data_directories() -> list[Path]:
    """Mirror directories in search order: ``--data-dir`` if given, else ``FUSIONBENCH_DATA``."""
    if _EXPLICIT_DATA_DIRECTORIES:
        return list(_EXPLICIT_DATA_DIRECTORIES)
    value = os.environ.get(DATA_ENVIRONMENT_VARIABLE, "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def cache_directory() -> Path:
    """Where downloads are kept: ``FUSIONBENCH_CACHE`` or the OS user cache folder."""
    value = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    if value:
        return Path(value).expanduser()
    import pooch

    return Path(pooch.os_cache("fusionbench"))


def find_in_mirrors(relative_path: str, directories: Sequence[Path] | None = None) -> Path | None:
    """The first existing ``DIR/relative_path`` among the mirror directories."""
    for directory in directories if directories is not None else data_directories():
        if (directory / relative_path).is_file():
            return directory / relative_path
    return None


def fetch(remote: RemoteFile | LocalFile, *, download: bool = True) -> Path:
    """Local path of ``remote``, verified by SHA-256 (see module docstring for the search order).

    A :class:`LocalFile` is returned where it is (checked against its SHA-256 if it has one).
    """
    if isinstance(remote, LocalFile):
        if not remote.path.is_file():
            raise DataNotFoundError(f"{remote.path}: no such file (listed in its dataset manifest)")
        if remote.sha256 and file_sha256(remote.path) != remote.sha256:
            raise ChecksumError(f"{remote.path}: SHA-256 does not match the one in its dataset manifest")
        return remote.path
    mirrored = find_in_mirrors(remote.mirror_path)
    if mirrored is not None:
        _verify(mirrored, remote)
        return mirrored
    # A file dropped into a mirror by its bare name is used only if its bytes are the right ones.
    for directory in data_directories():
        candidate = directory / remote.file_name
        if candidate.is_file() and file_sha256(candidate) == remote.sha256:
            return candidate
    cached = cache_directory() / remote.mirror_path
    if cached.is_file():
        _verify(cached, remote)
        return cached
    if not download:
        raise DataNotFoundError(_missing_message(remote, "not found"))
    return _download(remote, cached)


def _verify(path: Path, remote: RemoteFile) -> None:
    actual = file_sha256(path)
    if actual != remote.sha256:
        raise ChecksumError(f"{path}: SHA-256 {actual[:12]}… does not match the expected "
                            f"{remote.sha256[:12]}… of {remote.url}; the file is corrupt or a different "
                            f"version — delete it or replace it with the upstream file")


def _download(remote: RemoteFile, target: Path) -> Path:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = pooch.retrieve(remote.url, known_hash=f"sha256:{remote.sha256}",
                                    fname=target.name, path=target.parent, progressbar=False)
    except ValueError as error:  # pooch reports a hash mismatch as ValueError
        raise ChecksumError(f"download of {remote.url} failed its SHA-256 check ({error})") from None
    except Exception as error:  # network errors come in many types (requests, urllib3, OSError)
        raise DataNotFoundError(_missing_message(remote, f"download failed: {type(error).__name__}")) from None
    return Path(downloaded)


def _missing_message(remote: RemoteFile, reason: str) -> str:
    mirrors = ", ".join(str(directory) for directory in data_directories()) or "none set"
    return (f"{remote.file_name}: {reason}; put it at <data dir>/{remote.mirror_path} with "
            f"--data-dir or {DATA_ENVIRONMENT_VARIABLE} (mirrors searched: {mirrors}), or allow the "
            f"download from {remote.url}")


def github_raw_url(repository: str, commit: str, path: str) -> str:
    """Raw file URL of ``path`` in a GitHub repository pinned at ``commit``."""
    return f"https://raw.githubusercontent.com/{repository}/{commit}/{quote(path)}"
