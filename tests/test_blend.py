"""Blend modes against the W3C formulas, worked out by hand, branch by branch.

Every expected number below is computed in the comment beside it from the published formula
(https://www.w3.org/TR/compositing-1/#blending), not from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from regrain import BLEND_MODES, ParameterError, blend, luminosity_blend
from regrain._blend import mode_key


def px(*values: float) -> np.ndarray:
    """One pixel as float32 (1, 1, C)."""
    return np.array(values, np.float32).reshape(1, 1, -1)


def lum(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.3 + rgb[..., 1] * 0.59 + rgb[..., 2] * 0.11


# (mode, base Cb, layer Cs, expected B) on gray pixels: the separable formulas channel by channel
SEPARABLE = [
    ("normal", 0.3, 0.8, 0.8),  # Cs
    ("multiply", 0.5, 0.4, 0.2),  # 0.5 * 0.4
    ("screen", 0.5, 0.4, 0.7),  # 0.5 + 0.4 - 0.2
    ("overlay", 0.25, 0.6, 0.3),  # Cb <= .5: 2 * 0.25 * 0.6
    ("overlay", 0.75, 0.6, 0.8),  # Cb > .5: 1 - 2 * 0.25 * 0.4
    ("overlay", 0.5, 0.8, 0.8),  # the two branches meet at Cb = .5: 2 * .5 * .8
    ("hard-light", 0.6, 0.25, 0.3),  # Cs <= .5: 2 * 0.6 * 0.25
    ("hard-light", 0.6, 0.75, 0.8),  # Cs > .5: 1 - 2 * 0.4 * 0.25
    ("soft-light", 0.4, 0.25, 0.28),  # Cs <= .5: 0.4 - (1 - 0.5) * 0.4 * 0.6
    ("soft-light", 0.64, 0.75, 0.72),  # Cs > .5, Cb > .25: 0.64 + 0.5 * (sqrt(.64) - .64)
    # Cs > .5, Cb <= .25: D = ((16*.125 - 12)*.125 + 4)*.125 = 0.34375; .125 + 1*(D - .125)
    ("soft-light", 0.125, 1.0, 0.34375),
    ("linear-light", 0.3, 0.4, 0.1),  # 0.3 + 0.8 - 1
    ("linear-light", 0.2, 0.1, 0.0),  # 0.2 + 0.2 - 1 = -0.6, clipped
    ("linear-light", 0.8, 0.9, 1.0),  # 0.8 + 1.8 - 1 = 1.6, clipped
    ("linear-light", 0.5, 0.5, 0.5),  # mid-gray layer is neutral
    ("linear-dodge", 0.3, 0.4, 0.7),  # 0.3 + 0.4
    ("linear-dodge", 0.8, 0.5, 1.0),  # 1.3, clipped
    ("difference", 0.3, 0.8, 0.5),  # |0.3 - 0.8|
    ("difference", 0.8, 0.3, 0.5),  # |0.8 - 0.3|
    ("darken", 0.3, 0.8, 0.3),  # min
    ("darken", 0.8, 0.3, 0.3),
    ("lighten", 0.3, 0.8, 0.8),  # max
    ("lighten", 0.8, 0.3, 0.8),
    ("color-dodge", 0.25, 0.5, 0.5),  # 0.25 / (1 - 0.5)
    ("color-dodge", 0.6, 0.5, 1.0),  # 1.2, at most 1
    ("color-dodge", 0.3, 1.0, 1.0),  # Cs = 1: 1 (no division by zero)
    ("color-dodge", 0.0, 1.0, 0.0),  # Cb = 0 comes first: 0, even with Cs = 1
    ("color-dodge", 0.0, 0.4, 0.0),  # 0 / 0.6
    ("color-burn", 0.75, 0.5, 0.5),  # 1 - (1 - 0.75) / 0.5
    ("color-burn", 0.2, 0.5, 0.0),  # 1 - min(1, 1.6)
    ("color-burn", 0.6, 0.0, 0.0),  # Cs = 0: 0 (no division by zero)
    ("color-burn", 1.0, 0.0, 1.0),  # Cb = 1 comes first: 1, even with Cs = 0
    ("linear-burn", 0.7, 0.5, 0.2),  # 0.7 + 0.5 - 1
    ("linear-burn", 0.3, 0.4, 0.0),  # -0.3, clipped
    ("vivid-light", 0.75, 0.25, 0.5),  # Cs <= .5: burn(0.75, 0.5) = 1 - 0.25 / 0.5
    ("vivid-light", 0.25, 0.75, 0.5),  # Cs > .5: dodge(0.25, 0.5) = 0.25 / 0.5
    ("vivid-light", 0.4, 0.5, 0.4),  # burn(0.4, 1) = 1 - 0.6: mid-gray is neutral
    ("vivid-light", 0.6, 0.0, 0.0),  # burn with 0
    ("vivid-light", 1.0, 0.0, 1.0),  # burn with 0 of white: white
    ("vivid-light", 0.3, 1.0, 1.0),  # dodge with 1
    ("vivid-light", 0.0, 1.0, 0.0),  # dodge with 1 of black: black
    ("pin-light", 0.6, 0.25, 0.5),  # Cs <= .5: min(0.6, 0.5)
    ("pin-light", 0.3, 0.25, 0.3),  # min(0.3, 0.5)
    ("pin-light", 0.3, 0.75, 0.5),  # Cs > .5: max(0.3, 0.5)
    ("pin-light", 0.8, 0.75, 0.8),  # max(0.8, 0.5)
    ("hard-mix", 0.6, 0.5, 1.0),  # 1.1 >= 1
    ("hard-mix", 0.4, 0.5, 0.0),  # 0.9 < 1
    ("hard-mix", 0.5, 0.5, 1.0),  # the threshold itself: 255 or more gives 255
    ("hard-mix", 100 / 255, 155 / 255, 1.0),  # 8-bit levels summing to 255
    ("hard-mix", 100 / 255, 154 / 255, 0.0),  # one level short
    ("exclusion", 0.5, 0.4, 0.5),  # 0.5 + 0.4 - 2 * 0.2
    ("exclusion", 0.2, 0.7, 0.62),  # 0.9 - 2 * 0.14
    ("subtract", 0.7, 0.2, 0.5),  # 0.7 - 0.2
    ("subtract", 0.2, 0.7, 0.0),  # -0.5, clipped
    ("divide", 0.3, 0.6, 0.5),  # 0.3 / 0.6
    ("divide", 0.6, 0.3, 1.0),  # 2, at most 1
    ("divide", 0.4, 0.0, 1.0),  # by black: white (no division by zero)
    ("divide", 0.0, 0.0, 0.0),  # 0 / 0: black, as Color Dodge's black base
]


@pytest.mark.parametrize(("mode", "cb", "cs", "expected"), SEPARABLE)
def test_separable_mode_matches_formula(mode: str, cb: float, cs: float, expected: float) -> None:
    got = blend(px(cb), px(cs), mode)
    np.testing.assert_allclose(got, px(expected), atol=2e-7)
    # separable: the same in every channel of an RGB pixel, and with a gray layer over RGB
    np.testing.assert_allclose(blend(px(cb, cb, cb), px(cs, cs, cs), mode), px(*[expected] * 3),
                               atol=2e-7)  # fmt: skip
    np.testing.assert_allclose(blend(px(cb, cb, cb), px(cs), mode), px(*[expected] * 3), atol=2e-7)


@pytest.mark.parametrize(
    ("mode", "neutral"),
    [("multiply", 1.0), ("screen", 0.0), ("overlay", 0.5), ("soft-light", 0.5),
     ("hard-light", 0.5), ("linear-light", 0.5), ("linear-dodge", 0.0), ("difference", 0.0),
     ("darken", 1.0), ("lighten", 0.0), ("color-dodge", 0.0), ("linear-burn", 1.0),
     ("pin-light", 0.5), ("exclusion", 0.0), ("subtract", 0.0), ("divide", 1.0)],
)  # fmt: skip
def test_neutral_layer_leaves_the_base_bit_for_bit(mode: str, neutral: float) -> None:
    # e.g. a 50 % gray grain layer or High Pass layer with nothing on it changes nothing
    base = np.random.default_rng(5).random((32, 48, 3), dtype=np.float32)
    layer = np.full((32, 48, 1), neutral, np.float32)
    assert np.array_equal(blend(base, layer, mode), base)


def test_soft_light_is_w3c_not_pegtop() -> None:
    # Pegtop/GIMP: (1 - 2*Cs)*Cb^2 + 2*Cs*Cb = -0.5*0.4096 + 1.5*0.64 = 0.7552; W3C gives 0.72
    got = float(blend(px(0.64), px(0.75), "soft-light")[0, 0, 0])
    assert got == pytest.approx(0.72, abs=1e-6)
    assert abs(got - 0.7552) > 0.03


# (mode, base, layer, expected): non-separable, Lum = 0.3 R + 0.59 G + 0.11 B
NON_SEPARABLE = [
    # Lum(base) = .06 + .236 + .066 = .362; Lum(layer) = .5: shift +.138, no clipping
    ("luminosity", (0.2, 0.4, 0.6), (0.5, 0.5, 0.5), (0.338, 0.538, 0.738)),
    # Lum(layer) = .27 + .177 + .055 = .502: shift +.14
    ("luminosity", (0.2, 0.4, 0.6), (0.9, 0.3, 0.5), (0.34, 0.54, 0.74)),
    # ClipColor, n < 0: SetLum((1,0,0), .1) = (.8, -.2, -.2); C = .1 + (C - .1) * .1 / (.1 + .2)
    ("luminosity", (1.0, 0.0, 0.0), (0.1, 0.1, 0.1), (1 / 3, 0.0, 0.0)),
    # ClipColor, x > 1: SetLum((0,0,1), .9) = (.79, .79, 1.79); C = .9 + (C - .9) * .1 / .89
    ("luminosity", (0.0, 0.0, 1.0), (0.9, 0.9, 0.9), (0.9 - 0.011 / 0.89, 0.9 - 0.011 / 0.89, 1.0)),
    # Color: SetLum(layer, Lum(base)); Lum(layer) = .15 + .295 + .099 = .544; shift -.182
    ("color", (0.2, 0.4, 0.6), (0.5, 0.5, 0.9), (0.318, 0.318, 0.718)),
    # ClipColor, x > 1: SetLum((1,0,0), .8) = (1.5, .5, .5); C = .8 + (C - .8) * .2 / .7
    ("color", (0.8, 0.8, 0.8), (1.0, 0.0, 0.0), (1.0, 0.8 - 0.06 / 0.7, 0.8 - 0.06 / 0.7)),
    # ClipColor, n < 0: SetLum((0,0,1), .05) = (-.06, -.06, .94); C = .05 + (C - .05) * .05 / .11
    ("color", (0.05, 0.05, 0.05), (0.0, 0.0, 1.0), (0.0, 0.0, 0.05 + 0.89 * 0.05 / 0.11)),
    # Hue: SetSat(layer, Sat(base) = .4): layer max R -> .4, min G -> 0, mid B -> (.5-.3)*.4/.6;
    # (.4, 0, 2/15) has Lum .12 + .11 * 2/15 = .134667; SetLum to Lum(base) .362: + .227333
    ("hue", (0.2, 0.4, 0.6), (0.9, 0.3, 0.5), (0.4 + 0.2273333, 0.2273333, 2 / 15 + 0.2273333)),
    # a gray layer has no hue: SetSat(gray, .4) = 0, SetLum(0, .362) desaturates the base
    ("hue", (0.2, 0.4, 0.6), (0.9, 0.9, 0.9), (0.362, 0.362, 0.362)),
    # Saturation: SetSat(base, Sat(layer) = .6): min R -> 0, max B -> .6, mid G -> .2*.6/.4 = .3;
    # (0, .3, .6) has Lum .177 + .066 = .243; SetLum to .362: + .119
    ("saturation", (0.2, 0.4, 0.6), (0.9, 0.3, 0.5), (0.119, 0.419, 0.719)),
    # ClipColor, x > 1: SetSat((1, .9, .9), 1) = (1, 0, 0), SetLum to .93 = (1.63, .63, .63);
    # C = .93 + (C - .93) * .07 / .7 gives (1, .9, .9) back: the base was already that saturated
    ("saturation", (1.0, 0.9, 0.9), (1.0, 0.0, 0.0), (1.0, 0.9, 0.9)),
]


@pytest.mark.parametrize(("mode", "cb", "cs", "expected"), NON_SEPARABLE)
def test_non_separable_mode_matches_formula(
    mode: str, cb: tuple[float, ...], cs: tuple[float, ...], expected: tuple[float, ...]
) -> None:
    got = blend(px(*cb), px(*cs), mode)
    np.testing.assert_allclose(got, px(*expected), atol=1e-6)
    # SetLum + ClipColor keep the target luminosity exactly
    target = lum(px(*cs)) if mode == "luminosity" else lum(px(*cb))
    np.testing.assert_allclose(lum(got), target, atol=1e-6)


def test_gray_images_in_color_and_luminosity() -> None:
    # a gray pixel is all luminosity: Luminosity gives the layer, Color keeps the base
    assert float(blend(px(0.3), px(0.7), "luminosity")[0, 0, 0]) == pytest.approx(0.7)
    assert float(blend(px(0.3), px(0.7), "color")[0, 0, 0]) == pytest.approx(0.3)
    # a gray layer in Color over RGB desaturates the base to its Lum (.362)
    np.testing.assert_allclose(blend(px(0.2, 0.4, 0.6), px(0.9), "color"), px(0.362, 0.362, 0.362),
                               atol=1e-6)  # fmt: skip
    # a gray layer in Luminosity over RGB sets Lum to the layer's value
    np.testing.assert_allclose(lum(blend(px(0.2, 0.4, 0.6), px(0.5), "luminosity")), [[0.5]],
                               atol=1e-6)  # fmt: skip
    # Hue and Saturation: a gray base stays, a gray layer (no hue, saturation 0) desaturates
    for mode in ("hue", "saturation"):
        assert float(blend(px(0.3), px(0.7), mode)[0, 0, 0]) == pytest.approx(0.3)
        np.testing.assert_allclose(blend(px(0.2, 0.4, 0.6), px(0.9), mode),
                                   px(0.362, 0.362, 0.362), atol=1e-6)  # fmt: skip


def test_opacity_and_soft_mask() -> None:
    # base + (B - base) * opacity: 0.2 + (0.6 - 0.2) * 0.25 = 0.3
    np.testing.assert_allclose(blend(px(0.2), px(0.6), opacity=0.25), px(0.3), atol=1e-7)
    # multiply(.5, .4) = .2; mask .5 and opacity .5: .5 + (.2 - .5) * .25 = .425
    base = np.full((1, 3, 1), 0.5, np.float32)
    layer = np.full((1, 3, 1), 0.4, np.float32)
    mask = np.array([[0.0, 0.5, 1.0]], np.float32)
    got = blend(base, layer, "multiply", opacity=0.5, mask=mask)
    np.testing.assert_allclose(got[0, :, 0], [0.5, 0.425, 0.35], atol=1e-7)  # .5 + (-.3) * .5


def _set_lum(c: np.ndarray, target: np.ndarray) -> np.ndarray:
    """W3C SetLum then ClipColor, written the plain way."""
    c = c + (target - lum(c))[..., None]
    lu, n, x = lum(c)[..., None], c.min(axis=2, keepdims=True), c.max(axis=2, keepdims=True)
    c = np.where(n < 0, lu + (c - lu) * lu / np.where(n < 0, lu - n, 1), c)
    return np.where(x > 1, lu + (c - lu) * (1 - lu) / np.where(x > 1, x - lu, 1), c)


def _set_sat(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """W3C SetSat, channel by channel as the spec's Cmax / Cmid / Cmin steps."""
    order = np.argsort(c, axis=2, kind="stable")
    low, mid, high = (np.take_along_axis(c, order[..., k : k + 1], axis=2) for k in range(3))
    span = high - low
    safe = np.where(span > 0, span, 1)
    values = [np.zeros_like(low), np.where(span > 0, (mid - low) * s / safe, 0),
              np.where(span > 0, s, 0)]  # fmt: skip
    out = np.empty_like(c)
    for k in range(3):
        np.put_along_axis(out, order[..., k : k + 1], values[k], axis=2)
    return out


