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
dip it by up to half at ``w = 1/2``.

    image = clip(edited + strength * (restored + glare + rebuilt), 0, 1)

Every difference is exactly zero on pixels the AI did not touch (and on touched pixels outside
edited cells), so those pixels come back bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrain._filters import gaussian_blur
from regrain._grid import upsample
from regrain._restore.analysis import NOISE_FLOOR, Analysis, glare_gain
from regrain._restore.synthesis import zone_weight

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
) -> Composed:
    """Compose one crop. *weight* (h, w) in [0, 1] is the user's mask, scaling every difference."""
    import cv2

    h, w, channels = edited.shape
    r = a.material.radius
    edited_cells = regions.changed > 0
    gain = np.where(edited_cells, glare_gain(a), np.float32(1.0)).astype(np.float32)
    has_glare = bool(np.any(gain > 1.0))
    floor2 = np.float32(NOISE_FLOOR**2)
    ratio = a.ee2 / (gain * gain * a.eo2 + floor2)
    keep = np.clip((NEW_CONTENT - ratio) / (NEW_CONTENT - 1.0), 0.0, 1.0)
    keep_px = upsample(np.where(edited_cells, keep, 0.0).astype(np.float32), (h, w))
    on = upsample(edited_cells.astype(np.float32), (h, w))
    glare_px = upsample((gain - 1.0).astype(np.float32), (h, w)) if has_glare else None

    # sqrt(1 - w) of every rebuilt zone (whether or not texture was made for it: the original's
    # texture there is the defect), times the edited cells' own weight
    fade = on
    if regions.rebuild.any():
        w_all = zone_weight(regions.rebuild, a.factor, (slice(0, h), slice(0, w)), (0, 0))
        fade = on * np.sqrt(1.0 - w_all)

    restored = np.zeros((h, w, channels), np.float32)
    glare = np.zeros((h, w, channels), np.float32) if has_glare else None
    step = max(2, a.factor)  # the colour regression reads every step-th pixel: it is smooth
    samples = []
    for c in range(channels):
        plane_o = np.ascontiguousarray(original[..., c])
        plane_e = np.ascontiguousarray(edited[..., c])
        band_o = cv2.subtract(plane_o, gaussian_blur(plane_o, r))
        band_e = cv2.subtract(plane_e, gaussian_blur(plane_e, r))
        samples.append(band_o[::step, ::step])
        if glare is not None:
            glare[..., c] = glare_px * band_o * fade
        band_e *= keep_px
        cv2.subtract(band_o, band_e, dst=band_o)
        restored[..., c] = band_o * fade
    coeffs = _colour_coefficients(samples)

    rebuilt = np.zeros((h, w, channels), np.float32) if zones else None
    for z in zones:
        add = (np.sqrt(np.clip(z.weight, 0.0, 1.0)) * z.texture)[..., None] * coeffs
        rebuilt[z.zone] += add.astype(np.float32)

    # nothing changes where the AI did not edit, nor outside the user's mask
    keep = regions.touched.astype(np.float32)
    if weight is not None:
        keep *= weight
    layers = {"restored": restored, "glare": glare, "rebuilt": rebuilt}
    for _name, layer in layers.items():
        if layer is not None:
            layer *= keep[..., None]
    delta = restored.copy()
    for extra in (glare, rebuilt):
        if extra is not None:
            delta += extra
    if strength != 1.0:
        delta *= np.float32(strength)
    image = edited + delta
    np.clip(image, 0.0, 1.0, out=image)
    untouched = np.logical_not(regions.touched).view(np.uint8)
    cv2.copyTo(edited, untouched, image)
    if not keep_layers:
        return Composed(image, None, gain)
    zeros = np.zeros((h, w, channels), np.float32)
    out = {
        "restored": restored,
        "glare": glare if glare is not None else zeros,
        "rebuilt": rebuilt if rebuilt is not None else zeros.copy(),
    }
    out["restored_mask"] = (np.abs(restored).max(axis=2) > 0).astype(np.float32)
    out["rebuilt_mask"] = (np.abs(out["rebuilt"]).max(axis=2) > 0).astype(np.float32)
    return Composed(image, out, gain)


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
