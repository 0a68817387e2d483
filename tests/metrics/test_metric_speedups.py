"""The metrics' source-only maps kept by content (metrics/kept_maps) give the values of the
computation without them, bit for bit, on every fused image of an item; the compiled per-window
formulas (metrics/window_kernels) equal the NumPy ones bit for bit; the vectorised power, tangent
and logarithm agree with NumPy's."""
from __future__ import annotations

import numpy as np
import pytest

from fusionbench.metrics import filtering, image_memo, kept_maps, mef_ssim, ssim_sum, ssim_yang, viff
from fusionbench.metrics.evaluation import MetricInputs

KEPT_METRICS = ["MEF-SSIM", "VIFF", "ISSIM", "SSIM-SUM"]


def _textured(seed: int, shape: tuple[int, int]) -> np.ndarray:
    generator = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(generator.normal(size=shape), axis=0), axis=1)
    smooth = (smooth - smooth.min()) / np.ptp(smooth) * 200 + 20
    return np.clip(smooth + generator.normal(scale=8, size=shape), 0, 255).astype(np.uint8)


def _item(shape: tuple[int, int] = (97, 131)) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two sources (one partly flat) and four fused images of them."""
    first, second = _textured(1, shape), _textured(2, shape)
    first[:30] = 128  # flat windows: ISSIM's and VIFF's guards
    fused = [_textured(3, shape), first.copy(), ((first.astype(np.uint16) + second) // 2).astype(np.uint8),
             np.maximum(first, second)]
    return [first, second], fused


@pytest.mark.parametrize("protocol", ["standard", "ifcnn-paper"])
@pytest.mark.parametrize("name", KEPT_METRICS)
def test_kept_maps_give_the_values_computed_without_them(monkeypatch, name, protocol):
    sources, fused_images = _item()
    image_memo.clear()
    kept = [MetricInputs(fused, sources).compute(name, protocol) for fused in fused_images]  # first: misses
    assert MetricInputs(fused_images[0], sources).compute(name, protocol) == kept[0]  # and now a hit
    monkeypatch.setattr(kept_maps, "KEPT_PIXELS", 0)
    image_memo.clear()
    assert [MetricInputs(fused, sources).compute(name, protocol) for fused in fused_images] == kept


def test_mef_ssim_keeps_the_stack_of_three_exposures(monkeypatch):
    stack = [_textured(seed, (120, 90)) for seed in (4, 5, 6)]
    fused_images = [_textured(7, (120, 90)), stack[1]]
    image_memo.clear()
    kept = [MetricInputs(fused, stack).compute("MEF-SSIM") for fused in fused_images * 2]
    monkeypatch.setattr(kept_maps, "KEPT_PIXELS", 0)
    assert [MetricInputs(fused, stack).compute("MEF-SSIM") for fused in fused_images * 2] == kept


def test_mef_ssim_power_agrees_with_numpy_pow():
    generator = np.random.default_rng(0)
    base = np.exp(generator.uniform(np.log(1e-4), np.log(1e3), 200_000))
    exponent = np.concatenate([generator.uniform(0, 10, 199_998), [0.0, 10.0]])
    np.testing.assert_allclose(mef_ssim.power(base, exponent), base ** exponent, rtol=2e-14, atol=0)


def test_mef_ssim_exponent_equals_the_clipped_tangent_bit_for_bit():
    limit = 2 * np.arctan(10.0) / np.pi
    consistency = np.concatenate([np.linspace(1e-16, 1 - 1e-16, 100_001),
                                  limit + np.arange(-1000, 1001) * 1e-15])
    expected = np.minimum(np.tan(np.pi / 2 * consistency), mef_ssim.MAX_EXPONENT)
    np.testing.assert_array_equal(mef_ssim.consistency_exponent(np.pi / 2 * consistency), expected)


def test_viff_logarithm_agrees_with_log10():
    values = 1.0 + np.concatenate([np.geomspace(1e-12, 1e6, 100_000), [0.0]])
    np.testing.assert_allclose(viff._log10(values), np.log10(values), rtol=1e-15, atol=1e-17)


def _strip_statistics(seed: int, kernel: np.ndarray, guarded: bool = False):
    image = _textured(seed, (40, 57))
    image[:12] = 90  # flat windows
    return (ssim_yang.GuardedStatistics(image, kernel) if guarded else filtering.WindowStatistics(image, kernel))


def test_compiled_ssim_equals_the_numpy_formula():
    kernel = filtering.gaussian_kernel_1d(11, 1.5)
    x, y = _strip_statistics(1, kernel), _strip_statistics(2, kernel)
    covariance = x.covariance(y)
    expected = ((2.0 * x.mean * y.mean + ssim_sum.C1) * (2.0 * covariance + ssim_sum.C2)) / (
        (x.mean_square + y.mean_square + ssim_sum.C1) * (x.variance + y.variance + ssim_sum.C2))
    np.testing.assert_array_equal(ssim_sum.ssim_map(x, y), expected)


def test_compiled_yang_score_equals_the_numpy_maps():
    kernel = filtering.gaussian_kernel_1d(7, 1.5)
    images = [_textured(seed, (40, 57)) for seed in (1, 2, 3)]
    images[0][:12] = 90
    images[2][5:20] = 90
    kept = ssim_yang.source_maps(images[:2])
    np.testing.assert_array_equal(ssim_yang.kept_score_map(tuple(images[:2]), images[2], kept, kernel),
                                  ssim_yang.yang_score_map(images[0], images[2], images[1], kernel=kernel))
    np.testing.assert_array_equal(ssim_yang.kept_score_map(tuple(images[:1]), images[2], kept[:1], kernel),
                                  ssim_yang.yang_score_map(images[0], images[2], kernel=kernel))


def test_compiled_viff_terms_equal_channel_terms():
    kernel = filtering.gaussian_kernel_1d(9, 1.8)
    images = [_textured(seed, (40, 57)) for seed in (1, 2, 3)]
    images[0][:12] = 90
    images[2][5:20] = 90
    images[1][30:] = 255 - images[2][30:]  # negative gains
    for second in (images[1], None):
        vid, vind = viff.information_maps(images[0], second, images[2], kernel)
        fused = filtering.WindowStatistics(images[2], kernel)
        var_y = np.maximum(fused.variance, 0.0)
        gain, var_x, noise = viff.channel_terms(filtering.WindowStatistics(images[0], kernel), fused, var_y)
        if second is not None:
            terms = viff.channel_terms(filtering.WindowStatistics(second, kernel), fused, var_y)
            gain, var_x, noise = (np.where(gain < terms[0], one, two) for one, two in zip((gain, var_x, noise), terms))
        np.testing.assert_array_equal(vind, viff._log10(1.0 + var_x / viff.VISUAL_NOISE_VARIANCE))
        np.testing.assert_array_equal(vid, viff._log10(
            1.0 + gain * gain * var_x / (noise + viff.VISUAL_NOISE_VARIANCE)))


def test_compiled_mef_quality_equals_the_numpy_formula():
    stack = [_textured(seed, (40, 57)) for seed in (1, 2, 3)]
    fused = _textured(4, (40, 57))
    desired = mef_ssim.desired_patches(*stack)
    kernel = filtering.gaussian_kernel_1d(11, 1.5)
    samples = fused.astype(np.float64)
    fused_mean = filtering.filter_valid(samples, kernel)
    fused_var = filtering.filter_valid(samples * samples, kernel) - fused_mean * fused_mean
    cross = np.zeros_like(fused_mean)
    for k, image in enumerate(stack):
        cross += desired[k] * (filtering.filter_valid(image * samples, kernel) - desired[3 + k] * fused_mean)
    expected = (2.0 * cross + mef_ssim.STABILITY) / (desired[6] + fused_var + mef_ssim.STABILITY)
    np.testing.assert_array_equal(mef_ssim.fused_quality(stack, fused, desired), expected)
