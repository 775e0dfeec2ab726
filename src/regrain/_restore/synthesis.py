"""Stage 3 of restore: new texture for the zones whose original texture must not go back.

Two methods, in :data:`SYNTHESIS_METHODS`, each returning a unit texture (zero mean, unit RMS) for
one zone from the clean texture around it (the original's own restore band, outside every rebuilt
zone and its halo):

* ``"spectral"`` -- stochastic textures (pores, grain, sparkle): Gaussian noise shaped by the
  surroundings' power spectrum (random-phase synthesis after Galerne, Gousseau and Morel, 2011),
  then **per-band histogram matching** to the surroundings' marginals (after Heeger and Bergen,
  1995), so that sparse dark pores stay sparse and bright sparkle stays bright: random phase alone
  makes every marginal Gaussian;
* ``"exemplar"`` -- structured textures (weave, chainmail, bark ridges): image quilting (after
  Efros and Freeman, 2001) of real blocks of the clean band nearby, each chosen by masked template
  matching against what is already known around it (the real surroundings and the blocks placed
  before), joined along the minimum-error boundary cut. A hard cut between two real pieces of
  texture keeps their variance, where a linear cross-fade would dip it.

:func:`choose_method` decides per zone by a measurement, not by the material's name: if a
random-phase copy of the surroundings is as far from them in texture statistics (sliced Wasserstein
distance of 7x7 patches) as two clean patches are from each other, the texture is stochastic and
``"spectral"`` reproduces it; if it is farther by STRUCTURE_RATIO, it has structure that a spectrum
does not carry, and ``"exemplar"`` is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from regrain._filters import gaussian_blur

__all__ = [
    "SYNTHESIS_METHODS",
    "Source",
    "ZoneTexture",
    "choose_method",
    "exemplar",
    "match_histograms",
    "rebuild_textures",
    "sliced_wasserstein",
    "spectral",
    "synthesize",
]

STRUCTURE_RATIO = 1.5
"""A texture is structured when its random-phase copy is farther than this many times the floor
(the distance between two clean patches of it) in patch statistics."""

STRUCTURE_ENERGY = 4.0
"""Clean pixels whose local band energy exceeds this many times the median are structure (an
edge), left out of the marginals rebuilt texture is matched to."""

PATCH = 7
"""Side (px) of the patches whose distribution the texture-statistics distance compares."""

PROJECTIONS = 64
"""Random directions of the sliced Wasserstein distance (seeded: the distance is repeatable)."""

MAX_EXEMPLAR_BLOCKS = 900
"""Above this many quilting blocks a zone is synthesised spectrally (quilting costs a template
match per block: about 30 x 30 blocks is a 700 x 700 px zone at the default block size)."""


@dataclass(frozen=True)
class Source:
    """The clean texture around one zone, full resolution.

    ``band`` (h, w) float32 is the original's restore band over a box around the zone; ``clean``
    (h, w) bool marks the pixels that may be copied or learnt from; ``zone`` (slice, slice) is the
    zone's place inside that box; ``radius`` the material's texture radius (px); ``isotropic``
    whether the texture has no direction to keep (skin).
    """

    band: np.ndarray
    clean: np.ndarray
    zone: tuple[slice, slice]
    radius: float
    isotropic: bool

    @property
    def zone_shape(self) -> tuple[int, int]:
        ys, xs = self.zone
        return ys.stop - ys.start, xs.stop - xs.start


# -- texture statistics ---------------------------------------------------------------------------
def _patches(band: np.ndarray, valid: np.ndarray | None, step: int = 1) -> np.ndarray:
    """All PATCH x PATCH patches of *band* (rows of PATCH**2 values) whose pixels are all valid."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(band, (PATCH, PATCH))[::step, ::step]
    flat = windows.reshape(-1, PATCH * PATCH)
    if valid is None:
        return flat
    ok = sliding_window_view(valid, (PATCH, PATCH))[::step, ::step].reshape(-1, PATCH * PATCH)
    return flat[ok.all(axis=1)]


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two sets of patches (rows), on PROJECTIONS seeded
    directions; the larger set is subsampled (evenly) to the smaller one's size."""
    n = min(len(a), len(b))
    if n < 16:
        return float("nan")
    a = a[np.linspace(0, len(a) - 1, n).astype(int)]
    b = b[np.linspace(0, len(b) - 1, n).astype(int)]
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((a.shape[1], PROJECTIONS)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    pa = np.sort(a @ directions, axis=0)
    pb = np.sort(b @ directions, axis=0)
    return float(np.mean(np.abs(pa - pb)))


def _standardise(band: np.ndarray, radius: float) -> np.ndarray:
    """The band divided by its local RMS (over a few texture radii): its look, not its amount."""
    rms = np.sqrt(gaussian_blur(band * band, max(1.0, 3.0 * radius)))
    return band / np.maximum(rms, np.float32(1e-6))


# -- the two methods ------------------------------------------------------------------------------
def _welch_kernel(source: Source, size: int) -> np.ndarray:
    """A zero-phase filter whose power spectrum is the clean texture's (Welch estimate over the
    quieter half of clean windows spread around the zone: texture, not nearby edges)."""
    band, clean = source.band, source.clean
    step = size // 2
    hh, ww = band.shape
    spots = [
        (py, px)
        for py in range(0, hh - size + 1, step)
        for px in range(0, ww - size + 1, step)
        if clean[py : py + size, px : px + size].all()
    ]
    if not spots:
        return _fallback_kernel(size, source.radius)
    chosen = [spots[i] for i in np.linspace(0, len(spots) - 1, min(64, len(spots))).astype(int)]
    hann = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
    stack = np.stack([band[py : py + size, px : px + size] for py, px in chosen])
    stack = (stack - stack.mean(axis=(1, 2), keepdims=True)) * hann
    energy = (stack * stack).mean(axis=(1, 2))
    stack = stack[energy <= np.median(energy)]
    spectra = np.fft.fft2(stack)
    power = (spectra.real**2 + spectra.imag**2).mean(axis=0)
    if source.isotropic:
        power = _radial_average(power)
    kernel = np.fft.fftshift(np.real(np.fft.ifft2(np.sqrt(power))))
    norm = float(np.sqrt((kernel**2).sum()))
    if not norm > 1e-12:
        return _fallback_kernel(size, source.radius)
    return (kernel / norm).astype(np.float32)


def _fallback_kernel(size: int, radius: float) -> np.ndarray:
    """A fine isotropic grain of the texture band, when no clean texture is around to copy."""
    yy, xx = np.mgrid[-size // 2 : size // 2, -size // 2 : size // 2]
    kernel = np.exp(-(xx**2 + yy**2) / (2 * (0.5 * radius) ** 2))
    return (kernel / np.sqrt((kernel**2).sum())).astype(np.float32)


def _radial_average(power: np.ndarray) -> np.ndarray:
    """Make a power spectrum direction-free by averaging it over rings of equal frequency."""
    size = power.shape[0]
    freq = np.fft.fftfreq(size) * size
    radius = np.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2)
    ring = np.round(radius).astype(int)
    sums = np.bincount(ring.ravel(), power.ravel())
    nums = np.maximum(np.bincount(ring.ravel()), 1)
    return (sums / nums)[ring].astype(np.float32)


def match_histograms(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """*values* with their rank order kept and their distribution replaced by *reference*'s
    (exact quantile mapping; float32, the shape of *values*)."""
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    ref = np.sort(reference.ravel().astype(np.float32))
    quantiles = (np.arange(flat.size, dtype=np.float64) + 0.5) / flat.size
    out = np.empty_like(flat, dtype=np.float32)
    out[order] = np.interp(quantiles, (np.arange(ref.size) + 0.5) / ref.size, ref)
    return out.reshape(values.shape)


def _sub_bands(plane: np.ndarray, radius: float) -> list[np.ndarray]:
    """The restore band's three sub-bands (fine to coarse) of a plane, as analysis.py cuts it."""
    from regrain._restore.analysis import sub_band_edges

    out, previous = [], plane
    for edge in sub_band_edges(radius):
        blurred = gaussian_blur(plane, edge)
        out.append(previous - blurred)
        previous = blurred
    return out


def _match_bands(
    texture: np.ndarray, reference: tuple[np.ndarray, list[np.ndarray]], radius: float
) -> np.ndarray:
    """Heeger-Bergen: match each sub-band's marginal to the reference's, then the sum's; twice.
    *reference* is (samples of the whole band, samples of each sub-band)."""
    whole, parts = reference
    for _ in range(2):
        bands = _sub_bands(texture, radius)
        texture = np.sum([match_histograms(b, r) for b, r in zip(bands, parts, strict=True)], 0)
        texture = match_histograms(texture, whole)
    return texture.astype(np.float32)


def _clean_reference(source: Source) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """The marginals to match: the clean surroundings' standardised band and its sub-bands, as
    samples over the clean pixels that hold texture rather than structure (local energy at most
    STRUCTURE_ENERGY times the clean median: a fold's or a seam's edge is not the material's
    grain, and its values would come back as sparse bright specks). None when fewer than 256."""
    clean = source.clean
    if clean.sum() < 256:
        return None
    local = gaussian_blur(source.band * source.band, max(1.0, 2.0 * source.radius))
    quiet = clean & (local <= STRUCTURE_ENERGY * float(np.median(local[clean])))
    if quiet.sum() < 256:
        quiet = clean
    look = _standardise(source.band, source.radius)
    parts = [band[quiet] for band in _sub_bands(look, source.radius)]
    return look[quiet], parts


def spectral(source: Source, rng: np.random.Generator) -> np.ndarray | None:
    """Random-phase texture with the surroundings' spectrum and per-band marginals (unit RMS)."""
    import cv2

    size = int(2 ** np.ceil(np.log2(max(16.0, 8 * source.radius))))
    kernel = _welch_kernel(source, size)
    h, w = source.zone_shape
    noise = rng.standard_normal((h, w), dtype=np.float32)
    shaped = cv2.filter2D(noise, -1, kernel, borderType=cv2.BORDER_REFLECT)
    reference = _clean_reference(source)
    if reference is not None and shaped.size >= 64:
        shaped = _match_bands(_standardise(shaped, source.radius), reference, source.radius)
        # ranks matched in the standardised domain; the band itself has no tone to drift
    shaped -= gaussian_blur(shaped, source.radius)
    return _unit(shaped)


def exemplar(source: Source, rng: np.random.Generator) -> np.ndarray | None:
    """Image quilting of real clean blocks into the zone, constrained by its known surroundings;
    None when the surroundings hold no clean block to copy."""
    import cv2

    block = int(max(16, round(8 * source.radius)))
    overlap = max(3, block // 4)
    step = block - overlap
    band, clean = source.band, source.clean
    hh, ww = band.shape
    if hh < block or ww < block:
        return None
    # candidate blocks: top-left corners whose whole block is clean
    ok = cv2.erode(clean.astype(np.uint8), np.ones((block, block), np.uint8), anchor=(0, 0))
    valid = ok[: hh - block + 1, : ww - block + 1] > 0
    if not valid.any():
        return None
    ys, xs = source.zone
    # synthesise over the zone, grown by the overlap so that its border meets known texture
    y0, x0 = max(0, ys.start - overlap), max(0, xs.start - overlap)
    y1, x1 = min(hh, ys.stop + overlap), min(ww, xs.stop + overlap)
    rows = list(range(y0, max(y0 + 1, y1 - block + 1), step))
    cols = list(range(x0, max(x0 + 1, x1 - block + 1), step))
    if rows[-1] + block < y1:
        rows.append(max(0, y1 - block))
    if cols[-1] + block < x1:
        cols.append(max(0, x1 - block))
    if len(rows) * len(cols) > MAX_EXEMPLAR_BLOCKS:
        return None
    canvas = np.where(clean, band, 0).astype(np.float32)
    known = clean.copy()
    target = np.zeros_like(clean)
    target[ys, xs] = True
    target &= ~clean  # never overwrite real clean texture
    for top in rows:
        for left in cols:
            win = (slice(top, min(hh, top + block)), slice(left, min(ww, left + block)))
            if not target[win].any():
                continue
            patch = _best_block(band, valid, canvas[win], known[win], rng)
            _paste(canvas, known, target, win, patch, overlap)
    out = canvas[ys, xs].copy()
    return _unit(out - gaussian_blur(out, source.radius))


def _best_block(
    band: np.ndarray,
    valid: np.ndarray,
    window: np.ndarray,
    known: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A clean block of *band* that matches *window* where it is *known* (masked SSD), chosen at
    random among those within 10% of the best (variety, after Efros and Freeman)."""
    import cv2

    bh, bw = window.shape
    if known.any():
        mask = known.astype(np.float32)
        ssd = cv2.matchTemplate(band, window, cv2.TM_SQDIFF, mask=mask)
    else:
        ssd = np.zeros((band.shape[0] - bh + 1, band.shape[1] - bw + 1), np.float32)
    ssd = ssd[: valid.shape[0], : valid.shape[1]]
    vh, vw = ssd.shape
    ok = valid[:vh, :vw]
    if not ok.any():
        ok = np.ones_like(ssd, bool)
    scores = np.where(ok, ssd, np.inf)
    best = max(float(scores.min()), 0.0)  # a sum of squares, up to OpenCV's rounding
    near = np.flatnonzero(scores.ravel() <= best * 1.1 + 1e-9)
    py, px = np.unravel_index(int(rng.choice(near)), scores.shape)
    return band[py : py + bh, px : px + bw]


def _paste(
    canvas: np.ndarray,
    known: np.ndarray,
    target: np.ndarray,
    win: tuple[slice, slice],
    patch: np.ndarray,
    overlap: int,
) -> None:
    """Write *patch* into the target pixels of *win*: where the block overlaps texture already
    there, along the minimum-error cut (vertical in the left overlap, horizontal in the top)."""
    take = np.ones(patch.shape, bool)
    old, had = canvas[win], known[win]
    error = (old - patch) ** 2
    if had[:, :overlap].any():
        take[:, :overlap] &= _cut_mask(np.where(had[:, :overlap], error[:, :overlap], 0.0))
    if had[:overlap, :].any():
        take[:overlap, :] &= _cut_mask(np.where(had[:overlap, :], error[:overlap, :], 0.0).T).T
    take |= ~had
    write = take & target[win]
    old[write] = patch[write]
    had[write] = True


def _cut_mask(error: np.ndarray) -> np.ndarray:
    """Minimum-error vertical path through an (h, o) overlap strip (dynamic programming); True
    right of the path (the new block's side)."""
    h, o = error.shape
    cost = error.astype(np.float64).copy()
    for y in range(1, h):
        prev = cost[y - 1]
        left = np.concatenate(([np.inf], prev[:-1]))
        right = np.concatenate((prev[1:], [np.inf]))
        cost[y] += np.minimum(prev, np.minimum(left, right))
    path = np.empty(h, int)
    path[-1] = int(np.argmin(cost[-1]))
    for y in range(h - 2, -1, -1):
        x = path[y + 1]
        lo, hi = max(0, x - 1), min(o, x + 2)
        path[y] = lo + int(np.argmin(cost[y, lo:hi]))
    return np.arange(o)[None, :] >= path[:, None]


def _unit(texture: np.ndarray) -> np.ndarray | None:
    texture = texture - np.float32(texture.mean())
    spread = float(texture.std())
    if not spread > 1e-12:
        return None
    return (texture / np.float32(spread)).astype(np.float32)


SYNTHESIS_METHODS: dict[str, Callable[[Source, np.random.Generator], np.ndarray | None]] = {
    "spectral": spectral,
    "exemplar": exemplar,
}
"""Method name -> function(source, rng) -> unit texture of the zone's shape, or None."""


def _clean_windows(source: Source, size: int, count: int) -> list[tuple[int, int]]:
    clean = source.clean
    hh, ww = clean.shape
    step = max(1, size // 2)
    spots = [
        (py, px)
        for py in range(0, hh - size + 1, step)
        for px in range(0, ww - size + 1, step)
        if clean[py : py + size, px : px + size].all()
    ]
    if len(spots) < count:
        return spots
    return [spots[i] for i in np.linspace(0, len(spots) - 1, count).astype(int)]


def choose_method(source: Source, *, seed: int = 0) -> tuple[str, float]:
    """``("exemplar" | "spectral", ratio)``: the random-phase copy's patch distance to the clean
    texture over the floor between two clean patches (see the module docstring)."""
    size = int(max(32, round(12 * source.radius)))
    spots = _clean_windows(source, size, 3)
    if len(spots) < 2:
        return "spectral", float("nan")
    look = _standardise(source.band, source.radius)
    pieces = [look[py : py + size, px : px + size] for py, px in spots]
    a, b = pieces[0], pieces[-1]
    rng = np.random.default_rng(seed)
    spectrum = np.abs(np.fft.fft2(a - a.mean()))
    phase = np.exp(2j * np.pi * rng.random(a.shape))
    copy = np.real(np.fft.ifft2(spectrum * phase)).astype(np.float32)
    copy = match_histograms(copy, a)
    floor = sliced_wasserstein(_patches(a, None, 2), _patches(b, None, 2), seed=seed)
    far = sliced_wasserstein(_patches(copy, None, 2), _patches(b, None, 2), seed=seed)
    if not (floor > 0 and np.isfinite(far)):
        return "spectral", float("nan")
    ratio = far / floor
    return ("exemplar" if ratio > STRUCTURE_RATIO else "spectral"), ratio


def synthesize(
    source: Source, rng: np.random.Generator, method: str = "auto"
) -> tuple[np.ndarray | None, str]:
    """A unit texture for *source*'s zone and the method that made it (``"auto"`` measures, see
    :func:`choose_method`; exemplar falls back to spectral when there is nothing to copy)."""
    from regrain._checks import check_choice

    if method == "auto":
        method, _ = choose_method(source, seed=int(rng.integers(2**31)))
    else:
        check_choice(method, SYNTHESIS_METHODS, "synthesis method")
    texture = SYNTHESIS_METHODS[method](source, rng)
    if texture is None and method != "spectral":
        method, texture = "spectral", spectral(source, rng)
    return texture, method


# -- the zones of one crop ------------------------------------------------------------------------
HALO_RADII = 1.5
"""A defect's or an object's faint halo taints the restore band this many texture radii around it
(the band's own blur): the clean texture's look is learnt from beyond it."""

NEAR_RADII = 2.0
"""The amount is read on a thin ring this many texture radii wide right around the zone, in the
finest detail (whose blur is a third of the band's, so the defect's halo barely reaches it): what
is nearest is the best evidence of what the removed thing covered -- a speck on a smooth backdrop
gets the backdrop's level, an object on wood the wood's. Its mean, carried into the zone cell by
cell (see :func:`_amount`), not the median of its stretches: a sparse texture's energy is in rare
strong cells, and the median read low (on the tuning photos' zones of 300+ cells, against the
truth under the zone: median bias -0.23 in log2, mean |log2| error 0.92; the carried mean -0.05
and 0.64)."""

RING_STRETCH = 3
"""The near ring's stretches (tiles) are this many ring widths long: a stretch whose mean is an
outlier (Tukey's upper fence) is left out of the ring."""

TONE_PRIOR = 0.25
"""The ring's cells of the fill's tone decide its amount once they weigh this share of the ring
around; fewer are shrunk toward the whole ring's level (a pseudo-count)."""

TONE_PLANE_CELLS = 16_000_000
"""At most this many cells in all of the tone planes of one zone (memory: about 64 MB each of
the five working arrays)."""

TILE_RADII = 4.0
"""The ratio of the whole band's energy to the finest detail's (the texture's spectral shape) is
measured in tiles this many texture radii wide around the zone, and its median taken."""


@dataclass(frozen=True)
class ZoneTexture:
    """Rebuilt texture for one zone of a crop, full resolution.

    ``zone`` is the zone's (slice, slice) in the crop; ``weight`` (h, w) its soft weight in [0, 1]
    (1 inside, falling to 0 across one cell beyond it); ``texture`` (h, w) luma texture at the
    amount that is missing (RMS per pixel), None when nothing is; ``method`` and ``structure``
    say how it was made. ``damp`` (on the grid cells ``cells``), when not None, is the share of
    the edited band to take away there: the fill left more than the surroundings hold
    (:func:`_excess`).
    """

    zone: tuple[slice, slice]
    weight: np.ndarray
    texture: np.ndarray | None
    method: str
    structure: float
    cells: tuple[slice, slice] | None = None
    damp: np.ndarray | None = None


def rebuild_textures(
    original: np.ndarray,
    analysis,
    regions,
    *,
    seed: int = 0,
    method: str = "auto",
) -> list[ZoneTexture]:
    """New texture for every rebuilt zone (connected rebuilt cells) of one crop."""
    import cv2

    from regrain._grid import upsample_box, upsample_nearest
    from regrain._luma import luma
    from regrain._restore.analysis import NOISE_FLOOR

    a, f = analysis, analysis.factor
    rebuild = regions.rebuild
    if not rebuild.any():
        return []
    r = a.material.radius
    halo_cells = max(1, int(np.ceil(HALO_RADII * r / f)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * halo_cells + 1,) * 2)
    halo = cv2.dilate(rebuild.astype(np.uint8), kernel) > 0
    block = max(3, round(TILE_RADII * r / f))
    fine_cells = a.fine_sums[0]
    near_gap = max(1, int(np.ceil(2 * r / 3 / f)))
    near_width = max(2, int(np.ceil(NEAR_RADII * r / f)))

    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        rebuild.astype(np.uint8), connectivity=8
    )
    h, w = a.shape
    gh, gw = a.grid
    pad = max(2, int(np.ceil(2 * r)), 2 * f)
    out = []
    for label in range(1, count):
        x, y, bw, bh, _ = (int(v) for v in stats[label])
        py0, px0 = max(0, y * f - pad), max(0, x * f - pad)
        py1, px1 = min(h, (y + bh) * f + pad), min(w, (x + bw) * f + pad)
        zone = (slice(py0, py1), slice(px0, px1))
        m = -(-pad // f) + 3  # cells around the zone: its pad and the softening
        cy0, cx0 = max(0, y - m), max(0, x - m)
        cy1, cx1 = min(gh, y + bh + m), min(gw, x + bw + m)
        cells = (slice(cy0, cy1), slice(cx0, cx1))
        own = labels[cells] == label
        soft = soft_cells(own)
        weight = zone_weight(soft, f, zone, (cy0, cx0))

        ring = max(4, round(12 * r / f), max(bw, bh) // 2)
        ry0, rx0 = max(0, cy0 - ring), max(0, cx0 - ring)
        ry1, rx1 = min(gh, cy1 + ring), min(gw, cx1 + ring)
        clean_cells = ~halo[ry0:ry1, rx0:rx1]
        piece = labels[ry0:ry1, rx0:rx1]
        others = cv2.dilate(((piece > 0) & (piece != label)).astype(np.uint8), kernel) > 0
        target2, ratio = _amount(
            piece == label,
            ~others,
            clean_cells,
            fine_cells[ry0:ry1, rx0:rx1],
            a.eo2_cells[ry0:ry1, rx0:rx1],
            gap=near_gap,
            width=near_width,
            block=block,
            tones=(a.tone_o[ry0:ry1, rx0:rx1], a.tone_e[ry0:ry1, rx0:rx1]),
        )
        if target2 is None:
            continue  # nothing around to imitate: left as the AI made it
        target2 = target2[cy0 - ry0 : cy1 - ry0, cx0 - rx0 : cx1 - rx0]
        # what the AI left, measured on the zone's own cells only (the untouched texture around
        # a small zone would otherwise count as left), as the target is: its finest detail
        # times the band-to-finest ratio. A fill's smears sit in the band's coarse half and
        # are not texture: read from the whole band, they cancelled most of the amount needed
        inside = own.astype(np.float32)
        win = max(1.0, 2.0 * r / f)
        left2 = (
            ratio
            * gaussian_blur(a.fine_sums[2][cy0:cy1, cx0:cx1] * inside, win)
            / np.maximum(gaussian_blur(inside, win), 1e-6)
        )
        need = np.sqrt(np.maximum(target2 - left2, 0.0)).astype(np.float32)
        damp = _excess(target2, left2, soft)
        texture, used, structure = None, "none", float("nan")
        if need.max() > NOISE_FLOOR / 4:  # else the AI left all the texture there was, or more
            # the clean texture around, at full resolution: the original's restore band
            box = (slice(ry0 * f, min(h, ry1 * f)), slice(rx0 * f, min(w, rx1 * f)))
            y_box = luma(original[box])
            band = (y_box - gaussian_blur(y_box, r)).astype(np.float32)
            source = Source(
                band=band,
                clean=upsample_nearest(clean_cells, band.shape),
                zone=(
                    slice(py0 - box[0].start, py1 - box[0].start),
                    slice(px0 - box[1].start, px1 - box[1].start),
                ),
                radius=r,
                isotropic=a.material.isotropic,
            )
            chosen = method
            if method == "auto":
                chosen, structure = choose_method(source, seed=seed)
            texture, used = synthesize(source, np.random.default_rng([seed, label]), chosen)
            if texture is not None:
                texture = texture * upsample_box(need, f, zone, origin=(cy0, cx0))
        if texture is None and damp is None:
            continue
        out.append(ZoneTexture(zone, weight, texture, used, structure, cells, damp))
    return out


def _excess(target2: np.ndarray, left2: np.ndarray, soft: np.ndarray) -> np.ndarray | None:
    """The share of the edited band to take away on a zone's grid piece, where the fill left
    more detail than the clean surroundings hold: a fill's streaks drawn from the removed thing's
    rim, a smear's steps on a texture-free backdrop. The surroundings' amount is the evidence of
    what the zone held (NEAR_RADII) in both directions: where texture is missing it is added, where
    the edited band holds more it is scaled down to it, by ``sqrt(target / left)`` (its energy
    then is the target's). Times the zone's soft weight on the rebuilt side (``sqrt`` of its
    :func:`soft_cells` *soft*, as the rebuilt texture's); None where the excess is nowhere above a
    quarter of the noise floor (the bar of the texture added)."""
    from regrain._restore.analysis import NOISE_FLOOR

    excess = np.sqrt(np.maximum(left2, 0.0)) - np.sqrt(np.maximum(target2, 0.0))
    if not float(excess.max()) > NOISE_FLOOR / 4:
        return None
    share = np.sqrt(np.clip(target2 / np.maximum(left2, 1e-30), 0.0, 1.0))
    damp = np.where(excess > NOISE_FLOOR / 4, 1.0 - share, 0.0)
    return (damp * np.sqrt(soft)).astype(np.float32)


def soft_cells(own: np.ndarray) -> np.ndarray:
    """A rebuilt zone's soft weight on the grid: 1 on its cells, falling to 0 over about one cell
    outside them (never below 1 inside: the original's texture there is the defect)."""
    cells = own.astype(np.float32)
    return np.maximum(cells, np.clip(2.0 * gaussian_blur(cells, 1.0), 0.0, 1.0))


def zone_weight(
    soft: np.ndarray, factor: int, zone: tuple[slice, slice], origin: tuple[int, int]
) -> np.ndarray:
    """A zone's :func:`soft_cells` *soft* (a grid piece whose first cell is *origin*) at full
    resolution over the pixel *zone*."""
    from regrain._grid import upsample_box

    return np.clip(upsample_box(soft, factor, zone, origin=origin), 0.0, 1.0)


def _without_outlying_stretches(fine: np.ndarray, near: np.ndarray, size: int) -> np.ndarray:
    """*near* without the stretches (size x size tiles of the ring) whose mean detail energy is
    above Tukey's upper fence (Q3 + 1.5 IQR of the stretches' log energies): a part of the
    removed object left outside the zone, a seam or a fold crossing the ring. Every stretch is
    kept when there are fewer than four."""
    from regrain._grid import tile_mean

    pieces = tile_mean(fine, size, near)
    ok = np.isfinite(pieces) & (pieces > 0)
    if ok.sum() < 4:
        return near
    logs = np.log(pieces[ok])
    q1, q3 = np.percentile(logs, [25, 75])
    outlying = np.zeros(pieces.shape, bool)
    outlying[ok] = logs > q3 + 1.5 * (q3 - q1)
    if not outlying.any():
        return near
    cells = np.kron(outlying, np.ones((size, size), bool))[: near.shape[0], : near.shape[1]]
    return near & ~cells


WIDE_BLUR = 32.0
"""From this blur radius (cells) up, the zone's normalised convolutions run on a grid coarser by
a quarter of the radius (a zone over a whole frame has a reach of hundreds of cells, and the
plain blur took minutes); below it, the plain blur."""


def _wide_blur(plane: np.ndarray, radius: float) -> np.ndarray:
    """gaussian_blur at *radius*; from WIDE_BLUR up on a grid coarser by radius / 4 (area
    average down, the blur at radius / k, bilinear up): a blur that wide has nothing finer than
    a quarter of its radius to lose (within 1.5% of the plain blur's peak, tested)."""
    import cv2

    if radius < WIDE_BLUR:
        return gaussian_blur(plane, radius)
    if plane.ndim == 3:  # OpenCV resizes at most four channels at once
        return np.stack([_wide_blur(plane[..., c], radius) for c in range(plane.shape[2])], -1)
    k = int(radius // 4)
    h, w = plane.shape
    size = (max(1, -(-w // k)), max(1, -(-h // k)))
    small = cv2.resize(np.ascontiguousarray(plane), size, interpolation=cv2.INTER_AREA)
    blurred = gaussian_blur(small, radius / k)
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def _tone_guided(
    level: np.ndarray,
    fine: np.ndarray,
    near: np.ndarray,
    tones: tuple[np.ndarray, np.ndarray],
    reach: float,
    spread: np.ndarray,
) -> np.ndarray:
    """*level* where the ring's cells count by how near their tone is to the tone the AI gave
    each zone cell (a cross-bilateral normalised convolution, piecewise linear in tone): the
    fill's tones say which of the materials around continues under it. *tones* is (the
    original's, the edited's) per cell; the tone scale is half the ring's interquartile range;
    *spread* the ring's plain weight around each cell, for the shrinkage (TONE_PRIOR)."""
    from regrain._restore.analysis import NOISE_FLOOR

    tone_o, tone_e = tones
    ring = tone_o[near]
    q1, q3 = np.percentile(ring, [25, 75])
    scale = max(0.5 * float(q3 - q1), NOISE_FLOOR)
    lo, hi = float(ring.min()), float(ring.max())
    steps = int(min(16, np.ceil((hi - lo) / scale) + 1))
    # each tone is a plane of the ring's box: a zone over a whole 24 MP frame at factor 3 is
    # 2.7 M cells, and 16 planes of it five times over would be 0.9 GB; coarser tones there
    steps = min(steps, max(2, TONE_PLANE_CELLS // max(1, level.size)))
    if steps < 2:
        return level
    nodes = np.linspace(lo, hi, steps, dtype=np.float32)
    # every tone's weights as the channels of one image: two blurs in all
    w = near[..., None] * np.exp(-0.5 * ((tone_o[..., None] - nodes) / np.float32(scale)) ** 2)
    w = np.ascontiguousarray(w, dtype=np.float32)
    den = _wide_blur(w, reach)
    num = _wide_blur(np.ascontiguousarray(w * fine[..., None]), reach)
    # a tone few ring cells have is weak evidence (on a roof against the sky, the roof's edge
    # cells alone matched the fill's dark smear and gave it 0.37 of full scale): each tone's
    # estimate is shrunk toward the plain one by TONE_PRIOR of the ring's own weight there
    prior = np.float32(TONE_PRIOR) * spread[..., None]
    carried = (num + prior * level[..., None]) / np.maximum(den + prior, np.float32(1e-30))
    position = np.clip((tone_e - lo) / (hi - lo) * (steps - 1), 0, steps - 1)
    below = np.minimum(position.astype(int), steps - 2)
    frac = (position - below).astype(np.float32)
    lower = np.take_along_axis(carried, below[..., None], axis=-1)[..., 0]
    upper = np.take_along_axis(carried, below[..., None] + 1, axis=-1)[..., 0]
    return (lower * (1 - frac) + upper * frac).astype(np.float32)


def _amount(
    own: np.ndarray,
    outside: np.ndarray,
    clean: np.ndarray,
    fine: np.ndarray,
    energy: np.ndarray,
    *,
    gap: int,
    width: int,
    block: int,
    tones: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float] | tuple[None, None]:
    """The restore-band energy the clean texture right around a zone carries, per cell of the
    piece (see NEAR_RADII, TILE_RADII): the finest detail's energy on the near ring carried into
    the zone by normalised convolution, times the band-to-finest ratio of the tiles around;
    returned with that ratio. (None, None) when there is no ring to read."""
    import cv2

    from regrain._grid import tile_mean
    from regrain._restore.analysis import NOISE_FLOOR

    distance = cv2.distanceTransform((~own).astype(np.uint8), cv2.DIST_L2, 3)
    near = (distance > gap) & (distance <= gap + width) & outside
    near = _without_outlying_stretches(fine, near, RING_STRETCH * width)
    if near.sum() < 4:
        return None, None
    # each cell takes the ring energy nearest it, over a reach of the zone's own depth: a
    # speck gets its ring's mean (a sparse texture's energy is in rare strong cells: pores,
    # sparkle, which a median would drop), a zone that two materials meet across gets each
    # side's own level near that side (the median of the whole ring gave a backdrop the
    # texture's grain, or a textured side none)
    depth = float(cv2.distanceTransform(own.astype(np.uint8), cv2.DIST_L2, 3).max())
    reach = max(float(width), depth)
    weight = near.astype(np.float32)
    spread = _wide_blur(weight, reach)
    reached = spread > 1e-4 * float(spread.max())
    level = np.full(own.shape, float(fine[near].mean()), np.float32)
    level[reached] = _wide_blur(fine * weight, reach)[reached] / spread[reached]
    if tones is not None:
        level = _tone_guided(level, fine, near, tones, reach, spread)
    tiles_band = tile_mean(energy, block, clean)
    tiles_fine = tile_mean(fine, block, clean)
    ok = np.isfinite(tiles_band) & np.isfinite(tiles_fine) & (tiles_fine > 0)
    if ok.sum() < 1:
        return None, None
    # the median over the tiles that hold texture: a smooth tile's ratio is a blur of its
    # tones over no detail at all (a backdrop beside a texture gave 33 where the texture's own
    # is 2.4). Not weighted by the detail's energy: that picks the tiles with edges, whose
    # ratio is the structure's (a notebook's writing: 14 where the paper's is 4)
    textured = ok & (tiles_fine > NOISE_FLOOR**2)
    if textured.any():
        ok = textured
    ratio = float(np.clip(np.median(tiles_band[ok] / tiles_fine[ok]), 1.0, 50.0))
    return level * np.float32(ratio), ratio
