"""High Pass grafting: carry real texture from a clean patch onto an area the AI left plastic.

The Photoshop recipe, step by step:

1. Marquee a clean patch (*source* = x, y, w, h in px) and copy it to a layer.
2. Desaturate it (Image > Adjustments > Desaturate, Shift+Ctrl/Cmd+U): gray = (max + min) / 2 of
   R, G, B, the HSL lightness, so the graft carries no colour.
3. High Pass at *radius* 1.5-3 px (default 2): only the pores and micro-contrast remain.
4. Tile it over the area with the Pattern Stamp, blend mode Linear Light, and paint it in through a
   layer *mask*; optionally limit it to the *midtones* with a luminosity mask.

regrain tiles without a visible grid: tiles are random crops of the patch, laid on a grid with a
random origin at 50 % overlap and cross-faded with sine windows, the square root of the raised
cosine (Hann) window. The squared windows of overlapping tiles sum to 1 everywhere, so independent
texture keeps the same standard deviation at seams as at tile centres (a plain Hann cross-fade
would drop it to 71 % at a seam between two tiles and 50 % where four meet).

Photoshop's High Pass layer in Linear Light adds twice the high band (``base + 2*hp - 1``); regrain
halves the band first (as Apply Image's Subtract with Scale 2, Offset 128 does for frequency
separation), so the graft has the source's own contrast: the same as the Photoshop layer at 50 %.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from regrain._blend import blend, lum
from regrain._checks import as_mask, check_image, check_range, check_seed
from regrain._filters import high_pass
from regrain.errors import ParameterError

__all__ = [
    "MIN_SOURCE", "TileGrid", "desaturate", "graft", "graft_options", "midtone_weight",
    "source_band",
]  # fmt: skip

MIN_SOURCE = 8
"""Smallest source patch side (px): below it a tile holds too few pores to hide the repetition."""


def desaturate(image: np.ndarray) -> np.ndarray:
    """Photoshop's Desaturate: ``(max(R, G, B) + min(R, G, B)) / 2`` per pixel, (H, W, 1)."""
    if image.shape[2] == 1:
        return image.astype(np.float32, copy=True)
    red, green, blue = image[..., 0:1], image[..., 1:2], image[..., 2:3]
    gray = np.maximum(np.maximum(red, green), blue)
    gray += np.minimum(np.minimum(red, green), blue)
    gray *= np.float32(0.5)
    return gray


def midtone_weight(image: np.ndarray) -> np.ndarray:
    """A midtones luminosity mask: ``(4 * L * (1 - L))**2`` with L the W3C Lum, float32 (H, W, 1).

    1 at mid-gray, 0 at black and white and flat at both ends (0.13 at L = 0.1 or 0.9, 0.04 at
    0.05 or 0.95), so deep shadows and extreme highlights stay smooth.
    """
    light = np.clip(lum(image), 0.0, 1.0)
    weight = np.subtract(np.float32(1), light)
    weight *= light
    weight *= np.float32(4)
    weight *= weight
    return weight


def graft_options(
    source: tuple[int, int, int, int], radius: float = 2.0
) -> tuple[tuple[int, int, int, int], float]:
    """Check graft's options before any image is read: the *source* box (4 whole numbers, at
    least :data:`MIN_SOURCE` px a side) and the High Pass *radius* (> 0, at most a quarter of the
    source's smaller side, so the patch holds texture, not tone). Returns them as ints and float."""
    try:
        box = tuple(int(v) for v in source)
        exact = all(float(v) == b for v, b in zip(source, box, strict=True))
    except (TypeError, ValueError):
        box, exact = (), False
    if len(box) != 4 or not exact:
        raise ParameterError(f"source must be 4 whole numbers x, y, w, h in px; got {source!r}.")
    x, y, w, h = box
    if w < MIN_SOURCE or h < MIN_SOURCE:
        raise ParameterError(f"source must be at least {MIN_SOURCE}x{MIN_SOURCE} px; got {w}x{h}.")
    radius = check_range(radius, "radius", low=0.0, low_open=True, unit="px")
    if radius > min(w, h) / 4:
        raise ParameterError(
            f"radius must be <= a quarter of the source's smaller side ({min(w, h) / 4:g} px) "
            f"so the patch holds texture, not tone; got {radius:g}."
        )
    return (x, y, w, h), radius