def _reference(mode: str, cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """The published formulas written the plain way (float64, np.where), for random images."""
    cb, cs = cb.astype(np.float64), cs.astype(np.float64)
    multiply, screen = cb * cs, cb + cs - cb * cs
    hard = np.where(cs <= 0.5, cb * 2 * cs, cb + (2 * cs - 1) - cb * (2 * cs - 1))
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    soft = np.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))

    def dodge(b: np.ndarray, s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, 0, np.where(s >= 1, 1, np.minimum(1, b / (1 - s))))

    def burn(b: np.ndarray, s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 1, 1, np.where(s <= 0, 0, 1 - np.minimum(1, (1 - b) / s)))

    with np.errstate(divide="ignore", invalid="ignore"):
        divided = np.where(cb == 0, 0, np.where(cs == 0, 1, np.minimum(1, cb / cs)))
    table = {
        "normal": cs + 0 * cb,
        "multiply": multiply,
        "screen": screen,
        "overlay": np.where(cb <= 0.5, 2 * cb * cs, 1 - 2 * (1 - cb) * (1 - cs)),
        "hard-light": hard,
        "soft-light": soft,
        "linear-light": cb + 2 * cs - 1,
        "linear-dodge": cb + cs,
        "difference": np.abs(cb - cs),
        "darken": np.minimum(cb, cs),
        "lighten": np.maximum(cb, cs),
        "color-dodge": dodge(cb, cs),
        "color-burn": burn(cb, cs),
        "linear-burn": cb + cs - 1,
        "vivid-light": np.where(cs <= 0.5, burn(cb, 2 * cs), dodge(cb, 2 * cs - 1)),
        "pin-light": np.where(cs <= 0.5, np.minimum(cb, 2 * cs), np.maximum(cb, 2 * cs - 1)),
        "hard-mix": (cb + cs >= 1 - 2.0**-20).astype(np.float64),
        "exclusion": cb + cs - 2 * cb * cs,
        "subtract": cb - cs,
        "divide": divided,
    }
    if mode in table:
        return np.clip(table[mode], 0, 1)
    sat = lambda c: c.max(axis=2, keepdims=True) - c.min(axis=2, keepdims=True)  # noqa: E731
    if mode == "luminosity":
        c = _set_lum(cb, lum(cs))
    elif mode == "color":
        c = _set_lum(cs, lum(cb))
    elif mode == "hue":
        c = _set_lum(_set_sat(cs, sat(cb)), lum(cb))
    else:
        c = _set_lum(_set_sat(cb, sat(cs)), lum(cb))
    return np.clip(c, 0, 1)


