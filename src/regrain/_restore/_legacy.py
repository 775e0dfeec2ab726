"""Automatic texture recovery from an (original, AI-edited) pair.

The AI's result keeps its tones (the low band); regrain only decides what goes into the high band,
region by region, from the pair itself:

* **untouched** -- pixels the AI did not change are copied bit for bit;
* **restored** -- tones changed, geometry the same (skin smoothing, glare or reflection removal):
  the original's own high band goes back, amplified where veiling glare had washed it out (gain
  ``(1 - low_edited) / (1 - low_original)``, the inverse of the glare's contrast loss);
* **rebuilt** -- the original's high band there is not texture but the thing the AI removed (a
  blemish, a scratch, dust, a highlight, an object): it is what no local affine map of the edited
  image's detail explains -- over a whole changed region, stronger than the untouched
  surroundings' texture (a removal), or at a pixel, a robust outlier of the texture around it (a
  defect inside a smoothed area). There regrain synthesises new texture: Gaussian noise shaped by
  the power spectrum of the clean texture around the region (random-phase / spot-noise synthesis
  after Galerne, Gousseau and Morel, 2011), as strong as the nearest clean texture and never much
  stronger than the original's own quiet level there, on top of what the AI left;
* **smooth** -- where the original had no texture (bokeh, backdrops, clipped highlights) there is
  nothing to restore or to imitate, so nothing is added.

Restored and rebuilt texture are cross-faded with energy-preserving weights (sqrt(w), sqrt(1 - w)),
so the texture's strength does not dip along the seams. Everything runs on the bounding box of the
changed pixels; the local statistics are computed on a coarser analysis grid (they are smooth), the
texture itself at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regrain._checks import as_mask, check_choice, check_image, check_range, check_same_size
from regrain._detect import luma
from regrain._filters import gaussian_blur
from regrain._grid import (
    analysis_factor,
    cell_share,
    downsample,
    fill_from_nearest,
    tile_quantile,
    to_grid,
    touched_pixels,
    upsample,
    upsample_box,
    upsample_nearest,
)
from regrain.errors import ParameterError

__all__ = ["CLASS_NAMES", "MATERIALS", "MAX_GLARE_GAIN", "Material", "RestoreResult", "restore"]


@dataclass(frozen=True)
class Material:
    """How a material's texture is measured and imitated."""

    radius: float
    """Texture band: image minus its Gaussian blur at this radius (px)."""
    isotropic: bool
    """Synthesise direction-free texture (pores) rather than the surroundings' own (metal)."""


from regrain._materials import MATERIALS  # noqa: E402  one table for restore and grain

REBUILD_SIGMAS = 6.0
"""Inside a region that was only smoothed, a mid-scale residue this many times the local texture's
robust spread is a defect the AI removed (a blemish), not lost texture; half of it grows the
defect to its full extent (hysteresis, as in Canny's edge detector)."""

NOISE_FLOOR = 0.5 / 255
"""RMS below which the original is taken to have no texture (half an 8-bit level)."""

MAX_SMOOTHING = 4.0
"""The edit may have softened detail up to this factor and still be 'the same detail'."""

FINE_SIGMAS = 12.0
"""The same for the fine band alone (specks, one-pixel scratches): texture is strongest there, so
the bar is higher."""

TEXTURE_QUANTILE = 0.5
"""Texture energy around a rebuilt zone is read as this quantile of the clean cells' energies:
edges of nearby structure and a defect's halo are upper outliers, texture is what is common."""

EDIT_SHARE = 0.3
"""A touched pixel counts as edited when its texture changed by more than this share of the
original's (RMS) or its tone by more than one 8-bit level; re-encoding noise does neither."""

REMOVAL_RATIO = 0.2
"""A changed region whose unexplained mid-scale structure exceeds this share of the surrounding
texture's RMS had something removed (an object, defects), not just its texture smoothed."""

DEFECT_MID = 0.8
"""The mid band that tells a removed defect from softened structure starts at this many radii."""

