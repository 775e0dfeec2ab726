"""Photoshop's layer blend modes, as the W3C *Compositing and Blending Level 1* spec defines them.

Every mode is a function ``mode(cb, cs, out)`` of the backdrop ``cb`` (the layer below, *base*) and
the source ``cs`` (the layer on top, *layer*) that writes the blended colour into *out*.
:func:`blend` looks the mode up in :data:`BLEND_MODES`, then applies opacity and mask the way a
Photoshop layer with a layer mask does::

    result = base + (B(base, layer) - base) * opacity * mask

Formulas: https://www.w3.org/TR/compositing-1/#blending (separable modes, section 10.1;
non-separable modes with Lum/SetLum/ClipColor and the weights 0.3, 0.59, 0.11, section 10.2).
Soft Light is the W3C formula with its D(Cb) polynomial/square-root split, not the Pegtop/GIMP
variant. Linear Light and Linear Dodge are not in the spec; they are Photoshop's
``base + 2*layer - 1`` and ``base + layer``, clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regrain._checks import (
    as_mask,
    check_choice,
    check_image,
    check_layer,
    check_range,
)
from regrain.errors import ParameterError

__all__ = ["BLEND_MODES", "blend", "luminosity_blend"]

ModeFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

_LUM_WEIGHTS = (0.3, 0.59, 0.11)


# --- separable modes: each channel on its own -----------------------------------------------


def normal(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = Cs: the layer covers the base."""
    out[...] = cs
    return out