@pytest.mark.parametrize("mode", sorted(BLEND_MODES))
def test_every_mode_matches_reference_on_a_large_random_image(mode: str) -> None:
    # 120 x 2000 px runs in several row bands on two threads: the bands must not show
    rng = np.random.default_rng(7)
    base = rng.random((120, 2000, 3), dtype=np.float32)
    layer = rng.random((120, 2000, 3), dtype=np.float32)
    got = blend(base, layer, mode)
    assert got.dtype == np.float32 and got.shape == base.shape
    np.testing.assert_allclose(got, _reference(mode, base, layer), atol=2e-6)


@pytest.mark.parametrize("mode", sorted(BLEND_MODES))
def test_mask_zero_is_bit_identical(mode: str) -> None:
    rng = np.random.default_rng(11)
    base = rng.random((60, 80, 3), dtype=np.float32)
    layer = rng.random((60, 80, 3), dtype=np.float32)
    layer[:5] = 0.0  # the edge cases: dodge and burn with 0 and 1, divide by 0
    layer[5:10] = 1.0
    mask = rng.random((60, 80), dtype=np.float32)
    mask[10:30, 20:50] = 0.0
    mask[rng.random((60, 80)) < 0.2] = 0.0  # scattered zeros too
    got = blend(base, layer, mode, opacity=0.7, mask=mask)
    zero = mask == 0
    assert zero.sum() > 1000
    assert np.array_equal(got[zero].view(np.uint32), base[zero].view(np.uint32))
    assert not np.array_equal(got[~zero], base[~zero])
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert np.array_equal(blend(base, layer, mode, opacity=0.0), base)


