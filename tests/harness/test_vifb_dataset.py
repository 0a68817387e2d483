"""VIFB is registered: 21 pairs, colour visible first, SHA-256 pinned to the upstream commit."""
from __future__ import annotations

import pytest

from fusionbench.datasets import get_dataset
from fusionbench.datasets.registry import VIFB_COMMIT
from fusionbench.errors import DataNotFoundError


def test_vifb_has_21_visible_infrared_pairs_with_pinned_upstream_files():
    dataset = get_dataset("vifb")
    assert dataset.family == "infrared-visual" and len(dataset.items) == 21
    names = [item.name for item in dataset.items]
    assert names[:3] == ["carLight", "carShadow", "carWhite"] and "walkingnight" in names
    for item in dataset.items:
        visible, infrared = item.sources
        assert visible.mirror_path == f"vifb/vi/{item.name}.jpg" and infrared.mirror_path == f"vifb/ir/{item.name}.jpg"
        assert VIFB_COMMIT in visible.url and visible.url.endswith(f"input/VI/{item.name}.jpg")
        assert len(visible.sha256) == 64


def test_the_single_channel_infrared_pairs_fuse_and_verify():
    from fusionbench.image_io import match_channels, read_image
    from fusionbench.registry import create_algorithm

    item = get_dataset("vifb").item("manWalking")
    try:
        paths = item.source_paths()
    except DataNotFoundError:
        pytest.skip("the VIFB mirror is not in FUSIONBENCH_DATA")
    visible, infrared = (read_image(path) for path in paths)
    assert visible.ndim == 3 and infrared.ndim == 2  # one of the 4 grey infrared JPEGs
    fused = create_algorithm("average").fuse(match_channels([visible, infrared]), family="infrared-visual")
    assert fused.shape == visible.shape
