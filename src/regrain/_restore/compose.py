"""Stage 4 of restore: restored and rebuilt texture added onto the AI's result.

The output is the edited image plus what is missing. In the restore band (per channel), where glare
had washed the original's texture out by ``1 / gain``:

    restored = O_h - keep * E_h        glare = (gain - 1) * O_h

so the output's band is ``gain * O_h``, the original's texture as the scene had it, exactly as
frequency separation would put it (it is frequency separation where the AI only filtered). What
frequency separation loses is kept: ``keep`` drops the edited band only where it is a weakened
copy of the original's (its local energy at most the original's); where the edited band is much
stronger than the original's, the AI drew something there itself (a new object's outline, a
cleaned edge on a flat original) and it stays (``keep`` falls to 0 at NEW_CONTENT times the
original's energy). In a rebuilt zone of weight ``w`` the restored texture fades out and the
rebuilt one in with energy-preserving weights ``sqrt(1 - w)`` and ``sqrt(w)``: two independent
textures at those weights keep their summed variance across the seam, where linear weights would
dip it by up to half at ``w = 1/2``. Where a fill left more detail than the clean surroundings
hold (its streaks on a texture-free backdrop), the rebuilt layer also takes that excess share of
the edited band away, ``- sqrt(w) * damp * E_h`` (never more of it than the restored part leaves).

    image = clip(edited + strength * (restored + glare + rebuilt), 0, 1)

Every difference is exactly zero on pixels the AI did not touch (and on touched pixels outside
edited cells), so those pixels come back bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrain._filters import gaussian_blur
from regrain._grid import upsample_box
from regrain._restore.analysis import NOISE_FLOOR, Analysis, glare_gain
from regrain._restore.synthesis import soft_cells

__all__ = ["Composed", "compose"]


@dataclass(frozen=True)
class Composed:
    """The composed crop: ``image`` (h, w, C) and, when asked, the layers (see restore)."""

    image: np.ndarray
    layers: dict[str, np.ndarray] | None
    gain: np.ndarray
    """The glare gain applied, per cell (1 where none)."""


NEW_CONTENT = 4.0
"""Where the edited band's local energy exceeds the original's (times the glare gain squared) by
this factor -- twice the amplitude -- it holds structure the AI drew itself, and it is kept."""


def compose(
    original: np.ndarray,
    edited: np.ndarray,
    a: Analysis,
    regions,
    zones: list,
    *,
    strength: float = 1.0,
    weight: np.ndarray | None = None,
    keep_layers: bool = False,
    out: np.ndarray | None = None,
) -> Composed:
    """Compose one crop. *weight* (h, w) in [0, 1] is the user's mask, scaling every difference;
    *out* (the output's view of the crop) receives the image when given."""
    import cv2

    edited_cells = regions.changed > 0
    gain = np.where(edited_cells, glare_gain(a), np.float32(1.0)).astype(np.float32)
    floor2 = np.float32(NOISE_FLOOR**2)
    ratio = a.ee2 / (gain * gain * a.eo2 + floor2)
    keep = np.clip((NEW_CONTENT - ratio) / (NEW_CONTENT - 1.0), 0.0, 1.0)
    grid = _GridMaps(
        factor=a.factor,
        keep=np.where(edited_cells, keep, 0.0).astype(np.float32),
        on=edited_cells.astype(np.float32),
        glare=(gain - 1.0) if bool(np.any(gain > 1.0)) else None,
        rebuild=soft_cells(regions.rebuild) if regions.rebuild.any() else None,
        damp=_damp_cells(zones, regions.rebuild.shape),
        touched=regions.touched,
        weight=weight,
    )
    args = (original, edited, grid, zones, a.material.radius, a.factor, strength)
    if keep_layers:
        image, layers = _compose_layers(*args)
        if out is not None:
            np.copyto(out, image)
            image = out
    else:
        image = out if out is not None else np.empty_like(edited)
        _compose_flat(*args, image)
        layers = None
    np.clip(image, 0.0, 1.0, out=image)
    untouched = np.logical_not(regions.touched).view(np.uint8)
    cv2.copyTo(edited, untouched, image)
    return Composed(image, layers, gain)


STRIP_ROWS = 256
"""The flat path composes the crop in strips of this many rows (plus the blur's reach): its
buffers stay small and warm, where full-size temporaries are slow to fault in on this kind of
machine. A test checks it gives the plain path's image."""


@dataclass(frozen=True)
class _Maps:
    """The full-resolution weights of some rows of a crop, (rows, w) float32: ``fade`` (the
    edited cells' weight times sqrt(1 - w) of the rebuilt zones), ``keep`` (the share of the
    edited band to drop), ``glare`` (gain - 1, or None) and ``where`` (touched pixels times the
    user's mask)."""

    fade: np.ndarray
    keep: np.ndarray
    glare: np.ndarray | None
    where: np.ndarray
    damp: np.ndarray | None


@dataclass(frozen=True)
class _GridMaps:
    """The same weights on the analysis grid, brought to full resolution row by row."""

    factor: int
    keep: np.ndarray
    on: np.ndarray
    glare: np.ndarray | None
    rebuild: np.ndarray | None
    touched: np.ndarray
    weight: np.ndarray | None
    damp: np.ndarray | None

    def rows(self, y0: int, y1: int) -> _Maps:
        w = self.touched.shape[1]
        zone = (slice(y0, y1), slice(0, w))

        def up(cells: np.ndarray) -> np.ndarray:
            return upsample_box(cells, self.factor, zone)

        fade = up(self.on)
        if self.rebuild is not None:
            fade *= np.sqrt(1.0 - np.clip(up(self.rebuild), 0.0, 1.0))
        where = self.touched[y0:y1].astype(np.float32)
        if self.weight is not None:
            where *= self.weight[y0:y1]
        glare = None if self.glare is None else up(self.glare)
        damp = None if self.damp is None else up(self.damp)
        return _Maps(fade, up(self.keep), glare, where, damp)


def _damp_share(m: _Maps) -> np.ndarray:
    """The share of the edited band a rebuilt zone takes away, at most what the restored part
    leaves of it (``1 - keep * fade``): across a zone's soft rim the two never take more than
    the whole band."""
    return np.minimum(m.damp, np.float32(1.0) - m.keep * m.fade)


def _damp_cells(zones: list, grid: tuple[int, int]) -> np.ndarray | None:
    """The share of the edited band the rebuilt zones take away, on the grid (see
    :func:`regrain._restore.synthesis._excess`); None when no zone takes any."""
    pieces = [z for z in zones if z.damp is not None]
    if not pieces:
        return None
    damp = np.zeros(grid, np.float32)
    for z in pieces:
        np.maximum(damp[z.cells], z.damp, out=damp[z.cells])
    return damp


def _bands(original: np.ndarray, edited: np.ndarray, c: int, radius: float):
    """Channel *c*'s restore bands of the original and the edited crop (contiguous planes)."""
    import cv2

    plane_o = np.ascontiguousarray(original[..., c])
    plane_e = np.ascontiguousarray(edited[..., c])
    band_o = cv2.subtract(plane_o, gaussian_blur(plane_o, radius))
    band_e = cv2.subtract(plane_e, gaussian_blur(plane_e, radius))
    return band_o, band_e


def _compose_flat(original, edited, grid: _GridMaps, zones, radius, factor, strength, image):
    """The image alone, strip by strip: per channel ``edited + s * where * (fade * ((1 + glare)
    * O_h - keep * E_h) + sqrt(w) * c * S)``. Each strip blurs its rows plus the kernel's reach
    (mirrored only at the crop's own edges, as the whole crop's blur is), so it is the plain
    path's result."""
    import cv2

    h, w, channels = edited.shape
    reach = int(np.ceil(4.0 * radius))  # gaussian_blur's kernel half-width
    s = np.float32(strength)
    step = max(2, factor)
    samples: list[list[np.ndarray]] = [[] for _ in range(channels)]
    # composed in place (the image is the edited crop): a strip's context above it was written
    # by the strip before, so the edited rows it needs are kept aside before they are
    in_place = np.may_share_memory(image, edited)
    if in_place:
        block = np.empty((min(h, STRIP_ROWS + 2 * reach), w, channels), np.float32)
        carry = np.empty((min(h, reach), w, channels), np.float32)
    for y0 in range(0, h, STRIP_ROWS):
        y1 = min(h, y0 + STRIP_ROWS)
        p0, p1 = max(0, y0 - reach), min(h, y1 + reach)
        inner = slice(y0 - p0, y1 - p0)
        if in_place:
            e_blk = block[: p1 - p0]
            e_blk[: y0 - p0] = carry[carry.shape[0] - (y0 - p0) :]
            e_blk[y0 - p0 :] = edited[y0:p1]
            kept = min(carry.shape[0], y1 - y0)
            if kept < carry.shape[0]:  # a strip lower than the reach: the older rows shift up
                carry[: carry.shape[0] - kept] = carry[kept:].copy()
            carry[carry.shape[0] - kept :] = edited[y1 - kept : y1]
        else:
            e_blk = edited[p0:p1]
        m = grid.rows(y0, y1)
        ws = m.where * s
        gain_fade = m.fade * ws
        keep_fade = m.keep * gain_fade
        if m.damp is not None:
            keep_fade += _damp_share(m) * ws
        if m.glare is not None:
            gain_fade *= m.glare + np.float32(1.0)
        o_blk = original[p0:p1]
        band_o = cv2.subtract(o_blk, gaussian_blur(o_blk, radius))[inner]
        band_e = cv2.subtract(e_blk, gaussian_blur(e_blk, radius))[inner]
        if channels == 1:
            band_o, band_e = band_o.reshape(y1 - y0, w, 1), band_e.reshape(y1 - y0, w, 1)
        first = (-y0) % step
        for c in range(channels):
            samples[c].append(band_o[first::step, ::step, c].copy())
        band_o *= gain_fade[..., None]
        band_e *= keep_fade[..., None]
        np.subtract(band_o, band_e, out=band_o)
        np.add(edited[y0:y1], band_o, out=image[y0:y1])
    coeffs = _colour_coefficients([np.concatenate(parts) for parts in samples])
    for z in zones:
        if z.texture is None:
            continue
        ws = np.float32(strength) * grid.touched[z.zone].astype(np.float32)
        if grid.weight is not None:
            ws *= grid.weight[z.zone]
        add = np.sqrt(np.clip(z.weight, 0.0, 1.0)) * z.texture * ws
        image[z.zone] += add[..., None] * coeffs


def _compose_layers(original, edited, grid: _GridMaps, zones, radius, factor, strength):
    """The image and the layers that make it (see :func:`regrain.restore`): full-size signed
    differences at strength 1, and their supports. The plain path: whole planes, no strips."""
    h, w, channels = edited.shape
    maps = grid.rows(0, h)
    restored = np.zeros((h, w, channels), np.float32)
    glare = np.zeros((h, w, channels), np.float32)
    rebuilt = np.zeros((h, w, channels), np.float32)
    step = max(2, factor)
    samples = []
    damp = None if maps.damp is None else _damp_share(maps) * maps.where
    for c in range(channels):
        band_o, band_e = _bands(original, edited, c, radius)
        samples.append(band_o[::step, ::step].copy())
        if maps.glare is not None:
            glare[..., c] = maps.glare * band_o * maps.fade * maps.where
        restored[..., c] = (band_o - maps.keep * band_e) * maps.fade * maps.where
        if damp is not None:
            rebuilt[..., c] = -damp * band_e
    coeffs = _colour_coefficients(samples)
    for z in zones:
        if z.texture is None:
            continue
        add = np.sqrt(np.clip(z.weight, 0.0, 1.0)) * z.texture * maps.where[z.zone]
        rebuilt[z.zone] += add[..., None] * coeffs
    delta = restored + glare + rebuilt
    if strength != 1.0:
        delta *= np.float32(strength)
    image = edited + delta
    layers = {
        "restored": restored,
        "glare": glare,
        "rebuilt": rebuilt,
        "restored_mask": (np.abs(restored).max(axis=2) > 0).astype(np.float32),
        "rebuilt_mask": (np.abs(rebuilt).max(axis=2) > 0).astype(np.float32),
    }
    return image, layers


def _colour_coefficients(bands: list[np.ndarray]) -> np.ndarray:
    """How much of the luma texture each channel carries: the regression of each channel's band
    on the luma band over the crop (1 for a gray image). Rebuilt texture is made in luma and
    coloured with these, as the original's own texture is."""
    if len(bands) == 1:
        return np.ones(1, np.float32)
    from regrain._luma import LUMA_WEIGHTS

    y = sum(
        np.float64(wt) * b.astype(np.float64) for wt, b in zip(LUMA_WEIGHTS, bands, strict=False)
    )
    denom = float((y * y).sum())
    if not denom > 0:
        return np.ones(len(bands), np.float32)
    return np.array([float((b * y).sum()) / denom for b in bands], np.float32)
