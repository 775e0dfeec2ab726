"""The report's pictures of one pair: thumbnails, 100% crops and map thumbnails, in sRGB.

Made from the files as written: the original, the AI edit, the restored output (read at full
resolution, converted from each file's ICC profile with :func:`regrain._pictures.to_srgb8`) and
the maps restore wrote (``loss.png``, ``classes.png``). ``pictures.json`` says what they were made
from, so a rebuilt report remakes only the pairs whose output changed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["THUMB_PX", "pair_pictures", "pictures_meta"]

THUMB_PX = 640
"""Long side of the report's thumbnails, px (two side by side fill a laptop screen's width)."""

META = "pictures.json"


def _stat(path: Path | str | None) -> dict[str, int] | None:
    from regrain._batch_state import output_stat

    return None if path is None else output_stat(Path(path))


def pictures_meta(folder: Path) -> dict[str, Any] | None:
    """What :func:`pair_pictures` wrote into *folder*, or None."""
    try:
        meta = json.loads((Path(folder) / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def pair_pictures(
    folder: str | os.PathLike[str],
    *,
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    output: str | os.PathLike[str],
    maps_dir: str | os.PathLike[str] | None = None,
    worst_box: list[int] | None = None,
    max_pixels: int | None = None,
) -> dict[str, Any]:
    """Write the report's pictures of one pair into *folder*; return what ``pictures.json`` says.

    ``edited.jpg`` and ``restored.jpg`` (:data:`THUMB_PX` px long side), ``crop-edited.png``,
    ``crop-restored.png`` and ``crop-original.png`` (a 100% crop of *worst_box*, restore's region
    that lost the most texture; without it, of the worst area of ``maps_dir/loss.png``; without
    maps, of where the restore changed the AI edit most), ``loss.png`` and ``classes.png`` (the maps
    at thumbnail size, when *maps_dir* has them). All 8-bit sRGB; every file written atomically.
    """
    import numpy as np

    from regrain import io
    from regrain._pictures import crop_box, to_srgb8

    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    limits = {} if max_pixels is None else {"max_pixels": max_pixels}
    files: dict[str, str] = {}

    restored, info = io.read_image(output, **limits)
    h, w = restored.shape[:2]
    size = _thumb_size(w, h)
    loss = _read_map(maps_dir, "loss", (h, w))
    if worst_box is not None:
        box_from = "restore"
        box = crop_box(worst_box, (h, w))
    elif loss is not None:
        box_from = "loss map"
        box = crop_box(_worst_area(loss[..., 0]), (h, w))
    else:
        box_from = None  # decided below, from the AI edit and the restored image
        box = None

    edited_image, edited_info = io.read_image(edited, **limits)
    if box is None:
        box_from = "largest change"
        diff = (
            np.abs(restored - edited_image).max(axis=2)
            if edited_image.shape == restored.shape
            else None
        )
        box = crop_box(None if diff is None else _worst_area(diff), (h, w))
    for name, image, meta in (("edited", edited_image, edited_info), ("restored", restored, info)):
        _save(folder / f"{name}.jpg", to_srgb8(_shrink(image, size), meta.icc))
        _save(folder / f"crop-{name}.png", to_srgb8(_cut(image, box), meta.icc))
        files[name] = f"{name}.jpg"
        files[f"crop-{name}"] = f"crop-{name}.png"
    del edited_image, restored
    original_image, original_info = io.read_image(original, **limits)
    _save(folder / "crop-original.png", to_srgb8(_cut(original_image, box), original_info.icc))
    files["crop-original"] = "crop-original.png"
    del original_image

    if loss is not None:
        _save(folder / "loss.png", _shrink_map(loss, size, nearest=False))
        files["loss"] = "loss.png"
    classes = _read_map(maps_dir, "classes", (h, w))
    if classes is not None:
        _save(folder / "classes.png", _shrink_map(classes, size, nearest=True))
        files["classes"] = "classes.png"

    meta = {
        "made_from": {
            "output": _stat(output),
            "edited": _stat(edited),
            "maps": str(maps_dir or ""),
        },
        "size": [w, h],
        "crop": list(box),
        "crop_from": box_from,
        "files": files,
        "seconds": round(time.perf_counter() - start, 3),
    }
    from regrain._batch_state import write_json

    write_json(folder / META, meta)
    return meta


def _thumb_size(w: int, h: int) -> tuple[int, int]:
    scale = min(1.0, THUMB_PX / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _shrink(image, size: tuple[int, int]):
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return image
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small[..., None] if small.ndim == 2 else small


def _cut(image, box: tuple[int, int, int, int]):
    x, y, cw, ch = box
    return image[y : y + ch, x : x + cw]


def _shrink_map(picture, size: tuple[int, int], *, nearest: bool):
    """A map picture (uint8-valued float32 (H, W, 1|3)) at thumbnail size as uint8 RGB."""
    import cv2
    import numpy as np

    eight = (picture * 255 + 0.5).astype(np.uint8)
    method = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    small = cv2.resize(eight, size, interpolation=method)
    small = small[..., None] if small.ndim == 2 else small
    return np.repeat(small, 3, axis=2) if small.shape[2] == 1 else small


def _read_map(maps_dir, name: str, shape: tuple[int, int]):
    """Map picture *name*.png of *maps_dir* as float32, or None when absent or of another size."""
    if maps_dir is None:
        return None
    from regrain import io
    from regrain.errors import RegrainError

    path = Path(maps_dir) / f"{name}.png"
    if not path.is_file():
        return None
    try:
        picture, _ = io.read_image(path)
    except RegrainError:
        return None
    return picture if picture.shape[:2] == shape else None


def _worst_area(plane) -> list[int]:
    """The square window (x, y, w, h), 256 px a side or the image's short side, where *plane*
    (H, W) sums highest: the place a 100% crop shows best."""
    import cv2
    import numpy as np

    h, w = plane.shape
    side = min(256, w, h)
    step = max(1, max(h, w) // 512)  # a coarse grid is enough to place a crop
    small = np.ascontiguousarray(plane[::step, ::step], dtype=np.float32)
    window = max(1, side // step)
    summed = cv2.blur(small, (window, window), borderType=cv2.BORDER_CONSTANT)
    # only windows that lie inside the image
    half = window // 2
    inner = summed[
        half : max(half + 1, small.shape[0] - (window - half) + 1),
        half : max(half + 1, small.shape[1] - (window - half) + 1),
    ]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return [int(x * step), int(y * step), side, side]


def _save(path: Path, pixels) -> None:
    """Write 8-bit sRGB (H, W, 3) pixels as JPEG (.jpg) or PNG, tagged sRGB, atomically."""
    from PIL import Image

    from regrain._pictures import srgb_icc
    from regrain.io import atomic_output

    image = Image.fromarray(pixels, "RGB")
    with atomic_output(path) as tmp:
        if path.suffix == ".jpg":
            image.save(tmp, "JPEG", quality=88, icc_profile=srgb_icc())
        else:
            image.save(tmp, "PNG", compress_level=3, icc_profile=srgb_icc())
