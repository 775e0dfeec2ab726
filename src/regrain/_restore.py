"""Automatic texture recovery from an (original, AI-edited) pair.

The AI's result keeps its tones (the low band); regrain only decides what goes into the high band,
region by region, from the pair itself:

* **untouched** -- pixels the AI did not change are copied bit for bit;
* **restored** -- tones changed, geometry the same (skin smoothing, glare or reflection removal):
  the original's own high band goes back, amplified where veiling glare had washed it out (gain
  ``(1 - low_edited) / (1 - low_original)``, the inverse of the glare's contrast loss);
* **rebuilt** -- the original's high band there is not texture but the thing the AI removed (a
  blemish, a scratch, dust, a highlight, an object): it is detected as high- or mid-band difference
  energy far above what the surrounding clean texture carries, or as low-band structure that no
  local tone curve maps onto the edited image. There regrain synthesises new texture: Gaussian
  noise shaped by the power spectrum of the clean texture around the region (random-phase / spot-
  noise synthesis after Galerne, Gousseau and Morel, 2011), scaled by the surroundings' brightness-
  to-amplitude curve (the film-grain model of AV1, Norkin and Birkbeck 2018), on top of what the AI
  left;
* **smooth** -- where the original had no texture (bokeh, backdrops, clipped highlights) there is
  nothing to restore or to imitate, so nothing is added.

Restored and rebuilt texture are cross-faded with energy-preserving weights (sqrt(w), sqrt(1 - w)),
so the texture's strength does not dip along the seams. Everything runs on the bounding box of the
changed pixels; the local statistics are computed on a coarser analysis grid (they are smooth), the
texture itself at full resolution.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from regrain._checks import as_mask, check_choice, check_image, check_range, check_same_size
from regrain._detect import analysis_factor, downsample, inspect, luma, upsample
from regrain._filters import gaussian_blur
from regrain.io import DEFAULT_MAX_PIXELS

__all__ = ["MATERIALS", "RestoreResult", "restore", "restore_file"]


@dataclass(frozen=True)
class Material:
    """How a material's texture is measured and imitated."""

    radius: float
    """Texture band: image minus its Gaussian blur at this radius (px)."""
    isotropic: bool
    """Synthesise direction-free texture (pores) rather than the surroundings' own (metal)."""


MATERIALS: dict[str, Material] = {
    "auto": Material(radius=3.0, isotropic=False),
    "fabric": Material(radius=3.0, isotropic=False),
    "metal": Material(radius=2.0, isotropic=False),
    "skin": Material(radius=3.0, isotropic=True),
}

REBUILD_SIGMAS = 4.0
"""A difference whose RMS exceeds this many times the clean texture's RMS is not lost texture but a
removed defect or object (a 4-sigma outlier of the texture's own statistics)."""

NOISE_FLOOR = 0.5 / 255
"""RMS below which the original is taken to have no texture (half an 8-bit level)."""

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
        raise ValueError(
            f"original and edited must have the same channels; got {original.shape[2]} and "
            f"{edited.shape[2]}."
        )
    spec = MATERIALS[check_choice(material, MATERIALS, "material")]
    strength = check_range(strength, "strength", low=0.0, high=4.0)
    weight = as_mask(mask, edited)

    touched = np.not_equal(original, edited).any(axis=2)
    if weight is not None:
        touched &= weight[..., 0] > 0
    out = edited.copy()
    ys, xs = np.nonzero(touched.any(axis=1))[0], np.nonzero(touched.any(axis=0))[0]
    if ys.size == 0:
        factor = analysis_factor(edited.shape)
        empty = np.zeros(downsample(touched.astype(np.float32), factor).shape, np.float32)
        maps = {k: empty for k in ("changed", "loss", "rebuild", "classes")}
        return RestoreResult(out, {**maps, "gain": empty + 1}, factor)

    # work on the changed pixels' bounding box plus enough context to learn the texture around them
    margin = int(max(48, 16 * spec.radius))
    h, w = touched.shape
    y0, y1 = max(0, ys[0] - margin), min(h, ys[-1] + 1 + margin)
    x0, x1 = max(0, xs[0] - margin), min(w, xs[-1] + 1 + margin)
    box = (slice(y0, y1), slice(x0, x1))
    plan = _Plan(original[box], edited[box], touched[box], spec, seed)
    delta = plan.texture(strength)
    region = out[box]
    np.add(region, delta, out=region, where=plan.touched[..., None])
    np.clip(region, 0.0, 1.0, out=region)

    factor = plan.factor
    full_maps = {}
    for name, plane in plan.maps().items():
        canvas = np.zeros(downsample(touched.astype(np.float32), factor).shape, np.float32)
        if name == "gain":
            canvas += 1
        cy, cx = y0 // factor, x0 // factor
        ph = min(plane.shape[0], canvas.shape[0] - cy)
        pw = min(plane.shape[1], canvas.shape[1] - cx)
        canvas[cy : cy + ph, cx : cx + pw] = plane[:ph, :pw]
        full_maps[name] = canvas
    return RestoreResult(out, full_maps, factor)


