"""Contact sheets: one PNG per case, to look at what the figures summarise.

Panels, left to right: the whole frame with the zoom box, then zoomed 2x (nearest neighbour, so
texture is not smoothed by the display) on the worst place (where restore's output differs most
from the truth, luma blurred at 6 px, within 16 px of the change): original, AI edit, restored,
truth, restore's classes map, the true classes. Colours: untouched dark gray, restored green,
rebuilt orange, smooth blue, feathered edge mid gray.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ZOOM = 2
WINDOW = 128
COLOURS = {
    0: (45, 45, 45),
    1: (60, 180, 75),
    2: (245, 130, 48),
    3: (0, 130, 200),
    255: (128, 128, 128),
}


def worst_window(restored, truth, region, size: int = WINDOW) -> tuple[int, int, int]:
    """(y0, x0, size) of the window where *restored* is farthest from *truth*."""
    from regrain._luma import luma

    from .cases import _dilate, blur

    h, w = region.shape
    size = min(size, h, w)
    err = blur(np.abs(luma(restored) - luma(truth)), 6.0)
    near = _dilate(region > 0, 16)
    err = np.where(near, err, -1.0)
    y, x = np.unravel_index(int(np.argmax(err)), err.shape)
    y0 = int(np.clip(y - size // 2, 0, h - size))
    x0 = int(np.clip(x - size // 2, 0, w - size))
    return y0, x0, size


def _rgb(image: np.ndarray) -> np.ndarray:
    image = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def _classes_rgb(classes: np.ndarray) -> np.ndarray:
    out = np.zeros((*classes.shape, 3), np.uint8)
    for value, colour in COLOURS.items():
        out[np.rint(classes).astype(np.int64) == value] = colour
    return out


def write(path: Path, title: str, panels: dict[str, np.ndarray], classes: dict[str, np.ndarray],
          region: np.ndarray, restored: np.ndarray, truth: np.ndarray) -> Path:  # fmt: skip
    """Write the sheet for one case to *path* (PNG); returns the path."""
    from PIL import Image, ImageDraw

    y0, x0, size = worst_window(restored, truth, region)
    tile = size * ZOOM
    label_h, title_h = 16, 18
    frame = next(iter(panels.values()))
    h, w = frame.shape[:2]
    scale = tile / max(h, w)
    n = 1 + len(panels) + len(classes)
    sheet = Image.new("RGB", (n * (tile + 4) + 4, tile + label_h + title_h + 6), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), title, fill=(0, 0, 0))

    overview = Image.fromarray(_rgb(frame)).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
    )
    od = ImageDraw.Draw(overview)
    edge = np.argwhere(_outline(region > 0))
    for yy, xx in edge[:: max(1, len(edge) // 4000)]:
        od.point((xx * scale, yy * scale), fill=(255, 0, 255))
    od.rectangle(
        [x0 * scale, y0 * scale, (x0 + size) * scale, (y0 + size) * scale], outline=(255, 255, 0)
    )
    items = [("frame (zoom box)", overview)]
    for label, image in panels.items():
        crop = _rgb(image[y0 : y0 + size, x0 : x0 + size])
        items.append((label, Image.fromarray(crop).resize((tile, tile), Image.Resampling.NEAREST)))
    for label, plane in classes.items():
        crop = _classes_rgb(plane[y0 : y0 + size, x0 : x0 + size])
        items.append((label, Image.fromarray(crop).resize((tile, tile), Image.Resampling.NEAREST)))
    for i, (label, im) in enumerate(items):
        x = 4 + i * (tile + 4)
        draw.text((x, title_h), label, fill=(0, 0, 0))
        sheet.paste(im, (x, title_h + label_h))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def _outline(mask: np.ndarray) -> np.ndarray:
    from .cases import _dilate

    return _dilate(mask, 1) & ~mask
