"""Tiled inference equals whole-image inference; large images stay within a memory budget."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fusionbench.models.fast_inference import FastIFCNN  # noqa: E402
from fusionbench.models.ifcnn_network import IFCNN  # noqa: E402
from fusionbench.models.tiling import RECEPTIVE_FIELD_RADIUS, tile_ranges, tiled_forward  # noqa: E402


def test_receptive_field_radius_is_five():
    # 7x7 (3) + 3x3 (1) + 3x3 (1) + 1x1 (0)
    assert RECEPTIVE_FIELD_RADIUS == 5


@pytest.mark.parametrize("length,tile", [(10, 3), (100, 100), (101, 50), (7, 64), (2000, 768)])
def test_tile_ranges_cover_without_gaps(length, tile):
    ranges = list(tile_ranges(length, tile))
    assert ranges[0][0] == 0 and ranges[-1][1] == length
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(ranges, ranges[1:]))
    assert all(0 < stop - start <= tile for start, stop in ranges)


@pytest.mark.parametrize("fast", [False, True])
def test_tiled_equals_whole_image(fast):
    torch.manual_seed(0)
    network = IFCNN("max").eval()
    model = FastIFCNN(network) if fast else network
    inputs = [torch.rand(1, 3, 90, 141) for _ in range(2)]

    def forward(tiles):
        with torch.no_grad():
            return model(tiles)

    whole = forward(inputs)
    tiled = tiled_forward(forward, inputs, tile_size=37)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() <= 1e-4


def test_every_tile_is_cut_at_one_shape():
    """Edge tiles are shifted inward, not cut short: one window shape for every forward pass."""
    image = torch.arange(95 * 140, dtype=torch.float32).reshape(1, 1, 95, 140)
    windows = []

    def forward(tiles):
        windows.append(tiles[0])
        return tiles[0] * 2

    tiled = tiled_forward(forward, [image], tile_size=40)
    assert len(windows) == 3 * 4
    assert {tuple(window.shape[-2:]) for window in windows} == {(32 + 10, 35 + 10)}
    torch.testing.assert_close(tiled, image * 2, rtol=0, atol=0)


def test_too_small_halo_is_refused():
    with pytest.raises(ValueError, match="halo"):
        tiled_forward(lambda tiles: tiles[0], [torch.zeros(1, 3, 10, 10)], tile_size=4, halo=4)


_PEAK_MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from fusionbench.models.checkpoints import load_checkpoint
    from fusionbench.models.inference import IFCNNRunner
    from fusionbench.allocator import tune_glibc_allocator
    tune_glibc_allocator()  # as every fusionbench algorithm does by default: the heap keeps its peak
    network, _ = load_checkpoint(sys.argv[1])
    runner = IFCNNRunner(network, device="cpu", fast=True, tile_size=768)
    random = np.random.default_rng(0)
    planes = [random.random((3, 2000, 3000), dtype=np.float32) for _ in range(2)]
    output = runner.run(planes)
    np.save(sys.argv[2], output)
    # VmHWM, not getrusage's ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork + exec,
    # so a pytest process that had grown past 2 GiB made this child report 2.03 GiB while it peaked at 1.1.
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print(json.dumps({"peak_rss_bytes": int(status["VmHWM"].split()[0]) * 1024}))
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak from /proc/self/status")
def test_large_image_tiled_equals_whole_and_stays_under_two_gigabytes(reference_file, tmp_path):
    """2000x3000, two inputs: tiled (subprocess, peak RSS measured) vs whole-image here. 17 s on the idle 2-core machine, about 55 s under heavy load."""
    checkpoint = reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")
    result = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_SCRIPT, str(checkpoint), str(tmp_path / "t.npy")],
                            capture_output=True, text=True, check=True)
    peak = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_bytes"]
    assert peak < 2 * 1024**3, f"peak RSS {peak / 1024**3:.2f} GiB"
    tiled = np.load(tmp_path / "t.npy")

    from fusionbench.models.checkpoints import load_checkpoint
    from fusionbench.models.inference import IFCNNRunner

    network, _ = load_checkpoint(checkpoint)
    random = np.random.default_rng(0)
    planes = [random.random((3, 2000, 3000), dtype=np.float32) for _ in range(2)]
    whole = IFCNNRunner(network, device="cpu", fast=True, tile_size=None).run(planes)
    assert np.abs(tiled - whole).max() <= 1e-4
