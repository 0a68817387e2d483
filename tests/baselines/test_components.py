"""The building blocks against hand-computable cases and independent references."""
from __future__ import annotations

import numpy as np
import pytest

from fusionbench.baselines import laplacian_pyramid as pyramid
from fusionbench.baselines.guided_filter import GuideStatistics, box_sum
from fusionbench.baselines.lp_fusion import select_band_pass
from fusionbench.baselines.lpsr import sparse_fuse_base
from fusionbench.baselines.sparse_coding import omp_error_constrained
from fusionbench.errors import ChecksumError


def test_symmetric_extension_mirrors_without_edge_and_zeroes_corners():
    x = np.arange(1.0, 13.0).reshape(3, 4)
    extended = pyramid.symmetric_extension(x, 2)
    assert extended.shape == (7, 8)
    np.testing.assert_array_equal(extended[2:5, 2:6], x)
    np.testing.assert_array_equal(extended[2:5, 1], x[:, 1])  # es2: Y(:, n) = X(:, 2)
    np.testing.assert_array_equal(extended[2:5, 0], x[:, 2])
    np.testing.assert_array_equal(extended[2:5, 6], x[:, 2])  # X(:, s-1)
    np.testing.assert_array_equal(extended[1, 2:6], x[1])
    np.testing.assert_array_equal(extended[6, 2:6], x[0])  # X(z-2, :) with z = 3
    for corner in (extended[:2, :2], extended[:2, -2:], extended[-2:, :2], extended[-2:, -2:]):
        np.testing.assert_array_equal(corner, 0.0)


def test_pad_to_even_mirrors_one_row_and_column():
    x = np.arange(15.0).reshape(3, 5)
    padded = pyramid.pad_to_even(x)
    assert padded.shape == (4, 6)
    np.testing.assert_array_equal(padded[3, :5], x[1])
    np.testing.assert_array_equal(padded[:3, 5], x[:, 3])
    assert padded[3, 5] == x[1, 3]


@pytest.mark.parametrize("shape", [(17, 17), (33, 50), (61, 47)])
def test_pyramid_reconstructs_exactly(shape):
    plane = np.random.default_rng(0).uniform(0, 255, size=shape)
    levels = pyramid.decompose(plane, 4)
    assert [band.shape for band in levels.levels][0] == (shape[0] + shape[0] % 2, shape[1] + shape[1] % 2)
    np.testing.assert_allclose(pyramid.reconstruct(levels.levels, levels.base, levels.sizes), plane, atol=1e-9)


def test_expand_interpolates_with_twice_the_filter():
    coarse = np.zeros((6, 6))
    coarse[2, 2] = 1.0  # an impulse whose footprint stays clear of the mirrored borders
    fine = pyramid.expand(coarse)
    taps = 2 * pyramid.ANALYSIS_FILTER
    expected = np.zeros((12, 12))
    expected[2:7, 2:7] = np.outer(taps, taps)
    np.testing.assert_allclose(fine, expected)


