"""Stage 2 of restore: which cells were edited, and where the original's texture may not go back.

Smoothing, retoning and glare removal are local filters: the edited image is a smooth, local,
linear function of the original's bands, with a small residue. A removal leaves a residue that no
local filter explains, and it stands out of the original's own texture: a blemish, a speck, a
scratch or an object's outline is an outlier against the texture around it, where pores, grain and
fibres are what is common. Each rule below measures one kind of evidence and carries its threshold
beside it; every threshold is in units of the original's own statistics (robust spreads, or the tail
of the same measure on the untouched surroundings), not in image levels.

* :func:`edited_cells` -- touched is not edited (re-encoding noise is left alone);
* :func:`replaced_regions` -- a region whose fine detail is not a filtered copy of the original's
  was filled anew (inpainting, a generated patch): what the original held there was removed;
  in a re-encoded frame it is read past the rim the encoder only copied (:func:`_past_the_rim`);
* :func:`outliers` -- band by band, what the edited image does not explain, against the original's
  robust texture spread; a blob, a speck, an outline;
* :func:`scratches` -- the same residue integrated along short lines: a thin scratch is faint per
  pixel and strong along its length;
* :func:`smooth_cells` -- the original had no texture to give back.

:func:`classify` joins them into :class:`Regions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrain._filters import gaussian_blur
from regrain._grid import fill_from_nearest, tile_quantile, upsample_nearest
from regrain._restore.analysis import NOISE_FLOOR, Analysis

__all__ = [
    "Regions",
    "classify",
    "edited_cells",
    "outliers",
    "replaced_regions",
    "scratches",
    "smooth_cells",
]

EDIT_SHARE = 0.3
"""A touched cell counts as edited when its texture changed by more than this share of the
original's (RMS) or its tone by more than one 8-bit level; re-encoding noise does neither."""

TONE_STEP = 1.0 / 255
"""The tone change (one 8-bit level) that makes a touched cell edited."""

DELIVERED_SHARE = 0.75
"""When more than this share of the crop's cells is touched, the whole frame was re-encoded."""

DELIVERY_MARGIN = 3.0
"""An edit in a re-encoded frame changes a cell by more than this many times (RMS) what the
re-encoding changed in the median touched cell."""

OUTLIER_BANDS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Band edges (px at full resolution) of the outlier test: band k is blur(e[k]) - blur(e[k+1]).
Specks and scratches live in the first two, blemishes in the middle, objects' outlines in all."""

TAIL_QUANTILE = 0.999
"""The untouched surroundings' own outlier level: this quantile of their standardised band."""

TAIL_MARGIN = 1.5
"""A residue is a defect when it exceeds the surroundings' tail level by this factor: pores and
sparkle of the same material reach the tail, a defect goes well beyond it."""

MIN_SIGMAS = 5.0
"""The threshold never goes below this many robust sigmas (a Gaussian texture's 1e-6 tail), so
that a ring too small or too clean to measure a tail cannot make every pixel an outlier."""

DEFAULT_SIGMAS = 7.0
"""The threshold when no untouched surroundings are around to measure a tail (a global edit)."""

MIN_RING_CELLS = 400
"""Fewer untouched cells than this cannot give a tail quantile."""

MAX_SOFTENING = 10.0
"""The residue's fit lets the AI have softened a feature it kept up to this factor (a tenth of
its amplitude left is still a copy of it)."""

KEPT_SHARE = 0.5
"""The AI kept a filtered copy of a band where the residue's robust spread is below this share of
the original band's (it explains more than three quarters of its energy)."""

LINE_LENGTH = 15.0
"""Scratch test: the residue is averaged along lines this long (px at full resolution)."""

LINE_ANGLES = 12
"""Orientations of the scratch test (every 15 degrees)."""

REPLACED_CORRELATION = 0.2
"""A local filter (a denoiser, a skin smoother, a resampling) leaves fine detail that is a filtered
copy of the original's: their correlation over a region stays well above zero (0.4-0.9 measured on
bilateral, Gaussian and resampling edits), however weak the detail. A fill (inpainting, a
generated patch) is made from the region's border, not from what was inside: its fine detail is
uncorrelated with the original's (|r| <= 0.1 measured). Below this, or below four standard errors
of a zero correlation for the region's size, the region's content was replaced."""

