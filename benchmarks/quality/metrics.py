"""Figures beyond regrain._quality's: the issue's comparisons, texture statistics of rebuilt zones,
and the confusion of restore's classes with the true ones.

**Comparisons** (per case): where the original texture is the right answer (retone, glare,
regeneration) restore must be at least as good as frequency separation: ``|energy - 1|`` no worse
and fidelity no lower, each within :data:`TOLERANCE`; where something was removed (defect,
replaced, smooth) restore's ``|leak|`` must be no worse than the AI output's, within the same.

**Texture statistics** (rebuilt zones): is what fills the hole the material, or noise with the
right RMS? Two distances between the zone's high band and the clean surroundings' (a ring
:data:`RING` px around the hole), each printed next to its *floor*, the same distance between two
disjoint samples of those clean surroundings (same counts, so the floor holds the sampling noise
the zone's figure holds):

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
MAX_PATCHES = 400
DRAWS = 3
RING = (6, 40)
BANDS = ((0.0, 1.0), (1.0, 2.0), (2.0, 4.0))
"""Band-pass scales (sigma pairs, px) for kurtosis: luma blurred at the first minus the second."""
TEXTURE_GOAL = 1.5

CLASS_LABELS = ("restore", "rebuild", "left")
"""Rows and columns of the confusion table: left = untouched or smooth."""


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


def texture_statistics(output: np.ndarray, zone: np.ndarray, clean_area: np.ndarray,
                       *, seed: int = 0) -> dict[str, float] | None:  # fmt: skip
    """SWD and kurtosis distances of *output*'s zone vs *output*'s clean area, with floors.

    *zone* and *clean_area* are bool (H, W). None when the zone has under 16 pixels or the clean
    area under twice the zone's sample.
    """
    zy, zx = np.nonzero(zone)
    cy, cx = np.nonzero(clean_area)
    n = min(len(zy), MAX_PATCHES)
    if n < 16 or len(cy) < 2 * n:
        return None
    high = rq.high_band(output)
    bands = _bands(output)
    swd, swd_floor, kur, kur_floor = [], [], [], []
    for draw in range(DRAWS):
        rng = np.random.default_rng([seed, draw])
        zi = rng.choice(len(zy), n, replace=False)
        ci = rng.permutation(len(cy))[: 2 * n]
        a_i, b_i = ci[:n], ci[n:]
        z = _patches(high, zy[zi], zx[zi])
        ref = _patches(high, cy[a_i], cx[a_i])
        other = _patches(high, cy[b_i], cx[b_i])
        swd.append(sliced_wasserstein(z, ref, seed=draw))
        swd_floor.append(sliced_wasserstein(other, ref, seed=draw))
        kz = [kurtosis(b[zy[zi], zx[zi]]) for b in bands]
        kr = [kurtosis(b[cy[a_i], cx[a_i]]) for b in bands]
        ko = [kurtosis(b[cy[b_i], cx[b_i]]) for b in bands]
        kur.append(_log_distance(kz, kr))
        kur_floor.append(_log_distance(ko, kr))
    out = {
        "swd": float(np.mean(swd)),
        "swd_floor": float(np.mean(swd_floor)),
        "kurtosis": float(np.mean(kur)),
        "kurtosis_floor": float(np.mean(kur_floor)),
        "patches": n,
    }
    out["swd_ratio"] = out["swd"] / out["swd_floor"] if out["swd_floor"] > 0 else float("inf")
    out["kurtosis_ratio"] = (
        out["kurtosis"] / out["kurtosis_floor"] if out["kurtosis_floor"] > 0 else float("inf")
    )
    out["met"] = bool(out["swd_ratio"] <= TEXTURE_GOAL and out["kurtosis_ratio"] <= TEXTURE_GOAL)
    return out


def _log_distance(a: list[float], b: list[float]) -> float:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    if not pairs:
        return float("nan")
    return float(np.mean([abs(np.log(x / y)) for x, y in pairs]))


def rebuilt_zone(case) -> tuple[np.ndarray, np.ndarray]:
    """(zone, clean area) of a rebuild case: the filled hole, and a ring around it that no
    defect, object or feathered edge touches."""
    from .cases import TRUE_CLASS, _dilate

    zone = case.classes == TRUE_CLASS["rebuild"]
    near = _dilate(zone, RING[0])
    far = _dilate(zone, RING[1])
    clean = far & ~near & (case.classes == TRUE_CLASS["untouched"])
    return zone, clean


# -------------------------------------------------------------------------------- confusion


def confusion(true_classes: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """3 x 3 pixel counts: rows true (restore, rebuild, left), columns restore's classes map
    (restored, rebuilt, left = untouched or smooth). Feathered-edge pixels (255) are left out."""
    keep = true_classes != 255
    t = _group(true_classes[keep])
    p = _group(np.rint(predicted[keep]).astype(np.int64))
    table = np.zeros((3, 3), np.int64)
    np.add.at(table, (t, p), 1)
    return table


def _group(classes: np.ndarray) -> np.ndarray:
    """0 untouched / 3 smooth -> 2 (left); 1 restored -> 0; 2 rebuilt -> 1."""
    lookup = np.array([2, 0, 1, 2], np.int64)
    return lookup[np.clip(classes.astype(np.int64), 0, 3)]
