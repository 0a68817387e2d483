"""The metrics' fast paths give the values of the plain computation bit for bit, and their memory
is bounded: strips equal whole images, uint8 grey equals float64 grey, the QABF tables equal
NumPy's hypot/atan, the blocked CSF filter equals fft2/ifft2, MetricInputs equals compute_metrics."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fusionbench.errors import InputMismatchError
from fusionbench.image_io import rgb_to_grey
from fusionbench.metrics import chen_blum, filtering, qabf, spectral
from fusionbench.metrics.evaluation import MetricInputs, compute_metrics, grey_levels
from fusionbench.registry import get_metric, list_metrics

from .golden_data import sources_of

BUILTIN = [name for name in list_metrics() if get_metric(name).origin == "builtin"]


def _textured(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    generator = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(generator.normal(size=shape), axis=0), axis=1)
    smooth = (smooth - smooth.min()) / np.ptp(smooth) * 200 + 20
    return np.clip(smooth + generator.normal(scale=8, size=shape), 0, 255).astype(np.uint8)


def _pairs() -> dict[str, tuple[np.ndarray, list[np.ndarray]]]:
    a, b, fused = _textured(1, (97, 131)), _textured(2, (97, 131)), _textured(3, (97, 131))
    flat = fused.copy()
    flat[:40] = 128  # flat windows: every guard of ISSIM, VIFF and QCB is taken
    black = a.copy()
    black[:, :50] = 0  # zero signal: QCB's contrast floor, QABF's zero gradients
    return {"textured 97x131": (fused, [a, b]), "partly flat": (flat, [a, b]),
            "black band": (fused, [black, b]), "three sources": (fused, [a, b, _textured(4, (97, 131))])}


@pytest.mark.parametrize("name", BUILTIN)
def test_strips_give_the_whole_image_values(monkeypatch, name):
    """With tiny strips (8-30 rows) every value equals the one-strip computation bit for bit."""
    spec = get_metric(name)
    cases = {label: (fused, sources[:2] if spec.sources == 2 else sources)
             for label, (fused, sources) in _pairs().items()}
    whole = {label: compute_metrics([name], fused, sources)[name] for label, (fused, sources) in cases.items()}
    monkeypatch.setattr(filtering, "STRIP_PIXELS", 1)
    for label, (fused, sources) in cases.items():
        assert compute_metrics([name], fused, sources)[name] == whole[label], label


@pytest.mark.parametrize("name", BUILTIN)
def test_uint8_grey_gives_the_float64_values(name):
    """The evaluation passes uint8 grey; the float64 grey of the same levels gives the same value."""
    spec = get_metric(name)
    assert getattr(spec.function, "accepts_uint8_grey", False)
    for label, (fused, sources) in _pairs().items():
        sources = sources[:2] if spec.sources == 2 else sources
        as_float = [image.astype(np.float64) for image in [fused, *sources]]
        assert spec.function(fused, sources) == spec.function(as_float[0], as_float[1:]), label


def test_real_pairs_through_the_evaluation_equal_the_float64_functions():
    """A colour Lytro pair and a grey TNO pair, cropped to an odd size: the evaluation (uint8 grey,
    strips) equals every metric function called on float64 grey."""
    for dataset, item in (("lytro", "lytro-01"), ("tno-iv", "Camp")):
        try:
            sources = [image[3:260, 7:308] for image in sources_of(dataset, item)]
        except Exception as error:  # noqa: BLE001 - the mirror is optional outside .ci/run
            pytest.skip(f"{dataset}/{item} not available: {error}")
        fused = ((sources[0].astype(np.uint16) + sources[1]) // 2).astype(np.uint8)
        grey = [rgb_to_grey(image).astype(np.float64) for image in [fused, *sources]]
        values = compute_metrics(BUILTIN, fused, sources)
        for name in BUILTIN:
            assert values[name] == get_metric(name).function(grey[0], grey[1:]), (dataset, name)


def test_qabf_tables_equal_numpy_at_every_integer_sobel_pair():
    """hypot and atan(sy/sx) from the tables equal NumPy's for all 2041 x 2041 signed responses."""
    values = np.arange(-qabf.SOBEL_LIMIT, qabf.SOBEL_LIMIT + 1)
    sx, sy = (grid.astype(np.int16) for grid in np.meshgrid(values, values, indexing="ij"))
    strength, orientation = _table_lookup(sx, sy)
    x, y = sx.astype(np.float64), sy.astype(np.float64)
    np.testing.assert_array_equal(strength, np.hypot(x, y))
    expected = np.arctan(np.divide(y, x, out=np.full_like(y, np.inf), where=x != 0))
    np.testing.assert_array_equal(orientation, expected)
    np.testing.assert_array_equal(np.signbit(orientation), np.signbit(expected))


