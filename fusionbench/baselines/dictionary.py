"""The learned dictionary of LP-SR (Liu, Liu & Wang 2015): 64 x 256, 8x8 patches, 256 atoms.

A data file, not code: it is fetched from Yu Liu's public MST-SR-Fusion-Toolbox (pinned commit,
SHA-256 checked) or found in a mirror directory (``--data-dir`` / ``FUSIONBENCH_DATA``) at
``lpsr/D_100000_256_8.mat``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..datasets.fetching import RemoteFile, fetch, github_raw_url
from ..errors import DataNotFoundError

DICTIONARY_FILE = RemoteFile(
    mirror_path="lpsr/D_100000_256_8.mat",
    url=github_raw_url("yuliu316316/MST-SR-Fusion-Toolbox", "6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e",
                       "sparsefusion/Dictionary/D_100000_256_8.mat"),
    sha256="ca4e6fc769ccdab7e0854c0f76d8103802fce05f8e56a8c0b461c9a7c37f4e10",
)


@lru_cache(maxsize=1)
def load_dictionary() -> np.ndarray:
    """The dictionary with unit-norm columns (``D ./ sqrt(sum(D.^2))`` as ``sparse_fusion.m``), read-only."""
    from scipy.io import loadmat

    path = fetch(DICTIONARY_FILE)
    try:
        atoms = np.asarray(loadmat(str(path))["D"], dtype=np.float64)
    except (KeyError, ValueError, OSError) as error:
        raise DataNotFoundError(f"{path}: not a readable LP-SR dictionary ({error})") from None
    if atoms.shape != (64, 256):
        raise DataNotFoundError(f"{path}: dictionary has shape {atoms.shape}, expected (64, 256)")
    normalised = atoms / np.sqrt(np.sum(atoms * atoms, axis=0, keepdims=True))
    normalised.setflags(write=False)
    return normalised
