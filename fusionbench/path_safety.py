"""Names from outside become path components only after validation; written paths stay inside.

Dataset names, item names and algorithm names come from manifests and plugins — files a stranger
may have written — and each becomes a component of a path in the run directory
(``fused/ALGORITHM/DATASET/ITEM.png``, ``tables/DATASET.md``). :func:`check_name` accepts letters,
digits, space and ``. _ + - ( ) , @ =``, starting with a letter or digit (so no leading dot, no
``..``, no separators, no control characters), at most 128 characters; :func:`refuse_case_twins`
refuses names that differ only in case (one file on case-insensitive file systems);
:func:`path_inside` checks that a path to be written resolves inside its root.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from .errors import ConfigError

_SAFE_NAME = re.compile(r"[^\W_][\w .+()\-,@=]{0,127}")
_SAFE_ASCII_PUNCTUATION = set(" .+()-,@=_")


def check_name(name: str, what: str, where: str) -> str:
    """``name`` if it is safe as one path component, else :class:`ConfigError` naming it and ``where``."""
    safe = (isinstance(name, str) and _SAFE_NAME.fullmatch(name) is not None and name == name.strip()
            and all(character.isalnum() or character in _SAFE_ASCII_PUNCTUATION for character in name)
            and ".." not in name)
    if not safe:
        raise ConfigError(f"{where}: {what} {name!r} is not a safe name (use letters, digits, space and "
                          f"._+-(),@= starting with a letter or digit, at most 128 characters; no '/', '\\\\', "
                          f"'..' or control characters)")
    return name


def storage_name(name: str, what: str, where: str) -> str:
    """The path component for an algorithm name: ``vifb:GFF`` is stored as ``vifb@GFF``.

    Published results are called ``SET:METHOD``; ``:`` is no file-name character on Windows (and
    names an alternate data stream on NTFS), so it is written as ``@``, which names may not contain.
    """
    if isinstance(name, str) and "@" in name:
        raise ConfigError(f"{where}: {what} {name!r} may not contain '@'")
    return check_name(name.replace(":", "@", 1) if isinstance(name, str) else name, what, where)


def refuse_case_twins(names: Iterable[str], what: str, where: str) -> None:
    """Refuse two names that are equal, or equal but for case (one file on macOS/Windows)."""
    seen: dict[str, str] = {}
    for name in names:
        folded = name.casefold()
        if folded in seen:
            same = "twice" if seen[folded] == name else f"as {seen[folded]!r} and {name!r} (equal but for case)"
            raise ConfigError(f"{where}: {what} {name!r} is defined {same}; names must be unique")
        seen[folded] = name


def path_inside(root: str | os.PathLike, relative: str | os.PathLike) -> Path:
    """``root / relative``, refused unless it resolves (symbolic links followed) inside ``root``."""
    root = Path(root).resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise ConfigError(f"{relative}: refusing to write outside {root}")
    return root / relative


def is_inside(folder: str | os.PathLike, path: str | os.PathLike) -> bool:
    """True when ``path`` resolves (symbolic links followed) inside ``folder``."""
    folder = Path(folder).resolve()
    resolved = Path(path).resolve()
    return resolved == folder or folder in resolved.parents