SYNTHESIS = "spectrum"
"""How rebuilt texture is made: "patch" tiles real texture from a clean patch nearby (after Efros
and Freeman); "spectrum" shapes noise by the surroundings' power spectrum (after Galerne et al.)."""

SYNTH_BAND = 0.67
"""Rebuilt texture is synthesised finer than the restore band (this share of its radius): noise
can imitate grain, not the soft structure (folds, relief) that the coarse end of the band holds."""

MAX_GLARE_GAIN = 4.0
"""Texture washed out by glare is amplified at most this much."""

CLASS_NAMES = ("untouched", "restored", "rebuilt", "smooth")


@dataclass
class RestoreResult:
    """The restored image and the maps that explain it.

    ``image`` is float32 (H, W, C) in [0, 1]. ``maps`` holds float32 maps on the analysis grid
    (``factor`` px per cell, see :meth:`map` for full resolution): ``changed`` (share of each cell
    the AI touched), ``loss`` (share of high-band RMS the AI removed), ``rebuild`` (1 where texture
    was synthesised rather than restored), ``gain`` (glare compensation applied to the original's
    texture) and ``classes`` (0 untouched, 1 restored, 2 rebuilt, 3 smooth; see ``CLASS_NAMES``).
    """

    image: np.ndarray
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    factor: int = 1
    figures: dict[str, float] = field(default_factory=dict)
    """``plastic_before``/``plastic_after``: share of the image area that had lost at least half
    of its texture (RMS, in the restore band) before and after; ``energy_ratio_before``/``_after``:
    edited (restored) over original texture RMS in the changed area (1.0 = all there)."""

    def map(self, name: str) -> np.ndarray:
        """Map *name* at the image's full resolution, float32 (H, W)."""
        plane = self.maps[check_choice(name, self.maps, "map")]
        if name == "classes":
            import cv2

            h, w = self.image.shape[:2]
            return cv2.resize(plane, (w, h), interpolation=cv2.INTER_NEAREST)
        return upsample(plane, self.image.shape)


