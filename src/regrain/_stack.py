"""The frequency-separation stacks ``regrain split`` writes and ``regrain merge`` reads back.

A stack is Low + High (or Residual + Detail N..1), bottom first, as :class:`regrain._psd.PsdLayer`
objects. It is stored as a layered PSD (:mod:`regrain._psd`) or as a folder of TIFF layers:
``low.tif`` + ``high.tif``, or ``residual.tif`` + ``detail_1.tif`` .. ``detail_N.tif``, High and
Detail layers on Photoshop's file grid (neutral 128 / 32768, :func:`regrain._bands.high_to_file`).
A folder is written as a set: every layer goes into a temporary folder beside the target first
and is synced to disk, then moved into place, so a failure (a full disk) leaves the old layers as
they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from regrain._checks import check_range
from regrain._psd import PsdLayer
from regrain.errors import ImageFileError, ParameterError

if TYPE_CHECKING:
    from regrain.io import ImageInfo

__all__ = [
    "DETAIL_FILE",
    "HIGH_FILE",
    "LOW_FILE",
    "RESIDUAL_FILE",
    "check_folder_output",
    "folder_names",
    "merge_folder",
    "merge_layer_files",
    "split_stack",
    "stack_file_names",
    "write_folder_stack",
]

LOW_FILE, HIGH_FILE, RESIDUAL_FILE = "low.tif", "high.tif", "residual.tif"
DETAIL_FILE = "detail_{}.tif"


def split_stack(
    image: np.ndarray,
    *,
    radius: float | None = None,
    scales: int | None = None,
    bits: int | None = None,
) -> list[PsdLayer]:
    """Split *image* into the layers of a stack, bottom first, on the *bits* file grid (8/16).

    Low + High with *radius* (px, default 4), or with *scales* a Residual and Detail N..1
    (finest *radius*, default 1, doubling per scale). The largest blur radius must not exceed
    the image's longest side: a blur wider than the picture only flattens it, slowly.
    """
    from regrain._bands import split, split_scales

    radius = (1.0 if scales else 4.0) if radius is None else radius
    radius = check_range(radius, "radius", low=0.0, low_open=True, unit="px")
    side = max(image.shape[:2])
    widest = radius * 2.0 ** ((scales or 1) - 1)
    if widest > side:
        what = f"the coarsest scale's radius ({widest:g} px)" if scales else f"radius {widest:g} px"
        raise ParameterError(
            f"{what} must be at most the image's longest side, {side} px; got radius {radius:g}."
        )
    grid = bits if bits in (8, 16) else None
    if scales:
        details, residual = split_scales(image, scales, radius=radius, bits=grid)
        return [PsdLayer("Residual", residual)] + [
            PsdLayer(f"Detail {k}", details[k - 1], "linear-light") for k in range(scales, 0, -1)
        ]
    low, high = split(image, radius, bits=grid)
    return [PsdLayer("Low", low), PsdLayer("High", high, "linear-light")]


def folder_names(layers: Sequence[PsdLayer]) -> list[str]:
    """The file name of each layer of a stack in a folder, in the stack's order."""
    by_name = {"Low": LOW_FILE, "High": HIGH_FILE, "Residual": RESIDUAL_FILE}
    return [by_name.get(x.name, DETAIL_FILE.format(x.name.split()[-1])) for x in layers]


def stack_file_names(scales: int | None = None) -> list[str]:
    """The files of a folder stack, base first: Low + High, or Residual + Detail N..1."""
    if scales:
        return [RESIDUAL_FILE, *(DETAIL_FILE.format(k) for k in range(scales, 0, -1))]
    return [LOW_FILE, HIGH_FILE]


