"""Where did the AI take texture away? Band energies of an (original, edited) pair.

Texture lives in the high band: the difference between an image and its Gaussian blur. The AI's
smoothing shows as local high-band energy of the edited image falling below the original's. This
module measures that at a few scales and reports it as a map a retoucher reads at a glance and
as figures a catalog can sort by (:func:`inspect`); :mod:`regrain._restore` builds on the same
measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regrain._checks import as_mask, check_image, check_same_size
from regrain._filters import gaussian_blur
from regrain._grid import analysis_factor, downsample, grid_shape, touched_pixels
from regrain._luma import LUMA_WEIGHTS, luma
from regrain._pictures import render_loss_map  # the picture and its legend live in _pictures

__all__ = ["LUMA_WEIGHTS", "TextureReport", "inspect", "luma", "render_loss_map"]

INSPECT_SCALES = (1.0, 2.0, 4.0)
"""Band edges of inspect's bands, px: band k is blur(s[k-1]) - blur(s[k]), with blur(0) = image."""

PLASTIC_LOSS = 0.5
"""A pixel 'went plastic' when it lost at least half of its high-band energy (RMS)."""


@dataclass
class TextureReport:
    """How much texture an edit removed, and where.

    ``loss`` is the texture-loss map (H', W') on the analysis grid: 0 = texture kept, 1 = all of the
    original's high-band energy gone. ``plastic_share`` is the share of the image area that lost at
    least half of its texture; ``changed_share`` the share the edit touched at all.
    ``energy_ratio`` maps each band (``"1-2px"`` ...) to the edited/original RMS ratio over the
    changed area (1.0 = texture intact). ``regions`` lists the worst plastic areas, largest first,
    with their boxes in full-resolution pixels.
    """

    loss: np.ndarray = field(repr=False)
    factor: int
    plastic_share: float
    changed_share: float
    energy_ratio: dict[str, float]
    regions: list[dict]

    def figures(self) -> dict:
        """The report's figures as plain JSON-ready values."""
        return {
            "plastic_share": round(self.plastic_share, 4),
            "changed_share": round(self.changed_share, 4),
            "energy_ratio": {k: round(v, 3) for k, v in self.energy_ratio.items()},
            "regions": self.regions,
        }


PLASTIC_FLOOR = 0.5 / 255
"""An original with less texture than this (RMS) had none to lose: such cells never count as
plastic (half an 8-bit level, restore's noise floor)."""


