"""Large images in strips: the same output values as the whole-image code, in bounded memory.

The strip path only runs on images over ``strips.WHOLE_IMAGE_PIXELS``; these tests force it on small
images (threshold 0) with the smallest chunks and strips, so that every image crosses many strip
boundaries, and compare with the whole-image path value for value.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from fusionbench.baselines import strips
from fusionbench.baselines.strips import RunningBoxSum, row_pass
from fusionbench.image_io import read_image
from fusionbench.registry import create_algorithm


def force_strips(monkeypatch) -> None:
    """Every image takes the strip path, in the smallest chunks and strips (16 core rows for LP)."""
    monkeypatch.setattr(strips, "WHOLE_IMAGE_PIXELS", 0)
    monkeypatch.setattr(strips, "CHUNK_PIXELS", 1)
    monkeypatch.setattr(strips, "STRIP_PIXELS", 1)
    monkeypatch.setattr(strips, "CORE_PER_HALO", 0)


def random_sources(count: int, shape: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    generator = np.random.default_rng(seed)
    return [generator.integers(0, 256, shape, dtype=np.uint8) for _ in range(count)]


@pytest.fixture
def real_pairs(reference_file):
    lytro = [read_image(reference_file(f"lytro/lytro-06-{side}.jpg")) for side in "AB"]
    tno = [read_image(reference_file(f"tno-iv/Camp1_{side}.png")) for side in ("Vis", "IR")]
    return {"lytro-06 colour": lytro, "tno-iv Camp1 grey": tno}


@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
@pytest.mark.parametrize("radius, normalize", [(45, False), (7, False), (15, True), (1, False)])
def test_running_box_sum_is_opencvs_box_filter(border, radius, normalize):
    generator = np.random.default_rng(radius)
    size = 2 * radius + 1
    for rows in (size, 97, 400):
        plane = generator.random((rows, 53)) * 255.0
        expected = cv2.boxFilter(plane, cv2.CV_64F, (size, size), normalize=normalize, borderType=border)
        running = RunningBoxSum(rows, radius, border, 1.0 / (size * size) if normalize else None)
        outputs, start = [], 0
        while start < rows:  # chunks of random heights, one row included
            stop = min(rows, start + int(generator.integers(1, 80)))
            outputs.append(running.push(row_pass(plane[start:stop], size, border)))
            start = stop
        np.testing.assert_array_equal(np.concatenate(outputs), expected)
        assert running.emitted == rows


def test_a_box_filter_cannot_be_cut_into_independent_strips():
    """Why RunningBoxSum exists: OpenCV's running column sum makes each value depend on the rows above."""
    plane = np.random.default_rng(0).integers(0, 256, (600, 200)) / 255.0
    whole = cv2.boxFilter(plane, cv2.CV_64F, (91, 91), normalize=False, borderType=cv2.BORDER_CONSTANT)
    strip = cv2.boxFilter(plane[255:], cv2.CV_64F, (91, 91), normalize=False, borderType=cv2.BORDER_CONSTANT)
    assert not np.array_equal(strip[45:-45], whole[300:-45])  # halo 45 = the filter's reach, still not equal


@pytest.mark.parametrize("algorithm", ["gff", "lp", "lpsr"])
def test_strip_path_gives_the_whole_image_values(monkeypatch, real_pairs, algorithm):
    cases = dict(real_pairs)
    cases["random 3 colour sources, odd size"] = random_sources(3, (203, 317, 3))
    cases["random grey, a few rows more than gff's minimum"] = random_sources(2, (107, 96))
    cases["random colour, odd height, 6 strips of 16 rows"] = random_sources(2, (93, 130, 3))
    fuser = create_algorithm(algorithm)
    whole = {name: fuser.fuse(sources) for name, sources in cases.items()}
    force_strips(monkeypatch)
    for name, sources in cases.items():
        np.testing.assert_array_equal(fuser.fuse(sources), whole[name], err_msg=f"{algorithm}, {name}")


def test_pyramid_strips_need_the_whole_halo(monkeypatch, real_pairs):
    """The halo is what makes strips exact: 16 rows less (still aligned) and LP values change."""
    from fusionbench.baselines import lp_fusion

    sources = real_pairs["lytro-06 colour"]
    whole = create_algorithm("lp").fuse(sources)
    force_strips(monkeypatch)
    np.testing.assert_array_equal(create_algorithm("lp").fuse(sources), whole)
    monkeypatch.setattr(lp_fusion, "pyramid_halo", lambda levels: 3 * 2 ** levels)
    assert not np.array_equal(create_algorithm("lp").fuse(sources), whole)


@pytest.mark.parametrize("count, shape", [(2, (61, 47, 3)), (3, (50, 40)), (130, (9, 7, 3))])
def test_average_and_max_abs_in_strips_are_the_whole_stack_formulas(monkeypatch, count, shape):
    sources = random_sources(count, shape, seed=count)
    total = np.sum([image.astype(np.int64) for image in sources], axis=0)
    expected_average = ((2 * total + count) // (2 * count)).astype(np.uint8)
    expected_maximum = np.maximum.reduce(sources).astype(np.uint8)
    force_strips(monkeypatch)  # one row per strip
    np.testing.assert_array_equal(create_algorithm("average").fuse(sources), expected_average)
    np.testing.assert_array_equal(create_algorithm("max-abs").fuse(sources), expected_maximum)


PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from fusionbench.registry import create_algorithm

    def peak():  # VmHWM: this process's own peak resident size (ru_maxrss would inherit the parent's)
        with open("/proc/self/status") as status:
            return int(status.read().split("VmHWM:")[1].split()[0]) * 1024

    name, side, colour = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "colour"
    generator = np.random.default_rng(0)
    shape = (side, side, 3) if colour else (side, side)
    sources = [generator.integers(0, 256, shape, dtype=np.uint8) for _ in range(2)]
    algorithm = create_algorithm(name)
    before = peak()
    fused = algorithm.fuse(sources, family="multi-focus")
    print(json.dumps({"bytes_per_pixel": (peak() - before) / (side * side), "shape": list(fused.shape)}))
""")


def peak_bytes_per_source_pixel(algorithm: str, side: int, colour: bool) -> float:
    """Peak resident memory of one fusion above the process's peak before it, per pixel of one source."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, algorithm, str(side), "colour" if colour else "grey"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["bytes_per_pixel"]


#: Peak bytes per source pixel measured with this function (2-core development machine, 4000 x 4000
#: pair): gff 15.0 colour / 11.2 grey, lp 22.0 / 20.0, lpsr 42.5 / 33.3 (lpsr includes importing Numba,
#: ~130 MB). Before the strip path (2000 x 2000 pair): gff 152 / 151, lp 185 / 89, lpsr 218 / 121.
PEAK_LIMIT = 90.0


@pytest.mark.slow  # a 4000 x 4000 pair per algorithm: 4-8 s each on the 2-core machine (~30 s under heavy load)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM from /proc/self/status")
@pytest.mark.parametrize("algorithm, colour", [("gff", True), ("lp", True), ("lpsr", False)])
def test_large_pair_peak_memory_is_bounded(algorithm, colour):
    measured = peak_bytes_per_source_pixel(algorithm, 4000, colour)
    assert measured <= PEAK_LIMIT, f"{algorithm}: {measured:.1f} bytes per source pixel"