@pytest.mark.parametrize("shape", [(4, 6), (34, 34), (66, 130), (260, 200)])
def test_opencv_pyramid_steps_equal_the_toolbox_arithmetic(shape):
    """reduce/fast_expand (cv2.pyrDown/pyrUp + border fix-ups) give exactly dec2(lowpass) and expand on
    dyadic values, which is what an integer image's pyramid holds."""
    generator = np.random.default_rng(shape[0])
    band = generator.integers(-2 ** 20, 2 ** 20, size=shape) / 2.0 ** 12
    np.testing.assert_array_equal(pyramid.reduce(band), pyramid.lowpass(band)[::2, ::2])
    coarse = band[: max(3, shape[0] // 2), : max(3, shape[1] // 2)]
    np.testing.assert_array_equal(pyramid.fast_expand(coarse), pyramid.expand(coarse))


def test_band_pass_rule_activity_consistency_and_ties():
    first = np.zeros((5, 5))
    second = np.full((5, 5), 2.0)
    first[2, 2] = 5.0  # one strong coefficient: its 3x3 maximum wins a 3x3 area ...
    chosen = select_band_pass(first, second)
    expected = np.full((5, 5), 2.0)
    # ... then the majority vote keeps input 1 where more than 4 of the 9 neighbouring decisions chose it:
    # 9 at the centre, 6 at its edge neighbours, only 4 at the diagonal ones.
    expected[1:4, 1:4] = 0.0
    expected[2, 2] = 5.0
    expected[1::2, 1::2][:2, :2] = 2.0
    np.testing.assert_array_equal(chosen, expected)
    # equal activity everywhere: ties go to the second input
    np.testing.assert_array_equal(select_band_pass(np.ones((4, 4)), -np.ones((4, 4))), -np.ones((4, 4)))


def test_box_sum_is_the_truncated_window_sum():
    x = np.random.default_rng(1).normal(size=(9, 12))
    radius = 3
    expected = np.array([[x[max(i - radius, 0):i + radius + 1, max(j - radius, 0):j + radius + 1].sum()
                          for j in range(12)] for i in range(9)])
    np.testing.assert_allclose(box_sum(x, radius), expected, rtol=1e-12, atol=1e-12)


def test_guided_filter_known_cases():
    guide = np.random.default_rng(2).uniform(size=(20, 25))
    statistics = GuideStatistics.of(guide, 4)
    np.testing.assert_allclose(statistics.filter(np.ones_like(guide), 0.1), 1.0, atol=1e-12)
    # the guide filtered by itself with a tiny eps is (almost) the guide: a = 1, b = 0
    np.testing.assert_allclose(statistics.filter(guide, 1e-12), guide, atol=1e-6)
    # a huge eps makes a ~ 0: the output is the truncated-window mean of the mean
    values = np.random.default_rng(3).uniform(size=guide.shape)
    count = box_sum(np.ones_like(guide), 4)
    mean = box_sum(values, 4) / count
    np.testing.assert_allclose(statistics.filter(values, 1e9), box_sum(mean, 4) / count, atol=1e-8)


@pytest.mark.filterwarnings("ignore:Orthogonal matching pursuit ended prematurely")
def test_omp_gives_scikit_learns_codes():
    """scikit-learn's orthogonal_mp_gram (one signal at a time) is the correctness reference."""
    sklearn = pytest.importorskip("sklearn.linear_model")
    from fusionbench.baselines.dictionary import load_dictionary

    try:
        atoms = load_dictionary()
    except Exception as error:  # offline without the mirror
        pytest.skip(f"LP-SR dictionary unavailable: {error}")
    generator = np.random.default_rng(4)
    image = np.cumsum(np.cumsum(generator.normal(size=(40, 40)), axis=0), axis=1)
    patches = np.lib.stride_tricks.sliding_window_view(image, (8, 8))[::3, ::3].reshape(-1, 64)
    patches = np.vstack([patches - patches.mean(axis=1, keepdims=True), np.zeros((1, 64))])
    codes = omp_error_constrained(patches, atoms, 0.1, block=4)
    expected = sklearn.orthogonal_mp_gram(atoms.T @ atoms, (patches @ atoms).T, tol=0.01,
                                          norms_squared=np.einsum("pn,pn->p", patches, patches)).T
    np.testing.assert_array_equal(codes != 0, expected != 0)
    np.testing.assert_allclose(codes, expected, atol=1e-6)
    residual = np.linalg.norm(patches - codes @ atoms.T, axis=1)
    assert residual.max() <= 0.1 + 1e-9
    assert not codes[-1].any()  # a zero signal needs no atom


def test_signals_stopping_early_do_not_disturb_their_block():
    """Signals that stop after a few atoms share a block with ones that need ~60: same codes as coded alone."""
    from fusionbench.baselines.dictionary import load_dictionary

    try:
        atoms = load_dictionary()
    except Exception as error:
        pytest.skip(f"LP-SR dictionary unavailable: {error}")
    generator = np.random.default_rng(5)
    busy = generator.normal(scale=40.0, size=(6, 64))
    quick = np.vstack([np.zeros(64), 1e-9 * generator.normal(size=64), 50.0 * atoms[:, 3], 20.0 * atoms[:, 7]])
    mixed = np.vstack([busy[:3], quick, busy[3:]])
    together = omp_error_constrained(mixed, atoms, 0.1, threads=1, block=len(mixed))
    alone = np.vstack([omp_error_constrained(signal[None], atoms, 0.1, threads=1) for signal in mixed])
    assert np.isfinite(together).all()
    np.testing.assert_allclose(together, alone, atol=1e-9)
    assert (together[5] != 0).sum() == 1 and together[5, 3] == pytest.approx(50.0)


def test_omp_codes_do_not_depend_on_the_thread_count():
    """Threads take whole blocks, so the codes are the same to the bit with 1, 2 or 3 threads."""
    generator = np.random.default_rng(7)
    atoms = generator.normal(size=(64, 256))
    atoms /= np.linalg.norm(atoms, axis=0)
    signals = generator.normal(scale=30.0, size=(45, 64))
    for block in (4, 16):
        reference = omp_error_constrained(signals, atoms, 0.1, threads=1, block=block)
        for threads in (2, 3):
            np.testing.assert_array_equal(omp_error_constrained(signals, atoms, 0.1, threads=threads, block=block),
                                          reference)


def test_omp_kernel_compiles_where_numba_cannot_cache(monkeypatch):
    """A read-only install without a writable home: ``njit(cache=True)`` raises, the kernel compiles in memory."""
    import importlib.util

    import numba

    original = numba.njit

    def njit_without_cache_directory(*arguments, cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return original(*arguments, **options)

    monkeypatch.setattr(numba, "njit", njit_without_cache_directory)
    # A separate copy of the module, so the package's own (cached) kernel stays as it is.
    specification = importlib.util.find_spec("fusionbench.baselines.omp_kernel")
    kernel = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(kernel)
    generator = np.random.default_rng(6)
    atoms = generator.normal(size=(16, 40))
    atoms /= np.linalg.norm(atoms, axis=0)
    signals = generator.normal(size=(5, 16))
    codes = np.zeros((5, 40))
    kernel.code_signals(signals, atoms, np.ascontiguousarray(atoms.T), 0.01, codes, 2)
    np.testing.assert_allclose(codes, omp_error_constrained(signals, atoms, 0.1), atol=1e-12)
    assert np.linalg.norm(signals - codes @ atoms.T, axis=1).max() <= 0.1 + 1e-12


def test_sparse_base_leaves_uncovered_cells_averaged():
    """Width 11: patches start at columns 0 and 2 (cover 0..9); column 10 is not covered -> (A + B) / 2."""
    from fusionbench.baselines.dictionary import load_dictionary

    try:
        load_dictionary()
    except Exception as error:
        pytest.skip(f"LP-SR dictionary unavailable: {error}")
    generator = np.random.default_rng(5)
    first = generator.uniform(0, 255, size=(10, 11, 1))
    second = generator.uniform(0, 255, size=(10, 11, 1))
    fused = sparse_fuse_base(first, second)
    np.testing.assert_array_equal(fused[:, 10], (first[:, 10] + second[:, 10]) / 2)
    assert not np.allclose(fused[:, :10], (first[:, :10] + second[:, :10]) / 2)


def test_dictionary_file_is_checked(tmp_path):
    from fusionbench.baselines.dictionary import DICTIONARY_FILE
    from fusionbench.datasets.fetching import fetch, set_data_directories

    (tmp_path / "lpsr").mkdir()
    (tmp_path / "lpsr" / "D_100000_256_8.mat").write_bytes(b"not the dictionary")
    set_data_directories([tmp_path])
    try:
        with pytest.raises(ChecksumError, match="D_100000_256_8.mat"):
            fetch(DICTIONARY_FILE, download=False)
    finally:
        set_data_directories(None)
    assert DICTIONARY_FILE.url.startswith("https://raw.githubusercontent.com/yuliu316316/MST-SR-Fusion-Toolbox/")
