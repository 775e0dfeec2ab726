"""restore on files: read a pair, restore it, write the result and its maps.

The core (:mod:`regrain._restore`) works on arrays; this module is the I/O edge around it, used by
``regrain restore``, ``regrain inspect`` and the batch workers.
"""

from __future__ import annotations

import os
import time

from regrain._restore import MAX_GLARE_GAIN, RestoreResult, restore
from regrain.io import DEFAULT_MAX_PIXELS

__all__ = ["read_pair", "restore_file", "write_maps"]


def read_pair(
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
):
    """Read an (original, edited) pair as float32 images that cover the same pixels in the same
    colour kind; return ``(original, edited, edited's ImageInfo)``. Both files are read at once
    (decoding and the float conversion release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from regrain import io

    with ThreadPoolExecutor(2) as pool:
        reading = [pool.submit(io.read_image, p, max_pixels=max_pixels) for p in (original, edited)]
        (orig, _), (edit, info) = (job.result() for job in reading)
    if orig.shape[:2] != edit.shape[:2]:
        raise io.ImageFileError(
            edited,
            f"edited image is {edit.shape[1]}x{edit.shape[0]} px but the original "
            f"{original} is {orig.shape[1]}x{orig.shape[0]} px",
        )
    if orig.shape[2] != edit.shape[2]:
        kinds = {1: "grayscale", 3: "RGB"}
        raise io.ImageFileError(
            edited,
            f"edited image is {kinds.get(edit.shape[2], edit.shape[2])} but the original "
            f"{original} is {kinds.get(orig.shape[2], orig.shape[2])}; convert one to match",
        )
    return orig, edit, info


def restore_file(
    original: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mask: str | os.PathLike[str] | None = None,
    maps_dir: str | os.PathLike[str] | None = None,
    material: str = "auto",
    seed: int = 0,
    strength: float = 1.0,
    bits: int | None = None,
    quality: int = 95,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict:
    """Read a pair, restore it, write *output* atomically (the edited file's kind, depth, ICC).

    Returns the figures a catalog sorts by (see :attr:`RestoreResult.figures`: share of the area
    gone plastic and texture energy ratio, before and after) and the seconds it took.
    """
    from regrain import io

    start = time.perf_counter()
    io.check_output_path(output, [original, edited])
    orig, edit, info = read_pair(original, edited, max_pixels=max_pixels)
    m = io.read_mask(mask, edit.shape, max_pixels=max_pixels) if mask is not None else None
    result = restore(orig, edit, mask=m, material=material, seed=seed, strength=strength)
    if maps_dir is not None:  # first: an existing output means the pair is finished
        write_maps(maps_dir, result, info, inputs=[original, edited])
    io.write_image(
        output, result.image, info, bits=bits, quality=quality, inputs=[original, edited]
    )
    out = dict(result.figures)
    out["seconds"] = time.perf_counter() - start
    return out


def write_maps(
    folder: str | os.PathLike[str], result: RestoreResult, info, *, inputs=()
) -> list[str]:
    """Write the restore maps as 8-bit PNGs into *folder*: ``changed.png`` and ``rebuild.png`` as
    plain gray masks, ``loss.png``, ``gain.png`` and ``classes.png`` as pictures with their legend
    drawn on them (see :mod:`regrain._pictures`). Gray maps carry no ICC profile, RGB ones sRGB."""
    from pathlib import Path

    from regrain import _pictures, io
    from regrain._restore import CLASS_NAMES

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = info.with_(format="png", bits=8, alpha=None, exif=None, xmp=None)
    pictures = {
        "changed": result.map("changed")[..., None],
        "rebuild": result.map("rebuild")[..., None],
        "loss": _pictures.loss_map_picture(result.map("loss")),
        "gain": _pictures.gain_picture(result.map("gain"), top=MAX_GLARE_GAIN),
        "classes": _pictures.classes_picture(result.map("classes"), CLASS_NAMES),
    }
    written = []
    for name, picture in pictures.items():
        path = folder / f"{name}.png"
        icc = _pictures.picture_icc(picture.shape[2])
        io.write_image(path, picture, plain.with_(icc=icc), bits=8, inputs=inputs)
        written.append(str(path))
    return written