def multiply(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = Cb * Cs: darkens; white is neutral."""
    return np.multiply(cb, cs, out=out)


def screen(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = Cb + Cs - Cb * Cs: lightens; black is neutral."""
    np.multiply(cb, cs, out=out)
    np.subtract(cs, out, out=out)
    out += cb
    return out


def _select(cond: np.ndarray, out: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """``out = where(cond, alt, out)`` in place, exact to the bit; *alt* is used as scratch.

    Done with integer bit masks: numpy's masked copy branches per pixel and runs ~6x slower on
    image data whose branch flips from pixel to pixel (grain, High Pass layers).
    """
    bits = np.negative(cond, out=np.empty(out.shape, np.int32), dtype=np.int32, casting="unsafe")
    o, a = out.view(np.int32), alt.view(np.int32)
    np.bitwise_xor(a, o, out=a)
    np.bitwise_and(a, bits, out=a)
    np.bitwise_xor(o, a, out=o)
    return out


def _hard_mix(cb: np.ndarray, cs: np.ndarray, switch: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Multiply (2*Cb*Cs) where *switch* <= 0.5, else Screen (1 - 2*(1-Cb)*(1-Cs))."""
    np.multiply(cb, cs, out=out)
    out *= np.float32(2)
    # 1 - 2*(1-Cb)*(1-Cs) rather than the expanded form: exactly 1 where either is white
    light = np.subtract(np.float32(1), cb, dtype=np.float32)
    light *= np.subtract(np.float32(1), cs, dtype=np.float32)
    light *= np.float32(2)
    np.subtract(np.float32(1), light, out=light)
    return _select(switch > 0.5, out, light)


def overlay(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = HardLight(Cs, Cb): multiply where the base is dark (Cb <= 0.5), else screen."""
    return _hard_mix(cb, cs, cb, out)


def hard_light(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Multiply(Cb, 2*Cs) where the layer is dark (Cs <= 0.5), else Screen(Cb, 2*Cs - 1)."""
    return _hard_mix(cb, cs, cs, out)


def soft_light(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """W3C Soft Light.

    ``Cs <= 0.5``: ``Cb - (1 - 2*Cs) * Cb * (1 - Cb)``;
    ``Cs > 0.5``: ``Cb + (2*Cs - 1) * (D(Cb) - Cb)`` with ``D(Cb) = ((16*Cb - 12)*Cb + 4)*Cb`` for
    ``Cb <= 0.25`` and ``sqrt(Cb)`` above. Both branches are ``Cb + (2*Cs - 1) * E``.
    """
    e = np.sqrt(cb, out=out)  # D(Cb) for Cb > 0.25
    scratch = np.multiply(cb, np.float32(16), dtype=np.float32)
    scratch -= np.float32(12)
    scratch *= cb
    scratch += np.float32(4)
    scratch *= cb
    _select(cb <= 0.25, e, scratch)
    e -= cb  # E = D(Cb) - Cb for the light branch
    np.subtract(np.float32(1), cb, out=scratch)
    scratch *= cb  # E = Cb * (1 - Cb) for the dark branch
    _select(cs <= 0.5, e, scratch)
    gain = np.multiply(cs, np.float32(2), dtype=np.float32)
    gain -= np.float32(1)
    e *= gain
    e += cb
    return e


def linear_light(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = Cb + 2*Cs - 1 (Linear Burn below mid-gray, Linear Dodge above), clipped to [0, 1]."""
    np.multiply(cs, np.float32(2), out=out)
    out -= np.float32(1)  # exact near mid-gray, so a 50 % gray layer leaves the base bit for bit
    out += cb
    return np.clip(out, 0.0, 1.0, out=out)


def linear_dodge(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = min(Cb + Cs, 1) (Photoshop's Linear Dodge (Add))."""
    np.add(cb, cs, out=out)
    return np.minimum(out, np.float32(1), out=out)


def difference(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = |Cb - Cs|: black where the layers agree."""
    np.subtract(cb, cs, out=out)
    return np.abs(out, out=out)


# --- non-separable modes: Lum, SetLum, ClipColor -------------------------------------------


def lum(c: np.ndarray) -> np.ndarray:
    """W3C Lum(C) = 0.3*R + 0.59*G + 0.11*B, float32 (H, W, 1); a gray pixel's Lum is its value."""
    if c.shape[2] == 1:
        return c.astype(np.float32, copy=True)
    import cv2  # one fused, vectorised pass; numpy's channel slices are ~15x slower

    weights = np.asarray([_LUM_WEIGHTS], np.float32)
    if c.strides[2] != c.itemsize or c.strides[1] != c.itemsize * 3:
        c = np.ascontiguousarray(c)  # OpenCV takes strided rows, but not strided pixels
    return cv2.transform(c, weights)[..., None]


def _clip_color(c: np.ndarray) -> np.ndarray:
    """W3C ClipColor, in place on RGB *c*: pull out-of-gamut pixels toward their Lum (kept)."""
    if c.min() >= 0.0 and c.max() <= 1.0:  # the usual case: nothing to clip
        return c
    flat = c.reshape(-1, 3)
    bad = (flat < 0.0) | (flat > 1.0)
    pixels = np.flatnonzero(bad[:, 0] | bad[:, 1] | bad[:, 2])
    px = flat[pixels].astype(np.float64)  # only the out-of-gamut pixels, so float64 is cheap
    lu = px @ np.asarray(_LUM_WEIGHTS)
    n, x = px.min(axis=1), px.max(axis=1)
    scale = np.ones_like(lu)
    under, over = n < 0.0, x > 1.0
    tiny = 1e-12  # a gray pixel rounded just past 0 or 1 has min = max = Lum
    scale[under] = lu[under] / np.maximum(lu[under] - n[under], tiny)
    # both ifs of the spec apply in turn, and the second uses the max measured before the first
    scale[over] *= (1.0 - lu[over]) / np.maximum(x[over] - lu[over], tiny)
    np.clip(scale, 0.0, 1.0, out=scale)  # exact maths keeps it in [0, 1]; rounding must too
    flat[pixels] = (lu[:, None] + (px - lu[:, None]) * scale[:, None]).astype(np.float32)
    return c


def _set_lum(c: np.ndarray, target: np.ndarray, out: np.ndarray) -> np.ndarray:
    """W3C SetLum(C, l) into *out*: shift C to Lum *target* (clipped to [0, 1]), then ClipColor."""
    shift = np.clip(target, 0.0, 1.0)
    shift -= lum(c)
    np.add(c, shift, out=out)
    return _clip_color(out)


def color(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = SetLum(Cs, Lum(Cb)): the layer's hue and saturation at the base's luminosity.

    Grayscale base (C = 1): nothing to colour, the base is returned. A gray layer over an RGB base
    gives the base's Lum in every channel (a desaturation, as in Photoshop).
    """
    if cb.shape[2] == 1:
        out[...] = cb
        return out
    return _set_lum(cs, lum(cb), out)


def luminosity(cb: np.ndarray, cs: np.ndarray, out: np.ndarray) -> np.ndarray:
    """B = SetLum(Cb, Lum(Cs)): the base's hue and saturation at the layer's luminosity.

    Grayscale base (C = 1): a gray pixel is all luminosity, so the layer replaces the base (Normal).
    """
    if cb.shape[2] == 1:
        out[...] = cs
        return out
    return _set_lum(cb, lum(cs), out)


BLEND_MODES: dict[str, ModeFn] = {
    "normal": normal,
    "multiply": multiply,
    "screen": screen,
    "overlay": overlay,
    "soft-light": soft_light,
    "hard-light": hard_light,
    "linear-light": linear_light,
    "linear-dodge": linear_dodge,
    "difference": difference,
    "color": color,
    "luminosity": luminosity,
}
"""Blend mode name (Photoshop's, lower case, hyphenated) -> ``fn(base, layer, out) -> out``."""

_NON_SEPARABLE = {"color", "luminosity"}


def blend(
    base: np.ndarray,
    layer: np.ndarray,
    mode: str = "normal",
    *,
    opacity: float = 1.0,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Put *layer* over *base* in blend *mode* at *opacity*, through *mask*, like a Photoshop layer.

    base: float32 (H, W, C) in [0, 1], the layer below. layer: float32 (H, W, C) or (H, W, 1) (a
    gray layer, e.g. grain or High Pass, applies to every channel). mode: a key of
    :data:`BLEND_MODES`. opacity: 0..1. mask: (H, W) or (H, W, 1) in [0, 1], white = full effect;
    where the mask (or the opacity) is 0 the result is the base, bit for bit. Returns a new float32
    (H, W, C) in [0, 1].

    >>> import numpy as np
    >>> base = np.full((1, 1, 1), 0.25, np.float32)
    >>> layer = np.full((1, 1, 1), 0.6, np.float32)
    >>> round(float(blend(base, layer, "overlay")[0, 0, 0]), 6)  # 2 * 0.25 * 0.6
    0.3
    """
    fn = BLEND_MODES[check_choice(mode, BLEND_MODES, "mode")]
    check_image(base, "base")
    check_image(layer, "layer")
    check_layer(base, layer, ("base", "layer"), base_phrase="the base")
    if mode in _NON_SEPARABLE and base.shape[2] not in (1, 3):
        raise ParameterError(
            f"mode {mode!r} needs a gray or RGB base; got {base.shape[2]} channels."
        )
    opacity = check_range(opacity, "opacity", low=0.0, high=1.0)
    weight = as_mask(mask, base)
    if opacity == 0.0:
        return base.copy()
    if weight is not None and opacity != 1.0:
        weight *= np.float32(opacity)

    out = np.empty_like(base)

    def blend_strip(rows: slice) -> None:
        o, cb = out[rows], base[rows]
        w = None if weight is None else weight[rows]
        if w is not None and not w.any():  # outside the mask: the base, and no work
            o[...] = cb
            return
        fn(cb, layer[rows], o)
        np.clip(o, 0.0, 1.0, out=o)
        if w is None and opacity == 1.0:
            return
        o -= cb
        o *= np.float32(opacity) if w is None else w
        o += cb
        if w is not None:
            # untouched pixels are copied, never recomputed: they stay the base to the last bit
            untouched = w[..., 0] == 0.0
            if untouched.any():
                for ch in range(o.shape[2]):  # per channel: ~6x faster than a broadcast `where`
                    np.copyto(o[..., ch], cb[..., ch], where=untouched)

    _run_strips(blend_strip, base)
    return out


def _run_strips(work: Callable[[slice], None], image: np.ndarray, target: int = 1 << 18) -> None:
    """Run *work* on row bands of about *target* samples, on two threads.

    Small bands keep a mode's temporaries in cache and reuse them, instead of touching several fresh
    full-frame buffers (slow on this kind of VM); numpy releases the GIL inside each operation.
    """
    from concurrent.futures import ThreadPoolExecutor

    height, width, channels = image.shape
    step = max(1, target // (width * channels))
    strips = [slice(top, min(top + step, height)) for top in range(0, height, step)]
    if len(strips) < 4:
        for rows in strips:
            work(rows)
        return
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in pool.map(work, strips):  # re-raises the first error
            pass


def luminosity_blend(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    opacity: float = 0.2,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """The quick fix: the *original* on top of the AI-*edited* image in Luminosity mode at 20%.

    The edited image keeps its colours (the AI's cleanup of colour casts and reflections) while
    *opacity* of the original's luminosity, and with it its grain and micro-scratches, comes back.
    Arrays as in :func:`blend`; *mask* limits the fix to the AI-changed area.

    >>> import numpy as np
    >>> original = np.full((1, 1, 1), 0.6, np.float32)
    >>> edited = np.full((1, 1, 1), 0.5, np.float32)
    >>> round(float(luminosity_blend(original, edited)[0, 0, 0]), 6)  # 0.5 + (0.6 - 0.5) * 0.2
    0.52
    """
    return blend(edited, original, "luminosity", opacity=opacity, mask=mask)
