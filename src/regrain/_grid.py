"""The analysis grid: where restore and inspect keep their smooth local statistics.

Local texture statistics (band energies, tile quantiles, decisions per area) vary slowly, so they
are computed on a coarser grid of about :data:`ANALYSIS_PIXELS` cells, ``factor`` x ``factor``
pixels each, and brought back to full resolution only where the texture itself is made. This
module holds that grid's arithmetic, once, for both: area averages down, bilinear or
nearest-neighbour maps up, per-tile quantiles, and the filling of tiles that had no valid cell.
"""

from __future__ import annotations

import numpy as np

from regrain._filters import gaussian_blur

__all__ = [
    "ANALYSIS_PIXELS",
    "analysis_factor",
    "cell_share",
    "downsample",
    "fill_from_nearest",
    "grid_shape",
    "tile_mean",
    "tile_quantile",
    "to_grid",
    "touched_pixels",
    "upsample",
    "upsample_box",
    "upsample_nearest",
]

ANALYSIS_PIXELS = 2_000_000
"""Maps of local statistics are computed on a grid of about this many cells (they are smooth)."""


def analysis_factor(shape: tuple[int, ...]) -> int:
    """Integer downsampling factor that brings an image near :data:`ANALYSIS_PIXELS` cells."""
    return max(1, int(np.sqrt(shape[0] * shape[1] / ANALYSIS_PIXELS) + 0.5))


