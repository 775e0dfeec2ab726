"""Frequency separation: a blurred Low band for tone and colour, a High band for texture, and back.

This is the retoucher's two-layer stack (Low at the bottom, High above it in Linear Light) and its
multi-scale cousin (GIMP's Wavelet-decompose: detail layers at doubling radii over a residual).

The float formulas are Photoshop's Apply Image and Linear Light without integer rounding::

    low  = gaussian_blur(image, radius)
    high = (image - low) / 2 + 0.5          # mid grey = no texture
    merge(low, high) = low + 2 * high - 1   # Linear Light, clipped to [0, 1]

so ``merge(*split(image))`` gives the image back to float rounding (< 1e-6).

Stored in an 8- or 16-bit file, a High layer keeps Photoshop's neutral grey, level 128 (8-bit) or
32768 (16-bit), which is half a level above 0.5: :func:`high_to_file` and :func:`high_from_file`
move between the two, so that merging files computes Photoshop's integer Linear Light exactly
(``low + 2 * high - 256`` at 8-bit). Pass ``bits=`` to :func:`split` / :func:`split_scales` to get
layers already on that file grid; they then merge back within one level. See
docs/frequency-separation.md for the derivation and the error budget.
"""

from __future__ import annotations

import numpy as np

from regrain._checks import check_image, check_layer, check_range
from regrain._filters import gaussian_blur
from regrain.errors import ParameterError

__all__ = [
    "high_from_file",
    "high_to_file",
    "merge",
    "merge_scales",
    "quantize",
    "split",
    "split_scales",
]

_LEVELS = {8: 255, 16: 65535}


def _top(bits: int | None) -> int | None:
    """Largest level of an integer depth (255 or 65535); None for float (no grid)."""
    if bits is None or bits == 32:
        return None
    if bits not in _LEVELS:
        raise ParameterError(f"bits must be one of 8, 16, 32; got {bits}.")
    return _LEVELS[bits]


def quantize(image: np.ndarray, bits: int | None, *, out: np.ndarray | None = None) -> np.ndarray:
    """Round float32 values in [0, 1] to the nearest level of a *bits*-deep file (8 or 16).

    This is what writing and reading back an 8/16-bit file does to a Low layer or an image;
    ``bits`` None or 32 returns the values unchanged (clipped to [0, 1]).
    """
    top = _top(bits)
    out = np.clip(image, 0.0, 1.0, out=out)
    if top is not None:
        out *= np.float32(top)
        np.rint(out, out=out)
        out *= np.float32(1.0 / top)
    return out


def high_to_file(high: np.ndarray, bits: int | None) -> np.ndarray:
    """Shift a High layer (mid grey 0.5) onto a file's grid, whose neutral is 128 or 32768.

    Photoshop's Linear Light treats level 2**(bits-1) as neutral (8-bit: ``low + 2*high - 256``),
    which is half a level above 0.5. Adding ``0.5 / (2**bits - 1)`` before the file's usual
    rounding stores a High layer the way Photoshop's Apply Image would; 32-bit files need no shift.
    """
    top = _top(bits)
    if top is None:
        return high
    return high + np.float32(0.5 / top)


def high_from_file(stored: np.ndarray, bits: int | None) -> np.ndarray:
    """Inverse of :func:`high_to_file`: a High layer read from an 8/16-bit file, mid grey 0.5."""
    top = _top(bits)
    if top is None:
        return stored
    return stored - np.float32(0.5 / top)


def _high_levels(diff: np.ndarray, top: int) -> np.ndarray:
    """Apply Image in file levels: ``diff / 2 + neutral`` rounded, for ``diff = image - low``.

    Photoshop's neutral is (top + 1) / 2 (128 or 32768); a tie (an odd difference) goes to the
    even level, so the lost half level averages out. Works in place on *diff*; returns levels.
    """
    diff *= np.float32(0.5)
    diff += np.float32((top + 1) / 2)
    np.rint(diff, out=diff)
    return np.clip(diff, 0.0, top, out=diff)


def _levels_as_high(levels: np.ndarray, top: int) -> np.ndarray:
    """Stored High levels -> float High with mid grey 0.5 (:func:`high_from_file`), new array."""
    high = levels - np.float32(0.5)
    high *= np.float32(1.0 / top)
    return high


def _check_bits(bits: int | None) -> int | None:
    if bits is not None and bits not in (8, 16, 32):
        raise ParameterError(f"bits must be one of 8, 16, 32; got {bits}.")
    return bits