def _table_lookup(sx: np.ndarray, sy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strength and orientation of integer responses exactly as sobel_strength_orientation forms them."""
    original = qabf.sobel_responses
    try:
        qabf.sobel_responses = lambda image: (sx, sy)
        return qabf.sobel_strength_orientation(None)
    finally:
        qabf.sobel_responses = original


@pytest.mark.parametrize("shape", [(97, 131), (64, 64), (45, 200), (46, 200)])
def test_csf_filter_equals_fft2_and_ifft2(monkeypatch, shape):
    image = _textured(5, shape)
    expected = np.real(np.fft.ifft2(np.fft.fft2(image.astype(np.float64)) * chen_blum.contrast_sensitivity(shape)))
    if shape[0] % 2 or shape[1] % 2:  # odd sides: the complex transforms, bit for bit
        np.testing.assert_array_equal(chen_blum.csf_filter(image), expected)
    else:  # even sides: OpenCV's packed real DFT, equal to rounding
        np.testing.assert_allclose(chen_blum.csf_filter(image), expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(chen_blum.complex_csf_filter(image), expected)
    monkeypatch.setattr(chen_blum, "CACHED_CSF_PIXELS", 0)  # the large-image path: CSF computed per block
    monkeypatch.setattr(chen_blum, "FFT_BLOCK", 7)
    np.testing.assert_array_equal(chen_blum.csf_filter(image), expected)


@pytest.mark.parametrize("shape", [(64, 64), (46, 200), (2, 2), (460, 630)])
def test_packed_real_dft_filter_equals_complex_fft(shape):
    """The CCS packing of an even response: filter_even equals real(ifft2(fft2 x response)) to rounding."""
    image = _textured(7, shape).astype(np.float64) - 100.0
    response = spectral.radial_frequencies(shape, 3.0)
    response = np.exp(-response) + 0.1 * response
    expected = np.real(np.fft.ifft2(np.fft.fft2(image) * response))
    got = spectral.filter_even(image, spectral.pack_even_response(response))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)
    assert spectral.packs(shape) and not spectral.packs((shape[0] + 1, shape[1]))


def test_kept_spectra_filter_as_filter_even():
    """A kept spectrum filtered (Q_CB) equals filter_even of the image bit for bit; the difference of
    two kept spectra filtered (Q_CV) equals filter_even of the difference to rounding."""
    x, y = (_textured(seed, (46, 200)).astype(np.float64) for seed in (7, 8))
    response = spectral.pack_even_response(np.exp(-spectral.radial_frequencies(x.shape, 3.0)))
    kept = spectral.spectrum(x)
    kept.setflags(write=False)
    np.testing.assert_array_equal(spectral.filter_spectrum(kept, response), spectral.filter_even(x, response))
    np.testing.assert_allclose(spectral.filter_spectrum(kept, response, subtract=spectral.spectrum(y)),
                               spectral.filter_even(x - y, response), rtol=0, atol=1e-11)
    np.testing.assert_array_equal(kept, spectral.spectrum(x))  # left as it was


@pytest.mark.parametrize("shape", [(40, 44), (41, 44)])
def test_qcv_from_kept_spectra_equals_filtering_the_difference(monkeypatch, shape):
    """Q_CV from the images' kept spectra (even sides) agrees with filtering each difference."""
    from fusionbench.metrics import chen_varshney, image_memo

    fused, a, b = (_textured(seed, shape) for seed in (1, 2, 3))
    image_memo.clear()
    value = chen_varshney.chen_varshney(a, b, fused)

    def by_difference(source, key, fused, fused_key):
        return chen_varshney.csf_filter(chen_blum.stretch_to_grey_levels(source)
                                        - chen_blum.stretch_to_grey_levels(fused))
    monkeypatch.setattr(chen_varshney, "_filtered_difference", by_difference)
    assert value == pytest.approx(chen_varshney.chen_varshney(a, b, fused), rel=1e-12)


def test_decimating_filter_equals_filter_then_every_other_sample(monkeypatch):
    image = _textured(6, (101, 77))
    kernel = filtering.gaussian_kernel_1d(9, 1.8)
    expected = filtering.filter_valid(image.astype(np.float64), kernel)[::2, ::2]
    monkeypatch.setattr(filtering, "STRIP_PIXELS", 1)
    np.testing.assert_array_equal(filtering.filter_decimate(image, kernel), expected)


def test_grey_conversion_by_row_blocks_equals_rgb_to_grey(monkeypatch):
    generator = np.random.default_rng(7)
    images = [generator.integers(0, 256, shape, dtype=np.uint8) for shape in ((97, 131, 3), (5, 3000, 3), (300, 1, 3))]
    try:
        images += [image for image in sources_of("lytro", "lytro-01")]
    except Exception:  # noqa: BLE001 - the mirror is optional outside .ci/run
        pass
    monkeypatch.setattr("fusionbench.metrics.evaluation.GREY_CHUNK_PIXELS", 1000)
    for image in images:
        np.testing.assert_array_equal(grey_levels(image), rgb_to_grey(image))


def test_metric_inputs_give_the_compute_metrics_values_and_convert_once():
    fused, sources = _pairs()["textured 97x131"]
    colour = [np.dstack([image] * 3) for image in [fused, *sources]]
    inputs = MetricInputs(colour[0], colour[1:])
    for name in BUILTIN:
        for protocol in ("standard", "ifcnn-paper"):
            assert inputs.compute(name, protocol) == compute_metrics([name], colour[0], colour[1:], protocol)[name]
    assert sorted(inputs._forms) == [("uint8-grey", 0), ("uint8-grey", 1), ("uint8-grey", 2)]


def test_fused_only_metrics_do_not_convert_the_sources():
    fused, sources = _pairs()["textured 97x131"]
    inputs = MetricInputs(np.dstack([fused] * 3), [np.dstack([image] * 3) for image in sources])
    for name in ("SF", "AG", "EN", "SD"):
        inputs.compute(name)
    assert list(inputs._forms) == [("uint8-grey", 0)]


def test_metric_inputs_raise_the_validation_error_on_every_call():
    image = np.zeros((64, 64), np.uint8)
    inputs = MetricInputs(image, [image, np.zeros((64, 65), np.uint8)])
    for name in ("SF", "VIFF"):
        with pytest.raises(InputMismatchError, match="same size"):
            inputs.compute(name)


PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import cv2
    import numpy as np
    from fusionbench.metrics.evaluation import MetricInputs, applicable_metrics

    def status(field):  # VmHWM: this process's own peak (ru_maxrss would carry the parent's across exec)
        with open("/proc/self/status") as lines:
            return int(lines.read().split(field + ":")[1].split()[0]) * 1024

    side = int(sys.argv[1])
    generator = np.random.default_rng(0)
    base = cv2.resize(generator.integers(0, 256, (side // 8, side // 8), dtype=np.uint8), (side, side),
                      interpolation=cv2.INTER_LINEAR)
    first = cv2.GaussianBlur(base, (0, 0), 3)
    second = base.copy()
    second[: side // 2] = first[: side // 2]
    fused = cv2.addWeighted(first, 0.5, second, 0.5, 0)
    names = applicable_metrics(2)
    small = MetricInputs(fused[:64, :64].copy(), [first[:64, :64].copy(), second[:64, :64].copy()])
    for name in names:
        small.compute(name)  # imports, QABF tables and CSF grids in place before measuring
    resident = status("VmRSS")
    inputs = MetricInputs(fused, [first, second])  # as the harness measures a fused image
    values = {name: inputs.compute(name) for name in names}
    print(json.dumps({"bytes_per_pixel": (status("VmHWM") - resident) / (side * side), "metrics": sorted(values)}))
""")

#: Peak memory of all pair metrics above the resident inputs, per pixel of one source. Measured on the
#: 2-core development machine, 4000 x 4000 grey pair: 40 B/px (QCB's FFTs; the whole-image code
#: before strips needed 296 B/px for MEF-SSIM alone). 64 leaves room for allocator variation
#: and keeps an 8000 x 8000 pair's metrics within about 4 GB.
PEAK_LIMIT = 64.0


@pytest.mark.slow  # all 13 pair metrics on a 4000 x 4000 pair: ~35 s CPU on the 2-core machine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM from /proc/self/status")
def test_every_pair_metric_on_a_large_pair_has_bounded_peak_memory():
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, "4000"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["metrics"]) == 13
    assert report["bytes_per_pixel"] <= PEAK_LIMIT, f"{report['bytes_per_pixel']:.1f} bytes per source pixel"


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (97, 131)])
def test_gradient_lookups_equal_the_float_computation(shape):
    """VIFB's AG (MATLAB gradient) and EI (replicated Sobel) look magnitudes up for uint8 images:
    the float64 computation's values bit for bit, on textured and on extreme (0/255) images."""
    from fusionbench.metrics import gradients

    textured = _textured(8, shape)
    extreme = np.where(np.random.default_rng(9).random(shape) < 0.5, 0, 255).astype(np.uint8)
    for image in (textured, extreme):
        assert (gradients.average_gradient(image, [], differences="central")
                == gradients.average_gradient(image.astype(np.float64), [], differences="central"))
        assert gradients.edge_intensity(image) == gradients.edge_intensity(image.astype(np.float64))


@pytest.mark.parametrize("stretch", [False, True])
def test_qcb_whole_image_contrasts_equal_the_strips(monkeypatch, stretch):
    """Q_CB's whole-image masked contrasts (kept by content, shared between planes) give the strip
    path's value bit for bit, also when one source is met again (the memo's hit)."""
    from fusionbench.metrics import image_memo

    fused, (a, b) = _pairs()["black band"]
    image_memo.clear()
    whole = [chen_blum.chen_blum(fused, [a, b], stretch=stretch), chen_blum.chen_blum(fused, [a, a], stretch=stretch)]
    again = chen_blum.chen_blum(fused, [a, b], stretch=stretch)  # every map from the memo now
    monkeypatch.setattr(chen_blum, "WHOLE_IMAGE_PIXELS", 0)
    monkeypatch.setattr(filtering, "STRIP_PIXELS", 1)
    strips = [chen_blum.chen_blum(fused, [a, b], stretch=stretch), chen_blum.chen_blum(fused, [a, a], stretch=stretch)]
    assert whole == strips and again == whole[0]


@pytest.mark.parametrize("shape", [(97, 131), (64, 70), (40, 32), (20, 17), (7, 50), (1, 5), (100, 3)])
def test_qcb_compiled_contrast_equals_opencv_and_numpy(shape):
    """Q_CB's compiled masked contrast and preservation map equal cv2.sepFilter2D and the NumPy
    maps bit for bit: OpenCV fuses multiply-adds in the row filter's 4-column groups only, and the
    kernel follows it (widths with and without a remainder of 4; images smaller than the window)."""
    filtered = chen_blum.complex_csf_filter(chen_blum.stretch_to_grey_levels(_textured(5, shape)))
    filtered[: shape[0] // 3] = 0.0  # no signal: the contrast floor
    for normalised in (True, False):
        expected = chen_blum.masked_contrast_reference(filtered, slice(None), normalised)
        np.testing.assert_array_equal(chen_blum.masked_contrast(filtered, slice(None), normalised), expected)
        rows = slice(min(2, shape[0]), max(shape[0] - 3, min(2, shape[0])))
        np.testing.assert_array_equal(chen_blum.masked_contrast(filtered, rows, normalised), expected[rows])
    contrasts = [expected, expected[::-1] * 0.5, np.roll(expected, 1, axis=1)]
    np.testing.assert_array_equal(chen_blum._contrast_preservation(*contrasts),
                                  chen_blum.contrast_preservation_reference(*contrasts))


@pytest.mark.parametrize("shape", [(97, 131), (64, 48), (1, 5), (5, 1), (2, 2)])
def test_qcv_compiled_gradient_power_equals_the_reference(shape):
    """Q_CV's compiled g^5 map equals OpenCV's Sobel + NumPy bit for bit on stretched levels (also
    0/255 extremes)."""
    from fusionbench.metrics import chen_varshney

    extreme = np.where(np.random.default_rng(9).random(shape) < 0.5, 0, 255).astype(np.uint8)
    for image in (_textured(6, shape), extreme):
        stretched = chen_blum.stretch_to_grey_levels(image)
        expected = chen_varshney.gradient_power_reference(stretched)
        np.testing.assert_array_equal(chen_varshney._block_saliency(stretched),
                                      chen_varshney.block_sums_reference(expected))


@pytest.mark.parametrize("shape", [(576, 768), (97, 131), (64, 48), (16, 32), (17, 33), (1, 40), (40, 17), (16, 16),
                                   (5, 1)])
def test_qcv_block_sums_equal_numpy_bit_for_bit(shape):
    """The compiled 16x16 block sums follow NumPy's summation order exactly (values spanning 10
    orders of magnitude, so any other order would show), with and without squaring; the in-place
    NumPy sum of whole blocks equals the padded copy's."""
    from fusionbench.metrics import chen_varshney

    generator = np.random.default_rng(11)
    for _ in range(3):
        values = generator.standard_normal(shape) * 10.0 ** generator.integers(-5, 5, size=shape)
        for square in (False, True):
            np.testing.assert_array_equal(chen_varshney.block_sums(values, square=square),
                                          chen_varshney.block_sums_reference(values * values if square else values))
    padded = np.zeros((-(-shape[0] // 16) * 16 + 16, -(-shape[1] // 16) * 16))
    padded[:shape[0], :shape[1]] = values
    np.testing.assert_array_equal(chen_varshney.block_sums_reference(padded)[:-1],
                                  chen_varshney.block_sums_reference(values))


def test_qcb_and_qcv_kernels_compile_ahead():
    chen_blum.compile_kernels()  # what a driver calls before its workers start


def test_image_memo_keeps_by_content_and_waits_for_a_computation_in_progress():
    import threading

    from fusionbench.metrics import image_memo

    image_memo.clear()
    calls = []
    started = threading.Event()

    def slow():
        calls.append(1)
        started.wait(1.0)
        return np.ones(3)

    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    threads = [threading.Thread(target=image_memo.memoized, args=("k", image, slow)) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1  # the others waited for the first
    value = image_memo.memoized("k", image.copy(), slow)  # equal content, another array
    assert len(calls) == 1 and not value.flags.writeable
    image_memo.memoized("other kind", image, slow)
    image_memo.memoized("k", image.T, slow)  # other shape: another key
    assert len(calls) == 3


@pytest.mark.parametrize("variant", [{}, {"orientation_modulo_pi": False, "equal_strength_scale": 255.0,
                                          "x_kernel": "convolution"}])
def test_qabf_compiled_kernel_agrees_with_the_numpy_maps(monkeypatch, variant):
    """Grey levels go through the compiled per-pixel kernel; the NumPy maps (taken by other inputs)
    give the same value to rounding (the sums' order and the C library's exp differ)."""
    for label, (fused, sources) in _pairs().items():
        compiled = qabf.qabf(fused, sources[:2], **variant)
        with monkeypatch.context() as patch:
            patch.setattr(qabf, "_grey_levels", lambda image: None)
            maps = qabf.qabf(fused, sources[:2], **variant)
        assert compiled == pytest.approx(maps, rel=1e-13, abs=1e-15), label
    zero = np.zeros((9, 11), np.uint8)  # no gradient anywhere: perfect preservation's score
    assert qabf.qabf(zero, [zero, zero], **variant) == pytest.approx(0.9994 / (1 + np.exp(-15 * 0.5))
                                                                   * 0.9879 / (1 + np.exp(-22 * 0.2)), rel=1e-15)


@pytest.mark.parametrize("shape", [(97, 131), (64, 70), (40, 33), (11, 11), (12, 14), (30, 11)])
def test_ssim_compiled_maps_equal_opencv_strips(shape):
    """SSIM-SUM's compiled pass equals OpenCV's filters in strips bit for bit: uint8 and non-integer
    float64 images, one source and two, widths with every remainder of 4 (OpenCV fuses the row
    filter's multiply-adds in 4-column groups only), odd and even map heights, the window's size."""
    from fusionbench.metrics import ssim_sum

    fused, first, second = (_textured(seed, shape) for seed in (6, 7, 8))
    fused[: shape[0] // 3] = 128  # flat windows
    noise = np.random.default_rng(9).normal(scale=0.3, size=shape)
    for images in ([fused, first, second], [fused + noise, first.astype(np.float64), second - noise / 2]):
        for sources in (images[1:], images[1:2]):
            assert ssim_sum.mean_ssims(list(sources), images[0]) == ssim_sum.strip_mean_ssims(list(sources), images[0])
    colour = np.dstack([fused, first, second])  # strided planes, as VIFB's dialect passes them
    assert (ssim_sum.mean_ssims([colour[:, :, 1], colour[:, :, 2]], colour[:, :, 0])
            == ssim_sum.strip_mean_ssims([first, second], fused))


@pytest.mark.parametrize("shape", [(97, 131), (1, 5), (5, 1), (2, 2)])
def test_compiled_level_counts_equal_numpy(shape):
    """Histograms, joint histograms and the integer sums of VIFB's RMSE/PSNR and SF equal NumPy's
    exactly, on contiguous, strided (a colour plane) and read-only arrays."""
    from fusionbench.metrics import differences, gradients, mutual_information

    colour = np.dstack([_textured(seed, shape) for seed in (10, 11)])
    colour[0, 0] = (0, 255)  # both extremes
    first, second = colour[:, :, 0], colour[:, :, 1]
    frozen = np.ascontiguousarray(second)
    frozen.setflags(write=False)
    for x, y in ((first, second), (np.ascontiguousarray(first), frozen)):
        np.testing.assert_array_equal(mutual_information.histogram(x), np.bincount(x.ravel(), minlength=256))
        pairs = x.ravel().astype(np.int64) * 256 + y.ravel()
        np.testing.assert_array_equal(mutual_information.joint_histogram(x, y),
                                      np.bincount(pairs, minlength=65536).reshape(256, 256))
        difference = x.astype(np.int64) - y
        assert differences.root_sum_squared_error(x, y) == float(np.sqrt(float(np.sum(difference ** 2))) / x.size)
        levels = x.astype(np.int64)
        squares = float(np.sum(np.diff(levels, axis=1) ** 2)) + float(np.sum(np.diff(levels, axis=0) ** 2))
        assert gradients.spatial_frequency(x, [], region="all") == float(np.sqrt(squares / x.size))


@pytest.mark.parametrize("shape", [(97, 131), (2, 2), (2, 7), (6, 2)])
def test_compiled_gradient_magnitudes_equal_numpy(shape):
    """VIFB's AG (MATLAB gradient) and EI (Sobel, replicated borders) from the compiled per-pixel
    lookups equal the float64 NumPy/OpenCV computation bit for bit, on contiguous and strided planes."""
    import cv2

    from fusionbench.metrics import gradients

    colour = np.dstack([_textured(seed, shape) for seed in (12, 13)])
    colour[0, 0] = (0, 255)
    for plane in (colour[:, :, 0], np.ascontiguousarray(colour[:, :, 1])):
        gx, gy = gradients.matlab_gradient(plane)
        expected = float(np.sum(np.sqrt((gx * gx + gy * gy) * 0.5)) / ((shape[0] - 1) * (shape[1] - 1)))
        assert gradients.average_gradient(plane, [], differences="central") == expected
        levels = plane.astype(np.float64)
        sobel = [cv2.Sobel(levels, cv2.CV_64F, dx, 1 - dx, ksize=3, borderType=cv2.BORDER_REPLICATE) for dx in (1, 0)]
        assert gradients.edge_intensity(plane) == float(np.sum(np.hypot(*sobel))) / plane.size
    assert gradients.edge_intensity(colour) == pytest.approx(
        (gradients.edge_intensity(colour[:, :, 0]) + gradients.edge_intensity(colour[:, :, 1])) / 2, rel=1e-15)


def test_kept_content_keys_are_hashed_once_and_forgotten_after_the_block(monkeypatch):
    from fusionbench.metrics import image_memo

    image = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    plane, other = image[:, :, 1], image[:, :, 2]
    expected = image_memo.content_key(plane)
    assert expected == image_memo.content_key(np.ascontiguousarray(plane))  # strides do not matter
    hashed = []
    original = image_memo._hashed_key
    monkeypatch.setattr(image_memo, "_hashed_key", lambda array: hashed.append(1) or original(array))
    with image_memo.keys_kept_for([plane, plane]):
        with image_memo.keys_kept_for([plane]):  # nested: still kept until the outer block ends
            assert image_memo.content_key(plane) == expected
        assert image_memo.content_key(plane) == expected and len(hashed) == 1
        image_memo.content_key(other)
        image_memo.content_key(other)  # not named: hashed on every call
        assert len(hashed) == 3
    assert not image_memo._KEPT_KEYS
    image_memo.content_key(plane)
    assert len(hashed) == 4
