"""regrain.restore: region by region, what a retoucher checks on the result."""

from __future__ import annotations

import numpy as np
import pytest

import regrain
from regrain import _quality as quality
from regrain import _simulate as simulate
from regrain._filters import gaussian_blur


def _textured(size: int = 128, seed: int = 0, amount: float = 0.04) -> np.ndarray:
    """A mid-gray photo-like plane with fine, slightly blurred grain (H, W, 1) float32."""
    rng = np.random.default_rng(seed)
    grain = gaussian_blur(rng.standard_normal((size, size)).astype(np.float32), 0.7)
    grain *= amount / grain.std()
    ramp = np.linspace(0.35, 0.65, size, dtype=np.float32)[None, :]
    return np.clip(ramp + grain, 0, 1)[..., None].astype(np.float32)


def _high_rms(image: np.ndarray, box: tuple[slice, slice]) -> float:
    high = quality.high_band(image)[box]
    return float(np.sqrt(np.mean(high * high)))


@pytest.fixture(scope="module")
def cases() -> dict[str, simulate.DamageCase]:
    found = {name: make("chelsea") for name, make in simulate.CASES.items()}
    # removals as an inpainting tool makes them: only the selection is touched, filled from its
    # border (OpenCV's Telea fill), the defects and the object gone with the texture under them
    found["defect"] = _inpainted("chelsea", "defect")
    found["replaced"] = _inpainted("chelsea", "replaced")
    return found