def test_luminosity_blend_is_original_on_top_at_20_percent() -> None:
    rng = np.random.default_rng(3)
    original = rng.random((8, 8, 3), dtype=np.float32)
    edited = rng.random((8, 8, 3), dtype=np.float32)
    expected = blend(edited, original, "luminosity", opacity=0.2)
    assert np.array_equal(luminosity_blend(original, edited), expected)
    # gray: 0.5 + (0.6 - 0.5) * 0.2
    assert float(luminosity_blend(px(0.6), px(0.5))[0, 0, 0]) == pytest.approx(0.52)


def test_bad_arguments_name_the_rule() -> None:
    base = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ParameterError, match=r"unknown mode 'softlight'; expected one of: normal"):
        blend(base, base, "softlight")
    with pytest.raises(ParameterError, match=r"opacity must be <= 1; got 1\.5"):
        blend(base, base, opacity=1.5)
    with pytest.raises(ParameterError, match="differ in size: 4x4 vs 5x4 px"):
        blend(base, np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ParameterError, match="1 channel or as many as the base"):
        blend(np.zeros((4, 4, 1), np.float32), base)
    with pytest.raises(ParameterError, match="float32"):
        blend(base.astype(np.float64), base)


@pytest.mark.parametrize(
    "spelling", ["Soft Light", "soft_light", "soft-light", "SOFT LIGHT", " soft  light "]
)
def test_photoshop_spellings_of_a_mode(spelling: str) -> None:
    rng = np.random.default_rng(2)
    base, layer = rng.random((2, 8, 8, 3), dtype=np.float32)
    assert np.array_equal(blend(base, layer, spelling), blend(base, layer, "soft-light"))