def _check_source(source: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[int, ...]:
    (x, y, w, h), _ = graft_options(source, radius=MIN_SOURCE / 4)
    height, width = shape[:2]
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise ParameterError(
            f"source box x={x}, y={y}, {w}x{h} px reaches outside the {width}x{height} px image."
        )
    return (x, y, w, h)


def source_band(
    image: np.ndarray, source: tuple[int, int, int, int], radius: float = 2.0
) -> np.ndarray:
    """The texture to graft: the desaturated High Pass of the *source* patch, float32 (h, w).

    Centred on 0 (High Pass's 0.5 and the patch mean removed) so that cross-faded tiles add no
    ripple. The blur sees the patch's real surroundings, not a mirrored border.
    """
    x, y, w, h = _check_source(source, image.shape)
    margin = int(np.ceil(4.0 * radius))  # the blur kernel's reach
    top, left = max(y - margin, 0), max(x - margin, 0)
    region = desaturate(image[top : y + h + margin, left : x + w + margin])
    band = high_pass(region, radius)[y - top : y - top + h, x - left : x - left + w, 0]
    band -= band.mean(dtype=np.float64)
    return band


class TileGrid(NamedTuple):
    """Where each tile goes and which crop of the patch it shows.

    tile: (th, tw) even tile size; rows, cols: tile starts (px, may be negative), half a tile apart;
    crop_y, crop_x: (len(rows), len(cols)) top-left corner of each tile's crop in the patch.
    """

    tile: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    crop_y: np.ndarray
    crop_x: np.ndarray


def _tile_side(patch: int) -> int:
    """Half the patch (more distinct crops), rounded down to even, at least MIN_SOURCE."""
    return max(MIN_SOURCE, patch // 2 // 2 * 2)


def tile_grid(patch: tuple[int, int], shape: tuple[int, int], rng: np.random.Generator) -> TileGrid:
    """A random 50 %-overlap tiling of *shape* (H, W) by crops of a *patch* (h, w)."""
    th, tw = _tile_side(patch[0]), _tile_side(patch[1])
    rows = np.arange(-int(rng.integers(th // 2)) - th // 2, shape[0], th // 2)
    cols = np.arange(-int(rng.integers(tw // 2)) - tw // 2, shape[1], tw // 2)
    crop_y = rng.integers(0, patch[0] - th + 1, size=(rows.size, cols.size))
    crop_x = rng.integers(0, patch[1] - tw + 1, size=(rows.size, cols.size))
    return TileGrid((th, tw), rows, cols, crop_y, crop_x)


def tile_window(side: int) -> np.ndarray:
    """Sine window ``sin(pi * (n + 0.5) / side)``; ``w[n]**2 + w[n + side/2]**2 = 1``."""
    return np.sin(np.pi * (np.arange(side) + 0.5) / side).astype(np.float32)


def tile_texture(band: np.ndarray, grid: TileGrid, shape: tuple[int, int]) -> np.ndarray:
    """Overlap-add the tiles of *grid* into a float32 (H, W) texture field with the std of *band*.

    Every pixel lies in two tile rows and two tile columns; for each of the two column phases the
    tiles of that phase do not overlap, so a whole row of tiles is one vectorised gather.
    """
    th, tw = grid.tile
    win_y, win_x = tile_window(th), tile_window(tw)
    field = np.zeros(shape, np.float32)
    x = np.arange(shape[1])
    for phase in (0, 1):
        offset = x - grid.cols[phase]
        k = offset // tw
        tile_j = phase + 2 * k  # index of the phase's tile covering each column
        local_x = offset - k * tw
        wx = win_x[local_x]
        for i, top in enumerate(grid.rows):
            r0, r1 = max(top, 0), min(top + th, shape[0])
            if r0 >= r1:
                continue
            local_y = np.arange(r0 - top, r1 - top)
            src_y = grid.crop_y[i, tile_j][None, :] + local_y[:, None]
            src_x = grid.crop_x[i, tile_j] + local_x
            piece = band[src_y, src_x[None, :]]
            piece *= win_y[local_y][:, None]
            piece *= wx
            field[r0:r1] += piece
    return field


def graft(
    image: np.ndarray,
    source: tuple[int, int, int, int],
    mask: np.ndarray,
    *,
    radius: float = 2.0,
    midtones: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Graft the texture of the *source* patch onto the *mask*ed area of *image*.

    image: float32 (H, W, C) in [0, 1]. source: (x, y, w, h) px, a clean patch with the texture
    wanted, at least 8x8 px. mask: (H, W) in [0, 1], white = graft here (the plastic AI area);
    outside it the image is returned bit for bit. radius: High Pass radius in px (1.5-3 for pores
    and fine scratches). midtones: fade the graft out toward black and white (see
    :func:`midtone_weight`). seed: the same seed lays the same tiles. Returns a new float32 image.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = np.full((64, 64, 1), 0.5, np.float32)
    >>> image[:, :32] += rng.normal(0, 0.02, (64, 32, 1)).astype(np.float32)
    >>> mask = np.zeros((64, 64), np.float32); mask[:, 40:] = 1
    >>> out = graft(image, (4, 4, 24, 56), mask)
    >>> bool(out[:, 40:].std() > 0.005), bool((out[:, :40] == image[:, :40]).all())
    (True, True)
    """
    image = check_image(image)
    if image.shape[2] not in (1, 3):
        raise ParameterError(f"image must be gray or RGB; got {image.shape[2]} channels.")
    if mask is None:
        raise ParameterError("graft needs a mask: white where the texture goes.")
    source, radius = graft_options(source, radius)
    _check_source(source, image.shape)
    rng = np.random.default_rng(check_seed(seed))
    weight = as_mask(mask, image)
    rows = np.flatnonzero(weight.any(axis=(1, 2)))
    cols = np.flatnonzero(weight.any(axis=(0, 2)))
    out = image.copy()
    if rows.size == 0:
        return out
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    band = source_band(image, source, radius)
    shape = (rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])
    layer = tile_texture(band, tile_grid(band.shape, shape, rng), shape)[..., None]
    layer *= np.float32(0.5)  # Linear Light adds 2 * (layer - 0.5): the band at its own contrast
    layer += np.float32(0.5)
    np.clip(layer, 0.0, 1.0, out=layer)  # as a stored layer is (only a hard edge reaches it)
    area = weight[box]
    if midtones:
        area *= midtone_weight(image[box])
    out[box] = blend(image[box], layer, "linear-light", mask=area)
    return out
