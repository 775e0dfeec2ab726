"""restore's stages, one by one: each rule on hand-built inputs, each synthesis method on its
statistics, the compose formula and its seams, the glare gain on both sides of the grid factor."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest

import regrain
from regrain._filters import gaussian_blur
from regrain._grid import analysis_factor, touched_pixels
from regrain._materials import MATERIALS

analysis = importlib.import_module("regrain._restore.analysis")
classify = importlib.import_module("regrain._restore.classify")
synthesis = importlib.import_module("regrain._restore.synthesis")
compose = importlib.import_module("regrain._restore.compose")
report = importlib.import_module("regrain._restore.report")

AUTO = MATERIALS["auto"]


def _texture(size: int = 160, seed: int = 0, amount: float = 0.04, blur: float = 0.7):
    rng = np.random.default_rng(seed)
    grain = gaussian_blur(rng.standard_normal((size, size)).astype(np.float32), blur)
    grain *= amount / grain.std()
    ramp = np.linspace(0.35, 0.65, size, dtype=np.float32)[None, :]
    return np.clip(ramp + grain, 0, 1)[..., None].astype(np.float32)


def _analyse(original, edited, factor: int = 1):
    touched = touched_pixels(original, edited)
    return analysis.analyse(original, edited, touched, AUTO, factor)


def _band_rms(image, box) -> float:
    y = image[..., 0]
    band = (y - gaussian_blur(y, 2.0))[box]
    return float(np.sqrt(np.mean(band * band)))


# -- analysis: measured in strips ----------------------------------------------------------------
def _fields(a) -> dict:
    import dataclasses

    return {f.name: getattr(a, f.name) for f in dataclasses.fields(a) if f.name != "material"}


@pytest.mark.parametrize(
    ("shape", "factor"),
    [((300, 200, 3), 1), ((601, 777, 3), 3), ((1000, 513, 1), 2), ((7, 900, 3), 3)],
)
def test_the_strip_analysis_gives_the_whole_crop_s_figures_bit_for_bit(
    monkeypatch, shape, factor: int
) -> None:
    """The analysis is measured in strips of rows (with the blurs' reach as context): every
    figure must be the one a single strip over the whole crop gives, at factor 1 and coarser,
    with several strips, a remainder and a partial cell at the bottom, and a crop lower than
    a strip."""
    rng = np.random.default_rng(3)
    original = rng.random(shape, dtype=np.float32)
    edited = original.copy()
    edited[shape[0] // 4 : shape[0] // 2] *= 0.7
    edited[:, : shape[1] // 3] = gaussian_blur(original, 2.0)[:, : shape[1] // 3]
    monkeypatch.setattr(analysis, "STRIP_ROWS", 100)
    strips = _fields(_analyse(original, edited, factor))
    monkeypatch.setattr(analysis, "STRIP_ROWS", 1 << 20)
    whole = _fields(_analyse(original, edited, factor))
    assert len(list(analysis.row_strips(*shape[:2], factor, 9, rows=100))) == -(
        -(shape[0] // factor if factor > 1 else shape[0]) // max(1, 100 // factor)
    )
    for name, value in whole.items():
        got = strips[name]
        if isinstance(value, tuple):
            assert all(np.array_equal(x, y) for x, y in zip(value, got, strict=True)), name
        elif isinstance(value, np.ndarray):
            assert value.dtype == got.dtype and np.array_equal(value, got), name
        else:
            assert value == got, name


@pytest.mark.parametrize(
    ("shape", "factor", "radius"), [((300, 200, 3), 1, 2.0), ((1025, 301, 1), 4, 6.0)]
)
def test_the_band_energy_in_strips_is_the_whole_plane_s(monkeypatch, shape, factor, radius) -> None:
    """The result's texture figure (cell means of the squared restore band) is measured in
    strips: it must equal the plain formula on the whole plane, bit for bit."""
    from regrain._grid import to_grid
    from regrain._luma import luma

    monkeypatch.setattr(analysis, "STRIP_ROWS", 128)
    image = np.random.default_rng(4).random(shape, dtype=np.float32)
    grid = shape[:2] if factor == 1 else (shape[0] // factor, shape[1] // factor)
    y = luma(image)
    band = y - gaussian_blur(y, radius)
    plain = to_grid(band * band, factor, grid)
    assert np.array_equal(report.band_energy_cells(image, radius, factor, grid), plain)


def test_the_tail_quantile_is_numpy_s_quantile_exactly() -> None:
    """The outlier threshold's quantile skips partitioning the whole array: it must return
    numpy's value exactly, with ties, heavy tails, sorted input, NaN and q = 1."""
    rng = np.random.default_rng(6)
    n = 200_003
    cases = {
        "normal": rng.standard_normal(n),
        "cauchy": np.abs(rng.standard_cauchy(n)),
        "ties": np.round(rng.random(n) * 20),
        "sorted": np.sort(rng.random(n)),
        "small": rng.random(500),
    }
    with_nan = rng.random(n)
    with_nan[17] = np.nan
    cases["nan"] = with_nan
    for name, values in cases.items():
        values = values.astype(np.float32)
        for q in (0.9, 0.99, 0.999, 0.9999, 1.0):
            want = float(np.quantile(values, q))
            got = classify.tail_quantile(values, q)
            assert got == want or (np.isnan(want) and np.isnan(got)), (name, q)


# -- analysis: the glare gain ---------------------------------------------------------------------
@pytest.mark.parametrize("factor", [1, 3])
def test_glare_gain_is_measured_at_every_grid_factor(factor: int) -> None:
    """A veil of 50% white washed the texture out by half; the AI took it off. The gain must be
    2 inside, 1 outside, whether the grid is the pixels (factor 1) or coarser (factor 3): a
    reused buffer once made the edited tones alias the original's at factor 1."""
    scene = _texture(192)
    veil = np.zeros_like(scene)
    veil[48:144, 48:144] = 0.5
    original = scene * (1 - veil) + veil
    a = _analyse(original, scene, factor)
    gain = analysis.glare_gain(a)
    inner = slice(72 // factor, 120 // factor)
    assert a.tone_o is not a.tone_e and not np.shares_memory(a.tone_o, a.tone_e)
    assert gain[inner, inner].mean() == pytest.approx(2.0, rel=0.05)
    assert gain[: 24 // factor, : 24 // factor].max() == pytest.approx(1.0, abs=0.01)


def test_the_grid_factor_changes_where_the_analysis_pixels_say() -> None:
    assert analysis_factor((1000, 1000)) == 1
    assert analysis_factor((2000, 3000)) == 2
    assert analysis_factor((4000, 6000)) == 3


def test_glare_restore_gives_the_scene_texture_at_both_sides_of_the_threshold() -> None:
    """End to end below and above the grid threshold (factor 1 and 2)."""
    assert analysis_factor((256, 256)) == 1 and analysis_factor((2200, 2200)) == 2
    for size in (256, 2200):  # grid factor 1 and 2
        scene = _texture(size, blur=1.0)
        veil = np.zeros_like(scene)
        c, r = size // 2, size // 4
        veil[c - r : c + r, c - r : c + r] = 0.5
        original = scene * (1 - veil) + veil
        edited = original.copy()
        box = (slice(c - r, c + r), slice(c - r, c + r))
        edited[box] = gaussian_blur(scene, 3.0)[box]  # the AI took the veil off and smoothed
        result = regrain.restore(original, edited)
        inner = (slice(c - r // 2, c + r // 2),) * 2
        assert result.maps["gain"].max() > 1.8, size
        assert 0.85 < _band_rms(result.image, inner) / _band_rms(scene, inner) < 1.15, size


# -- classify: each rule ---------------------------------------------------------------------------
def test_reencoding_noise_is_not_an_edit_but_a_global_denoise_is() -> None:
    photo = _texture(160, amount=0.05)
    rng = np.random.default_rng(3)
    noisy = np.clip(photo + rng.uniform(-0.6 / 255, 0.6 / 255, photo.shape), 0, 1)
    noisy = noisy.astype(np.float32)
    edit = noisy.copy()
    edit[40:100, 40:100] = gaussian_blur(photo, 3.0)[40:100, 40:100]
    cells = classify.edited_cells(_analyse(photo, edit))
    assert cells[50:90, 50:90].all()
    assert cells[:20].mean() < 0.02  # re-encoding only: left as the tool left it
    denoised = gaussian_blur(photo, 2.0)  # the whole frame smoothed: every cell is an edit
    assert classify.edited_cells(_analyse(photo, denoised)).mean() > 0.95


def test_a_re_encoded_frame_of_mostly_backdrop_is_not_edited_as_a_whole() -> None:
    """Two thirds of the frame a smooth backdrop, all of it re-encoded, one area smoothed: the
    frame's texture lost a small share of its energy, though the median cell (backdrop, next to
    no texture) lost a large share of its own -- which had judged the whole frame a global edit
    and restored the re-encoding everywhere."""
    photo = _texture(240, amount=0.05)
    photo[:, 80:] = 0.5  # the backdrop
    rng = np.random.default_rng(3)
    noisy = np.clip(photo + rng.uniform(-2 / 255, 2 / 255, photo.shape), 0, 1)
    edit = noisy.astype(np.float32)
    edit[40:70, 20:50] = gaussian_blur(photo, 3.0)[40:70, 20:50]
    cells = classify.edited_cells(_analyse(photo, edit))
    assert cells[45:65, 25:45].all()
    assert cells[150:, :].mean() < 0.02  # re-encoding only, texture and backdrop alike


def _telea_filled(photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """*photo* with the *hole* (uint8 mask) filled by OpenCV's Telea inpainting at 8 bits."""
    levels = (photo * 255 + 0.5).astype(np.uint8)
    filled = cv2.inpaint(levels, hole, 3, cv2.INPAINT_TELEA).astype(np.float32)[..., None] / 255
    return np.where(hole[..., None] > 0, filled, photo).astype(np.float32)


def test_a_fill_is_replaced_content_a_smoothing_is_not() -> None:
    photo = _texture(160, amount=0.05)
    region = np.zeros(photo.shape[:2], np.uint8)
    region[50:110, 50:110] = 1
    inpainted = _telea_filled(photo, region)
    smoothed = np.where(region[..., None] > 0, gaussian_blur(photo, 2.5), photo).astype(np.float32)
    for edited, replaced in ((inpainted, True), (smoothed, False)):
        a = _analyse(photo, edited)
        found = classify.replaced_regions(a, classify.edited_cells(a, grow=False))
        assert bool(found[60:100, 60:100].mean() > 0.9) is replaced


@pytest.mark.parametrize("width", [7, 11])
def test_a_thin_fill_is_replaced_content_though_it_repeats_its_border(width: int) -> None:
    """A strip a few px wide healed by a fill: it repeats its border over its first pixels,
    which the texture correlates with (0.25-0.33 over the whole strip here, above the 0.2 bar);
    read at depth it is a fill.
    The same strip lightly smoothed keeps its copy at every depth and is not."""
    photo = _texture(256, amount=0.05, blur=1.5)
    original = photo.copy()
    y0 = 128 - width // 2
    strip = np.zeros(photo.shape[:2], np.uint8)
    strip[y0 : y0 + width, 16:240] = 1
    # a fill continuous with its border: each column interpolated between the rows around it
    top, bottom = original[y0 - 1, 16:240], original[y0 + width, 16:240]
    t = ((np.arange(width, dtype=np.float32) + 1) / (width + 1))[:, None, None]
    filled = original.copy()
    filled[y0 : y0 + width, 16:240] = (1 - t) * top[None] + t * bottom[None]
    smoothed = np.where(strip[..., None] > 0, gaussian_blur(original, 0.8), original)
    for edited, replaced in ((filled, True), (smoothed.astype(np.float32), False)):
        a = _analyse(original, edited)
        found = classify.replaced_regions(a, classify.edited_cells(a, grow=False))
        assert bool(found[y0 : y0 + width, 30:226].mean() > 0.9) is replaced


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    levels = np.round(np.clip(image[..., 0], 0, 1) * 255).astype(np.uint8)
    _, data = cv2.imencode(".jpg", levels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return (cv2.imdecode(data, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255)[..., None]


@pytest.mark.parametrize("quality", [85, 92])
def test_a_fill_in_a_re_encoded_frame_is_found_past_the_rim_the_encoder_copied(quality) -> None:
    """A fill, then the whole frame re-encoded: every pixel is touched and the change spreads
    over a rim around the fill that the encoder only copied (its fine detail intact). Read over
    the whole region, the rim's copy passed the fill for a filter (nothing found at either quality);
    read on the cells that lost their copy, beyond the rim, it is a fill. The same area lightly
    blurred keeps its structure and is not."""
    photo = _texture(256, amount=0.05, blur=0.7)
    hole = np.zeros(photo.shape[:2], np.uint8)
    hole[100:140, 90:170] = 1
    inpainted = _telea_filled(photo, hole)
    blurred = np.where(hole[..., None] > 0, gaussian_blur(photo, 1.5), photo).astype(np.float32)
    for edited, replaced in ((inpainted, True), (blurred, False)):
        a = _analyse(photo, _jpeg(edited, quality))
        assert classify._delivered(a)
        found = classify.replaced_regions(a, classify.edited_cells(a, grow=False))
        assert bool(found[104:136, 94:166].mean() > 0.9) is replaced
        assert found[hole == 0].mean() < 0.01  # the copied rim and the frame are not


def test_a_re_encoding_that_changes_more_detail_than_the_area_held_cannot_call_it_a_fill() -> None:
    """The same fill, but the re-encoding changes every other cell's finest detail by more than
    the original held under the fill: losing that detail is no evidence (a codec loses it too),
    and the region is not judged replaced on it."""
    import dataclasses

    photo = _texture(256, amount=0.05, blur=0.7)
    hole = np.zeros(photo.shape[:2], np.uint8)
    hole[100:140, 90:170] = 1
    a = _analyse(photo, _jpeg(_telea_filled(photo, hole), 92))
    core = classify.edited_cells(a, grow=False)
    assert classify.replaced_regions(a, core)[104:136, 94:166].mean() > 0.9
    oo, eo, ee = a.fine_sums
    rest = (a.touched_share > 0) & ~core
    louder = np.where(rest, ee + 10.0 * oo[hole > 0].mean(), ee).astype(np.float32)
    loud = dataclasses.replace(a, fine_sums=(oo, eo, louder))
    assert classify.replaced_regions(loud, core)[104:136, 94:166].mean() < 0.1


@pytest.mark.parametrize("quality", [80, 85, 92])
def test_a_frame_only_re_encoded_has_no_fill_on_its_copied_edges(quality) -> None:
    """Two thirds backdrop, a third grain crossed by bright rims, the whole frame re-encoded and
    nothing edited: the backdrop's tiny median change makes edited cells of the rims' codec
    change, small regions too small to show a significant copy. Their cells kept their copy of
    the finest detail, so none is a fill (426 cells were, at quality 85, when a small region's
    verdict marked all of its cells)."""
    photo = _texture(256, amount=0.05, blur=0.7)
    for x in range(20, 96, 40):
        photo[:, x : x + 2] += 0.3  # petal rims
    photo[:, 96:] = 0.5
    photo = np.clip(photo, 0, 1).astype(np.float32)
    a = _analyse(photo, _jpeg(photo, quality))
    found = classify.replaced_regions(a, classify.edited_cells(a, grow=False))
    assert found.sum() <= 0.001 * found.size


def test_an_object_taken_out_of_a_smoothed_area_is_found_locally() -> None:
    photo = _texture(192, amount=0.05)
    rng = np.random.default_rng(2)
    original = photo.copy()
    thing = gaussian_blur(rng.standard_normal((192, 192, 1)).astype(np.float32), 1.2)
    original[80:120, 80:120] = 0.25 + 0.1 * thing[80:120, 80:120]
    edited = photo.copy()
    edited[40:152, 40:152] = gaussian_blur(photo, 2.0)[40:152, 40:152]  # smoothed, thing gone
    a = _analyse(original, edited)
    found = classify.replaced_locally(a, classify.edited_cells(a, grow=False))
    assert found[88:112, 88:112].mean() > 0.8
    assert found[44:70, 44:148].mean() < 0.05  # the smoothed texture around it is not


def test_a_speck_the_ai_removed_while_keeping_a_copy_of_the_rest_is_an_outlier() -> None:
    photo = _texture(160, amount=0.03)
    original = photo.copy()
    original[78:82, 78:82] = 0.05  # a dark speck
    soft = photo + 0.5 * (gaussian_blur(photo, 1.5) - photo)  # the AI kept half of the detail
    edited = photo.copy()
    edited[40:120, 40:120] = soft[40:120, 40:120]
    a = _analyse(original, edited)
    edited_cells = classify.edited_cells(a)
    found = classify.outliers(a, edited_cells, a.touched_share == 0)
    assert found[78:82, 78:82].all()
    assert found.sum() < 200  # the speck and its rim, not the texture


def test_a_uniform_smoothing_of_heavy_tailed_texture_is_no_defect() -> None:
    """Sparse dark pores smoothed away with everything else: restored, not rebuilt."""
    rng = np.random.default_rng(4)
    pores = (rng.random((160, 160)) < 0.01).astype(np.float32)
    skin = 0.6 - 0.25 * gaussian_blur(pores, 0.8) / gaussian_blur(pores, 0.8).max()
    photo = np.clip(skin + 0.01 * rng.standard_normal((160, 160)), 0, 1)[..., None]
    photo = photo.astype(np.float32)
    edited = photo.copy()
    edited[30:130, 30:130] = gaussian_blur(photo, 3.0)[30:130, 30:130]
    regions = classify.classify(_analyse(photo, edited))
    assert regions.rebuild[40:120, 40:120].mean() < 0.02


def test_a_thin_scratch_removed_inside_a_softened_area_is_found() -> None:
    """A one-pixel anti-aliased scratch, six times the texture's spread, that the AI took out of
    an area where it kept half of the detail: faint pixel by pixel, strong along its length."""
    photo = _texture(160, amount=0.02)
    line = np.zeros(photo.shape[:2], np.float32)
    cv2.line(line, (50, 60), (110, 100), 1.0, 1, cv2.LINE_AA)
    original = np.clip(photo + 0.12 * line[..., None], 0, 1).astype(np.float32)
    soft = photo + 0.5 * (gaussian_blur(photo, 1.5) - photo)
    edited = photo.copy()
    edited[30:130, 30:130] = soft[30:130, 30:130]
    a = _analyse(original, edited)
    found = classify.scratches(a, classify.edited_cells(a), a.touched_share == 0)
    on_line = line > 0.5
    assert found[on_line].mean() > 0.7
    assert found[30:130, 30:130].mean() < 0.1


def test_a_scratch_healed_by_an_inpainting_fill_does_not_come_back() -> None:
    """The same scratch at moderate contrast (three times the texture), healed over a thin
    mask by a fill: the fill test rebuilds it, nothing of the line returns."""
    photo = _texture(160, amount=0.02)
    line = np.zeros(photo.shape[:2], np.float32)
    cv2.line(line, (30, 60), (130, 100), 1.0, 1, cv2.LINE_AA)
    original = np.clip(photo + 0.06 * line[..., None], 0, 1).astype(np.float32)
    mask = cv2.dilate((line > 0.02).astype(np.uint8), np.ones((5, 5), np.uint8))
    levels = (original * 65535 + 0.5).astype(np.uint16)
    filled = cv2.inpaint((levels >> 8).astype(np.uint8), mask, 3, cv2.INPAINT_TELEA)
    edited = np.where(mask[..., None] > 0, filled[..., None] / np.float32(255), original)
    out = regrain.restore(original, edited.astype(np.float32)).image
    on_line = line > 0.5
    band = lambda im: (im - gaussian_blur(im, 2.0))[..., 0]  # noqa: E731
    came_back = float(np.mean((band(out) - band(photo))[on_line]))
    assert came_back < 0.05 * 0.06


def test_smooth_cells_are_where_the_original_had_no_texture() -> None:
    flat = np.full((120, 120, 1), 0.5, np.float32)
    edited = flat.copy()
    edited[40:80, 40:80] += np.float32(3 / 255)
    a = _analyse(flat, edited)
    assert classify.smooth_cells(a, classify.edited_cells(a))[45:75, 45:75].all()


# -- synthesis: each method on its statistics ----------------------------------------------------
def _source(band: np.ndarray, radius: float = 3.0, isotropic: bool = False) -> synthesis.Source:
    h, w = band.shape
    clean = np.ones((h, w), bool)
    zone = (slice(h // 2 - 32, h // 2 + 32), slice(w // 2 - 32, w // 2 + 32))
    clean[zone] = False
    return synthesis.Source(band, clean, zone, radius, isotropic)


def _kurtosis(x: np.ndarray) -> float:
    x = x.ravel().astype(np.float64) - x.mean()
    return float(np.mean(x**4) / np.mean(x**2) ** 2)


def test_spectral_synthesis_keeps_sparse_texture_sparse() -> None:
    """Random phase alone makes marginals Gaussian (kurtosis 3); the histogram matching keeps
    pores' heavy tail."""
    rng = np.random.default_rng(0)
    pores = (rng.random((192, 192)) < 0.02).astype(np.float32)
    band = -gaussian_blur(pores, 0.8)
    band -= gaussian_blur(band, 3.0)
    source = _source(band.astype(np.float32))
    made = synthesis.spectral(source, np.random.default_rng(1))
    reference = band[source.clean]
    assert made.shape == source.zone_shape
    assert abs(float(made.mean())) < 1e-3 and float(made.std()) == pytest.approx(1.0, rel=1e-3)
    assert _kurtosis(reference) > 8
    assert _kurtosis(made) > 0.6 * _kurtosis(reference)
    assert np.sign(float(np.mean(made**3))) == np.sign(float(np.mean(reference**3)))


def test_exemplar_synthesis_keeps_a_weave_period() -> None:
    yy, xx = np.mgrid[0:192, 0:192].astype(np.float32)
    weave = (np.sin(2 * np.pi * xx / 12) * np.sin(2 * np.pi * yy / 12)).astype(np.float32)
    source = _source(weave)
    made = synthesis.exemplar(source, np.random.default_rng(1))
    assert made is not None
    spectrum = np.abs(np.fft.rfft(made - made.mean(), axis=1)).mean(axis=0)
    assert int(np.argmax(spectrum[1:])) + 1 == round(made.shape[1] / 12)


def test_the_method_is_chosen_by_measurement() -> None:
    rng = np.random.default_rng(2)
    noise = gaussian_blur(rng.standard_normal((192, 192)).astype(np.float32), 1.0)
    yy, xx = np.mgrid[0:192, 0:192].astype(np.float32)
    rings = np.cos(np.hypot((xx % 16) - 8, (yy % 16) - 8)).astype(np.float32)
    assert synthesis.choose_method(_source(noise))[0] == "spectral"
    assert synthesis.choose_method(_source(rings))[0] == "exemplar"


def test_sliced_wasserstein_separates_textures() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4000, 49)).astype(np.float32)
    b = rng.standard_normal((4000, 49)).astype(np.float32)
    c = 2.0 * rng.standard_normal((4000, 49)).astype(np.float32)
    same = synthesis.sliced_wasserstein(a, b)
    assert same < 0.1 < synthesis.sliced_wasserstein(a, c)


def test_histogram_matching_is_exact_on_equal_sizes() -> None:
    rng = np.random.default_rng(4)
    values = rng.standard_normal(1000).astype(np.float32)
    reference = rng.exponential(size=1000).astype(np.float32)
    out = synthesis.match_histograms(values, reference)
    assert np.allclose(np.sort(out), np.sort(reference), atol=1e-6)
    assert np.array_equal(np.argsort(out), np.argsort(values))


# -- compose ---------------------------------------------------------------------------------------
def test_a_step_the_ai_drew_stays_as_it_drew_it() -> None:
    original = np.ones((96, 96, 1), np.float32)
    edited = original.copy()
    edited[32:64, 32:64] = 0.9
    out = regrain.restore(original, edited).image
    assert np.array_equal(out, edited)


def test_the_image_is_the_edited_plus_the_layers() -> None:
    photo = _texture(160)
    original = photo.copy()
    original[70:90, 70:90] = 0.1  # an object
    edited = photo.copy()
    edited[30:130, 30:130] = gaussian_blur(photo, 3.0)[30:130, 30:130]
    for strength in (0.5, 1.0, 2.0):
        result = regrain.restore(original, edited, strength=strength, layers=True)
        layers = result.layers
        flat = np.clip(
            edited + strength * (layers["restored"] + layers["glare"] + layers["rebuilt"]), 0, 1
        )
        assert np.abs(flat - result.image).max() < 1e-6
        untouched = ~(original != edited).any(axis=2)
        for name in ("restored", "glare", "rebuilt"):
            assert not layers[name][untouched].any(), name
        assert layers["rebuilt_mask"][75:85, 75:85].all()
    assert np.array_equal(regrain.restore(original, edited, strength=0.0).image, edited)


def test_the_cross_fade_keeps_the_texture_strength_across_the_seam() -> None:
    """Restored texture fades out and rebuilt texture in with sqrt weights: the band's RMS along
    the seam stays within 20% of both sides."""
    photo = _texture(192, amount=0.04)
    original = photo.copy()
    original[72:120, 72:120] = 0.2  # a dark object: its area is rebuilt
    edited = photo.copy()
    edited[24:168, 24:168] = gaussian_blur(photo, 3.0)[24:168, 24:168]
    result = regrain.restore(original, edited)
    y = result.image[..., 0]
    band = y - gaussian_blur(y, 2.0)
    rms = np.sqrt(gaussian_blur(band * band, 3.0))
    rows = slice(80, 112)
    seam = rms[rows, 68:76].mean()
    restored_side = rms[rows, 40:60].mean()
    rebuilt_side = rms[rows, 84:108].mean()
    assert 0.8 < seam / restored_side < 1.25
    assert 0.8 < seam / rebuilt_side < 1.25


def test_rebuilt_amount_follows_the_nearest_clean_texture() -> None:
    """A speck on a smooth backdrop inside a textured photo gets the backdrop's (no) grain."""
    photo = _texture(192, amount=0.05)
    backdrop = photo.copy()
    yy, xx = np.mgrid[0:192, 0:192]
    disc = (yy - 96) ** 2 + (xx - 96) ** 2 < 50**2
    backdrop[disc] = gaussian_blur(photo, 12.0)[disc]
    original = backdrop.copy()
    original[94:99, 94:99] = 0.05
    edited = backdrop.copy()
    levels = (original * 255 + 0.5).astype(np.uint8)
    mask = np.zeros((192, 192), np.uint8)
    mask[90:103, 90:103] = 1
    filled = cv2.inpaint(levels, mask, 3, cv2.INPAINT_TELEA).astype(np.float32)[..., None] / 255
    edited[mask > 0] = filled[mask > 0]
    out = regrain.restore(original, edited).image
    assert np.abs(out - edited).max() < 3 / 255


def test_a_zone_two_materials_meet_across_gets_each_side_s_own_amount() -> None:
    """An object over the line between a texture and a smooth backdrop, removed by a fill: the
    textured side is rebuilt at the texture's amount (a median over the ring's tiles took the
    backdrop's band-to-detail ratio, 33 against 2.4, and gave it 3x the grain), and the
    backdrop's side gets clearly less (one level for the whole zone gave both the same)."""
    photo = _texture(192, amount=0.05)
    photo[:, 96:] = gaussian_blur(photo, 12.0)[:, 96:]
    original = photo.copy()
    original[72:120, 64:128] = 0.15
    edited = photo.copy()
    levels = (original[..., 0] * 255 + 0.5).astype(np.uint8)
    mask = np.zeros((192, 192), np.uint8)
    mask[68:124, 60:132] = 1
    filled = cv2.inpaint(levels, mask, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
    edited[mask > 0, 0] = filled[mask > 0]
    out = regrain.restore(original, edited).image
    added = out - edited
    textured_side = _band_rms(added, (slice(78, 114), slice(66, 90)))
    smooth_side = _band_rms(added, (slice(78, 114), slice(108, 126)))
    texture = _band_rms(photo, (slice(20, 60), slice(20, 90)))
    assert 0.7 * texture < textured_side < 1.3 * texture
    assert smooth_side < 0.6 * textured_side


def test_the_fill_s_tone_chooses_which_material_around_continues_under_it() -> None:
    """Two materials interleaved all around a zone (a textured dark one, a smooth bright one):
    a fill in the dark tone gets most of the texture's amount, one in the bright tone little
    (each shrunk a little toward the whole ring by TONE_PRIOR), where the plain carried mean
    gives both the average of the two."""
    n = 80
    own = np.zeros((n, n), bool)
    own[28:52, 28:52] = True
    yy, xx = np.mgrid[0:n, 0:n]
    textured = ((xx // 6) + (yy // 6)) % 2 == 0
    fine = np.where(textured, 1e-3, 1e-6).astype(np.float32)
    tone_o = np.where(textured, 0.3, 0.8).astype(np.float32)
    ring = dict(gap=2, width=6, block=12)
    everywhere = np.ones_like(own)
    plain, ratio = synthesis._amount(own, everywhere, ~own, fine, 2 * fine, **ring)
    levels = {}
    for fill in (0.3, 0.8):
        tone_e = np.where(own, fill, tone_o).astype(np.float32)
        level, ratio = synthesis._amount(
            own, everywhere, ~own, fine, 2 * fine, **ring, tones=(tone_o, tone_e)
        )
        levels[fill] = float(level[own].mean()) / ratio
    assert 0.7e-3 < levels[0.3] < 1.1e-3
    assert levels[0.8] < 0.3e-3
    assert 0.4e-3 < float(plain[own].mean()) / ratio < 0.6e-3


@pytest.mark.parametrize("radius", [31.9, 32.0, 64.0, 150.0])
def test_the_wide_blur_is_the_plain_blur_on_both_sides_of_its_threshold(radius: float) -> None:
    """A zone's normalised convolutions blur over its depth; from WIDE_BLUR up on a coarser grid
    (a whole-frame zone took minutes): below the threshold the plain blur bit for bit, above it
    within 1.5% of the plain blur's peak, for a ring-like plane and a stack of tone planes."""
    rng = np.random.default_rng(2)
    n = 700
    near = np.zeros((n, n), np.float32)
    near[60:80, :] = 1
    near[:, 40:55] = 1
    planes = [near, rng.random((n, n)).astype(np.float32) * near]
    planes.append(np.ascontiguousarray(np.stack([near, planes[1]] * 3, axis=-1)))  # 6 tones
    for plane in planes:
        plain = gaussian_blur(plane, radius)
        wide = synthesis._wide_blur(plane, radius)
        assert wide.shape == plane.shape and wide.dtype == np.float32
        if radius < synthesis.WIDE_BLUR:
            assert np.array_equal(wide, plain)
        else:
            assert np.abs(wide - plain).max() <= 0.015 * np.abs(plain).max()


def test_a_fill_s_smears_do_not_count_as_the_texture_it_left() -> None:
    """An object removed by a fill that left smooth streaks (coarse, no fine detail): the
    streaks are not texture, so the zone gets the surrounding texture's full amount (measured
    from the finest detail both sides), not what is left after the streaks are subtracted
    (which gave 0.21 of it)."""
    photo = _texture(192, amount=0.04)
    original = photo.copy()
    original[80:112, 80:112] = 0.15  # the object
    edited = photo.copy()
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    edited[80:112, 80:112, 0] = 0.5 + 0.06 * np.sin(2 * np.pi * (xx + 0.3 * yy) / 10.0)
    out = regrain.restore(original, edited).image
    inner = (slice(86, 106), slice(86, 106))
    ring = _band_rms(photo, (slice(40, 70), slice(40, 150)))
    added = out[..., 0] - edited[..., 0]
    added_band = added - gaussian_blur(added, 2.0)
    assert 0.75 * ring < float(np.sqrt(np.mean(added_band[inner] ** 2))) < 1.3 * ring


def test_the_excess_share_brings_the_fill_s_energy_down_to_the_surroundings() -> None:
    """Hand values: where the fill left four times the surroundings' energy, half its amplitude
    goes (its energy is then the target's); where it left less, none; nowhere above a quarter of
    the noise floor, no damping at all."""
    own = np.zeros((9, 9), bool)
    own[2:7, 2:7] = True
    target2 = np.full((9, 9), 1e-4, np.float32)
    left2 = np.where(own, 4e-4, 0.5e-4).astype(np.float32)
    damp = synthesis._excess(target2, left2, own)
    assert np.allclose(damp[own], 0.5, atol=1e-6)
    assert np.allclose(((1 - damp[own]) ** 2) * left2[own], target2[own])
    assert np.all(damp[~own] == 0)
    faint = (np.float32(analysis.NOISE_FLOOR / 8) + np.sqrt(target2)) ** 2
    assert synthesis._excess(target2, np.where(own, faint, 0).astype(np.float32), own) is None


@pytest.mark.parametrize("size", [160, 2200])
def test_a_fill_s_streaks_on_a_texture_free_backdrop_go_down_to_the_backdrop_s_level(size) -> None:
    """A speck healed on a smooth backdrop by a fill that drew fine streaks from its rim: the
    backdrop holds no texture, so the streaks are taken away (they were kept as the AI's before:
    their RMS unchanged), at grid factor 1 and 2; the strip path, the layered one and the one in
    place agree, and pixels the AI left alone stay the edited ones."""
    assert analysis_factor((size, size, 3)) == (1 if size < 1000 else 2)
    ramp = np.linspace(0.4, 0.6, size, dtype=np.float32)
    photo = np.repeat(np.repeat(ramp[None, :, None], size, 0), 3, 2) * np.float32([1, 0.9, 0.8])
    photo = np.ascontiguousarray(photo, dtype=np.float32)
    c, r = size // 2, max(8, size // 20)
    yy, xx = np.mgrid[0:size, 0:size]
    disc = (yy - c) ** 2 + (xx - c) ** 2 <= r * r
    original = photo.copy()
    original[(yy - c) ** 2 + (xx - c) ** 2 <= (r // 2) ** 2] = 0.1  # the speck
    edited = photo.copy()
    streaks = 0.01 * np.sin(2 * np.pi * np.arctan2(yy - c, xx - c) * r / 6.0).astype(np.float32)
    edited[disc] += streaks[disc, None]
    flat = regrain.restore(original, edited).image
    layered = regrain.restore(original, edited, layers=True).image
    assert np.abs(flat - layered).max() < 2e-6
    target = edited.copy()
    assert np.array_equal(regrain.restore(original, target, out=target).image, flat)
    inner = (yy - c) ** 2 + (xx - c) ** 2 <= (0.8 * r) ** 2

    def band_rms(image):
        y = image[..., 1]
        band = y - gaussian_blur(y, 2.0)
        return float(np.sqrt(np.mean(band[inner] ** 2)))

    assert band_rms(edited) > 0.004
    assert band_rms(flat) < 0.25 * band_rms(edited)
    touched = touched_pixels(original, edited)
    assert np.array_equal(flat[~touched], edited[~touched])


@pytest.mark.parametrize(("size", "strip"), [(160, 37), (160, 4096), (1500, 211)])
def test_the_strip_path_gives_the_plain_path_s_image(monkeypatch, size: int, strip: int) -> None:
    """The flat path composes in strips of rows, the layered path whole planes; they must agree,
    whatever the strip height (one strip, many, a remainder); factor 2 is the next test."""
    monkeypatch.setattr(compose, "STRIP_ROWS", strip)
    rng = np.random.default_rng(5)
    photo = np.clip(
        0.5 + 0.05 * gaussian_blur(rng.standard_normal((size, size, 3)).astype(np.float32), 0.8),
        0,
        1,
    ).astype(np.float32)
    original = photo.copy()
    c = size // 2
    original[c - 8 : c + 8, c - 8 : c + 8] = 0.1
    edited = photo.copy()
    box = (slice(size // 4, 3 * size // 4),) * 2
    edited[box] = gaussian_blur(photo, 3.0)[box]
    flat = regrain.restore(original, edited).image
    layered = regrain.restore(original, edited, layers=True).image
    assert np.abs(flat - layered).max() < 2e-6


@pytest.mark.parametrize(("size", "strip", "factor"), [(160, 5, 1), (160, 37, 1), (2200, 300, 2)])
def test_restoring_in_place_gives_restore_s_image_bit_for_bit(monkeypatch, size, strip, factor):
    """restore(out=edited), as restore_file calls it, writes the result over the edited pixels,
    strip by strip, keeping aside the edited rows the next strip's blur reads: the image must
    be restore's, bit for bit (and so must a separate out buffer's), with
    strips lower than the blur's reach (5 rows), many strips, a coarser grid, a removed defect
    rebuilt, a shape the AI drew (its edited band is kept), a mask and a strength; pixels the
    AI left alone stay the edited ones."""
    monkeypatch.setattr(compose, "STRIP_ROWS", strip)
    photo = _texture(size, amount=0.04)[..., [0, 0, 0]] * np.float32([1.0, 0.9, 0.8])
    photo = np.ascontiguousarray(photo, dtype=np.float32)
    assert analysis_factor(photo.shape) == factor
    original = photo.copy()
    c = size // 2
    original[c - 6 : c + 6, c - 6 : c + 6] = 0.1  # a blemish the AI removed
    edited = photo.copy()
    box = (slice(size // 4, 3 * size // 4),) * 2
    edited[box] = gaussian_blur(photo, 0.8)[box]  # mild: most of it is restored, not rebuilt
    q = size // 3
    edited[q : q + size // 8, q : q + size // 8] = 0.9  # a sharp shape the AI drew: its edges stay
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, : 2 * size // 3] = 1.0
    for options in ({}, {"mask": mask, "strength": 1.5}):
        plain = regrain.restore(original, edited, **options)
        target = edited.copy()
        fast = regrain.restore(original, target, out=target, **options)
        assert fast.image is target
        assert np.array_equal(fast.image, plain.image)
        apart = np.full_like(edited, np.nan)
        assert np.array_equal(
            regrain.restore(original, edited, out=apart, **options).image, plain.image
        )
        assert fast.figures == plain.figures
        assert plain.figures["share_rebuilt"] > 0 and plain.figures["share_restored"] > 0.3
        assert np.array_equal(fast.image[: size // 4 - 40], edited[: size // 4 - 40])


def test_out_receives_the_image_or_is_refused() -> None:
    """out= gets the image even when the AI changed nothing; a buffer of another kind, or one
    that overlaps the edited image without being it, is refused before any work."""
    from regrain.errors import ParameterError

    photo = _texture(64)
    out = np.zeros_like(photo)
    result = regrain.restore(photo, photo.copy(), out=out)
    assert result.image is out and np.array_equal(out, photo)
    edited = photo.copy()
    for bad in (np.zeros(photo.shape, np.float64), np.zeros((64, 63, 1), np.float32)):
        with pytest.raises(ParameterError, match="out must be"):
            regrain.restore(photo, edited, out=bad)
    big = np.zeros((65, 64, 1), np.float32)
    big[:64] = edited
    with pytest.raises(ParameterError, match="overlap"):
        regrain.restore(photo, big[:64], out=big[1:])


def test_the_strip_path_agrees_at_grid_factor_two(monkeypatch) -> None:
    monkeypatch.setattr(compose, "STRIP_ROWS", 300)
    photo = _texture(2200, amount=0.04)
    assert analysis_factor(photo.shape) == 2
    edited = photo.copy()
    edited[700:1400, 700:1400] = gaussian_blur(photo, 3.0)[700:1400, 700:1400]
    flat = regrain.restore(photo, edited).image
    layered = regrain.restore(photo, edited, layers=True).image
    assert np.abs(flat - layered).max() < 2e-6