@pytest.mark.parametrize(
    ("spelling", "key"),
    [("Linear Dodge (Add)", "linear-dodge"), ("Color Burn", "color-burn"),
     ("colour_dodge", "color-dodge"), ("Hard Mix", "hard-mix"), ("Pin Light", "pin-light")],
)  # fmt: skip
def test_mode_key_reads_photoshop_menu_names(spelling: str, key: str) -> None:
    assert mode_key(spelling) == key
    assert key in BLEND_MODES


def test_mode_table_is_photoshops_two_layer_modes() -> None:
    # every mode of Photoshop's layer menu that blends two layers (Dissolve, Darker/Lighter Color
    # compare whole pixels and are left out, as in the W3C spec)
    assert list(BLEND_MODES) == [
        "normal", "darken", "multiply", "color-burn", "linear-burn", "lighten", "screen",
        "color-dodge", "linear-dodge", "overlay", "soft-light", "hard-light", "vivid-light",
        "linear-light", "pin-light", "hard-mix", "difference", "exclusion", "subtract", "divide",
        "hue", "saturation", "color", "luminosity",
    ]  # fmt: skip


def test_hard_mix_threshold_at_16_bits() -> None:
    # levels summing to 65535 give white, one level less gives black
    base = px(30000 / 65535, 30000 / 65535)
    layer = px(35535 / 65535, 35534 / 65535)
    np.testing.assert_array_equal(blend(base, layer, "hard-mix"), px(1.0, 0.0))


def test_layers_out_of_range_are_refused_by_name() -> None:
    base = np.full((4, 4, 3), 0.5, np.float32)
    high_pass = np.full((4, 4, 3), -0.2, np.float32)
    with pytest.raises(ParameterError, match=r"layer must hold values in \[0, 1\]; got values "
                       r"from -0\.2 to -0\.2\."):  # fmt: skip
        blend(base, high_pass)
    with pytest.raises(ParameterError, match=r"base must hold values in \[0, 1\].*0-255 data"):
        blend(base * 255, base)
    nan = base.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match=r"base must hold finite values in .*; got 1 NaN"):
        blend(nan, base)
