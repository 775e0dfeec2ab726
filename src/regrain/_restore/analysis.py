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
from regrain._grid import cell_share, downsample, grid_shape
from regrain._luma import luma
from regrain._materials import Material

__all__ = [
    "MAX_GLARE_GAIN",
    "NOISE_FLOOR",
    "Analysis",
    "analyse",
    "glare_gain",
    "row_strips",
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


STRIP_ROWS = 256
"""The crop is measured in strips of about this many rows (whole cells, plus the blurs' reach):
the full-resolution planes of the measurement stay strip-sized and warm, where full-size ones
cost more in page faults than the work done on them on this kind of machine, and the crop's
float copies are the only full-size planes. A test checks the strips give the whole crop's
figures bit for bit."""


def row_strips(h: int, w: int, factor: int, reach: int, rows: int = STRIP_ROWS):
    """The strips a crop of (*h*, *w*) px is measured in: ``(cells, pixels, padded, inner)``,
    the strip's grid rows, its full-resolution rows (whole cells), those rows plus *reach* of
    context each side (clipped to the crop: mirrored at the crop's own edges only, as a whole
    crop's blur is) and where the strip's rows sit inside the padded ones. The last strip's
    context runs to the crop's edge (rows of a partial cell are context, not cells). A crop
    narrower or lower than a cell is one strip."""
    gh = grid_shape((h, w), factor)[0]
    if factor > 1 and (h < factor or w < factor):
        yield slice(0, gh), slice(0, h), slice(0, h), slice(0, h)
        return
    step = max(1, rows // factor)
    for g0 in range(0, gh, step):
        g1 = min(gh, g0 + step)
        y0, y1 = g0 * factor, g1 * factor
        p0, p1 = max(0, y0 - reach), min(h, y1 + reach)
        yield slice(g0, g1), slice(y0, y1), slice(p0, p1), slice(y0 - p0, y1 - p0)


def analyse(
    original: np.ndarray,
    edited: np.ndarray,
    touched: np.ndarray,
    material: Material,
    factor: int,
) -> Analysis:
    """Measure one crop of a pair (float32 (H, W, C) each) on a grid of *factor* px cells."""
    import cv2

    f, r = factor, material.radius
    h, w = touched.shape
    grid = grid_shape((h, w), f)
    window = max(1.0, 2.0 * r / f)
    fine_edge = sub_band_edges(r)[0]
    reach = int(np.ceil(4.0 * (4 * r / 3)))  # the widest blur's kernel half-width
    names = ("fine_oo", "fine_eo", "fine_ee", "mid_oo", "mid_eo", "mid_ee", "tone_o", "tone_e")
    names += ("eo2_cells", "ee2_cells", "lost2_cells", "yo", "ye")
    out = {name: np.zeros(grid, np.float32) for name in names}
    # the strip's planes, each its own buffer, reused strip by strip and stage by stage (two
    # planes that aliased each other once switched the glare gain off, so every dst= below
    # names a buffer that is not an input of the same call)
    strips = list(row_strips(h, w, f, reach))
    rows = max(p.stop - p.start for _, _, p, _ in strips)
    yo_s, ye_s, scratch, o1, e1, o2, e2 = (np.empty((rows, w), np.float32) for _ in range(7))

    def band(y, fine: float, coarse: float, dst, spare):
        """blur(y, fine) - blur(y, coarse) into *dst* (fine 0: y itself)."""
        low = gaussian_blur(y, coarse, out=spare)
        high = y if fine == 0 else gaussian_blur(y, fine, out=dst)
        return cv2.subtract(high, low, dst=dst)

    for cells_rows, _, padded, inner in strips:
        n = padded.stop - padded.start
        yo, ye = luma(original[padded], out=yo_s[:n]), luma(edited[padded], out=ye_s[:n])
        b = {k: v[:n] for k, v in (("o1", o1), ("e1", e1), ("o2", o2), ("e2", e2))}

        def put(name: str, plane: np.ndarray, cells_rows=cells_rows, inner=inner) -> None:
            """Area-average the strip's own rows of *plane* into its grid rows of *name*."""
            small = downsample(plane[inner], f)
            out[name][cells_rows, : small.shape[1]] = small[:, : grid[1]]

        def cells(name: str, x: np.ndarray, y: np.ndarray, inner=inner) -> None:
            """Cell means of x * y into *name*."""
            m = inner.stop - inner.start
            put(name, cv2.multiply(x[inner], y[inner], dst=scratch[:m]), inner=slice(0, m))

        # the finest detail (finer than r/3 px): copied by a filter, absent from a fill
        fine_o = band(yo, 0, fine_edge, b["o1"], b["o2"])
        fine_e = band(ye, 0, fine_edge, b["e1"], b["e2"])
        cells("fine_oo", fine_o, fine_o)
        cells("fine_eo", fine_e, fine_o)
        cells("fine_ee", fine_e, fine_e)
        # the structure just above the texture: softened by a filter, never uncorrelated
        mid_o = band(yo, 2 * r / 3, 4 * r / 3, b["o1"], b["o2"])
        mid_e = band(ye, 2 * r / 3, 4 * r / 3, b["e1"], b["e2"])
        cells("mid_oo", mid_o, mid_o)
        cells("mid_eo", mid_e, mid_o)
        cells("mid_ee", mid_e, mid_e)
        # the tones, then the whole restore band
        low_o, low_e = gaussian_blur(yo, r, out=b["o2"]), gaussian_blur(ye, r, out=b["e2"])
        put("tone_o", low_o)
        put("tone_e", low_e)
        band_o = cv2.subtract(yo, low_o, dst=b["o1"])
        band_e = cv2.subtract(ye, low_e, dst=b["e1"])
        cells("eo2_cells", band_o, band_o)
        cells("ee2_cells", band_e, band_e)
        lost = cv2.subtract(band_o, band_e, dst=b["o2"])
        cells("lost2_cells", lost, lost)
        put("yo", yo)
        put("ye", ye)

    return Analysis(
        material=material,
        factor=f,
        shape=touched.shape,
        touched=touched,
        touched_share=cell_share(touched, f, grid),
        eo2=gaussian_blur(out["eo2_cells"], window),
        eo2_cells=out["eo2_cells"],
        ee2_cells=out["ee2_cells"],
        ee2=gaussian_blur(out["ee2_cells"], window),
        lost2=gaussian_blur(out["lost2_cells"], window),
        mid_sums=(out["mid_oo"], out["mid_eo"], out["mid_ee"]),
        fine_sums=(out["fine_oo"], out["fine_eo"], out["fine_ee"]),
        tone_o=out["tone_o"],
        tone_e=out["tone_e"],
        yo=out["yo"],
        ye=out["ye"],
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
