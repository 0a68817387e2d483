"""Per-image intermediate maps kept by the image's content, for metrics that meet the same image
more than once.

VIFB's dialect computes each metric on the three colour planes of a fused image separately and
pairs the infrared image's only plane (or its three equal planes) with each of them, so the
infrared image's maps (e.g. Q_CB's masked contrast, 40% of Q_CB's work per image) would be
computed three times; and every method's fused image of an item meets the same sources. The key is
the bytes of the image (SHA-256: about 0.3 ms per 768x576 plane where the CPU has SHA
instructions, 2.5x faster than BLAKE2b there) with its dtype and shape, and the caller's
description of the computation, so a hit returns exactly what the computation returned for equal
input: values cannot change.

Entries are kept while their maps fit in :data:`MEMO_BYTES` (least recently used dropped first).
Threads computing the same key wait for the first instead of computing it again (the planes of a
dialect's expensive metrics run in threads).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Callable, Hashable, Iterable

import numpy as np

#: Bytes of maps kept (about 18 maps of a 768x576 image in float64).
MEMO_BYTES = 64 << 20

_ENTRIES: "OrderedDict[tuple, Future]" = OrderedDict()
_LOCK = threading.Lock()


def content_key(image: np.ndarray) -> tuple:
    """(dtype, shape, SHA-256 of the bytes) of an array (any strides); computed once per array
    object inside :func:`keys_kept_for` that names it."""
    entry = _KEPT_KEYS.get(id(image))
    if entry is not None and entry[0] is image:
        if entry[1] is None:  # two threads may both compute it: the same key
            entry[1] = _hashed_key(image)
        return entry[1]
    return _hashed_key(image)


def _hashed_key(image: np.ndarray) -> tuple:
    data = np.ascontiguousarray(image)
    return data.dtype.str, data.shape, hashlib.sha256(data.view(np.uint8).reshape(-1)).digest()


#: id(array) -> [array, its key or None, how many open keys_kept_for blocks name it].
_KEPT_KEYS: dict[int, list] = {}


@contextmanager
def keys_kept_for(arrays: Iterable[np.ndarray]):
    """Inside the block, :func:`content_key` hashes each of these array objects once (a dialect's
    metrics meet the same colour plane views several times each: Q_CB and Q_CV key 18 planes
    of a pair where 7 are distinct). The caller guarantees that their contents do not change
    inside the block; the entries hold the arrays, so an id cannot be reused by another array."""
    named = list({id(array): array for array in arrays}.values())
    with _LOCK:
        for array in named:
            entry = _KEPT_KEYS.get(id(array))
            if entry is None:
                _KEPT_KEYS[id(array)] = [array, None, 1]
            else:
                entry[2] += 1
    try:
        yield
    finally:
        with _LOCK:
            for array in named:
                entry = _KEPT_KEYS[id(array)]
                entry[2] -= 1
                if entry[2] == 0:
                    del _KEPT_KEYS[id(array)]


def memoized(kind: Hashable, image: np.ndarray | None, compute: Callable[[], np.ndarray], key: tuple | None = None
             ) -> np.ndarray:
    """``compute()`` (a map of ``image``), or what it returned before for ``kind`` and equal
    ``image``. ``key``: ``content_key(image)`` when the caller has it already (several maps of one
    image: one hash), or the content keys of several images a map depends on (``image`` None).
    The returned array is read-only (it may be shared)."""
    key = (kind, content_key(image) if key is None else key)
    with _LOCK:
        entry = _ENTRIES.get(key)
        owner = entry is None
        if owner:
            entry = _ENTRIES[key] = Future()
        else:
            _ENTRIES.move_to_end(key)
    if owner:
        try:
            value = compute()
        except BaseException as error:
            with _LOCK:
                _ENTRIES.pop(key, None)
            entry.set_exception(error)
            raise
        value.setflags(write=False)
        entry.set_result(value)
        _evict()
    return entry.result()


def clear() -> None:
    """Forget every entry."""
    with _LOCK:
        _ENTRIES.clear()


def _evict() -> None:
    with _LOCK:
        finished = [(key, entry.result().nbytes) for key, entry in _ENTRIES.items() if entry.done()]
        total = sum(size for _, size in finished)
        for key, size in finished:  # oldest first
            if total <= MEMO_BYTES:
                break
            del _ENTRIES[key]
            total -= size