KEPT_CORRELATION = 0.5
"""Inside a region judged a fill by its fine detail, structure just above the texture that
still correlates this well with the original's says it was a strong blur, not a fill (fills
measured 0-0.35 inside large removed objects; blurs 0.6-1)."""

MIN_INSIDE_CELLS = 64
"""A region needs this many cells beyond its border's reach for its inside to be read."""

LOCAL_RADII = 2.0
"""The local fill test reads the correlation over Gaussian windows of this many texture radii."""

FINE_CORRELATION_PX = 4.0
"""Pixels per independent sample of the finest sub-band (its detail is about 2 x 2 px)."""

FILL_DEPTH_RADII = 1.0
"""The fill test reads a region's correlation this many texture radii (at least 2 px) inside its
border, where the region is that wide. A fill is continuous with its border: over its first pixel
or two it repeats the pixels around it, which the original's texture correlates with, so a thin
fill (a healed scratch or speck, a few px wide) correlates 0.15-0.45 over all its pixels and
passes for a filter; at that depth the same fills measure -0.03-0.08 (biharmonic heals on three
validation photos, read once to find the cause, no threshold set on them), while a filter's copy
holds at every depth."""

COPY_WINDOW = 1.0
"""In a re-encoded frame, a cell holds a copy of the original's finest detail when, over a
Gaussian window of this many cells, the edit kept KEPT_SHARE of its amplitude (a quarter of its
energy) at KEPT_CORRELATION: the rim an encoder only copied (0.95 of the energy, r 0.97 measured
around validation webp heals, read once for the cause) does; a fill (0.05) does not."""

SMOOTH_LEVEL = 2.0 * NOISE_FLOOR
"""Below this robust texture level (RMS) the original had no texture there (bokeh, backdrop)."""


@dataclass(frozen=True)
class Regions:
    """Where each class applies, on the analysis grid (gh, gw).

    ``changed`` is the share of each cell the edit touched, 0 outside edited cells; ``rebuild``
    the cells whose original texture must not go back (bool); ``smooth`` the changed cells whose
    original had no texture (bool); ``evidence`` names each rule's own cells, for the maps and
    the tests; ``touched`` (full resolution) the pixels that are touched AND in edited cells.
    """

    changed: np.ndarray
    rebuild: np.ndarray
    smooth: np.ndarray
    touched: np.ndarray
    evidence: dict[str, np.ndarray]


def _delivered(a: Analysis) -> bool:
    """Whether the whole frame was touched (re-encoded or edited as a whole): more than
    DELIVERED_SHARE of the crop's cells touched."""
    return bool((a.touched_share > 0).mean() > DELIVERED_SHARE)