def check_folder_output(
    folder: str | os.PathLike[str],
    names: Sequence[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Before any work: *folder* can hold a stack of *names* without overwriting an input."""
    from regrain import io

    folder = Path(folder)
    inputs = list(inputs)
    if folder.exists() and not folder.is_dir():
        raise ImageFileError(folder, "is a file, not a folder")
    if not folder.resolve().parent.is_dir():
        raise ImageFileError(folder, f"folder {folder.resolve().parent} does not exist")
    if folder.is_dir():
        for name in names:
            io.check_output_path(folder / name, inputs)
    return folder


def write_folder_stack(
    folder: str | os.PathLike[str],
    layers: Sequence[PsdLayer],
    info: ImageInfo,
    *,
    bits: int,
    inputs: Iterable[str | os.PathLike[str]] = (),
    note: str | dict | None = None,
) -> list[Path]:
    """Write *layers* as TIFFs in *folder* (made if missing) as one set, or not at all.
    *note* is the processing note each file's XMP gets (see :func:`regrain.io.write_image`).

    Each file keeps *info*'s ICC profile and metadata at *bits*; texture layers have no alpha.
    The layers are written and synced in a temporary folder beside *folder*, then renamed into
    it; files of *folder* other than the stack's are left alone. Returns the paths, base first.
    """
    from regrain import io
    from regrain._bands import high_to_file

    inputs = list(inputs)
    names = folder_names(layers)
    folder = check_folder_output(folder, names, inputs)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    except OSError as exc:
        raise ImageFileError(folder, f"cannot write here ({exc.strerror or exc})") from None
    try:
        for layer, name in zip(layers, names, strict=True):
            data, layer_info = layer.image, info
            if layer.mode == "linear-light":
                data, layer_info = high_to_file(data, bits), info.with_(alpha=None)
            written = io.write_image(
                tmp / name, data, layer_info, bits=bits, inputs=inputs, note=note
            )
            _fsync(written)
        _fsync(tmp)
        if not folder.exists():
            os.replace(tmp, folder)  # the whole set appears at once
        else:
            for name in names:
                os.replace(tmp / name, folder / name)
            _fsync(folder)
    except OSError as exc:
        raise ImageFileError(folder, f"cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return [folder / name for name in names]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def merge_folder(
    folder: str | os.PathLike[str], *, max_pixels: int
) -> tuple[np.ndarray, ImageInfo]:
    """Merge the stack split wrote into *folder*: ``(image, info)`` of its base layer."""
    folder = Path(folder)
    if (folder / LOW_FILE).is_file() and (folder / HIGH_FILE).is_file():
        return merge_layer_files([folder / LOW_FILE, folder / HIGH_FILE], max_pixels=max_pixels)
    details = sorted(folder.glob(DETAIL_FILE.format("*")))
    if (folder / RESIDUAL_FILE).is_file() and details:
        return merge_layer_files([folder / RESIDUAL_FILE, *details], max_pixels=max_pixels)
    found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
    raise ImageFileError(
        folder,
        f"no {LOW_FILE} + {HIGH_FILE} (or {RESIDUAL_FILE} + detail_N.tif) to merge; "
        f"it holds: {found}",
    )


def merge_layer_files(
    paths: Sequence[str | os.PathLike[str]], *, max_pixels: int
) -> tuple[np.ndarray, ImageInfo]:
    """Lay texture files (the rest) over a base file (the first) in Linear Light."""
    from regrain import io
    from regrain._bands import high_from_file, merge, merge_scales

    paths = [Path(p) for p in paths]
    base, info = io.read_image(paths[0], max_pixels=max_pixels)
    highs = []
    icc = info.icc
    for path in paths[1:]:
        layer, layer_info = io.read_image(path, max_pixels=max_pixels)
        if layer.shape[:2] != base.shape[:2]:
            raise ImageFileError(
                path,
                f"is {layer.shape[1]}x{layer.shape[0]} px but {paths[0].name} is "
                f"{base.shape[1]}x{base.shape[0]} px; the layers must have the same size",
            )
        if layer.shape[2] not in (1, base.shape[2]):
            raise ImageFileError(
                path, f"has {layer.shape[2]} channels but {paths[0].name} has {base.shape[2]}"
            )
        highs.append(high_from_file(layer, layer_info.bits))
        icc = icc or layer_info.icc
    image = merge(base, highs[0]) if len(highs) == 1 else merge_scales(highs, base)
    return image, info.with_(icc=icc)
