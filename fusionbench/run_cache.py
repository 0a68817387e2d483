"""Content-keyed records of finished work inside a run directory, for resume.

One record per fused image, ``RUN_DIR/cache/KEY[:2]/KEY.json``, where ``KEY`` is
:func:`fused_key` — SHA-256 over the algorithm's identity (name, version, options, checkpoint
hash) and the SHA-256 of every source file. The record holds the fused PNG's path and SHA-256,
the fusion time, and every metric value computed on it, each under :func:`metric_key` (metric
name + version + protocol for two-source metrics + the fused key). Records are written through
a temporary file and an atomic rename, so a killed run leaves either the old or the new record.

A record is trusted only if its content digest matches (a record whose metric value was edited
by hand or by another tool is recomputed, not used), its PNG lies inside the run directory and
still has the recorded SHA-256; failures are never recorded, so a rerun retries them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .cache_key import content_key, file_sha256
from .image_io import write_text_atomic

CACHE_FOLDER = "cache"
RECORD_FORMAT = 1
DIGEST_FIELD = "record_sha256"


def record_digest(record: dict) -> str:
    """SHA-256 of a record's content, its own digest field left out."""
    return content_key({key: value for key, value in record.items() if key != DIGEST_FIELD})


def fused_key(identity: dict[str, Any], source_hashes: Sequence[str]) -> str:
    """Key of a fused image: the algorithm identity and the source files' SHA-256, in order."""
    return content_key("fused", RECORD_FORMAT, identity, list(source_hashes))


def metric_key(name: str, version: str, protocol: str | None, fused: str) -> str:
    """Key of a metric value; ``protocol`` is None for metrics it does not affect."""
    return content_key("metric", RECORD_FORMAT, name, version, protocol, fused)


class RunCache:
    """Reads and writes the records under ``RUN_DIR/cache``."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / CACHE_FOLDER

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def load(self, key: str, verify_png: bool = True) -> dict | None:
        """The record of ``key`` if present, readable and (optionally) its PNG intact."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("metrics"), dict):
            return None
        if record.get(DIGEST_FIELD) != record_digest(record):
            return None  # edited or damaged: recompute rather than trust it
        if verify_png and not self.png_intact(record):
            return None
        return record

    def png_intact(self, record: dict) -> bool:
        png = self.run_dir / str(record.get("png", ""))
        try:
            inside = self.run_dir.resolve() in png.resolve().parents
            return inside and png.is_file() and file_sha256(png) == record.get("png_sha256")
        except OSError:
            return False

    def store(self, record: dict) -> None:
        record[DIGEST_FIELD] = record_digest(record)
        write_text_atomic(self.path(record["key"]), json.dumps(record, sort_keys=True, indent=1))