def split(
    image: np.ndarray, radius: float = 4.0, *, bits: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split an image into a Low (tone/colour) and a High (texture) layer, as a retoucher does.

    *image* is float32 (H, W, C) in [0, 1]; *radius* is Photoshop's Gaussian Blur radius in px
    (the blur's sigma). Returns ``(low, high)``, both float32 (H, W, C) in [0, 1]: ``low`` is the
    blurred image, ``high = (image - low) / 2 + 0.5`` is the texture around mid grey, to be laid
    over Low in Linear Light. ``merge(low, high)`` gives *image* back.

    With ``bits=8`` or ``16`` both layers are rounded to what that file depth can hold (High on
    Photoshop's grid, see :func:`high_to_file`), and High is computed against the rounded Low, so
    the stored layers merge back within one level; without it they merge back to float rounding.

    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> low, high = split(image, 2.0)
    >>> float(np.abs(merge(low, high) - image).max()) < 1e-6
    True
    """
    check_image(image)
    _check_bits(bits)
    low = gaussian_blur(image, radius)
    top = _top(bits) if bits is not None else None
    if top is None:
        high = np.subtract(image, low)
        high *= np.float32(0.5)
        high += np.float32(0.5)
        return low, high
    # in file levels: Apply Image's (I - L) / 2 + neutral, rounded once (a tie, from an odd
    # difference, goes to the even level so the lost half level averages out)
    quantize(low, bits, out=low)
    low *= np.float32(top)
    np.rint(low, out=low)
    high = np.multiply(image, np.float32(top))
    high -= low
    high = _levels_as_high(_high_levels(high, top), top)
    low *= np.float32(1.0 / top)
    return low, high


def merge(low: np.ndarray, high: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Lay *high* over *low* in Linear Light: ``low + 2 * high - 1``, clipped to [0, 1].

    This puts the texture back on a (possibly retouched) Low layer; wherever Low is unchanged the
    original image comes back. Both are float32 (H, W, C) of the same size; *high* may have one
    channel over an RGB *low* (a desaturated texture layer).

    >>> import numpy as np
    >>> low = np.full((1, 2, 1), 0.25, np.float32)
    >>> high = np.array([[[0.5], [0.6]]], np.float32)
    >>> [round(float(v), 3) for v in merge(low, high).ravel()]
    [0.25, 0.45]
    """
    check_image(low, "low")
    check_image(high, "high")
    check_layer(low, high, ("low", "high"))
    if out is None:
        out = np.empty(low.shape, np.float32)
    np.multiply(high, np.float32(2.0), out=out)
    out += low
    out -= np.float32(1.0)
    return np.clip(out, 0.0, 1.0, out=out)


def _scale_radii(scales: int, radius: float) -> list[float]:
    if isinstance(scales, bool) or int(scales) != scales or not 1 <= scales <= 12:
        raise ParameterError(f"scales must be a whole number from 1 to 12; got {scales}.")
    radius = check_range(radius, "radius", low=0.0, low_open=True, unit="px")
    return [radius * 2.0**k for k in range(int(scales))]


def split_scales(
    image: np.ndarray, scales: int = 4, *, radius: float = 1.0, bits: int | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Split an image into *scales* detail layers and a residual (multi-scale separation).

    Like GIMP's Wavelet-decompose, the blur radius doubles from one scale to the next: with
    ``r_k = radius * 2**(k-1)`` and ``L_0 = image``, ``L_k = gaussian_blur(image, r_k)``, detail
    layer k holds ``L_(k-1) - L_k`` (features between r_(k-1) and r_k px) stored as
    ``d / 2 + 0.5`` for Linear Light, and the residual is ``L_scales``.

    Returns ``(details, residual)``: ``details[0]`` is the finest scale (pores, grain),
    ``details[-1]`` the coarsest. A stack lays them over the residual coarsest first.
    ``merge_scales(details, residual)`` gives *image* back. With ``bits`` every layer is rounded to
    that file depth, each detail absorbing the rounding of the layers below it, so the stored
    stack merges back within one level instead of accumulating one error per layer.

    >>> import numpy as np
    >>> image = np.random.default_rng(1).random((40, 40, 1), dtype=np.float32)
    >>> details, residual = split_scales(image, 3)
    >>> len(details), float(np.abs(merge_scales(details, residual) - image).max()) < 1e-6
    (3, True)
    """
    check_image(image)
    _check_bits(bits)
    radii = _scale_radii(scales, radius)
    # fine to coarse: each detail is the difference of consecutive blurs of the original
    details: list[np.ndarray] = []
    previous = image
    for r in radii:
        blurred = gaussian_blur(image, r)
        details.append(np.subtract(previous, blurred))  # signed d, in [-1, 1]
        previous = blurred
    residual = previous  # scales >= 1, so this is the last blur, never the input
    top = _top(bits) if bits is not None else None
    if top is None:
        for d in details:
            d *= np.float32(0.5)
            d += np.float32(0.5)
        return details, residual
    # coarse to fine, in file levels: `target` is the float partial sum L_(k-1), `built` the
    # rounded stack so far; each stored detail brings `built` to the target, rounded once, so the
    # rounding errors of the layers never add up
    target = np.multiply(residual, np.float32(top))
    quantize(residual, bits, out=residual)
    built = np.multiply(residual, np.float32(top))
    np.rint(built, out=built)
    for k in range(len(details) - 1, -1, -1):
        d = details[k]
        if k == 0:
            np.multiply(image, np.float32(top), out=target)  # the exact goal, not a float sum
        else:
            d *= np.float32(top)
            target += d
        np.subtract(target, built, out=d)
        levels = _high_levels(d, top)
        built += levels  # Linear Light in levels: + 2 * H - (top + 1), exact in float32
        built += levels
        built -= np.float32(top + 1)
        details[k] = _levels_as_high(levels, top)
    return details, residual


def merge_scales(
    details: list[np.ndarray] | tuple[np.ndarray, ...], residual: np.ndarray
) -> np.ndarray:
    """Recombine detail layers (``d / 2 + 0.5``) with their residual: ``residual + sum(2*h - 1)``.

    This equals Photoshop's sequential Linear Light over the residual (coarsest detail first):
    each partial result is itself a blurred image, inside [0, 1], so no intermediate clipping
    happens; the sum is clipped to [0, 1] once. Float32 (H, W, C) in, float32 out.
    """
    check_image(residual, "residual")
    if len(details) == 0:
        raise ParameterError("details must hold at least one detail layer; got none.")
    out = np.array(residual, dtype=np.float32, copy=True)
    for k, h in enumerate(details, start=1):
        check_image(h, f"detail {k}")
        check_layer(residual, h, ("residual", f"detail {k}"), base_phrase="the residual")
        out += h
        out += h
        out -= np.float32(1.0)
    return np.clip(out, 0.0, 1.0, out=out)
