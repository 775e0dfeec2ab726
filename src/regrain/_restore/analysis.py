"""Stage 1 of restore: the bands of an (original, edited) pair and their local statistics.

Everything restore decides is read from a few measurements, taken once here, for the original
(O) and the edited (E) luma:

* the **restore band** (texture: the image minus its Gaussian blur at the material's radius ``r``)
  and its local energies: the original's, the edited image's and their difference's;
* the **finest detail** (finer than ``r/3`` px) as cell sums of O*O, E*O and E*E: a filter leaves
  a copy of the original's finest detail, however weak, a fill leaves none (:mod:`.classify`);
* the **tones** (the blur at ``r``) of both, for the glare gain and the tone-change test;
* the lumas on the analysis grid, for the detection rules of :mod:`.classify`.

Local statistics live on the analysis grid (:mod:`regrain._grid`); full-resolution planes are not
kept. Every buffer is its own: a speed trick that aliased two of them once switched glare
compensation off for every image under 4.5 MP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrain._filters import gaussian_blur
from regrain._grid import cell_share, downsample, to_grid
from regrain._luma import luma
from regrain._materials import Material

__all__ = [
    "MAX_GLARE_GAIN",
    "NOISE_FLOOR",
    "Analysis",
    "analyse",
    "glare_gain",
    "sub_band_edges",
]

NOISE_FLOOR = 0.5 / 255
"""RMS below which the original is taken to have no texture (half an 8-bit level)."""

MAX_GLARE_GAIN = 4.0
"""Texture washed out by glare is amplified at most this much (glare of 75% white)."""


def sub_band_edges(radius: float) -> tuple[float, float, float]:
    """The blur radii (px) that split the restore band into three sub-bands: r/3, 2r/3, r."""
    return (radius / 3.0, 2.0 * radius / 3.0, radius)


@dataclass(frozen=True)
class Analysis:
    """The measurements of one crop, on its analysis grid of ``factor`` px per cell.

    Grid planes are float32 (gh, gw); energies are local mean squares over a window of about
    two texture radii. ``touched`` is full resolution (H, W) bool.
    """

    material: Material
    factor: int
    shape: tuple[int, int]
    """Full-resolution (H, W) of the crop."""
    touched: np.ndarray
    """Pixels where any channel of the pair differs at all (H, W) bool."""
    touched_share: np.ndarray
    """Share of each cell's pixels that are touched."""
    eo2: np.ndarray
    """Original's restore-band energy."""
    eo2_cells: np.ndarray
    """The same, each cell's own mean square (not smoothed: a strong edge stays where it is)."""
    ee2_cells: np.ndarray
    """The edited image's, likewise."""
    ee2: np.ndarray
    """Edited image's restore-band energy."""
    lost2: np.ndarray
    """Energy of the difference of the two restore bands (what changed in the texture)."""
    mid_sums: tuple[np.ndarray, np.ndarray, np.ndarray]
    """The same for the detail between 2r/3 and 4r/3 px (structure a filter softens but keeps)."""
    fine_sums: tuple[np.ndarray, np.ndarray, np.ndarray]
    """Cell means of O*O, E*O and E*E in the finest sub-band (not smoothed): a region's
    correlation of the edited fine detail with the original's is read from their sums."""
    tone_o: np.ndarray
    """Original's tones (luma blurred at the radius) on the grid."""
    tone_e: np.ndarray
    """Edited image's tones on the grid."""
    yo: np.ndarray
    """Original's luma area-averaged onto the grid."""
    ye: np.ndarray
    """Edited image's luma area-averaged onto the grid."""

    @property
    def grid(self) -> tuple[int, int]:
        return self.eo2.shape