def _inpainted(photo: str, kind: str, seed: int = 0) -> simulate.DamageCase:
    """Dark specks, a light scratch and a blemish (defect), or a dark textured object
    (replaced), painted on a photo and removed by cv2.inpaint over their dilated mask."""
    import cv2

    rng = np.random.default_rng(seed)
    clean = simulate.load_photo(photo)
    h, w = clean.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    if kind == "defect":
        for _ in range(6):
            cy, cx = rng.integers(60, h - 60), rng.integers(60, w - 60)
            cv2.circle(alpha, (int(cx), int(cy)), int(rng.integers(2, 5)), 1.0, -1, cv2.LINE_AA)
        cv2.line(alpha, (120, 80), (260, 140), 1.0, 1, cv2.LINE_AA)
        paint = np.where(alpha[..., None] > 0, 0.15, 0.0)
        paint[120:124, 300:400] = 0.95  # a bright scratch
        alpha[120:124, 300:400] = 1.0
    else:
        cv2.ellipse(alpha, (250, 150), (34, 26), 20, 0, 360, 1.0, -1, cv2.LINE_AA)
        grit = gaussian_blur(rng.standard_normal((h, w, 1)).astype(np.float32), 1.0)
        paint = np.clip(0.2 + 0.08 * grit, 0, 1) * np.ones((1, 1, 3), np.float32)
    a3 = alpha[..., None]
    original = simulate._q16(clean * (1 - a3) + paint * a3)
    mask = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((7, 7), np.uint8))
    levels = (original * 255 + 0.5).astype(np.uint8)
    filled = cv2.inpaint(levels, mask, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
    inside = mask[..., None] > 0
    edited = np.where(inside, simulate._q16(filled), original).astype(np.float32)
    truth = np.where(inside, simulate._q16(clean), original).astype(np.float32)
    region = mask.astype(np.float32)
    return simulate.DamageCase(
        name=kind,
        photo=photo,
        material="fur",
        original=original,
        edited=edited,
        truth=truth,
        region=region,
        defect=region,
        defect_high=simulate.defect_band(original, truth, region),
        parts={kind: region},
    )


def test_untouched_pixels_are_bit_identical() -> None:
    photo = _textured()
    edited = photo.copy()
    edited[40:80, 30:90] = gaussian_blur(photo, 3.0)[40:80, 30:90]
    out = regrain.restore(photo, edited).image
    untouched = np.all(photo == edited, axis=2)
    assert untouched.sum() > 10_000
    assert np.array_equal(out[untouched], edited[untouched])


def test_nothing_changed_returns_the_edited_image() -> None:
    photo = _textured()
    result = regrain.restore(photo, photo.copy())
    assert np.array_equal(result.image, photo)
    assert result.figures["plastic_before"] == 0.0


def test_smoothed_texture_comes_back_on_the_ai_tones() -> None:
    photo = _textured()
    box = (slice(40, 88), slice(40, 88))
    edited = photo.copy()
    edited[box] = gaussian_blur(photo, 3.0)[box] + 0.03  # plastic, and a little brighter
    out = regrain.restore(photo, edited).image
    inner = (slice(46, 82), slice(46, 82))
    assert _high_rms(edited, inner) < 0.4 * _high_rms(photo, inner)
    assert 0.85 < _high_rms(out, inner) / _high_rms(photo, inner) < 1.15
    # the AI's tones are kept: the low band moved by far less than the brightening
    tones = np.abs(quality.tones(out) - quality.tones(edited))[inner]
    assert tones.mean() < 0.002


@pytest.mark.parametrize("kind", ["retone", "glare"])
def test_original_texture_goes_back_where_only_tones_changed(cases, kind: str) -> None:
    case = cases[kind]
    figures = quality.measure(case, regrain.restore(case.original, case.edited).image)
    assert 0.85 <= figures["energy"] <= 1.15
    assert figures["fidelity"] >= 0.9


@pytest.mark.parametrize("kind", ["defect", "replaced"])
def test_removed_defects_and_objects_stay_away(cases, kind: str) -> None:
    case = cases[kind]
    out = regrain.restore(case.original, case.edited).image
    figures = quality.measure(case, out)
    assert abs(figures["leak"]) <= 0.05, "the removed defect or object came back"
    assert 0.6 <= figures["energy"] <= 1.4, "the rebuilt area should carry texture"
    assert figures["far"] == 0.0


def test_frequency_separation_would_have_leaked(cases) -> None:
    """The benchmark's leak figure is live: putting the original's High back leaks the defect."""
    case = cases["defect"]
    low, _ = regrain.split(case.edited, 4.0)
    _, high = regrain.split(case.original, 4.0)
    assert quality.measure(case, regrain.merge(low, high))["leak"] > 0.5


def test_no_grain_is_added_where_the_original_had_none() -> None:
    flat = np.full((128, 128, 1), 0.6, np.float32)
    original = flat.copy()
    original[60:64, 60:64] = 0.2  # a dust speck on a seamless backdrop
    edited = flat.copy()
    edited[56:68, 56:68] += np.float32(1 / 65535)  # the AI painted it out (and touched the area)
    out = regrain.restore(original, edited).image
    assert np.abs(out - edited).max() < 0.002
    assert abs(float(out[56:68, 56:68].mean()) - 0.6) < 0.001


def test_smooth_case_stays_smooth(cases) -> None:
    """A speck healed on a texture-free backdrop: restore adds no grain of its own, and the
    fill's own streaks (grain+ 0.15 in the AI output) are taken down to the backdrop's level:
    the output is nearer the truth than the AI's, and only the healed pixels change."""
    case = cases["smooth"]
    out = regrain.restore(*_pair(case)).image
    figures = quality.measure(case, out)
    assert quality.measure(case, case.edited)["grain+"] > 0.1
    assert figures["grain+"] <= 0.05
    assert abs(figures["leak"]) <= 0.05
    inside = case.region > 0
    assert (
        np.abs(out - case.truth)[inside].mean()
        < 0.8 * np.abs(case.edited - case.truth)[inside].mean()
    )
    touched = np.not_equal(case.original, case.edited).any(axis=2)
    assert np.array_equal(out[~touched], case.edited[~touched])


def _pair(case: simulate.DamageCase) -> tuple[np.ndarray, np.ndarray]:
    return case.original, case.edited


def test_mask_limits_the_work() -> None:
    photo = _textured()
    edited = photo.copy()
    edited[20:108, 20:108] = gaussian_blur(photo, 3.0)[20:108, 20:108]
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :64] = 1.0
    out = regrain.restore(photo, edited, mask=mask).image
    assert np.array_equal(out[:, 64:], edited[:, 64:])
    assert not np.array_equal(out[:, :64], edited[:, :64])


