"""Reading and writing image files: the only place where bit depths are converted.

``read_image`` hands the core a float32 (H, W, C) array in [0, 1] in the file's own encoding (no
colour conversion) and an :class:`ImageInfo` that remembers what is needed to write the result back
the same way: format, bit depth, ICC profile, EXIF/XMP, alpha. ``write_image`` writes atomically
(temporary file in the target folder, then rename), so an interrupted run never leaves half an image.

NOTE (skeleton): TIFF is complete here; PNG/JPEG/PSD, metadata for them and the bad-input checks are
being filled in by the I/O issue. The signatures below are the contract every other module uses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from regrain.errors import ImageFileError, ParameterError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageInfo",
    "check_output_path",
    "read_image",
    "read_mask",
    "write_image",
]

DEFAULT_MAX_PIXELS = 400_000_000
"""Largest pixel count read by default: a guard against decompression bombs (400 MP)."""


@dataclass(frozen=True)
class ImageInfo:
    """What regrain must remember about a file to write its result back the same way.

    ``bits`` is 8, 16 or 32 (32 = float samples); ``alpha`` is float32 (H, W) in [0, 1] or None,
    kept aside so the core only sees colour channels.
    """

    format: str = "tiff"
    bits: int = 16
    icc: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    alpha: np.ndarray | None = field(default=None, repr=False, compare=False)
    path: str | None = None
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    def with_(self, **changes) -> ImageInfo:
        return replace(self, **changes)


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file as float32 (H, W, C) in [0, 1] plus the :class:`ImageInfo` to write it back.

    C is 1 (grayscale) or 3 (RGB); alpha is returned in ``info.alpha``. 8-bit values v map to v/255,
    16-bit to v/65535, float samples are kept as they are.
    """
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise ImageFileError(path, "no such file")
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            data = page.asarray(maxworkers=2)
            tags = page.tags
            icc = tags["InterColorProfile"].value if "InterColorProfile" in tags else None
            xmp = tags["XMP"].value if "XMP" in tags else None
    except Exception as exc:  # noqa: BLE001 - the skeleton reports any decode failure the same way
        raise ImageFileError(path, f"not a readable image ({exc})") from None
    if data.ndim == 2:
        data = data[..., None]
    alpha = None
    if data.shape[2] in (2, 4):
        alpha = _to_float(data[..., -1], data.dtype)
        data = data[..., :-1]
    bits = 32 if data.dtype.kind == "f" else data.dtype.itemsize * 8
    image = _to_float(data, data.dtype)
    return image, ImageInfo(format="tiff", bits=bits, icc=icc, xmp=xmp, alpha=alpha, path=str(path))


def read_mask(
    path: str | os.PathLike[str],
    shape: tuple[int, ...] | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Read a grayscale mask (white = full effect) as float32 (H, W) in [0, 1].

    An RGB mask is reduced to its first channel. When *shape* is given the mask must cover the same
    H x W pixels, else :class:`ImageFileError` names the file and both sizes.
    """
    image, _ = read_image(path, max_pixels=max_pixels)
    if shape is not None and image.shape[:2] != tuple(shape[:2]):
        raise ImageFileError(
            path,
            f"mask is {image.shape[1]}x{image.shape[0]} px but the image is "
            f"{shape[1]}x{shape[0]} px",
        )
    return np.ascontiguousarray(image[..., 0])


def check_output_path(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Refuse an output that would overwrite an input or land in a missing/unwritable folder."""
    path = Path(path)
    for src in inputs:
        if src is not None and Path(src).exists() and path.exists() and path.samefile(src):
            raise ImageFileError(path, "output path is an input file; choose another output")
        if src is not None and path.resolve() == Path(src).resolve():
            raise ImageFileError(path, "output path is an input file; choose another output")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ImageFileError(path, f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ImageFileError(path, f"output folder {folder} is not writable")
    return path


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    info: ImageInfo | None = None,
    *,
    bits: int | None = None,
    quality: int = 95,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write float32 (H, W, C) in [0, 1] to *path* atomically, as *info* describes.

    The format follows the file extension; the bit depth is *bits* if given, else ``info.bits``
    (16-bit in gives 16-bit out). The ICC profile and EXIF/XMP in *info* are written back unchanged.
    Values are rounded to the nearest level, so a file read and written unchanged is identical.
    """
    import tifffile

    info = info or ImageInfo()
    path = check_output_path(path, inputs)
    bits = bits or info.bits
    if bits not in (8, 16, 32):
        raise ParameterError(f"bits must be one of 8, 16, 32; got {bits}.")
    data = _from_float(image, bits)
    if info.alpha is not None:
        data = np.concatenate([data, _from_float(info.alpha[..., None], bits)], axis=2)
    if data.shape[2] == 1:
        data = data[..., 0]
    extratags = []
    if info.icc:
        extratags.append((34675, 7, len(info.icc), info.icc, True))
    if info.xmp:
        extratags.append((700, 1, len(info.xmp), info.xmp, True))
    with _atomic(path) as tmp:
        tifffile.imwrite(
            tmp,
            data,
            photometric="rgb" if data.ndim == 3 and data.shape[2] >= 3 else "minisblack",
            extrasamples=[2] if info.alpha is not None else None,
            extratags=extratags,
            maxworkers=2,
        )
    return path


class _atomic:
    """Context manager yielding a temporary path beside *path*, renamed onto it on success."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".part" + self.path.suffix, dir=self.path.parent
        )
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _to_float(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return data.astype(np.float32) * np.float32(1 / 255)
    if dtype == np.uint16:
        return data.astype(np.float32) * np.float32(1 / 65535)
    if dtype.kind == "f":
        return data.astype(np.float32)
    raise ParameterError(f"unsupported sample type {dtype}")


def _from_float(image: np.ndarray, bits: int) -> np.ndarray:
    if bits == 32:
        return image.astype(np.float32)
    top = 255 if bits == 8 else 65535
    out = np.clip(image, 0.0, 1.0) * np.float32(top)
    out += np.float32(0.5)
    return out.astype(np.uint8 if bits == 8 else np.uint16)
