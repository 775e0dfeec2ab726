"""Figures beyond regrain._quality's: the issue's comparisons, texture statistics of rebuilt zones,
and the confusion of restore's classes with the true ones.

**Comparisons** (per case): where the original texture is the right answer (retone, glare,
regeneration) restore must be at least as good as frequency separation: ``|energy - 1|`` no worse
and fidelity no lower, each within :data:`TOLERANCE`; where something was removed (defect,
replaced, smooth) restore's ``|leak|`` must be no worse than the AI output's, within the same.

**Texture statistics** (rebuilt zones): is what fills the hole the material, or noise with the
right RMS? Two distances between the zone's high band and the clean surroundings' (a ring
:data:`RING` px around the hole), each printed next to its *floor*, the same distance between two
displaced copy of the zone (its own shape moved onto clean pixels of similar texture energy), so
that the floor holds what the zone's figure holds besides the texture itself (the sampling noise
of equal patch counts, and how the photo's texture varies from place to place):

- **SWD**: sliced Wasserstein-1 distance of :data:`PATCH` x :data:`PATCH` high-band patches,
  :data:`PROJECTIONS` fixed random directions (seeded), ``n`` patches per side (the zone's count,
  at most :data:`MAX_PATCHES`), averaged over :data:`DRAWS` seeded draws;
- **kurtosis**: mean over band-pass scales (:data:`BANDS`) of ``|log(k_zone / k_clean)|``, ``k``
  the Pearson kurtosis (3 for a Gaussian; sparse pores and sparkle are well above).

Goal: each within :data:`TEXTURE_GOAL` x its floor.
"""

from __future__ import annotations

import numpy as np

from regrain import _quality as rq
from regrain._luma import luma

TOLERANCE = 0.02
"""How much worse than the reference a figure may be and still count as "at least as good"."""

PATCH = 7
PROJECTIONS = 64
MAX_PATCHES = 800
DRAWS = 8
RING = (6, 40)
BANDS = ((0.0, 1.0), (1.0, 2.0), (2.0, 4.0))
"""Band-pass scales (sigma pairs, px) for kurtosis: luma blurred at the first minus the second."""
TEXTURE_GOAL = 1.5

TRUE_LABELS = ("restore", "rebuild", "smooth", "untouched")
"""Rows of the confusion table (the true class)."""
CLASS_LABELS = ("restored", "rebuilt", "left")
"""Columns of the confusion table (restore's classes map): left = untouched or smooth."""


# ------------------------------------------------------------------------------- comparisons


def compare(kind: str, figures: dict[str, dict]) -> dict[str, bool | None]:
    """The issue's per-case comparisons, from every method's figures (label -> figures)."""
    from .cases import REMOVAL_KINDS, RESTORE_KINDS

    restore = figures.get("regrain restore") or {}
    out: dict[str, bool | None] = {"vs freq. sep.": None, "vs AI leak": None}
    fs = figures.get("freq. sep. r4") or {}
    if kind in RESTORE_KINDS and restore and fs:
        ok = True
        if restore.get("energy") is not None and fs.get("energy") is not None:
            ok &= abs(restore["energy"] - 1) <= abs(fs["energy"] - 1) + TOLERANCE
        if restore.get("fidelity") is not None and fs.get("fidelity") is not None:
            ok &= restore["fidelity"] >= fs["fidelity"] - TOLERANCE
        out["vs freq. sep."] = bool(ok)
    ai = figures.get("AI output") or {}
    if kind in REMOVAL_KINDS and restore.get("leak") is not None and ai.get("leak") is not None:
        out["vs AI leak"] = bool(abs(restore["leak"]) <= abs(ai["leak"]) + TOLERANCE)
    return out