def grid_shape(shape: tuple[int, ...], factor: int) -> tuple[int, int]:
    """The analysis grid's (rows, columns) for an image of *shape* (H, W, ...): the shape
    :func:`downsample` gives, without a plane to downsample."""
    h, w = shape[:2]
    return (max(1, h // factor), max(1, w // factor)) if factor > 1 else (h, w)


def downsample(plane: np.ndarray, factor: int) -> np.ndarray:
    """Average *plane* over factor x factor cells (energy-preserving area average).

    Cell (i, j) is exactly pixels ``[i*f, (i+1)*f) x [j*f, (j+1)*f)``; the last partial row and
    column of cells are dropped (``floor(H / f) x floor(W / f)`` cells), so that every map on the
    grid lines up with the pixels it stands for.
    """
    if factor == 1:
        return plane
    import cv2

    h, w = plane.shape[:2]
    gh, gw = grid_shape(plane.shape, factor)
    if gh * factor <= h and gw * factor <= w:
        plane = plane[: gh * factor, : gw * factor]
    return cv2.resize(plane, (gw, gh), interpolation=cv2.INTER_AREA)


def upsample(plane: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Smoothly bring an analysis-grid map back to (H, W): bilinear between cell centres, so that
    each cell's value sits over the pixels it was measured on (see :func:`upsample_box`)."""
    h, w = shape[:2]
    if plane.shape[:2] == (h, w):
        return plane
    factor = max(1, h // plane.shape[0])
    return upsample_box(plane, factor, (slice(0, h), slice(0, w)))


def upsample_nearest(cells: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean analysis-grid map at full resolution (H, W): each cell covers its factor x factor
    pixels; pixels past the last whole cell take the nearest cell's value."""
    h, w = shape[:2]
    if cells.shape == (h, w):
        return cells
    gh, gw = cells.shape
    fy, fx = max(1, h // gh), max(1, w // gw)
    big = np.repeat(np.repeat(cells, fy, axis=0), fx, axis=1)[:h, :w]
    if big.shape != (h, w):
        big = np.pad(big, ((0, h - big.shape[0]), (0, w - big.shape[1])), mode="edge")
    return big


def cell_share(mask: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    """The share of each factor x factor cell that *mask* covers, on a grid of *shape*."""
    gh, gw = shape[:2]
    if factor == 1:
        return mask[:gh, :gw].astype(np.float32)
    cells = mask[: gh * factor, : gw * factor].reshape(gh, factor, gw, factor)
    counts = cells.sum(axis=(1, 3), dtype=np.uint16)
    return counts.astype(np.float32) / np.float32(factor * factor)


def upsample_box(
    cells: np.ndarray,
    factor: int,
    zone: tuple[slice, slice],
    *,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """The full-resolution values inside one pixel *zone* of an analysis-grid map, or of a piece
    of one whose first cell is the grid's cell *origin* (row, column)."""
    import cv2

    ys, xs = zone
    oy, ox = origin
    if factor == 1:
        piece = cells[ys.start - oy : ys.stop - oy, xs.start - ox : xs.stop - ox]
        return np.ascontiguousarray(piece, dtype=np.float32)
    # cell centres sit at (i + 0.5) * factor - 0.5 px; sample the grid there, bilinearly
    py = (np.arange(ys.start, ys.stop, dtype=np.float32) + 0.5) / factor - 0.5 - oy
    px = (np.arange(xs.start, xs.stop, dtype=np.float32) + 0.5) / factor - 0.5 - ox
    map_x = np.broadcast_to(px[None, :], (py.size, px.size)).astype(np.float32)
    map_y = np.broadcast_to(py[:, None], (py.size, px.size)).astype(np.float32)
    return cv2.remap(
        cells.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def to_grid(plane: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    """Area-average *plane* by *factor* onto an analysis grid of *shape* (cropped or padded)."""
    small = downsample(plane, factor)
    out = np.zeros(shape[:2], np.float32)
    h, w = min(shape[0], small.shape[0]), min(shape[1], small.shape[1])
    out[:h, :w] = small[:h, :w]
    return out


def tile_quantile(
    plane: np.ndarray, block: int, valid: np.ndarray, quantile: float = 0.5
) -> np.ndarray:
    """The *quantile* of *plane* over the *valid* cells of each block x block tile; NaN for a tile
    with fewer than a quarter of its cells valid. Returns the (tiles_y, tiles_x) grid."""
    import cv2

    h, w = plane.shape
    bh, bw = max(1, -(-h // block)), max(1, -(-w // block))
    pad = (0, bh * block - h, 0, bw * block - w)
    tiles = cv2.copyMakeBorder(plane, *pad, borderType=cv2.BORDER_REFLECT)
    ok = cv2.copyMakeBorder(valid.astype(np.uint8), *pad, borderType=cv2.BORDER_CONSTANT, value=0)
    tiles = tiles.reshape(bh, block, bw, block).transpose(0, 2, 1, 3).reshape(bh, bw, -1)
    ok = ok.reshape(bh, block, bw, block).transpose(0, 2, 1, 3).reshape(bh, bw, -1) > 0
    # quantile over the valid cells only: sort with invalid cells last, pick by each tile's count
    counts = ok.sum(axis=2)
    ordered = np.sort(np.where(ok, tiles, np.inf), axis=2)
    index = np.clip(np.floor(quantile * (counts - 1)).astype(int), 0, None)
    values = np.take_along_axis(ordered, index[..., None], axis=2)[..., 0]
    values[counts < block * block / 4] = np.nan
    return values.astype(np.float32)


def tile_mean(plane: np.ndarray, block: int, valid: np.ndarray) -> np.ndarray:
    """The mean of *plane* over the *valid* cells of each block x block tile; NaN for a tile with
    fewer than a quarter of its cells valid. Returns the (tiles_y, tiles_x) grid."""
    h, w = plane.shape
    bh, bw = max(1, -(-h // block)), max(1, -(-w // block))
    padded = np.zeros((bh * block, bw * block), np.float64)
    ok = np.zeros((bh * block, bw * block), np.float64)
    padded[:h, :w] = np.where(valid, plane, 0.0)
    ok[:h, :w] = valid
    sums = padded.reshape(bh, block, bw, block).sum(axis=(1, 3))
    counts = ok.reshape(bh, block, bw, block).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    means[counts < block * block / 4] = np.nan
    return means.astype(np.float32)


def fill_from_nearest(tiles: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Fill NaN tiles from their nearest valid neighbours (normalised convolution at growing
    radii), then interpolate the tile grid smoothly onto a grid of *shape*."""
    import cv2

    filled = tiles.copy()
    radius = 1.0
    while np.isnan(filled).any():
        known = ~np.isnan(filled)
        if not known.any():
            filled[:] = 0.0
            break
        num = gaussian_blur(np.where(known, filled, 0).astype(np.float32), radius)
        den = gaussian_blur(known.astype(np.float32), radius)
        grow = ~known & (den > 1e-3)
        filled[grow] = num[grow] / den[grow]
        radius *= 2
    return cv2.resize(filled, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def touched_pixels(
    original: np.ndarray, edited: np.ndarray, *, levels: int | None = None
) -> np.ndarray:
    """Pixels where any channel differs at all, (H, W) bool; in strips, so that no full-size
    temporary is needed. With *levels* (255 for 8-bit), both images are compared on that level
    grid: a 16-bit original against an 8-bit edited file differs everywhere by quantization,
    which is not an edit."""
    import cv2

    h, w, channels = original.shape
    touched = np.empty((h, w), bool)
    ones = np.ones((1, channels), np.float32)
    rows = max(1, (4 << 20) // max(1, w * channels))  # ~16 MB of float32 per strip
    scale = None if levels is None else np.float32(levels)
    for top in range(0, h, rows):
        strip = slice(top, top + rows)
        a, b = original[strip], edited[strip]
        if scale is not None:
            a, b = np.rint(a * scale), np.rint(b * scale)
        diff = cv2.absdiff(a, b)
        if channels > 1:
            diff = cv2.transform(diff, ones)
        np.greater(diff.reshape(-1, w), 0, out=touched[strip])
    return touched
