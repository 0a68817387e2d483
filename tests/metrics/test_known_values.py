"""Acceptance 3: known values on tiny hand-computable images, identities and symmetries."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fusionbench.metrics import compute_metric
from fusionbench.metrics.mef_ssim import downsample
from fusionbench.registry import get_metric, list_metrics

# A 3x3 image whose forward differences on the top-left 2x2 block are easy to write down:
#   dx = [[1, 2], [0, 0]]   (F[i, j+1] - F[i, j])
#   dy = [[2, 1], [4, 3]]   (F[i+1, j] - F[i, j])
TINY = np.array([[0, 1, 3],
                 [2, 2, 2],
                 [6, 5, 4]], dtype=np.uint8)


def test_spatial_frequency_by_hand():
    row_frequency_sq = (1 + 4 + 0 + 0) / 4
    column_frequency_sq = (4 + 1 + 16 + 9) / 4
    assert compute_metric("SF", TINY, []) == pytest.approx(math.sqrt(row_frequency_sq + column_frequency_sq), rel=1e-12)


def test_average_gradient_by_hand():
    magnitudes = [math.sqrt(1 + 4), math.sqrt(4 + 1), math.sqrt(0 + 16), math.sqrt(0 + 9)]
    assert compute_metric("AG", TINY, []) == pytest.approx(sum(magnitudes) / 4 / 4, rel=1e-12)


def test_entropy_by_hand():
    two_levels = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    four_levels = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    skewed = np.array([[7, 7, 7, 9]], dtype=np.uint8)
    assert compute_metric("EN", two_levels, []) == pytest.approx(1.0, abs=1e-12)
    assert compute_metric("EN", four_levels, []) == pytest.approx(2.0, abs=1e-12)
    assert compute_metric("EN", skewed, []) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)), abs=1e-12)


def test_standard_deviation_by_hand():
    image = np.array([[0, 2], [4, 6]], dtype=np.uint8)  # mean 3, squared deviations 9, 1, 1, 9
    assert compute_metric("SD", image, []) == pytest.approx(math.sqrt(5.0), rel=1e-12)


def _halves():
    """Two independent binary images: A splits left/right, B splits top/bottom (4x4)."""
    a = np.zeros((4, 4), np.uint8)
    a[:, 2:] = 150  # A + B stays within uint8
    b = np.zeros((4, 4), np.uint8)
    b[2:, :] = 100
    return a, b


def test_mutual_information_by_hand():
    a, b = _halves()
    # F = A: I(A;F) = H(A) = 1 bit; B is independent of A, so I(B;F) = 0.
    assert compute_metric("MI", a, [a, b]) == pytest.approx(1.0, abs=1e-12)
    # F = A + B has four equiprobable levels: I(A;F) = I(B;F) = 1 bit.
    assert compute_metric("MI", a + b, [a, b]) == pytest.approx(2.0, abs=1e-12)


def test_normalized_mutual_information_by_hand():
    a, b = _halves()
    # 2 [I(A;F)/(H(A)+H(F)) + I(B;F)/(H(B)+H(F))]: F = A gives 2 [1/2 + 0] = 1
    assert compute_metric("NMI", a, [a, b]) == pytest.approx(1.0, abs=1e-12)
    # F = A + B: H(F) = 2 bits, so 2 [1/3 + 1/3] = 4/3
    assert compute_metric("NMI", a + b, [a, b]) == pytest.approx(4.0 / 3.0, abs=1e-12)


def test_scd_by_hand():
    a, b = _halves()
    # F = A + B: F - B = A and F - A = B, so both correlations are 1.
    assert compute_metric("SCD", a + b, [a, b]) == pytest.approx(2.0, abs=1e-12)
    # F = A: F - A is constant (its correlation is defined as 0) and F - B = A - B with A, B
    # uncorrelated deviations of +-75 and +-50: r(A - B, A) = 75 / sqrt(75^2 + 50^2) = 3 / sqrt(13)
    assert compute_metric("SCD", a, [a, b]) == pytest.approx(3.0 / math.sqrt(13.0), abs=1e-12)


def _textured(seed: int, shape=(64, 72)) -> np.ndarray:
    generator = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(generator.normal(size=shape), axis=0), axis=1)
    smooth = (smooth - smooth.min()) / np.ptp(smooth) * 200 + 20
    return np.clip(smooth + generator.normal(scale=8, size=shape), 0, 255).astype(np.uint8)


#: Value of metric(F = A = B) for any textured image: a metric's "perfect" score.
IDENTICAL_INPUTS = {"VIFF": 1.0, "ISSIM": 1.0, "NMI": 2.0, "MEF-SSIM": 1.0, "SSIM-SUM": 2.0, "QCB": 1.0,
                    "QABF": 0.9994 / (1 + math.exp(-7.5)) * 0.9879 / (1 + math.exp(-4.4)), "SCD": 0.0}


@pytest.mark.parametrize("name", sorted(IDENTICAL_INPUTS))
def test_identical_inputs(name):
    image = _textured(1)
    assert compute_metric(name, image, [image, image]) == pytest.approx(IDENTICAL_INPUTS[name], abs=1e-6)


def test_mef_ssim_is_zero_for_anti_correlated_structure():
    image = _textured(12)
    assert compute_metric("MEF-SSIM", (255 - image).astype(np.uint8), [image, image]) == 0.0


def test_mutual_information_of_identical_inputs_is_twice_the_entropy():
    image = _textured(2)
    assert compute_metric("MI", image, [image, image]) == pytest.approx(2 * compute_metric("EN", image, []), rel=1e-12)


def test_fused_equal_to_a_source_scores_that_source_fully():
    a, b = _textured(3), _textured(4)
    # Under the ifcnn-paper protocol only A counts: F = A is perfect fidelity.
    assert compute_metric("ISSIM", a, [a, b], "ifcnn-paper") == pytest.approx(1.0, abs=1e-9)
    assert compute_metric("NMI", a, [a, b], "ifcnn-paper") == pytest.approx(2.0, abs=1e-9)
    assert compute_metric("VIFF", a, [a, b], "ifcnn-paper") == pytest.approx(1.0, abs=1e-6)
    # SSIM-SUM(A, B, F=A) = 1 + SSIM(B, A) < 2
    ssim_ba = compute_metric("SSIM-SUM", b, [b, a]) - 1.0
    assert compute_metric("SSIM-SUM", a, [a, b]) == pytest.approx(1.0 + ssim_ba, abs=1e-12)
    assert compute_metric("SSIM-SUM", a, [a, b]) < 2.0
    # Q^AB/F and Q_CB: source A's edges/contrast fully preserved, B's only partly.
    assert 0.0 < compute_metric("QABF", a, [a, b]) < IDENTICAL_INPUTS["QABF"]
    assert 0.0 < compute_metric("QCB", a, [a, b]) < 1.0


#: Two-source metrics whose definition is symmetric in A and B (VIFF is not: its per-pixel
#: choice g1 < g2 strictly makes the source order part of the definition).
SYMMETRIC = ["ISSIM", "NMI", "MI", "SSIM-SUM", "QABF", "QCB", "SCD", "MEF-SSIM"]


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_in_the_sources(name):
    a, b, fused = _textured(5), _textured(6), _textured(7)
    assert compute_metric(name, fused, [a, b]) == pytest.approx(compute_metric(name, fused, [b, a]), rel=1e-10, abs=1e-12)


def test_viff_source_order_is_part_of_the_definition():
    """Per pixel VIFF keeps the source with the smaller gain g; on ties (g1 = g2, e.g. both 0 where
    the fused image is flat) it keeps source 2, whose VIND then counts: the order matters there."""
    a, b = _textured(5), _textured(6)
    b = (b // 4 + 100).astype(np.uint8)  # less contrast than A: different VIND
    fused = ((a.astype(int) + b) // 2).astype(np.uint8)
    forward, backward = compute_metric("VIFF", fused, [a, b]), compute_metric("VIFF", fused, [b, a])
    assert forward == backward  # no ties
    fused[:32] = 128  # flat: g = 0 for both sources
    forward, backward = compute_metric("VIFF", fused, [a, b]), compute_metric("VIFF", fused, [b, a])
    assert forward > backward  # ties take VIND from source 2: the low-contrast B in the forward order


def test_metrics_prefer_the_better_fusion():
    """Averaging two sources is closer to both than an unrelated image is."""
    a, b = _textured(8, (200, 220)), _textured(9, (200, 220))
    average = ((a.astype(int) + b) // 2).astype(np.uint8)
    unrelated = _textured(10, (200, 220))
    for name in ["VIFF", "ISSIM", "NMI", "MI", "SSIM-SUM", "QABF", "QCB", "SCD", "MEF-SSIM"]:
        assert compute_metric(name, average, [a, b]) > compute_metric(name, unrelated, [a, b]), name


def test_colour_inputs_are_converted_with_matlab_rounding():
    grey = _textured(11)
    colour = np.dstack([grey, grey, grey])
    for name in ["SF", "AG", "EN", "SD"]:
        assert compute_metric(name, colour, []) == compute_metric(name, grey, [])


def test_mef_ssim_downsampling_replicates_the_last_row_and_column():
    image = np.array([[0.0, 4.0, 8.0], [4.0, 8.0, 12.0], [16.0, 20.0, 24.0]])
    expected = np.array([[(0 + 4 + 4 + 8) / 4, (8 + 8 + 12 + 12) / 4],
                         [(16 + 20 + 16 + 20) / 4, 24.0]])
    np.testing.assert_array_equal(downsample(image), expected)


def test_every_metric_documents_its_variant_and_citation():
    for name in list_metrics():
        spec = get_metric(name)
        if spec.origin == "builtin":
            assert spec.variant and spec.citation and spec.version, name
            assert spec.function.__doc__ and len(spec.function.__doc__) > 80, name


def test_ssim_matches_scikit_image_with_wang_et_al_settings():
    """Independent check of SSIM-SUM's SSIM: scikit-image with the 2004 paper's Gaussian window
    (sigma 1.5, 11x11 after truncation at 3.5 sigma), population moments, L = 255."""
    metrics = pytest.importorskip("skimage.metrics")
    from fusionbench.metrics.ssim_sum import mean_ssim

    a, b = _textured(13).astype(float), _textured(14).astype(float)
    expected = metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                             data_range=255)
    assert mean_ssim(a, b) == pytest.approx(expected, rel=1e-12)