class _Plan:
    """Per-pair analysis on one crop: which cells are restored, rebuilt or left smooth."""

    def __init__(
        self,
        original: np.ndarray,
        edited: np.ndarray,
        touched: np.ndarray,
        spec: Material,
        seed: int,
    ) -> None:
        import cv2

        self.original, self.edited, self.touched = original, edited, touched
        self.spec, self.seed = spec, seed
        self.factor = f = analysis_factor(original.shape)
        r = spec.radius
        yo, ye = luma(original), luma(edited)
        lo, le = gaussian_blur(yo, r), gaussian_blur(ye, r)
        self.ho = yo - lo  # luma high band of the original
        self.lo, self.le = lo, le
        window = max(1.0, 2.0 * r / f)

        def energy(band: np.ndarray, win: float = window) -> np.ndarray:
            return gaussian_blur(downsample(band * band, f), win)

        he = ye - le
        self.eo2 = energy(self.ho)
        self.ee2 = energy(he)
        diff_hi = energy(self.ho - he)
        dlow = lo - le
        diff_mid = energy(dlow - gaussian_blur(dlow, 4 * r))
        orig_mid = energy(lo - gaussian_blur(lo, 4 * r))

        floor2 = np.float32(NOISE_FLOOR**2)
        block = max(2, round(8 * r / f))
        ref_hi = _block_median(self.eo2, block)
        ref_mid = _block_median(orig_mid, block)
        self.changed = downsample(touched.astype(np.float32), f)
        changed = self.changed > 0

        # low-band structure that no local tone curve maps onto the edited image: fit
        # low_o ~ a * low_e + b over a window (as a guided filter does) and keep the residual
        lo_d, le_d = downsample(lo, f), downsample(le, f)
        fit = max(1.0, 3.0 * r / f)
        mo, me = gaussian_blur(lo_d, fit), gaussian_blur(le_d, fit)
        voo = gaussian_blur(lo_d * lo_d, fit) - mo * mo
        vee = gaussian_blur(le_d * le_d, fit) - me * me
        voe = gaussian_blur(lo_d * le_d, fit) - mo * me
        residual = np.maximum(voo - voe * voe / (vee + floor2), 0)

        k2 = np.float32(REBUILD_SIGMAS**2)
        score = np.maximum(diff_hi / (ref_hi + floor2), diff_mid / (ref_hi + ref_mid + floor2))
        score = np.maximum(score, residual / (ref_hi + ref_mid + floor2))
        self.score = score
        rebuild = (score > k2) & changed
        if rebuild.any():
            grow = max(1, round(r / f))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
            rebuild = cv2.dilate(rebuild.astype(np.uint8), kernel) > 0
            rebuild = _fill_holes(rebuild) & (gaussian_blur(self.changed, grow) > 0)
        self.rebuild = rebuild
        self.smooth = (ref_hi < floor2) & changed & ~rebuild

        # glare washes texture out by (1 - g) and lifts tones by g: undo it where texture was lost
        lo_c, le_c = downsample(lo, f), downsample(le, f)
        gain = np.clip((1.0 - le_c) / np.maximum(1.0 - lo_c, 1e-3), 1.0, MAX_GLARE_GAIN)
        self.loss = np.clip(1.0 - np.sqrt(self.ee2 / np.maximum(self.eo2, floor2)), 0.0, 1.0)
        self.loss[~changed] = 0
        self.gain = (1.0 + (gain - 1.0) * self.loss).astype(np.float32)

    # -- texture -----------------------------------------------------------------------------
    def texture(self, strength: float) -> np.ndarray:
        """The high band to add to the edited crop, float32 (h, w, C)."""
        r = self.spec.radius
        shape = self.original.shape
        rebuild_w = np.clip(gaussian_blur(self.rebuild.astype(np.float32), 1.0), 0, 1)
        rebuild_w = np.clip(upsample(rebuild_w, shape), 0.0, 1.0)
        rebuild_w[self.rebuild_full_zero(shape)] = 0
        keep = np.sqrt(1.0 - rebuild_w) * strength
        gain = upsample(self.gain, shape)
        synth = self.synthesize(rebuild_w) if self.rebuild.any() else None
        delta = np.empty(shape, np.float32)
        coeffs = self.colour_coefficients()
        for c in range(shape[2]):
            o = np.ascontiguousarray(self.original[..., c])
            e = np.ascontiguousarray(self.edited[..., c])
            ho = o - gaussian_blur(o, r)
            he = e - gaussian_blur(e, r)
            d = keep * gain * ho - (1.0 - rebuild_w) * he
            if synth is not None:
                d += coeffs[c] * strength * synth
            delta[..., c] = d
        return delta

    def rebuild_full_zero(self, shape: tuple[int, ...]) -> np.ndarray:
        """Full-resolution cells far from any rebuild zone (where the weight must be exactly 0)."""
        import cv2

        near = cv2.dilate(self.rebuild.astype(np.uint8), np.ones((3, 3), np.uint8))
        return upsample(near.astype(np.float32), shape) <= 0

    def colour_coefficients(self) -> np.ndarray:
        """How much of the luma texture each channel carries (regression over the crop)."""
        channels = self.original.shape[2]
        if channels == 1:
            return np.ones(1, np.float32)
        r = self.spec.radius
        step = max(1, self.factor)
        ho = self.ho[::step, ::step]
        denom = float((ho * ho).sum()) or 1.0
        out = []
        for c in range(channels):
            o = np.ascontiguousarray(self.original[..., c])
            hc = (o - gaussian_blur(o, r))[::step, ::step]
            out.append(float((hc * ho).sum()) / denom)
        return np.asarray(out, np.float32)

    def synthesize(self, rebuild_w: np.ndarray) -> np.ndarray:
        """Luma texture for the rebuild zones, already weighted by sqrt(rebuild weight)."""
        import cv2

        synth = np.zeros(self.ho.shape, np.float32)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            self.rebuild.astype(np.uint8), connectivity=8
        )
        for label in range(1, count):
            x, y, bw, bh, _ = (int(v) for v in stats[label])
            self._synthesize_one(label, labels, (x, y, bw, bh), synth)
        synth *= np.sqrt(rebuild_w)
        return synth

    def _synthesize_one(
        self,
        label: int,
        labels: np.ndarray,
        cell_box: tuple[int, int, int, int],
        synth: np.ndarray,
    ) -> None:
        import cv2

        f = self.factor
        x, y, bw, bh = cell_box
        gh, gw = labels.shape
        ring_cells = max(4, round(12 * self.spec.radius / f), max(bw, bh) // 2)
        cx0, cy0 = max(0, x - ring_cells), max(0, y - ring_cells)
        cx1, cy1 = min(gw, x + bw + ring_cells), min(gh, y + bh + ring_cells)
        clean = ~self.rebuild[cy0:cy1, cx0:cx1]

        # brightness -> texture RMS curve of the clean surroundings, read at the AI's tones
        le_cells = downsample(self.le, f)[cy0:cy1, cx0:cx1]
        eo_cells = self.eo2[cy0:cy1, cx0:cx1]
        textured = clean & (eo_cells > NOISE_FLOOR**2)
        if textured.sum() < 8:
            return  # nothing around to imitate: a smooth area stays smooth
        levels = le_cells[clean]
        energies = eo_cells[clean]
        edges = np.unique(np.quantile(levels, np.linspace(0, 1, 7)))
        if edges.size < 2:
            centres, curve = np.array([levels.mean()]), np.array([energies.mean()])
        else:
            idx = np.clip(np.searchsorted(edges, levels, side="right") - 1, 0, edges.size - 2)
            sums = np.bincount(idx, energies, minlength=edges.size - 1)
            nums = np.bincount(idx, minlength=edges.size - 1)
            ok = nums > 0
            centres = ((edges[:-1] + edges[1:]) / 2)[ok]
            curve = sums[ok] / nums[ok]
        target2 = np.interp(le_cells, centres, curve).astype(np.float32)
        # the AI may have left some texture: add only what is missing
        need = np.sqrt(np.maximum(target2 - self.ee2[cy0:cy1, cx0:cx1], 0.0))

        # pixel box of this component (plus feather) on the full-resolution crop
        pad = max(2, int(np.ceil(2 * self.spec.radius)))
        h, w = synth.shape
        px0, py0 = max(0, x * f - pad), max(0, y * f - pad)
        px1, py1 = min(w, (x + bw) * f + pad), min(h, (y + bh) * f + pad)
        kernel = self._texture_kernel(self.ho[cy0 * f : cy1 * f, cx0 * f : cx1 * f], clean, f)
        rng = np.random.default_rng([self.seed, label])
        noise = rng.standard_normal((py1 - py0, px1 - px0), dtype=np.float32)
        shaped = cv2.filter2D(noise, -1, kernel, borderType=cv2.BORDER_REFLECT)
        shaped /= max(float(shaped.std()), 1e-12)
        amp = upsample(need, ((cy1 - cy0) * f, (cx1 - cx0) * f))
        amp = amp[py0 - cy0 * f : py1 - cy0 * f, px0 - cx0 * f : px1 - cx0 * f]
        hh, ww = min(amp.shape[0], shaped.shape[0]), min(amp.shape[1], shaped.shape[1])
        zone = synth[py0 : py0 + hh, px0 : px0 + ww]
        grid = upsample((labels[cy0:cy1, cx0:cx1] == label).astype(np.float32), amp.shape)
        zone += shaped[:hh, :ww] * amp[:hh, :ww] * np.clip(grid[:hh, :ww] * 4, 0, 1)

    def _texture_kernel(self, high: np.ndarray, clean: np.ndarray, f: int) -> np.ndarray:
        """A zero-phase filter whose power spectrum is the clean texture's (Welch estimate)."""
        size = int(2 ** np.ceil(np.log2(max(16.0, 8 * self.spec.radius))))
        step = size // 2
        hann = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
        power = np.zeros((size, size), np.float32)
        windows = 0
        hh, ww = high.shape
        for py in range(0, hh - size + 1, step):
            for px in range(0, ww - size + 1, step):
                cells = clean[
                    py // f : (py + size + f - 1) // f, px // f : (px + size + f - 1) // f
                ]
                if cells.size == 0 or not cells.all():
                    continue
                patch = high[py : py + size, px : px + size]
                spectrum = np.fft.fft2((patch - patch.mean()) * hann)
                power += (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
                windows += 1
                if windows >= 64:
                    break
            if windows >= 64:
                break
        if windows == 0:
            # no clean window around: fall back to a fine isotropic grain of the texture band
            yy, xx = np.mgrid[-size // 2 : size // 2, -size // 2 : size // 2]
            kernel = np.exp(-(xx**2 + yy**2) / (2 * (0.5 * self.spec.radius) ** 2))
            return (kernel / np.sqrt((kernel**2).sum())).astype(np.float32)
        if self.spec.isotropic:
            power = _radial_average(power)
        amplitude = np.sqrt(power / windows)
        kernel = np.fft.fftshift(np.real(np.fft.ifft2(amplitude)))
        return (kernel / np.sqrt((kernel**2).sum())).astype(np.float32)

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


def _block_median(plane: np.ndarray, block: int) -> np.ndarray:
    """Median of *plane* over block x block tiles, smoothly interpolated back: a local typical
    value that a defect covering less than half a tile cannot move."""
    import cv2

    h, w = plane.shape
    bh, bw = max(1, -(-h // block)), max(1, -(-w // block))
    padded = cv2.copyMakeBorder(
        plane, 0, bh * block - h, 0, bw * block - w, borderType=cv2.BORDER_REFLECT
    )
    tiles = padded.reshape(bh, block, bw, block).transpose(0, 2, 1, 3).reshape(bh, bw, -1)
    medians = np.median(tiles, axis=2).astype(np.float32)
    # the tile medians sit at tile centres; interpolate between them
    big = cv2.resize(medians, (bw * block, bh * block), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(big[:h, :w])


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


def restore_file(
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mask: str | os.PathLike[str] | None = None,
    maps_dir: str | os.PathLike[str] | None = None,
    material: str = "auto",
    seed: int = 0,
    bits: int | None = None,
    quality: int = 95,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    figures: bool = True,
) -> dict:
    """Read a pair, restore it, write *output* atomically (the edited file's kind, depth, ICC).

    Returns the figures a catalog sorts by: inspect's plastic share and fine-band energy ratio of
    the edited image before and of the result after restore, and the seconds it took.
    """
    from regrain import io

    start = time.perf_counter()
    io.check_output_path(output, [original, edited])
    orig, _ = io.read_image(original, max_pixels=max_pixels)
    edit, info = io.read_image(edited, max_pixels=max_pixels)
    if orig.shape[:2] != edit.shape[:2]:
        raise io.ImageFileError(
            edited,
            f"edited image is {edit.shape[1]}x{edit.shape[0]} px but the original "
            f"{original} is {orig.shape[1]}x{orig.shape[0]} px",
        )
    if orig.shape[2] != edit.shape[2]:
        raise io.ImageFileError(
            edited, f"edited image has {edit.shape[2]} channels, the original {orig.shape[2]}"
        )
    m = io.read_mask(mask, edit.shape, max_pixels=max_pixels) if mask is not None else None
    result = restore(orig, edit, mask=m, material=material, seed=seed)
    io.write_image(
        output, result.image, info, bits=bits, quality=quality, inputs=[original, edited]
    )
    if maps_dir is not None:
        write_maps(maps_dir, result, info, inputs=[original, edited])
    out = {"seconds": 0.0}
    if figures:
        before = inspect(orig, edit, mask=m)
        after = inspect(orig, result.image, mask=m)
        out.update(
            plastic_before=before.plastic_share,
            energy_ratio_before=next(iter(before.energy_ratio.values())),
            plastic_after=after.plastic_share,
            energy_ratio_after=next(iter(after.energy_ratio.values())),
        )
    out["seconds"] = time.perf_counter() - start
    return out


def write_maps(
    folder: str | os.PathLike[str], result: RestoreResult, info, *, inputs=()
) -> list[str]:
    """Write the restore maps as 8-bit PNGs (and a colour-coded classes.png) into *folder*."""
    from pathlib import Path

    from regrain import io

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = info.with_(format="png", bits=8, alpha=None, exif=None, xmp=None)
    written = []
    for name in ("changed", "loss", "rebuild"):
        path = folder / f"{name}.png"
        io.write_image(path, result.map(name)[..., None], plain, bits=8, inputs=inputs)
        written.append(str(path))
    gain = (result.map("gain") - 1.0) / (MAX_GLARE_GAIN - 1.0)
    io.write_image(folder / "gain.png", gain[..., None], plain, bits=8, inputs=inputs)
    written.append(str(folder / "gain.png"))
    palette = np.array(
        [[0.0, 0.0, 0.0], [0.2, 0.75, 0.3], [0.95, 0.45, 0.1], [0.3, 0.5, 0.95]], np.float32
    )
    classes = result.map("classes").astype(int)
    io.write_image(folder / "classes.png", palette[classes], plain, bits=8, inputs=inputs)
    written.append(str(folder / "classes.png"))
    return written
