"""Content keys for cached work.

A fused image is keyed by the algorithm's identity (name, version, options and checkpoint
hash) and the SHA-256 of every source file; a metric value adds the metric's name and version
and the fused image's key. Changing a metric's values means bumping its version, which
invalidates exactly the values it must.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, memoised on (path, size, modification time)."""
    path = Path(path)
    status = path.stat()
    memo_key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if memo_key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _FILE_HASHES[memo_key] = digest.hexdigest()
    return _FILE_HASHES[memo_key]


def content_key(*parts: Any) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (dict keys sorted, no whitespace)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