def analyse(
    original: np.ndarray,
    edited: np.ndarray,
    touched: np.ndarray,
    material: Material,
    factor: int,
) -> Analysis:
    """Measure one crop of a pair (float32 (H, W, C) each) on a grid of *factor* px cells."""
    import cv2

    yo, ye = luma(original), luma(edited)  # (a gray image's luma is a view: never written)
    f, r = factor, material.radius
    grid = downsample(np.zeros(touched.shape, np.float32), f).shape
    window = max(1.0, 2.0 * r / f)
    # five full-size planes, each its own buffer, reused stage by stage (fresh memory is slow to
    # fault in on this kind of machine; two planes that alias each other once switched the glare
    # gain off, so every dst= below names a buffer that is not an input of the same call)
    scratch, o1, e1, o2, e2 = (np.empty_like(yo) for _ in range(5))

    def cells(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell means of x * y on the grid."""
        return to_grid(cv2.multiply(x, y, dst=scratch), f, grid)

    def band(y: np.ndarray, fine: float, coarse: float, dst: np.ndarray, spare: np.ndarray):
        """blur(y, fine) - blur(y, coarse) into *dst* (fine 0: y itself)."""
        low = gaussian_blur(y, coarse, out=spare)
        high = y if fine == 0 else gaussian_blur(y, fine, out=dst)
        return cv2.subtract(high, low, dst=dst)

    # the finest detail (finer than r/3 px): copied by a filter, absent from a fill
    fine_o = band(yo, 0, sub_band_edges(r)[0], o1, o2)
    fine_e = band(ye, 0, sub_band_edges(r)[0], e1, e2)
    fine_sums = (cells(fine_o, fine_o), cells(fine_e, fine_o), cells(fine_e, fine_e))
    # the structure just above the texture: softened by a filter, never uncorrelated
    mid_o = band(yo, 2 * r / 3, 4 * r / 3, o1, o2)
    mid_e = band(ye, 2 * r / 3, 4 * r / 3, e1, e2)
    mid_sums = (cells(mid_o, mid_o), cells(mid_e, mid_o), cells(mid_e, mid_e))
    # the tones, then the whole restore band
    low_o, low_e = gaussian_blur(yo, r, out=o2), gaussian_blur(ye, r, out=e2)
    tone_o, tone_e = to_grid(low_o, f, grid), to_grid(low_e, f, grid)
    band_o = cv2.subtract(yo, low_o, dst=o1)
    band_e = cv2.subtract(ye, low_e, dst=e1)
    eo2_cells = cells(band_o, band_o)
    eo2 = gaussian_blur(eo2_cells, window)
    ee2_cells = cells(band_e, band_e)
    ee2 = gaussian_blur(ee2_cells, window)
    lost = cv2.subtract(band_o, band_e, dst=o2)
    lost2 = gaussian_blur(cells(lost, lost), window)
    return Analysis(
        material=material,
        factor=f,
        shape=touched.shape,
        touched=touched,
        touched_share=cell_share(touched, f, grid),
        eo2=eo2,
        eo2_cells=eo2_cells,
        ee2_cells=ee2_cells,
        ee2=ee2,
        lost2=lost2,
        mid_sums=mid_sums,
        fine_sums=fine_sums,
        tone_o=tone_o,
        tone_e=tone_e,
        yo=to_grid(yo, f, grid),
        ye=to_grid(ye, f, grid),
    )


def glare_gain(analysis: Analysis) -> np.ndarray:
    """How much the original's texture was washed out by glare, per cell (>= 1).

    Veiling glare adds white: ``original = (1 - g) * scene + g``, which scales the scene's texture
    by ``1 - g``. Where the AI took the glare away, its tones are the scene's, so the pair itself
    gives ``1 / (1 - g) = (1 - tone_edited) / (1 - tone_original)``. A tone lift (retone) gives
    less than 1 and is not a glare: the gain is clipped to [1, MAX_GLARE_GAIN].
    """
    gain = (1.0 - analysis.tone_e) / np.maximum(1.0 - analysis.tone_o, 1e-3)
    return np.clip(gain, 1.0, MAX_GLARE_GAIN).astype(np.float32)