def restore(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    material: str = "auto",
    seed: int = 0,
    strength: float = 1.0,
) -> RestoreResult:
    """Give *edited* back the texture the AI took from *original*, keeping the AI's tones.

    *original* and *edited* are float32 (H, W, C) in [0, 1] of one size, in the file's encoding.
    Pixels the AI left alone come back bit for bit. *mask* (white = work here) limits the work;
    *material* chooses the texture band and whether rebuilt texture keeps a direction (``metal``,
    ``fabric``, ``auto``) or none (``skin``); *seed* makes rebuilt texture repeatable; *strength*
    scales the texture put back (1 = the original's).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> photo = (0.5 + 0.04 * rng.standard_normal((96, 96, 1))).astype(np.float32)
    >>> plastic = photo.copy()
    >>> plastic[32:64, 32:64] = 0.5
    >>> out = restore(photo, plastic).image
    >>> bool(np.array_equal(out[:16], plastic[:16]))  # untouched rows, bit for bit
    True
    >>> round(float(out[36:60, 36:60].std() / photo[36:60, 36:60].std()), 1)
    1.0
    """
    check_image(original, "original")
    check_image(edited, "edited")
    check_same_size(original, edited, ("original", "edited"))
    if original.shape != edited.shape:
        raise ParameterError(
            f"original and edited must have the same channels; got {original.shape[2]} and "
            f"{edited.shape[2]}."
        )
    spec = MATERIALS[check_choice(material, MATERIALS, "material")]
    strength = check_range(strength, "strength", low=0.0, high=4.0)
    weight = as_mask(mask, edited)

    touched = touched_pixels(original, edited)
    if weight is not None:
        touched &= weight[..., 0] > 0
    factor = analysis_factor(edited.shape)
    grid_shape = downsample(np.zeros(edited.shape[:2], np.float32), factor).shape
    rows = np.flatnonzero(touched.any(axis=1))
    if rows.size == 0:
        empty = np.zeros(grid_shape, np.float32)
        maps = {k: empty for k in ("changed", "loss", "rebuild", "classes")}
        unchanged = dict.fromkeys(("plastic_before", "plastic_after"), 0.0)
        unchanged.update(energy_ratio_before=1.0, energy_ratio_after=1.0)
        return RestoreResult(edited.copy(), {**maps, "gain": empty + 1}, factor, unchanged)
    cols = np.flatnonzero(touched.any(axis=0))

    # work on the changed pixels' bounding box plus enough context to learn the texture around
    # them; the box is aligned to the analysis grid so its cells are the whole image's cells
    margin = int(max(48, 16 * spec.radius))
    h, w = touched.shape
    y0 = max(0, rows[0] - margin) // factor * factor
    x0 = max(0, cols[0] - margin) // factor * factor
    y1, x1 = min(h, rows[-1] + 1 + margin), min(w, cols[-1] + 1 + margin)
    box = (slice(y0, y1), slice(x0, x1))
    out = np.empty_like(edited)  # outside the box: the edited image; inside: compose fills it
    for outside in ((slice(0, y0), slice(None)), (slice(y1, h), slice(None))):
        out[outside] = edited[outside]
    for outside in ((slice(y0, y1), slice(0, x0)), (slice(y0, y1), slice(x1, w))):
        out[outside] = edited[outside]
    plan = _Plan(original[box], edited[box], touched[box], spec, seed, factor)
    plan.compose(out[box], strength)
    figures = plan.figures(out[box], total_cells=int(np.prod(grid_shape)))

    full_maps = {}
    for name, plane in plan.maps().items():
        canvas = np.full(grid_shape, 1.0 if name == "gain" else 0.0, np.float32)
        cy, cx = y0 // factor, x0 // factor
        ph = min(plane.shape[0], grid_shape[0] - cy)
        pw = min(plane.shape[1], grid_shape[1] - cx)
        canvas[cy : cy + ph, cx : cx + pw] = plane[:ph, :pw]
        full_maps[name] = canvas
    return RestoreResult(out, full_maps, factor, figures)


