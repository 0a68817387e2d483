"""The metrics' source-only maps kept by content (metrics/kept_maps) give the values of the
computation without them, bit for bit, on every fused image of an item; the vectorised power,
tangent and logarithm agree with NumPy's."""
from __future__ import annotations

import numpy as np
import pytest

from fusionbench.metrics import image_memo, kept_maps, mef_ssim, viff
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
    np.testing.assert_array_equal(mef_ssim.consistency_exponent(consistency), expected)


def test_viff_logarithm_agrees_with_log10():
    values = np.concatenate([np.geomspace(1e-12, 1e6, 100_000), [0.0]])
    np.testing.assert_allclose(viff._log10_of_one_plus(values.copy()), np.log10(1.0 + values), rtol=1e-15, atol=1e-17)