def edited_cells(a: Analysis, *, grow: bool = True) -> np.ndarray:
    """Touched cells that were really edited (bool), grown by one cell (edits have soft rims)
    unless *grow* is False (the cells that passed the test themselves).

    A cell is edited when its texture changed by more than EDIT_SHARE of the original's RMS and
    more than the noise floor, or its tone by more than TONE_STEP. When a tool re-encoded the whole
    frame (most of it is touched, and the frame's texture changed by less than EDIT_SHARE), the
    texture bar rises to DELIVERY_MARGIN times the typical (median) change, which is the
    re-encoding's own -- an edit covers less than half of a delivered frame. A re-encoding moves
    tones by less than an 8-bit level, so the tone bar stays.
    """
    import cv2

    touched = a.touched_share > 0
    floor2 = np.float32(NOISE_FLOOR**2)
    tone = np.abs(a.tone_o - a.tone_e)
    texture_bar = np.maximum(np.float32(EDIT_SHARE**2) * a.eo2, floor2)
    if _delivered(a):
        # a whole frame touched: re-encoded (every cell changed a little, far less than an edit
        # changes one), or edited as a whole (a global denoise: then every cell is an edit)
        # the share of the texture's energy that changed, over the frame (not the median
        # cell's own share: in a frame of smooth backdrop the median cell has next to no
        # texture, and any re-encoding change is a large share of nothing -- 0.12 on a
        # tuning notebook where the frame's texture lost 0.07)
        share = float(a.lost2[touched].sum() / max(float(a.eo2[touched].sum()), 1e-30))
        if share < EDIT_SHARE**2:
            noise2 = float(np.median(a.lost2[touched]))
            texture_bar = np.maximum(texture_bar, np.float32(DELIVERY_MARGIN**2 * noise2))
    core = (a.lost2 > texture_bar) | (tone > TONE_STEP)
    core &= touched
    if not grow or not core.any():
        return core
    return (cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & touched


def _robust_spread(plane: np.ndarray, block: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Local robust spread of a zero-mean band: tile medians of |band| / 0.6745 over the *valid*
    cells (a defect under half a tile cannot move a median), filled from the nearest tiles and
    interpolated to the plane's shape."""
    if valid is None:
        valid = np.ones(plane.shape, bool)
    tiles = tile_quantile(np.abs(plane), block, valid)
    return np.maximum(fill_from_nearest(tiles, plane.shape) / 0.6745, np.float32(NOISE_FLOOR / 4))


def _residue(bo: np.ndarray, be: np.ndarray, window: float) -> np.ndarray:
    """What of the original's band *bo* no local affine map of the edited band *be* explains:
    ``bo - (s * be + t)`` with s, t fitted over a Gaussian window (a guided-filter fit; s in
    [0, MAX_SOFTENING])."""
    mo, me = gaussian_blur(bo, window), gaussian_blur(be, window)
    cov = gaussian_blur(bo * be, window) - mo * me
    var = gaussian_blur(be * be, window) - me * me
    s = np.clip(cov / (var + np.float32(NOISE_FLOOR**2)), 0.0, MAX_SOFTENING)
    return bo - (s * be + (mo - s * me))


def _threshold(z: np.ndarray, untouched: np.ndarray) -> float:
    """The outlier threshold for a standardised measure *z*: the surroundings' own tail level
    times TAIL_MARGIN, at least MIN_SIGMAS; DEFAULT_SIGMAS when there are no surroundings."""
    if untouched.sum() < MIN_RING_CELLS:
        return DEFAULT_SIGMAS
    return max(MIN_SIGMAS, TAIL_MARGIN * float(tail_quantile(z[untouched], TAIL_QUANTILE)))


def tail_quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (its default, linear interpolation) of a 1-D array, exactly,
    for a *q* in the upper tail, without partitioning the whole array: the two order statistics
    it interpolates are found among the values above a bar read from a strided sample, and
    checked to be there (else the whole array is used). A test checks it against numpy."""
    n = values.size
    if n < 8192 or q < 0.9:
        return float(np.quantile(values, q))
    index = (n - 1) * q  # numpy's virtual index for the linear method
    lo = int(np.floor(index))
    hi = min(lo + 1, n - 1)
    sample = values[:: max(1, n // 32768)]
    bar = np.quantile(sample, max(0.0, 1.0 - 4.0 * (n - lo) / n))
    above = values >= bar
    base = n - int(np.count_nonzero(above))  # values below the bar
    if base > lo or np.isnan(bar) or np.isnan(values.max()):
        return float(np.quantile(values, q))
    tail = np.partition(values[above], (lo - base, hi - base))
    pair = np.array([tail[lo - base], tail[hi - base]], dtype=values.dtype)
    # numpy's own interpolation of the two, at the same weight: the same rounding
    return float(np.quantile(pair, index - lo))


def outliers(a: Analysis, edited: np.ndarray, untouched: np.ndarray) -> np.ndarray:
    """Cells where some band of the original stands far out of its own texture and the edited
    image, which kept a filtered copy of the rest, does not explain it: a blemish, a speck, a
    highlight or an object's outline the AI removed inside an area it smoothed.

    Per band of :data:`OUTLIER_BANDS`, ``z = |residue| / spread``: the residue of a local fit of
    the original's band from the edited one's (:func:`_residue`), over the original band's robust
    local spread. The threshold is the texture's own rarity: the same measure, ``|band| /
    spread``, on the *untouched* cells (its TAIL_QUANTILE, times TAIL_MARGIN). The test only
    applies where the AI kept a copy of the detail (the residue's own spread is below
    KEPT_SHARE of the original's): where it wiped the band out, a removed pore and a removed
    blemish leave the same residue, the original's band, and nothing tells them apart -- a fill
    is :func:`replaced_regions`' evidence. Grown by hysteresis to half the threshold (a
    defect's whole extent, not its core).
    """
    f = a.factor
    strong = np.zeros(a.grid, bool)
    weak = np.zeros(a.grid, bool)
    edges = [e / f for e in OUTLIER_BANDS]
    block = max(4, round(12 * a.material.radius / f))
    blurred_o = [a.yo if e < 0.35 else gaussian_blur(a.yo, e) for e in edges]
    blurred_e = [a.ye if e < 0.35 else gaussian_blur(a.ye, e) for e in edges]
    for k in range(len(edges) - 1):
        if edges[k + 1] < 0.5:
            continue  # finer than a grid cell: no band here
        bo = blurred_o[k] - blurred_o[k + 1]
        be = blurred_e[k] - blurred_e[k + 1]
        tile = max(block, round(3 * edges[k + 1]))
        spread = _robust_spread(bo, tile)
        residue = _residue(bo, be, max(1.0, 2.0 * edges[k + 1]))
        kept = _robust_spread(residue, tile, edited) < KEPT_SHARE * spread
        z = np.abs(residue) / spread
        level = _threshold(np.abs(bo) / spread, untouched)
        strong |= (z > level) & edited & kept
        weak |= (z > level / 2) & edited
    return _hysteresis(strong, weak)


def replaced_regions(a: Analysis, core: np.ndarray) -> np.ndarray:
    """Edited regions whose fine detail is not a filtered copy of the original's: the AI made
    their content anew (a fill), so the original's texture there is whatever was removed.

    Per connected region of edited cells (before they are grown by their rim: in a re-encoded
    frame the rim is re-encoding, not edit), the correlation of the edited image's finest sub-band
    with the original's over the region's pixels at least :data:`FILL_DEPTH_RADII` inside its
    border (the whole region where it is thinner), against :data:`REPLACED_CORRELATION` or four
    standard errors of zero, whichever is larger. A region whose original has no fine detail to
    correlate (below the noise floor) is left to the other rules. In a re-encoded frame a region
    with an inside past the rim the encoder copied is read there (:func:`_past_the_rim`).
    """
    import cv2

    oo, eo, ee = a.fine_sums
    out = np.zeros(a.grid, bool)
    count, whole = cv2.connectedComponents(core.astype(np.uint8), connectivity=8)
    if count <= 1:
        return out
    floor2 = (NOISE_FLOOR / 2) ** 2
    # each region is read at depth where it is that wide (see FILL_DEPTH_RADII), else whole
    depth_px = max(2.0, FILL_DEPTH_RADII * a.material.radius)
    # the border a fill is continuous with: the pixels the AI left alone; in a re-encoded frame
    # (none left alone) the edit's own border
    delivered = _delivered(a)
    border = core if delivered else a.touched_share > 0
    inside = cv2.distanceTransform(border.astype(np.uint8), cv2.DIST_L2, 5) * a.factor >= depth_px
    has_inside = np.bincount(whole[inside], minlength=count) > 0
    labels = np.where(inside | ~has_inside[whole], whole, 0)
    # the cells a region's verdict marks: all of them, but in a re-encoded frame only those that
    # lost their copy of the finest detail (a rim or an edge the encoder only copied is none of
    # the fill's: marked, a small region's rim on a petal edge was rebuilt as blobs of static)
    lost = np.ones(a.grid, bool)
    if delivered:
        lost = core & ~_copied(a)
        decided, found = _past_the_rim(a, core, lost, whole, count, depth_px)
        out |= found
        labels = np.where(decided[labels], 0, labels)
    flat = labels.ravel()
    # twice: every cell alike, and each cell weighing as much fine detail as it lost (a
    # re-encoded frame's blocks smear an edit's change over cells around it that keep their
    # detail, a copy that would outvote a small fill; a fill lost it all)
    for weight, significance in (
        (np.ones(a.grid), True),
        (np.maximum(oo.astype(np.float64) - ee, 0.0), False),
    ):
        wf = weight.ravel()
        w = np.bincount(flat, wf, minlength=count)
        s_oo = np.bincount(flat, (wf * oo.ravel()), minlength=count)
        s_eo = np.bincount(flat, (wf * eo.ravel()), minlength=count)
        s_ee = np.bincount(flat, (wf * ee.ravel()), minlength=count)
        for label in range(1, count):
            if not w[label] > 0 or s_oo[label] / w[label] < floor2:
                continue  # nothing fine in the original to have been copied or not
            r = s_eo[label] / np.sqrt(s_oo[label] * max(s_ee[label], 1e-30))
            # a small region's figure is noisy: four standard errors of zero (first pass)
            bar = _fill_bar(w[label], a.factor) if significance else REPLACED_CORRELATION
            if r < bar and not _kept_structure(a, whole == label):
                out |= (whole == label) & lost
    return out


def _fill_bar(cells: float, factor: int) -> float:
    """The fine correlation below which *cells* grid cells read as a fill: REPLACED_CORRELATION,
    or four standard errors of a zero correlation over their independent samples, the larger."""
    samples = cells * factor * factor / FINE_CORRELATION_PX
    return max(REPLACED_CORRELATION, 4.0 / np.sqrt(samples))


def _copied(a: Analysis) -> np.ndarray:
    """Cells whose finest detail the edit kept a copy of (see COPY_WINDOW), bool."""
    oo, eo, ee = (gaussian_blur(x, COPY_WINDOW) for x in a.fine_sums)
    share = np.float32(KEPT_SHARE**2)
    return (ee >= share * oo) & (eo >= np.float32(KEPT_CORRELATION) * np.sqrt(oo * ee))


def _correlation(sums: tuple[np.ndarray, np.ndarray, np.ndarray], cells: np.ndarray) -> float:
    """The correlation of the edited band with the original's over *cells*, from cell sums."""
    oo, eo, ee = (x[cells].sum(dtype=np.float64) for x in sums)
    return float(eo / np.sqrt(max(oo * ee, 1e-30)))


def _past_the_rim(
    a: Analysis,
    core: np.ndarray,
    changed: np.ndarray,
    whole: np.ndarray,
    count: int,
    depth_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The fill test of a re-encoded frame, read past the rim the encoder only copied.

    Every pixel is touched, so an edit's change spreads (over the loss measure's window and the
    codec's blocks) onto a rim around it whose fine detail is a faithful copy; read over the
    whole region, that copy lifted a fill's correlation over the bar and the removed defect came
    back (leaks 0.24-1.0 on 5 of 60 validation removals). Here each region is read on its cells
    that lost their copy (*changed*: core cells not :func:`_copied`), FILL_DEPTH_RADII inside
    them, when it has MIN_INSIDE_CELLS there: a fill where the finest detail is uncorrelated
    (REPLACED_CORRELATION, or four standard errors of zero) and the band just above it too
    (below KEPT_CORRELATION: a resampling or a smoothing keeps that structure, 0.75-0.99
    measured, where fills read -0.4-0.4). Only the region's changed cells are marked: the rim is
    a copy and goes back.

    That reading is evidence only where the original's fine detail there stands out of what the
    re-encoding itself changes in it (DELIVERY_MARGIN squared times the median change of the
    cells outside the edits): where it does not, a codec would have lost it too, and a smoothed
    area of faint grain (a retone in a JPEG frame) read as a fill and was rebuilt at 5.6 times
    the truth's energy. Such a region is no fill by this rule. Returns the labels decided here
    (True) and the cells found replaced.
    """
    import cv2

    found = np.zeros(a.grid, bool)
    decided = np.zeros(count, bool)
    deep = cv2.distanceTransform(changed.astype(np.uint8), cv2.DIST_L2, 5) * a.factor >= depth_px
    deep_count = np.bincount(whole[deep], minlength=count)
    decided[1:] = deep_count[1:] >= MIN_INSIDE_CELLS
    if not decided.any():
        return decided, found
    oo, eo, ee = a.fine_sums
    rest = (a.touched_share > 0) & ~core
    if not rest.any():
        rest = a.touched_share > 0
    noise = float(np.median((oo - 2.0 * eo + ee)[rest]))
    detail = np.bincount(whole[deep], oo[deep], minlength=count) / np.maximum(deep_count, 1)
    for label in np.flatnonzero(decided & (detail > DELIVERY_MARGIN**2 * noise)):
        cells = deep & (whole == label)
        if _correlation(a.fine_sums, cells) < _fill_bar(deep_count[label], a.factor) and (
            _correlation(a.mid_sums, cells) < KEPT_CORRELATION
        ):
            found |= (whole == label) & changed
    return decided, found


def _kept_structure(a: Analysis, region: np.ndarray) -> bool:
    """Whether the inside of a region (beyond the reach of its border) kept a copy of the
    structure just above the texture: a strong blur of a very fine texture leaves no correlated
    fine detail either, but it keeps the coarser structure a fill replaces. Too small a region
    has no inside to read: False. The inside lies beyond the band's own reach (its coarser blur,
    4r/3 px, to three sigmas: 4r): a fill is continuous with its border, and nearer than that the
    band reads the border's pixels in both images alike (at 2r, thin biharmonic heals measured
    correlated and came back)."""
    import cv2

    reach = max(1, int(np.ceil(4.0 * a.material.radius / a.factor)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
    inside = cv2.erode(region.astype(np.uint8), kernel) > 0
    if inside.sum() < MIN_INSIDE_CELLS:
        return False
    return _correlation(a.mid_sums, inside) >= KEPT_CORRELATION


def replaced_locally(a: Analysis, core: np.ndarray) -> np.ndarray:
    """Parts of an edited region whose structure just above the texture (2r/3 to 4r/3 px) is not
    a copy of the original's: an object the AI took out of an area it otherwise only smoothed.

    A filter softens that band but keeps it (correlation 0.5-1 measured over Gaussian, bilateral,
    resampling and re-encoded edits); a fill replaces it. The correlation is read over Gaussian
    windows of LOCAL_RADII texture radii within the edited cells; an area counts when it stays
    below REPLACED_CORRELATION over at least a window's area (a window holds some 50 independent
    samples, so chance dips do not).
    """
    import cv2

    f = a.factor
    sigma = max(1.0, LOCAL_RADII * a.material.radius / f)
    m = core.astype(np.float32)
    s_oo, s_eo, s_ee = (gaussian_blur(x * m, sigma) for x in a.mid_sums)
    weight = gaussian_blur(m, sigma)
    floor2 = np.float32((NOISE_FLOOR / 2) ** 2)
    textured = s_oo > floor2 * np.maximum(weight, 1e-6)
    r = s_eo / np.sqrt(np.maximum(s_oo * s_ee, 1e-30))
    low = core & textured & (r < REPLACED_CORRELATION)
    if not low.any():
        return low
    count, labels, stats, _ = cv2.connectedComponentsWithStats(low.astype(np.uint8), connectivity=8)
    big = np.zeros(count, bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= np.pi * sigma * sigma
    return big[labels]


def _line_kernels(length: float, angles: int) -> list[np.ndarray]:
    """Unit-energy kernels that average along a line segment (1 px wide, anti-aliased)."""
    half = int(np.ceil(length / 2))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    kernels = []
    for k in range(angles):
        t = np.pi * k / angles
        along = xx * np.cos(t) + yy * np.sin(t)
        across = -xx * np.sin(t) + yy * np.cos(t)
        kern = np.exp(-0.5 * (across / 0.7) ** 2) * (np.abs(along) <= length / 2)
        kernels.append((kern / np.sqrt((kern * kern).sum())).astype(np.float32))
    return kernels


def scratches(a: Analysis, edited: np.ndarray, untouched: np.ndarray) -> np.ndarray:
    """Cells on a thin line the AI removed: the fine residue averaged along short lines.

    A one-pixel scratch of moderate contrast is inside the texture's range pixel by pixel; along
    LINE_LENGTH px it adds up coherently while texture adds up as its square root. Each
    orientation is standardised by its own robust spread of the original's fine band (brushed
    metal's streaks set a high bar along the brushing, not across it) and judged against the
    ring's tail as :func:`outliers` does.
    """
    import cv2

    f = a.factor
    length = max(5.0, LINE_LENGTH / f)
    fine_o = a.yo - gaussian_blur(a.yo, max(0.7, 1.5 / f))
    fine_e = a.ye - gaussian_blur(a.ye, max(0.7, 1.5 / f))
    residue = _residue(fine_o, fine_e, max(1.0, 3.0 / f))
    block = max(8, round(2 * length))
    strong = np.zeros(a.grid, bool)
    weak = np.zeros(a.grid, bool)
    for kernel in _line_kernels(length, LINE_ANGLES):
        line_o = cv2.filter2D(fine_o, -1, kernel, borderType=cv2.BORDER_REFLECT)
        line_r = cv2.filter2D(residue, -1, kernel, borderType=cv2.BORDER_REFLECT)
        spread = _robust_spread(line_o, block)
        kept = _robust_spread(line_r, block, edited) < KEPT_SHARE * spread
        z = np.abs(line_r) / spread
        level = _threshold(np.abs(line_o) / spread, untouched)
        strong |= (z > level) & edited & kept
        weak |= (z > level / 2) & edited
    return _hysteresis(strong, weak)


def smooth_cells(a: Analysis, changed: np.ndarray) -> np.ndarray:
    """Changed cells where the original had no texture: its robust local level (tile median of
    the restore band's RMS) is below SMOOTH_LEVEL."""
    block = max(4, round(12 * a.material.radius / a.factor))
    tiles = tile_quantile(np.sqrt(a.eo2), block, np.ones(a.grid, bool))
    return (fill_from_nearest(tiles, a.grid) < SMOOTH_LEVEL) & changed


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Areas of *weak* that contain some *strong* cell: a defect's whole extent, not its core."""
    import cv2

    if not strong.any():
        return strong
    count, labels = cv2.connectedComponents((weak | strong).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill areas fully enclosed by *mask*: a removed object's outline takes its inside along."""
    import cv2

    h, w = mask.shape
    canvas = np.zeros((h + 2, w + 2), np.uint8)
    canvas[1:-1, 1:-1] = mask
    flood = canvas.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    return (canvas[1:-1, 1:-1] > 0) | (flood[1:-1, 1:-1] == 0)


def _untouched(a: Analysis) -> np.ndarray:
    """The cells the AI left alone: the sample of the original's own texture statistics (all of
    it, not a ring: a ring around a face is hair and backdrop, and a small sample has no tail)."""
    return a.touched_share == 0


def classify(a: Analysis) -> Regions:
    """Apply the rules to one crop's analysis; see the module docstring."""
    import cv2

    edited = edited_cells(a)
    changed = np.where(edited, a.touched_share, 0).astype(np.float32)
    touched = a.touched & upsample_nearest(edited, a.touched.shape)
    untouched = _untouched(a)
    core = edited_cells(a, grow=False)
    found = {
        "replaced": replaced_regions(a, core),
        "replaced_part": replaced_locally(a, core),
        "outliers": outliers(a, edited, untouched),
        "scratches": scratches(a, edited, untouched),
    }
    rebuild = np.logical_or.reduce(list(found.values())) & edited
    if rebuild.any():
        # a defect's halo and anti-aliased rim go with it; an outline takes its inside along
        grow = max(1, round(a.material.radius / a.factor))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        rebuild = cv2.dilate(rebuild.astype(np.uint8), kernel) > 0
        rebuild = _fill_holes(rebuild) & edited
    smooth = smooth_cells(a, edited) & ~rebuild
    return Regions(changed, rebuild, smooth, touched, found)