class _Plan:
    """Per-pair analysis on one crop: which cells are restored, rebuilt or left smooth."""

    def __init__(
        self,
        original: np.ndarray,
        edited: np.ndarray,
        touched: np.ndarray,
        spec: Material,
        seed: int,
        factor: int,
    ) -> None:
        self.original, self.edited, self.touched = original, edited, touched
        import cv2

        self.spec, self.seed = spec, seed
        self.factor = f = factor
        r = spec.radius
        # full-resolution planes: five buffers, reused (fresh memory is slow to fault in here)
        yo, ye = luma(original), luma(edited)
        low = gaussian_blur(yo, r)
        self.ho = ho = cv2.subtract(yo, low)  # the original's luma high band
        self.lo_cells = downsample(low, f)
        gaussian_blur(ye, r, out=low)
        self.le_cells = downsample(low, f)
        he = cv2.subtract(ye, low, dst=low)  # the edited image's high band
        spare = cv2.subtract(ho, he)  # what the high band lost
        floor2 = np.float32(NOISE_FLOOR**2)
        window = max(1.0, 2.0 * r / f)

        def energy(band: np.ndarray, win: float) -> np.ndarray:
            """Local mean square of a band on the analysis grid (band is overwritten)."""
            cv2.multiply(band, band, dst=band)
            return gaussian_blur(downsample(band, f), win)

        lost2 = energy(spare, window)
        self.ee2 = energy(he, window)
        np.copyto(low, ho)
        self.eo2 = energy(low, window)
        self._spare = (low, spare)  # reused below and by the figures, after compose

        # touched is not yet edited: a tool that re-encodes the whole frame changes every pixel
        # a little. A cell counts as edited when its texture changed by more than EDIT_SHARE of
        # the original's (and more than the noise floor) or its tone by more than an 8-bit level;
        # elsewhere the edited image is kept exactly as it is.
        share = cell_share(touched, f, self.lo_cells.shape)
        material = lost2 > np.maximum(EDIT_SHARE**2 * self.eo2, floor2)
        material |= np.abs(self.lo_cells - self.le_cells) > 1.0 / 255
        if material.any():
            grow = np.ones((3, 3), np.uint8)  # edits have soft edges: take the rim along
            material = cv2.dilate(material.astype(np.uint8), grow) > 0
        self.changed = np.where(material, share, 0).astype(np.float32)
        changed = self.changed > 0
        self.touched = touched & (upsample_nearest(changed, touched.shape))

        # what the edited image cannot explain: regress the original's detail band on the edited
        # one's, locally (a guided-filter fit: smoothing, retone and glare are all locally
        # affine). Lost fine texture leaves little residue at mid scales, where the AI keeps what
        # it keeps (an eye it softened is still there); a blemish, speck, scratch, highlight or
        # object it removed is missing at every scale and leaves its whole self.
        # detection runs on the analysis grid: at 24 MP a defect still spans several cells
        grid = self.changed.shape
        yo_g, ye_g = to_grid(yo, f, grid), to_grid(ye, f, grid)
        mid, _ = _unexplained(yo_g, ye_g, r / f, DEFECT_MID * r / f)
        fine, _ = _unexplained(yo_g, ye_g, r / f, 0.0)

        # 1. per changed region: a removal when the unexplained mid-scale structure is strong
        #    against the texture of the untouched surroundings; then all of it is rebuilt
        ho2 = downsample(cv2.multiply(ho, ho, dst=spare), f)
        removal = _removal_regions(changed, mid * mid, ho2, r / f)

        # 2. per pixel: defects that stand far out of the texture around them (a blemish or a
        #    speck inside a region that was otherwise only smoothed); the yardstick is the
        #    original's own band, a tile median that a defect under half a tile cannot move
        block = max(4, round(12 * r / f))
        soften = max(0.7, r / (3 * f))
        texture = np.abs(gaussian_blur(yo_g - gaussian_blur(yo_g, r / f), soften))
        level = tile_quantile(texture, block, np.ones(grid, bool))
        level = np.maximum(fill_from_nearest(level, grid) / 0.6745, NOISE_FLOOR)
        z_mid = np.abs(gaussian_blur(mid, soften)) / level
        z_fine = np.abs(gaussian_blur(fine, soften)) / level
        strong = (z_fine > FINE_SIGMAS) | (z_mid > REBUILD_SIGMAS)
        defects = _hysteresis(strong, z_mid > REBUILD_SIGMAS / 2)
        rebuild = (removal | defects) & changed
        if rebuild.any():
            grow = max(1, round(2 * r / f))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
            rebuild = cv2.dilate(rebuild.astype(np.uint8), kernel) > 0
            rebuild = _fill_holes(rebuild) & (gaussian_blur(self.changed, grow) > 0)
        self.rebuild = rebuild
        if rebuild.any():
            # the finer part of the band, where rebuilt texture is made: its energies set the
            # amount (only needed when something is rebuilt)
            fine = SYNTH_BAND * r
            for y, name, win in ((yo, "fine_o2", max(0.5, r / f)), (ye, "fine_e2", window)):
                band = cv2.subtract(y, gaussian_blur(y, fine, out=low), dst=low)
                setattr(self, name, energy(band, win))
        self._expected_energy = None
        # a defect's faint halo still taints the texture right around it: learn from beyond it
        halo = max(1, round(r / f))
        self.halo = (
            cv2.dilate(rebuild.astype(np.uint8), np.ones((2 * halo + 1,) * 2, np.uint8)) > 0
            if rebuild.any()
            else rebuild
        )
        self.smooth = (level < 2 * NOISE_FLOOR) & changed & ~rebuild

        # glare washes texture out by (1 - g) and lifts tones by g: undo it where texture was lost
        gain = np.clip(
            (1.0 - self.le_cells) / np.maximum(1.0 - self.lo_cells, 1e-3), 1.0, MAX_GLARE_GAIN
        )
        self.loss = np.clip(1.0 - np.sqrt(self.ee2 / np.maximum(self.eo2, floor2)), 0.0, 1.0)
        self.loss[~changed] = 0
        self.gain = (1.0 + (gain - 1.0) * self.loss).astype(np.float32)

    # -- texture -----------------------------------------------------------------------------
    def compose(self, out: np.ndarray, strength: float) -> None:
        """Write the result into *out* (the output's view of the crop; its content is ignored).

        Restored: edited low band + gain * original high band. Rebuilt zones cross-fade to
        edited + synthetic texture with energy-preserving weights.
        """
        import cv2

        r = self.spec.radius
        high = gaussian_blur(self.original, r)
        cv2.subtract(self.original, high, dst=high)  # the original's high band, per channel
        coeffs = self._colour_coefficients(high)
        if np.any(self.gain > 1.0):
            high *= upsample(self.gain, high.shape)[..., None]
        if strength != 1.0:
            high *= np.float32(strength)
        result = gaussian_blur(self.edited, r, out=out)  # the AI's tones, in place
        cv2.add(result, high, dst=result)
        if self.rebuild.any():
            self._rebuild_zones(result, high, coeffs, strength)
        np.clip(result, 0.0, 1.0, out=result)
        # untouched pixels (and touched ones that were not edited) stay exactly as they were
        keep = np.logical_not(self.touched).view(np.uint8)
        cv2.copyTo(self.edited, keep, result)

    def _colour_coefficients(self, high: np.ndarray) -> np.ndarray:
        """How much of the luma texture each channel carries (regression over the crop)."""
        if high.shape[2] == 1:
            return np.ones(1, np.float32)
        step = max(2, self.factor)
        ho = self.ho[::step, ::step]
        denom = float((ho * ho).sum()) or 1.0
        sub = high[::step, ::step]
        return np.array(
            [float((sub[..., c] * ho).sum()) / denom for c in range(high.shape[2])], np.float32
        )

    def _rebuild_zones(
        self, result: np.ndarray, high: np.ndarray, coeffs: np.ndarray, strength: float
    ) -> None:
        """Replace restored texture by synthetic texture in each rebuild zone, cross-faded."""
        import cv2

        f = self.factor
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            self.rebuild.astype(np.uint8), connectivity=8
        )
        h, w = result.shape[:2]
        gh, gw = labels.shape
        pad = max(2, int(np.ceil(2 * self.spec.radius)), 2 * f)
        for label in range(1, count):
            x, y, bw, bh, _ = (int(v) for v in stats[label])
            px0, py0 = max(0, x * f - pad), max(0, y * f - pad)
            px1, py1 = min(w, (x + bw) * f + pad), min(h, (y + bh) * f + pad)
            zone = (slice(py0, py1), slice(px0, px1))
            # this zone's weight: its cells, softened by one cell, sampled at full resolution
            m = -(-pad // f) + 3  # cells around the zone: its pad, and the softening
            cx0, cy0 = max(0, x - m), max(0, y - m)
            cx1, cy1 = min(gw, x + bw + m), min(gh, y + bh + m)
            own = (labels[cy0:cy1, cx0:cx1] == label).astype(np.float32)
            own = np.clip(gaussian_blur(own, 1.0), 0, 1)
            rw = upsample_box(own, f, zone, origin=(cy0, cx0))
            synth = self._synthesize(label, labels, (x, y, bw, bh), zone)
            if synth is None:
                synth = np.zeros(rw.shape, np.float32)
            # result = le + g*ho there; rebuilt: le + rw*he + sqrt(1-rw)*g*ho + sqrt(rw)*k*S
            g_ho = high[zone]
            low = result[zone] - g_ho
            he = self.edited[zone] - low
            keep = np.sqrt(np.clip(1.0 - rw, 0.0, 1.0))[..., None]
            add = (np.sqrt(rw) * synth * np.float32(strength))[..., None] * coeffs
            result[zone] = low + rw[..., None] * he + keep * g_ho + add

    def _synthesize(
        self,
        label: int,
        labels: np.ndarray,
        cell_box: tuple[int, int, int, int],
        zone: tuple[slice, slice],
    ) -> np.ndarray | None:
        """Unit texture shaped like the clean surroundings, scaled to what is missing; luma."""
        import cv2

        f = self.factor
        x, y, bw, bh = cell_box
        gh, gw = labels.shape
        ring = max(4, round(12 * self.spec.radius / f), max(bw, bh) // 2)
        cx0, cy0 = max(0, x - ring), max(0, y - ring)
        cx1, cy1 = min(gw, x + bw + ring), min(gh, y + bh + ring)
        clean = ~self.halo[cy0:cy1, cx0:cx1]

        if (clean & (self.eo2[cy0:cy1, cx0:cx1] > NOISE_FLOOR**2)).sum() < 8:
            return None  # nothing around to imitate: a smooth area stays smooth
        target2 = self.expected[cy0:cy1, cx0:cx1]
        # never much more than the original itself carried here: where it was smooth apart from
        # the defect (bokeh, a backdrop), its lower quartile of energy says so, however much of
        # the zone the defect covers; on textured ground that quartile is near the typical
        # level, and twice its RMS caps nothing
        own = self.fine_o2[cy0:cy1, cx0:cx1][labels[cy0:cy1, cx0:cx1] == label]
        target2 = np.minimum(target2, 4.0 * float(np.quantile(own, 0.25)))
        # the AI may have left some texture: add only what is missing
        need = np.sqrt(np.maximum(target2 - self.fine_e2[cy0:cy1, cx0:cx1], 0.0))
        if not need.max() > 0:
            return None  # the AI left all the texture there was
        amplitude = upsample_box(need, f, zone, origin=(cy0, cx0))

        rng = np.random.default_rng([self.seed, label])
        around = self.ho[cy0 * f : cy1 * f, cx0 * f : cx1 * f]
        patch = self._texture_patch(around, clean) if SYNTHESIS == "patch" else None
        if patch is not None:
            # real texture: random crops of a clean patch nearby, overlapped with sine windows
            # that keep its strength across the seams (the tiling of the graft recipe)
            from regrain._graft import tile_grid, tile_texture

            grid = tile_grid(patch.shape, amplitude.shape, rng)
            shaped = tile_texture(patch, grid, amplitude.shape)
        else:
            kernel = self._texture_kernel(around, clean)
            noise = rng.standard_normal(amplitude.shape, dtype=np.float32)
            shaped = cv2.filter2D(noise, -1, kernel, borderType=cv2.BORDER_REFLECT)
        # keep it in the texture band, as the original's texture is measured: no tone drift
        shaped -= gaussian_blur(shaped, SYNTH_BAND * self.spec.radius)
        spread = float(shaped.std())
        if not spread > 1e-12:
            return None
        shaped *= amplitude / spread
        return shaped

    def _texture_patch(self, high: np.ndarray, clean: np.ndarray) -> np.ndarray | None:
        """The clean patch of the original's texture nearby whose strength is most typical (the
        median window of the quieter half: texture, not an edge), or None if none fits."""
        f = self.factor
        size = int(2 ** np.ceil(np.log2(max(24.0, 8 * self.spec.radius))))
        step = size // 4
        hh, ww = high.shape
        spots, energies = [], []
        for py in range(0, hh - size + 1, step):
            for px in range(0, ww - size + 1, step):
                cells = clean[py // f : -(-(py + size) // f), px // f : -(-(px + size) // f)]
                if cells.size and cells.all():
                    window = high[py : py + size, px : px + size]
                    spots.append((py, px))
                    energies.append(float(np.mean(window * window)))
        if not spots:
            return None
        order = np.argsort(energies)
        py, px = spots[int(order[len(order) // 4])]
        patch = np.array(high[py : py + size, px : px + size], dtype=np.float32)
        if self.spec.isotropic:  # pores have no direction: do not copy the patch's own
            patch = np.rot90(patch, k=1 + int(self.seed) % 3).copy()
        return patch

    def _texture_kernel(self, high: np.ndarray, clean: np.ndarray) -> np.ndarray:
        """A zero-phase filter whose power spectrum is the clean texture's (Welch estimate over
        windows spread evenly around the zone)."""
        f = self.factor
        size = int(2 ** np.ceil(np.log2(max(16.0, 8 * self.spec.radius))))
        step = size // 2
        hh, ww = high.shape
        spots = []
        for py in range(0, hh - size + 1, step):
            for px in range(0, ww - size + 1, step):
                cells = clean[py // f : -(-(py + size) // f), px // f : -(-(px + size) // f)]
                if cells.size and cells.all():
                    spots.append((py, px))
        if not spots:
            return self._fallback_kernel(size)
        chosen = [spots[i] for i in np.linspace(0, len(spots) - 1, min(64, len(spots))).astype(int)]
        hann = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
        stack = np.stack([high[py : py + size, px : px + size] for py, px in chosen])
        stack = (stack - stack.mean(axis=(1, 2), keepdims=True)) * hann
        # the quieter half of the windows: texture, not the edges of nearby structure
        energy = (stack * stack).mean(axis=(1, 2))
        stack = stack[energy <= np.median(energy)]
        spectra = np.fft.fft2(stack)
        power = (spectra.real**2 + spectra.imag**2).mean(axis=0)
        if self.spec.isotropic:
            power = _radial_average(power)
        kernel = np.fft.fftshift(np.real(np.fft.ifft2(np.sqrt(power))))
        norm = float(np.sqrt((kernel**2).sum()))
        if (
            not norm > 1e-12
        ):  # a perfectly flat surrounding: any shape will do, it gets no amplitude
            return self._fallback_kernel(size)
        return (kernel / norm).astype(np.float32)

    def _fallback_kernel(self, size: int) -> np.ndarray:
        """A fine isotropic grain of the texture band, when no clean texture is around to copy."""
        yy, xx = np.mgrid[-size // 2 : size // 2, -size // 2 : size // 2]
        kernel = np.exp(-(xx**2 + yy**2) / (2 * (0.5 * self.spec.radius) ** 2))
        return (kernel / np.sqrt((kernel**2).sum())).astype(np.float32)

    @property
    def expected(self) -> np.ndarray:
        """The clean texture energy expected in each cell: tile medians of the original's energy
        over clean cells, tiles without enough clean cells filled from the nearest ones."""
        if self._expected_energy is None:
            block = max(3, round(4 * self.spec.radius / self.factor))
            self._expected_energy = fill_from_nearest(
                tile_quantile(self.fine_o2, block, ~self.halo, TEXTURE_QUANTILE), self.eo2.shape
            )
        return self._expected_energy

    def figures(self, result: np.ndarray, *, total_cells: int) -> dict[str, float]:
        """Texture figures before and after, from the energies already measured (cheap)."""
        import cv2

        r, f = self.spec.radius, self.factor
        yr, hr = self._spare
        luma(result, out=yr)
        cv2.subtract(yr, gaussian_blur(yr, r, out=hr), dst=hr)
        cv2.multiply(hr, hr, dst=hr)
        er2 = gaussian_blur(downsample(hr, f), max(1.0, 2.0 * r / f))
        changed = self.changed > 0
        textured = changed & (self.eo2 > NOISE_FLOOR**2)
        out = {}
        for when, energy in (("before", self.ee2), ("after", er2)):
            ratio = np.sqrt(energy / np.maximum(self.eo2, NOISE_FLOOR**2))
            out[f"plastic_{when}"] = float((textured & (ratio <= 0.5)).sum()) / total_cells
            total = float(self.eo2[changed].sum())
            out[f"energy_ratio_{when}"] = (
                float(np.sqrt(energy[changed].sum() / total)) if total > 0 else 1.0
            )
        return out

    # -- maps ----------------------------------------------------------------------------------
    def maps(self) -> dict[str, np.ndarray]:
        classes = np.zeros(self.changed.shape, np.float32)
        changed = self.changed > 0
        classes[changed] = 1
        classes[self.smooth] = 3
        classes[self.rebuild & changed] = 2
        return {
            "changed": self.changed,
            "loss": self.loss.astype(np.float32),
            "rebuild": self.rebuild.astype(np.float32),
            "gain": self.gain,
            "classes": classes,
        }


def _unexplained(
    yo: np.ndarray, ye: np.ndarray, radius: float, fine: float
) -> tuple[np.ndarray, np.ndarray]:
    """What of the original's detail band (from *fine* px to 4 radii) no local affine map of the
    edited image's band reproduces: bo - (a * be + b), fitted over windows of 2 radii; and bo."""

    def band(y: np.ndarray) -> np.ndarray:
        coarse = gaussian_blur(y, 4 * radius)
        return (gaussian_blur(y, fine) if fine > 0 else y) - coarse

    bo, be = band(yo), band(ye)
    residue = bo.copy()
    win = 2 * radius
    mo, me = gaussian_blur(bo, win), gaussian_blur(be, win)
    cov = gaussian_blur(bo * be, win) - mo * me
    var = gaussian_blur(be * be, win) - me * me
    a = np.clip(cov / (var + NOISE_FLOOR**2), 0.0, MAX_SMOOTHING)
    residue -= a * be + (mo - a * me)
    return residue, bo


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Areas of *weak* that contain some *strong* cell: a defect's whole extent, not its core."""
    import cv2

    count, labels = cv2.connectedComponents((weak | strong).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels]


def _removal_regions(
    changed: np.ndarray, unexplained2: np.ndarray, texture2: np.ndarray, radius: float
) -> np.ndarray:
    """Changed regions whose unexplained mid-scale energy is strong against the texture energy
    of the untouched cells around them: the AI removed something there (see REMOVAL_RATIO)."""
    import cv2

    out = np.zeros(changed.shape, bool)
    merged = cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(merged, connectivity=8)
    reach = max(2, round(16 * radius))
    border = max(1, round(3 * radius))
    h, w = changed.shape
    for label in range(1, count):
        x, y, bw, bh, _ = (int(v) for v in stats[label])
        y0, x0 = max(0, y - reach), max(0, x - reach)
        y1, x1 = min(h, y + bh + reach), min(w, x + bw + reach)
        own = (labels[y0:y1, x0:x1] == label) & changed[y0:y1, x0:x1]
        kernel = np.ones((2 * border + 1,) * 2, np.uint8)
        core = cv2.erode(own.astype(np.uint8), kernel) > 0
        if core.sum() < 4:
            core = own
        ring = cv2.dilate(own.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
        ring &= ~changed[y0:y1, x0:x1]
        if ring.sum() < 8:
            continue  # nothing untouched around to compare with: a global edit, not a removal
        ratio2 = unexplained2[y0:y1, x0:x1][core].mean() / max(
            texture2[y0:y1, x0:x1][ring].mean(), NOISE_FLOOR**2
        )
        if ratio2 > REMOVAL_RATIO**2:
            out[y0:y1, x0:x1] |= own
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill areas fully enclosed by *mask*: a removed object's outline takes its inside along."""
    import cv2

    h, w = mask.shape
    canvas = np.zeros((h + 2, w + 2), np.uint8)
    canvas[1:-1, 1:-1] = mask
    flood = canvas.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    return (canvas[1:-1, 1:-1] > 0) | (flood[1:-1, 1:-1] == 0)


def _radial_average(power: np.ndarray) -> np.ndarray:
    """Make a power spectrum direction-free by averaging it over rings of equal frequency."""
    size = power.shape[0]
    freq = np.fft.fftfreq(size) * size
    radius = np.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2)
    ring = np.round(radius).astype(int)
    sums = np.bincount(ring.ravel(), power.ravel())
    nums = np.maximum(np.bincount(ring.ravel()), 1)
    return (sums / nums)[ring].astype(np.float32)