def test_rebuilt_texture_is_repeatable_by_seed(cases) -> None:
    case = cases["replaced"]
    one = regrain.restore(case.original, case.edited, seed=3).image
    again = regrain.restore(case.original, case.edited, seed=3).image
    other = regrain.restore(case.original, case.edited, seed=4).image
    assert np.array_equal(one, again)
    assert not np.array_equal(one, other)


def test_maps_explain_the_regions(cases) -> None:
    result = regrain.restore(cases["replaced"].original, cases["replaced"].edited)
    region = cases["replaced"].region > 0.5
    classes = result.map("classes")
    assert classes.shape == region.shape
    assert np.mean(classes[region] == 2) > 0.9  # rebuilt
    assert np.all(classes[~(result.map("changed") > 0)] == 0)  # untouched
    retone = regrain.restore(cases["retone"].original, cases["retone"].edited)
    assert np.mean(retone.map("classes")[cases["retone"].region > 0.5] == 1) > 0.9  # restored


def test_figures_report_the_recovery(cases) -> None:
    case = cases["retone"]
    figures = regrain.restore(case.original, case.edited).figures
    assert figures["plastic_before"] > figures["plastic_after"]
    assert figures["energy_ratio_before"] < 0.6 < 0.9 < figures["energy_ratio_after"]


def test_bad_arguments_name_the_rule() -> None:
    photo = _textured()
    with pytest.raises(ValueError, match="unknown material 'wood'; expected one of"):
        regrain.restore(photo, photo, material="wood")
    with pytest.raises(ValueError, match="differ in size"):
        regrain.restore(photo, photo[:64])
    with pytest.raises(ValueError, match="same channels"):
        regrain.restore(photo, np.repeat(photo, 3, axis=2))


def test_reencoding_noise_alone_is_left_as_it_is() -> None:
    """A tool that re-encodes the whole frame touches every pixel; only the real edit is worked."""
    photo = _textured()
    rng = np.random.default_rng(1)
    noise = rng.uniform(-0.6 / 255, 0.6 / 255, photo.shape).astype(np.float32)
    edited = np.clip(photo + noise, 0, 1)
    edited[40:88, 40:88] = gaussian_blur(photo, 3.0)[40:88, 40:88]
    out = regrain.restore(photo, edited).image
    assert np.mean(photo != edited) > 0.99  # (nearly) every pixel touched
    assert np.array_equal(out[:24], edited[:24])  # far from the edit: as the tool left it
    inner = (slice(46, 82), slice(46, 82))
    assert 0.85 < _high_rms(out, inner) / _high_rms(photo, inner) < 1.15


def _anisotropy(high: np.ndarray) -> float:
    """Energy of vertical over horizontal differences: > 1 when streaks run horizontally."""
    dy = np.diff(high, axis=0)
    dx = np.diff(high, axis=1)
    return float((dy * dy).mean() / (dx * dx).mean())


@pytest.mark.parametrize(("material", "directional"), [("metal", True), ("skin", False)])
def test_rebuilt_texture_keeps_the_grain_direction_of_metal_not_of_skin(material, directional):
    """Brushed metal: horizontal streaks; a removed object is rebuilt with the same streaks
    (metal) or without a direction (skin: pores have none)."""
    rng = np.random.default_rng(5)
    import cv2

    noise = rng.standard_normal((160, 160)).astype(np.float32)
    streaks = cv2.GaussianBlur(noise, (0, 0), sigmaX=4, sigmaY=0.6)
    photo = (0.5 + 0.04 * streaks / streaks.std())[..., None].astype(np.float32)
    original = photo.copy()
    original[60:100, 60:100] = 0.15  # a dark object on the metal
    edited = photo.copy()
    edited[56:104, 56:104] = 0.5  # the AI removed it and left plastic
    out = regrain.restore(original, edited, material=material).image
    inside = (slice(64, 96), slice(64, 96))
    high = (out - gaussian_blur(out, 3.0))[..., 0][inside]
    around = (photo - gaussian_blur(photo, 3.0))[..., 0][:40, :]
    assert _anisotropy(around) > 3  # the test surface really is brushed
    assert np.sqrt((high**2).mean()) > 0.3 * np.sqrt((around**2).mean())  # texture came back
    if directional:
        assert _anisotropy(high) > 2
    else:
        assert 0.5 < _anisotropy(high) < 2
