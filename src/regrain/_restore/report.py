"""Stage 5 of restore: the result, its maps and the figures a catalog sorts by.

Maps live on the analysis grid (``factor`` px per cell): ``changed`` (share of each cell the AI
edited), ``loss`` (share of the original's texture RMS the AI removed), ``rebuild`` (1 where
texture was synthesised), ``gain`` (glare compensation) and ``classes`` (0 untouched, 1 restored,
2 rebuilt, 3 smooth; :data:`CLASS_NAMES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regrain._checks import check_choice
from regrain._detect import plastic_share, texture_loss, worst_regions
from regrain._filters import gaussian_blur
from regrain._grid import downsample, grid_shape, upsample, upsample_nearest
from regrain._luma import luma
from regrain._restore.analysis import row_strips

__all__ = ["CLASS_NAMES", "RestoreResult", "assemble", "crop_figures", "crop_maps", "unchanged"]

CLASS_NAMES = ("untouched", "restored", "rebuilt", "smooth")


@dataclass
class RestoreResult:
    """The restored image and the maps that explain it.

    ``image`` is float32 (H, W, C) in [0, 1]. ``maps`` holds float32 maps on the analysis grid
    (``factor`` px per cell, see :meth:`map` for full resolution): ``changed``, ``loss``,
    ``rebuild``, ``gain`` and ``classes`` (see the module docstring). ``layers`` (when asked for)
    holds the differences that make the image, see :func:`regrain.restore`.
    """

    image: np.ndarray
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    factor: int = 1
    figures: dict = field(default_factory=dict)
    """``plastic_before``/``plastic_after``: share of the image area (or the mask's) whose texture
    lost at least half its RMS in the restore band, before and after; ``energy_ratio_before`` /
    ``_after``: edited (restored) over original texture RMS in the changed area (1.0 = all
    there); ``share_restored``/``share_rebuilt``/``share_smooth``: the classes' shares of the
    changed area; ``worst_box``: [x, y, w, h] px of the region that lost the most texture, or
    None; ``synthesis``: the method used per rebuilt zone ("spectral", "exemplar")."""
    layers: dict[str, np.ndarray] | None = None

    def map(self, name: str) -> np.ndarray:
        """Map *name* at the image's full resolution, float32 (H, W)."""
        plane = self.maps[check_choice(name, self.maps, "map")]
        shape = self.image.shape[:2]
        if name == "classes":
            return _nearest(plane, shape)
        return upsample(plane, shape)


def _nearest(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A class map at full resolution, each cell over its own pixels."""
    out = np.zeros(shape, np.float32)
    for value in np.unique(plane):
        if value:
            out[upsample_nearest(plane == value, shape)] = value
    return out


def crop_maps(a, regions, gain: np.ndarray) -> dict[str, np.ndarray]:
    """The maps of one crop (its own grid)."""
    changed = regions.changed > 0
    classes = np.zeros(a.grid, np.float32)
    classes[changed] = 1
    classes[regions.smooth & changed] = 3
    classes[regions.rebuild & changed] = 2
    loss = np.where(changed, texture_loss(a.eo2, a.ee2), 0.0).astype(np.float32)
    return {
        "changed": regions.changed,
        "loss": loss,
        "rebuild": (regions.rebuild & changed).astype(np.float32),
        "gain": gain,
        "classes": classes,
    }


def crop_figures(a, regions, result_crop: np.ndarray, *, area_cells: int) -> dict:
    """Texture figures before and after for one crop (*area_cells*: the cells the shares are of)."""
    r, f = a.material.radius, a.factor
    er2 = gaussian_blur(band_energy_cells(result_crop, r, f, a.grid), max(1.0, 2.0 * r / f))
    changed = regions.changed > 0
    out: dict = {}
    for when, energy in (("before", a.ee2), ("after", er2)):
        out[f"plastic_{when}"] = plastic_share(texture_loss(a.eo2, energy), changed, area_cells)
        total = float(a.eo2[changed].sum())
        out[f"energy_ratio_{when}"] = (
            float(np.sqrt(energy[changed].sum() / total)) if total > 0 else 1.0
        )
    n = max(1, int(changed.sum()))
    out["share_rebuilt"] = float((regions.rebuild & changed).sum()) / n if changed.any() else 0.0
    out["share_smooth"] = (
        float((regions.smooth & changed & ~regions.rebuild).sum()) / n if changed.any() else 0.0
    )
    out["share_restored"] = (
        max(0.0, 1.0 - out["share_rebuilt"] - out["share_smooth"]) if changed.any() else 0.0
    )
    worst = worst_regions(np.where(changed, texture_loss(a.eo2, a.ee2), 0.0), f, 1)
    out["worst_box"] = worst[0]["box"] if worst else None
    return out


def band_energy_cells(image: np.ndarray, radius: float, factor: int, grid) -> np.ndarray:
    """Cell means of the squared restore band (luma minus its blur at *radius*) of *image*, on
    *grid*; measured in strips as :func:`.analysis.analyse` is (the same figures as a whole
    plane's, without its full-size planes)."""
    import cv2

    h, w = image.shape[:2]
    reach = int(np.ceil(4.0 * radius))  # gaussian_blur's kernel half-width
    strips = list(row_strips(h, w, factor, reach))
    rows = max(p.stop - p.start for _, _, p, _ in strips)
    y_s, low_s, band_s = (np.empty((rows, w), np.float32) for _ in range(3))
    out = np.zeros(grid, np.float32)
    for cells_rows, _, padded, inner in strips:
        n = padded.stop - padded.start
        y = luma(image[padded], out=y_s[:n])
        band = cv2.subtract(y, gaussian_blur(y, radius, out=low_s[:n]), dst=band_s[:n])[inner]
        small = downsample(cv2.multiply(band, band, dst=y_s[: band.shape[0]]), factor)
        out[cells_rows, : small.shape[1]] = small[:, : grid[1]]
    return out


def unchanged(
    edited: np.ndarray, factor: int, *, keep_layers: bool = False, copy: bool = True
) -> RestoreResult:
    """The result when the AI changed nothing: the edited image itself (a copy unless *copy* is
    False), empty maps."""
    grid = grid_shape(edited.shape, factor)
    empty = np.zeros(grid, np.float32)
    maps = {k: empty for k in ("changed", "loss", "rebuild", "classes")}
    maps["gain"] = empty + 1
    figures = {
        "plastic_before": 0.0,
        "plastic_after": 0.0,
        "energy_ratio_before": 1.0,
        "energy_ratio_after": 1.0,
        "share_restored": 0.0,
        "share_rebuilt": 0.0,
        "share_smooth": 0.0,
        "worst_box": None,
        "synthesis": [],
    }
    layers = _empty_layers(edited.shape) if keep_layers else None
    return RestoreResult(edited.copy() if copy else edited, maps, factor, figures, layers)


def _empty_layers(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    out = {name: np.zeros(shape, np.float32) for name in ("restored", "glare", "rebuilt")}
    for name in ("restored_mask", "rebuilt_mask"):
        out[name] = np.zeros(shape[:2], np.float32)
    return out


def assemble(
    out: np.ndarray,
    box: tuple[slice, slice],
    a,
    regions,
    composed,
    zones: list,
    *,
    area: np.ndarray | None = None,
) -> RestoreResult:
    """The whole image's result: *out* holds the edited image outside the crop and the composed
    crop inside; maps on the whole grid, figures over the image area (or *area*, the mask:
    (H, W) in [0, 1])."""
    from regrain._grid import downsample

    f = a.factor
    grid = grid_shape(out.shape, f)
    cy, cx = box[0].start // f, box[1].start // f
    maps = {}
    for name, plane in crop_maps(a, regions, composed.gain).items():
        canvas = np.full(grid, 1.0 if name == "gain" else 0.0, np.float32)
        ph, pw = min(plane.shape[0], grid[0] - cy), min(plane.shape[1], grid[1] - cx)
        canvas[cy : cy + ph, cx : cx + pw] = plane[:ph, :pw]
        maps[name] = canvas
    area_cells = grid[0] * grid[1] if area is None else int((downsample(area, f) > 0.5).sum())
    figures = crop_figures(a, regions, composed.image, area_cells=area_cells)
    if figures["worst_box"] is not None:
        x, y, w, h = figures["worst_box"]
        figures["worst_box"] = [int(x + box[1].start), int(y + box[0].start), int(w), int(h)]
    figures["synthesis"] = [z.method for z in zones if z.texture is not None]
    layers = None
    if composed.layers is not None:
        layers = _empty_layers(out.shape)
        for name, plane in composed.layers.items():
            layers[name][box] = plane
    return RestoreResult(out, maps, f, figures, layers)