# ------------------------------------------------------------------------ texture statistics


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, *, projections: int = PROJECTIONS,
                       seed: int = 0) -> float:  # fmt: skip
    """Sliced Wasserstein-1 distance between two equal-size samples (n, d) of patches."""
    if a.shape != b.shape:
        raise ValueError(f"samples must have the same shape; got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((a.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    pa = np.sort(a.astype(np.float64) @ directions, axis=0)
    pb = np.sort(b.astype(np.float64) @ directions, axis=0)
    return float(np.abs(pa - pb).mean())


def kurtosis(values: np.ndarray) -> float:
    """Pearson kurtosis E[(x - mean)^4] / var^2 (3 for a Gaussian); nan for a flat sample."""
    v = values.astype(np.float64).ravel()
    v = v - v.mean()
    var = float((v * v).mean())
    return float((v**4).mean() / (var * var)) if var > 0 else float("nan")


def _patches(band: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    r = PATCH // 2
    padded = np.pad(band, r, mode="reflect")
    offsets = np.arange(PATCH)
    rows = (ys[:, None] + offsets[None, :])[:, :, None]
    cols = (xs[:, None] + offsets[None, :])[:, None, :]
    return padded[rows, cols].reshape(len(ys), -1)


def _bands(image: np.ndarray) -> list[np.ndarray]:
    from .cases import blur

    y = luma(image)
    out = []
    for s0, s1 in BANDS:
        lo = y if s0 == 0 else blur(y, s0)
        out.append(lo - blur(y, s1))
    return out


def texture_statistics(output: np.ndarray, zone: np.ndarray, ring: np.ndarray,
                       clean: np.ndarray, *, truth: np.ndarray | None = None,
                       seed: int = 0) -> dict[str, float] | None:  # fmt: skip
    """SWD and kurtosis distances of *output*'s *zone* to its clean *ring*, with floors.

    The floor is the same distance for a displaced copy of the zone: the zone's own shape moved
    onto clean pixels of the photo (*clean*, bool (H, W)) whose high-band RMS is closest to the
    ring's, so that it holds what the zone's figure holds besides the texture itself: the
    sampling noise of ``n`` patches and how much the photo's texture varies from place to place.
    :data:`DRAWS` displaced copies (the closest in RMS), each with its own reference sample.
    With *truth* (the case's ground truth), the floor is the larger of that and the distance the
    clean texture hidden under the zone itself reaches (the truth's zone, same samples): a
    rebuild is not asked to be closer to the surroundings than the photo's own texture there.
    None when the zone has under 16 pixels or no displaced copy fits.
    """
    zy, zx = np.nonzero(zone)
    ry, rx = np.nonzero(ring)
    n = min(len(zy), MAX_PATCHES)
    if n < 16 or len(ry) < 2 * n:
        return None
    high = rq.high_band(output)
    shifts = _displacements(zone, ring, clean, high)
    if not shifts:
        return None
    bands = _bands(output)
    t_high = rq.high_band(truth) if truth is not None else None
    t_bands = _bands(truth) if truth is not None else None
    hidden, hidden_k = [], []
    rng = np.random.default_rng(seed)
    zi = rng.choice(len(zy), n, replace=False)
    # a zone thinner than a patch (a scratch) would mostly sample the untouched texture next to
    # it: every patch keeps only the zone's pixels, and each reference patch is cut to the same
    # pattern as its zone patch, so that both sides hold the same pixels in the same places
    cut = _patches(zone.astype(np.float32), zy[zi], zx[zi])
    swd, swd_floor, kur, kur_floor = [], [], [], []
    for draw, (dy, dx) in enumerate(shifts):
        sy, sx = zy[zi] + dy, zx[zi] + dx
        moved = np.zeros_like(zone)
        moved[zy + dy, zx + dx] = True
        keep = ~moved[ry, rx]
        pool_y, pool_x = ry[keep], rx[keep]
        if len(pool_y) < n:
            continue
        ri = np.random.default_rng([seed, draw]).choice(len(pool_y), n, replace=False)
        ay, ax = pool_y[ri], pool_x[ri]
        ref = _patches(high, ay, ax) * cut
        z_p = _patches(high, zy[zi], zx[zi]) * cut
        swd.append(sliced_wasserstein(z_p, ref, seed=draw))
        swd_floor.append(sliced_wasserstein(_patches(high, sy, sx) * cut, ref, seed=draw))
        kr = [kurtosis(b[ay, ax]) for b in bands]
        kur.append(_log_distance([kurtosis(b[zy[zi], zx[zi]]) for b in bands], kr))
        kur_floor.append(_log_distance([kurtosis(b[sy, sx]) for b in bands], kr))
        if t_high is not None:
            t_ref = _patches(t_high, ay, ax) * cut
            t_zone = _patches(t_high, zy[zi], zx[zi]) * cut
            hidden.append(sliced_wasserstein(t_zone, t_ref, seed=draw))
            tk = [kurtosis(b[ay, ax]) for b in t_bands]
            hidden_k.append(_log_distance([kurtosis(b[zy[zi], zx[zi]]) for b in t_bands], tk))
    if not swd:
        return None
    out = {
        "swd": float(np.mean(swd)),
        "swd_floor": float(np.mean(swd_floor)),
        "kurtosis": float(np.nanmean(kur)),
        "kurtosis_floor": float(np.nanmean(kur_floor)),
        "patches": n,
        "draws": len(swd),
    }
    if hidden:
        out["swd_displaced"], out["kurtosis_displaced"] = out["swd_floor"], out["kurtosis_floor"]
        out["swd_floor"] = max(out["swd_floor"], float(np.mean(hidden)))
        out["kurtosis_floor"] = max(out["kurtosis_floor"], float(np.nanmean(hidden_k)))
    out["swd_ratio"] = out["swd"] / out["swd_floor"] if out["swd_floor"] > 0 else float("inf")
    out["kurtosis_ratio"] = (
        out["kurtosis"] / out["kurtosis_floor"] if out["kurtosis_floor"] > 0 else float("inf")
    )
    out["met"] = bool(out["swd_ratio"] <= TEXTURE_GOAL and out["kurtosis_ratio"] <= TEXTURE_GOAL)
    return out


def _displacements(zone, ring, clean, high) -> list[tuple[int, int]]:
    """Up to DRAWS shifts that move *zone* wholly onto *clean*, closest to the ring's RMS."""
    h, w = zone.shape
    zy, zx = np.nonzero(zone)
    extent = max(zy.max() - zy.min(), zx.max() - zx.min()) + PATCH
    target = float(np.sqrt(np.mean(high[ring] ** 2)))
    found = []
    for step in (1.0, 1.5, 2.0, 3.0):
        for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
            dy, dx = round(step * extent * np.sin(angle)), round(step * extent * np.cos(angle))
            y, x = zy + dy, zx + dx
            if y.min() < 0 or x.min() < 0 or y.max() >= h or x.max() >= w:
                continue
            if not clean[y, x].all():
                continue
            rms = float(np.sqrt(np.mean(high[y, x] ** 2)))
            found.append((abs(np.log(max(rms, 1e-9) / max(target, 1e-9))), step, dy, dx))
    found.sort()
    return [(dy, dx) for _, _, dy, dx in found[:DRAWS]]


def _log_distance(a: list[float], b: list[float]) -> float:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    if not pairs:
        return float("nan")
    return float(np.mean([abs(np.log(x / y)) for x, y in pairs]))


def rebuilt_zone(case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(zone, ring, clean) of a rebuild case: the filled hole; a ring :data:`RING` px around it
    that no defect, object or feathered edge touches; every such clean pixel of the photo."""
    from .cases import TRUE_CLASS, _dilate

    zone = case.classes == TRUE_CLASS["rebuild"]
    clean = ~_dilate(zone, RING[0]) & (case.classes == TRUE_CLASS["untouched"])
    ring = _dilate(zone, RING[1]) & clean
    return zone, ring, clean


# -------------------------------------------------------------------------------- confusion


def confusion(true_classes: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """4 x 3 pixel counts: rows the true class (restore, rebuild, smooth, untouched), columns
    restore's classes map (restored, rebuilt, left = untouched or smooth). Feathered-edge pixels
    (255) are left out."""
    keep = true_classes != 255
    t = np.array([3, 0, 1, 2], np.int64)[np.clip(true_classes[keep].astype(np.int64), 0, 3)]
    p = np.array([2, 0, 1, 2], np.int64)[np.clip(np.rint(predicted[keep]).astype(np.int64), 0, 3)]
    table = np.zeros((4, 3), np.int64)
    np.add.at(table, (t, p), 1)
    return table