def texture_loss(eo2: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Share of the original's texture (RMS) missing, per cell: ``1 - sqrt(e2 / eo2)`` clipped to
    [0, 1], 0 where the original had no texture (below :data:`PLASTIC_FLOOR`)."""
    floor2 = np.float32(PLASTIC_FLOOR**2)
    ratio = np.sqrt(e2 / np.maximum(eo2, floor2))
    return np.where(eo2 > floor2, np.clip(1.0 - ratio, 0.0, 1.0), 0.0).astype(np.float32)


def plastic_share(loss: np.ndarray, cells: np.ndarray, area_cells: int) -> float:
    """The one definition of "went plastic": the share of the image area (*area_cells* cells: the
    whole grid, or the mask's) whose changed *cells* lost at least :data:`PLASTIC_LOSS` of their
    texture. restore, inspect, the report and the batch summary all report this figure."""
    return float(((loss >= PLASTIC_LOSS) & cells).sum()) / max(1, int(area_cells))


def worst_regions(loss: np.ndarray, factor: int, limit: int = 5) -> list[dict]:
    """The plastic areas of a loss map, worst first (area x mean loss), boxes in full-resolution
    px: ``{"box": [x, y, w, h], "area_px": n, "mean_loss": m}``."""
    import cv2

    plastic = loss >= PLASTIC_LOSS
    closed = cv2.morphologyEx(plastic.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    regions = []
    if count > 1:
        sums = np.bincount(labels.ravel(), loss.ravel(), minlength=count)
        for label in range(1, count):
            x, y, w, h, n = (int(v) for v in stats[label])
            regions.append(
                {
                    "box": [x * factor, y * factor, w * factor, h * factor],
                    "area_px": n * factor * factor,
                    "mean_loss": round(float(sums[label] / n), 3),
                }
            )
    regions.sort(key=lambda r: r["area_px"] * r["mean_loss"], reverse=True)
    return regions[:limit]


def _bands(y: np.ndarray, scales: tuple[float, ...]) -> list[np.ndarray]:
    out = []
    previous = y
    for radius in scales:
        blurred = gaussian_blur(y, radius)
        out.append(previous - blurred)
        previous = blurred
    return out


def inspect(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    scales: tuple[float, ...] = INSPECT_SCALES,
    max_regions: int = 5,
) -> TextureReport:
    """Measure where and how much high-band texture *edited* lost against *original*.

    Both images are float32 (H, W, C) in [0, 1] of the same size. Local band energy is the RMS of
    each band of the luminosity over a window twice the band's scale; the loss map compares the
    summed energies. Pixels where the original had no texture (RMS below a quarter of an
    8-bit level) cannot lose any and count as 0. *mask* limits the figures to its white area.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> photo = (0.5 + 0.05 * rng.standard_normal((64, 64, 1))).astype(np.float32)
    >>> flat = np.full_like(photo, 0.5)
    >>> inspect(photo, flat).plastic_share
    1.0
    """

    check_image(original, "original")
    check_image(edited, "edited")
    check_same_size(original, edited, ("original", "edited"))
    weight = as_mask(mask, edited)
    factor = analysis_factor(original.shape)
    touched = touched_pixels(original, edited)
    grid = grid_shape(original.shape, factor)
    inside = np.ones(grid, bool) if weight is None else downsample(weight[..., 0], factor) > 0.5
    loss = np.zeros(grid, np.float32)
    changed = np.zeros(grid, bool)
    ratios = {}
    lower = 0.0
    for radius in scales:
        ratios[f"{lower:g}-{radius:g}px"] = 1.0
        lower = radius

    from regrain._materials import MATERIALS
    from regrain._restore import _work_box
    from regrain._restore.analysis import analyse
    from regrain._restore.classify import edited_cells

    if weight is not None:
        touched &= weight[..., 0] > 0
    box = _work_box(touched, factor, MATERIALS["auto"])
    if box is not None:
        # the same crop, bands and edited cells as restore: one definition of "went plastic"
        a = analyse(original[box], edited[box], touched[box], MATERIALS["auto"], factor)
        cells = edited_cells(a)
        y0, x0 = box[0].start // factor, box[1].start // factor
        ph, pw = min(a.grid[0], grid[0] - y0), min(a.grid[1], grid[1] - x0)
        here = (slice(y0, y0 + ph), slice(x0, x0 + pw))
        changed[here] = cells[:ph, :pw] & inside[here]
        loss[here] = np.where(changed[here], texture_loss(a.eo2, a.ee2)[:ph, :pw], 0.0)
        part = _measure(original[box], edited[box], touched[box], factor, scales)
        ratios = part["ratios"](changed[here])

    plastic_share_ = plastic_share(loss, changed, int(inside.sum()))
    regions = worst_regions(loss, factor, max_regions)
    return TextureReport(
        loss=loss,
        factor=factor,
        plastic_share=plastic_share_,
        changed_share=float(changed.sum()) / max(1, int(inside.sum())),
        energy_ratio=ratios,
        regions=regions,
    )


def _measure(
    original: np.ndarray,
    edited: np.ndarray,
    touched: np.ndarray,
    factor: int,
    scales: tuple[float, ...],
) -> dict:
    """Band energies of one crop: its changed cells, its loss map, and a function giving the
    per-band energy ratios over a set of changed cells."""
    yo, ye = luma(original), luma(edited)
    # a cell counts as changed when most of its pixels differ at all
    changed = downsample(touched.astype(np.float32), factor) >= 0.5
    eo_total = np.zeros(changed.shape, np.float32)
    ee_total = np.zeros(changed.shape, np.float32)
    raw = []
    lower = 0.0
    for radius, bo, be in zip(scales, _bands(yo, scales), _bands(ye, scales), strict=True):
        eo = downsample(bo * bo, factor)
        ee = downsample(be * be, factor)
        raw.append((f"{lower:g}-{radius:g}px", eo, ee))  # ratios sum the raw energies
        win = max(1.0, 2.0 * radius / factor)  # the map smooths them locally
        eo_total += gaussian_blur(eo, win)
        ee_total += gaussian_blur(ee, win)
        lower = radius

    def ratios(cells: np.ndarray) -> dict[str, float]:
        out = {}
        for name, eo, ee in raw:
            total = float(eo[: cells.shape[0], : cells.shape[1]][cells].sum())
            kept = float(ee[: cells.shape[0], : cells.shape[1]][cells].sum())
            out[name] = float(np.sqrt(kept / total)) if total > 0 else 1.0
        return out

    floor = (0.25 / 255.0) ** 2
    textured = eo_total > floor
    ratio = np.sqrt(ee_total / np.maximum(eo_total, floor))
    loss = np.where(textured, np.clip(1.0 - ratio, 0.0, 1.0), 0.0).astype(np.float32)
    return {"changed": changed, "loss": loss, "ratios": ratios}
