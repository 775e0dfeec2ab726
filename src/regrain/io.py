"""Reading and writing image files: the only place where bit depths are converted.

``read_image`` hands the core a float32 (H, W, C) array in [0, 1] in the file's own encoding (no
colour conversion) and an :class:`ImageInfo` that remembers what is needed to write the result back
the same way: format, bit depth, compression, ICC profile, EXIF/XMP/IPTC, resolution, alpha, a
JPEG's quality and subsampling. ``write_image`` writes atomically (temporary file in the target
folder, fsynced, then renamed), so an interrupted run never leaves half an image, and can add a
processing note to the XMP. What survives which path is measured in ``docs/files.md``.

Formats read: TIFF (8/16-bit integer, 16/32/64-bit float; none, LZW, deflate, zstd, packbits...),
PNG (8/16-bit, palette expanded), JPEG (8-bit), PSD/PSB (the stored flattened composite, 8/16/32
bits). Formats written: TIFF, PNG, JPEG, chosen by the extension (see :data:`WRITE_FORMATS`).

Every problem with a file raises :class:`~regrain.errors.ImageFileError` naming the file (one line).
Pixel counts, data too short for the header's size and, for a named job, the memory it needs are
checked from the header before anything is decoded (:func:`probe_image` reads only the header).
A FIFO or device is refused before it is opened; float samples must be finite and in [0, 1].
Pillow never touches TIFF (it reads 48-bit RGB as 8-bit without a word); 16-bit PNG goes through
imagecodecs (libpng) and its iCCP/eXIf/iTXt chunks are read and written here.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import struct
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from regrain import _metadata
from regrain.errors import ImageFileError, ParameterError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "WRITE_FORMATS",
    "ImageHeader",
    "ImageInfo",
    "atomic_output",
    "atomic_outputs",
    "check_output_path",
    "probe_image",
    "read_image",
    "read_mask",
    "remove_stale_parts",
    "write_image",
]

DEFAULT_MAX_PIXELS = 400_000_000
"""Largest pixel count read by default: a guard against decompression bombs (400 MP)."""

WRITE_FORMATS: dict[str, str] = {
    ".tif": "tiff",
    ".tiff": "tiff",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}
"""Output extension -> format written by :func:`write_image`."""

_RGB_HINT = "convert to RGB first (Photoshop: Image > Mode > RGB Color)"
_GRAY_HINT = "convert to Grayscale first (Photoshop: Image > Mode > Grayscale)"
_DEPTH_HINT = "save as 8 or 16 bits/channel first (Photoshop: Image > Mode > 16 Bits/Channel)"
_MAX_META_BYTES = 64 << 20  # an ICC/XMP chunk inflating past this is a zip bomb, not metadata

# Third-party loggers that would otherwise print warnings on stderr through logging.lastResort.
# A NullHandler silences only that fallback: an application that configures logging still sees them.
for _name in ("tifffile", "psd_tools", "PIL", "imagecodecs"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class ImageInfo:
    """What regrain must remember about a file to write its result back the same way.

    ``format`` is ``"tiff"``, ``"png"``, ``"jpeg"`` or ``"psd"``; ``bits`` is 8, 16 or 32 (32 =
    float samples). ``icc``, ``exif``, ``xmp`` and ``iptc`` are the raw bytes (``exif`` as a
    TIFF-structured block: the content of a PNG eXIf chunk, JPEG's APP1 without ``Exif\\0\\0``;
    ``iptc`` the IPTC-IIM record, ``1C 02 ...``, without Photoshop's 8BIM wrapper). ``compression``
    is the TIFF compression (``None``, ``"lzw"``, ``"deflate"``, ``"zstd"`` ...), ``dpi`` the (x, y)
    resolution in pixels per inch. ``alpha`` is float32 (H, W) in [0, 1] or None, kept aside so the
    core only sees colour channels. ``jpeg_quality`` (1-100) and ``jpeg_subsampling`` (``"4:4:4"``,
    ``"4:2:2"``, ``"4:2:0"``) are a JPEG source's own, estimated from its quantization tables, and
    what a JPEG output uses unless told otherwise (95 and 4:4:4 for other sources).
    """

    format: str = "tiff"
    bits: int = 16
    icc: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    alpha: np.ndarray | None = field(default=None, repr=False, compare=False)
    path: str | None = None
    extra: dict = field(default_factory=dict, repr=False, compare=False)
    compression: str | None = None
    dpi: tuple[float, float] | None = None
    iptc: bytes | None = None
    jpeg_quality: int = 95
    jpeg_subsampling: str = "4:4:4"

    def with_(self, **changes: Any) -> ImageInfo:
        return replace(self, **changes)


# --------------------------------------------------------------------------------------- reading


def read_image(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    shape: tuple[int, ...] | None = None,
    job: str | None = None,
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image as float32 (H, W, C) in [0, 1] plus the :class:`ImageInfo` to write it back.

    C is 1 (grayscale) or 3 (RGB); alpha is returned in ``info.alpha``. 8-bit values v map to v/255,
    16-bit to v/65535, float samples are kept as they are (NaN, infinity and values outside [0, 1]
    are refused). The format is recognised from the file's content, not its name. *max_pixels*
    and, when given, the expected *shape* (H, W, ...) are checked from the header before any pixel
    is decoded; so is memory when *job* names the pipeline that will use the image (``"split"``,
    ``"restore"`` ..., see :data:`regrain._memory.BYTES_PER_PIXEL`): what it needs against what
    the machine has free.

    >>> read_image("missing.tif")
    Traceback (most recent call last):
    ...
    regrain.errors.ImageFileError: missing.tif: no such file
    """
    return _read(Path(path), max_pixels, shape, "image", job)


class ImageHeader(NamedTuple):
    """What a file's header says, read without decoding a pixel (:func:`probe_image`)."""

    format: str
    width: int
    height: int
    channels: int
    bits: int


def probe_image(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageHeader:
    """Format, size, channels (alpha included) and bits per sample from the header alone.

    Cheap (reads a few KB): use it to compare a pair's sizes before decoding either file. A
    missing, non-regular or unsupported file, or one above *max_pixels*, raises the same
    one-line :class:`ImageFileError` that :func:`read_image` would.
    """
    path = Path(path)
    kind = _sniff(path)
    try:
        with _quiet():
            header = _PROBES[kind](path)
    except ImageFileError:
        raise
    except Exception as exc:
        raise ImageFileError(path, _corrupt(kind, exc)) from None
    _Limits(path, int(max_pixels), None, "image").check(header.width, header.height)
    return header


def _probe_tiff(path: Path) -> ImageHeader:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return ImageHeader(
            "tiff", page.imagewidth, page.imagelength, page.samplesperpixel, page.bitspersample
        )


def _probe_png(path: Path) -> ImageHeader:
    with open(path, "rb") as fh:
        head = fh.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise ImageFileError(path, "corrupt PNG: no IHDR header chunk")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    channels = 3 if colour == 3 else _PNG_CHANNELS.get(colour, 1)  # palette decodes to RGB
    return ImageHeader("png", width, height, channels, 8 if colour == 3 else depth)


def _probe_jpeg(path: Path) -> ImageHeader:
    from PIL import Image

    with _pillow_limit(None), Image.open(path, formats=["JPEG"]) as im:  # header only: lazy
        return ImageHeader("jpeg", im.width, im.height, len(im.getbands()), 8)


def _probe_psd(path: Path) -> ImageHeader:
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26:
        raise ImageFileError(path, "file is truncated (no PSD header)")
    channels, height, width, depth, _mode = struct.unpack(">HIIHH", head[12:26])
    return ImageHeader("psd", width, height, channels, depth)


_PROBES: dict[str, Callable[[Path], ImageHeader]] = {
    "tiff": _probe_tiff,
    "png": _probe_png,
    "jpeg": _probe_jpeg,
    "psd": _probe_psd,
}


def read_mask(
    path: str | os.PathLike[str],
    shape: tuple[int, ...] | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Read a grayscale mask (white = full effect) as float32 (H, W) in [0, 1].

    An RGB mask is reduced to its first channel. When *shape* is given the mask must cover the same
    H x W pixels, else :class:`ImageFileError` names the file and both sizes (checked from the
    header, before decoding).
    """
    image, _ = _read(Path(path), max_pixels, shape, "mask")
    return np.ascontiguousarray(image[..., 0])


def _read(
    path: Path, max_pixels: int, shape: tuple[int, ...] | None, role: str, job: str | None = None
) -> tuple[np.ndarray, ImageInfo]:
    kind = _sniff(path)
    if job is not None:
        from regrain import _memory

        _memory.check_job(job)  # an unknown job name is a bug of the caller: say it first
    reader = {"tiff": _read_tiff, "png": _read_png, "jpeg": _read_jpeg, "psd": _read_psd}[kind]
    limits = _Limits(path, int(max_pixels), shape, role, job)
    try:
        with _quiet():
            try:
                data, meta = reader(path, limits)
            except (ImageFileError, KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:  # any decoder failure is a bad file, said in one line
                raise ImageFileError(path, _corrupt(kind, exc)) from None
        return _finish(path, kind, data, meta)
    except MemoryError:
        raise ImageFileError(
            path, "not enough memory to decode this image; close other programs or use a "
            "machine with more memory"
        ) from None  # fmt: skip


def _finish(path: Path, kind: str, data: np.ndarray, meta: dict) -> tuple[np.ndarray, ImageInfo]:
    if data.dtype.kind == "f":
        _check_float_samples(path, data)
    if data.ndim == 2:
        data = data[..., None]
    colour = 3 if data.shape[2] >= 3 else 1
    alpha = _to_float(data[..., colour]) if data.shape[2] > colour else None
    image = _to_float(data[..., :colour])
    if meta.pop("alpha_unmatte", False) and alpha is not None:
        image = _unmatte_white(image, alpha)
    bits = 32 if data.dtype.kind == "f" else data.dtype.itemsize * 8
    if meta.get("dpi") is None and meta.get("exif"):
        meta["dpi"] = _exif_dpi(meta["exif"])
    info = ImageInfo(format=kind, bits=bits, alpha=alpha, path=str(path), **meta)
    return image, info


def _check_float_samples(path: Path, data: np.ndarray) -> None:
    """Refuse NaN, infinity and values outside [0, 1]: the core works on display-referred levels,
    and a float file holding scene-referred (HDR) values would be clipped or spread silently."""
    rows = max(1, (1 << 22) // max(1, data[0].size))
    bad = out = 0
    lo, hi = np.inf, -np.inf
    for start in range(0, data.shape[0], rows):
        block = data[start : start + rows]
        block = block if block.ndim == 3 else block[..., None]
        finite = np.isfinite(block)
        bad += int(finite.shape[0] * finite.shape[1] - np.count_nonzero(finite.all(axis=2)))
        inside = (block >= 0) & (block <= 1)  # False for NaN too
        out += int(np.count_nonzero(~inside.all(axis=2) & finite.all(axis=2)))
        values = block[finite]
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    if bad:
        raise ImageFileError(path, f"{bad} {_pixels(bad)} NaN or infinite; "
                             "fix or clip the float image before using it")  # fmt: skip
    if out:
        raise ImageFileError(
            path,
            f"{out} {_pixels(out)} outside 0-1 (float values from {lo:g} to {hi:g}); regrain works "
            "on display-referred images: tone-map or clip to 0-1, or save as 16 bits/channel",
        )


def _pixels(n: int) -> str:
    return "pixel is" if n == 1 else "pixels are"


def _exif_dpi(blob: bytes) -> tuple[float, float] | None:
    """XResolution/YResolution/ResolutionUnit of an EXIF block's IFD0 in pixels per inch."""
    parsed = _parse_exif_blob(blob)
    if parsed is None:
        return None
    bo, plain, _ = parsed
    try:
        x = _rational(plain[282], bo)
        y = _rational(plain[283], bo)
        unit = struct.unpack(bo + "H", plain[296][2][:2])[0] if 296 in plain else 2
    except (KeyError, struct.error, ZeroDivisionError):
        return None
    if unit == 3:
        return (_nice_dpi(x * 2.54), _nice_dpi(y * 2.54))
    return (x, y) if unit == 2 and x > 0 and y > 0 else None


def _rational(entry: tuple, bo: str) -> float:
    typ, _count, raw = entry
    if typ != 5:
        raise KeyError(typ)
    num, den = struct.unpack(bo + "II", raw[:8])
    return num / den


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _check_regular(path: Path) -> None:
    """Refuse what is not a regular file from its inode, before open() could block on a FIFO."""
    mode = os.stat(path).st_mode  # follows symlinks: a link to a FIFO is a FIFO
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(mode):
        kind = next((label for test, label in _FILE_KINDS if test(mode)), "not a regular file")
        raise ImageFileError(path, f"is {kind}, not an image file; give a saved file")


_MAGIC_UNSUPPORTED = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"v/1\x01", "OpenEXR"),
    (b"#?RADIANCE", "Radiance HDR"),
)


def _sniff(path: Path) -> str:
    """Return 'tiff', 'png', 'jpeg' or 'psd' from the file's first bytes, or say why not."""
    try:
        _check_regular(path)
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise ImageFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageFileError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise ImageFileError(path, "permission denied") from None
    except OSError as exc:
        raise ImageFileError(path, f"cannot open ({exc.strerror or exc})") from None
    if not head:
        raise ImageFileError(path, "file is empty")
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "tiff"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:4] == b"8BPS":
        return "psd"
    name = None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        name = "WebP"
    elif head[4:8] == b"ftyp":
        name = "AVIF" if head[8:12] in (b"avif", b"avis") else "HEIC/HEIF"
    elif head[:2] == b"BM" and len(head) >= 14:
        name = "BMP"
    for magic, label in _MAGIC_UNSUPPORTED:
        if head.startswith(magic):
            name = label
    if name:
        raise ImageFileError(
            path, f"{name} files are not supported; save as TIFF, PNG or JPEG first"
        )
    raise ImageFileError(path, "not an image file (expected TIFF, PNG, JPEG or PSD)")


@dataclass(frozen=True)
class _Limits:
    """What a reader checks from the header before decoding: pixel count and expected size."""

    path: Path
    max_pixels: int
    shape: tuple[int, ...] | None
    role: str
    job: str | None = None

    def check(self, width: int, height: int) -> None:
        if width <= 0 or height <= 0:
            raise ImageFileError(self.path, f"header gives an empty image ({width}x{height} px)")
        if width * height > self.max_pixels:
            raise ImageFileError(self.path, self.too_big(f"{width}x{height} px "
                                 f"({width * height / 1e6:.1f} MP)"))  # fmt: skip
        if self.shape is not None and (height, width) != tuple(self.shape[:2]):
            h, w = self.shape[:2]
            if self.role == "mask":
                problem = f"mask is {width}x{height} px but the image is {w}x{h} px"
            else:
                problem = (
                    f"image is {width}x{height} px but the other image is {w}x{h} px; "
                    "both must be the same size"
                )
            raise ImageFileError(self.path, problem)
        if self.job is not None:
            from regrain import _memory

            _memory.check_memory(self.path, width * height, _memory.job_bytes(self.job), self.job,
                                 fixed=_memory.FIXED_BYTES)  # fmt: skip

    def too_big(self, size: str) -> str:
        return (
            f"image is {size}, above the limit of {self.max_pixels / 1e6:g} MP; "
            "raise it with --max-megapixels if you trust this file"
        )


def _corrupt(kind: str, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if len(reason) > 100:
        reason = reason[:97] + "..."
    return f"cannot decode this {kind.upper()} file; it is truncated or corrupt ({reason})"


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep third-party warnings (Pillow, numpy casts) off the user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# TIFF ------------------------------------------------------------------------------------------

_TIFF_COMPRESSIONS = {
    1: None,
    5: "lzw",
    8: "deflate",
    32946: "deflate",
    50000: "zstd",
    32773: "packbits",
    34925: "lzma",
}
_TIFF_PHOTOMETRIC_PROBLEMS = {
    0: "inverted grayscale (MinIsWhite) is not supported; " + _GRAY_HINT,
    3: "indexed colour is not supported; " + _RGB_HINT,
    4: "a transparency mask page is not an image; " + _RGB_HINT,
    5: "CMYK is not supported; " + _RGB_HINT,
    8: "Lab colour is not supported; " + _RGB_HINT,
    9: "Lab colour is not supported; " + _RGB_HINT,
    10: "Lab colour is not supported; " + _RGB_HINT,
    32803: "camera raw (CFA) data is not supported; export a 16-bit TIFF from your raw converter",
    34892: "camera raw (linear raw) data is not supported; export a 16-bit TIFF from your raw "
    "converter",
    32844: "LogL/LogLuv data is not supported; " + _RGB_HINT,
    32845: "LogL/LogLuv data is not supported; " + _RGB_HINT,
}


def _read_tiff(path: Path, limits: _Limits) -> tuple[np.ndarray, dict]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        limits.check(page.imagewidth, page.imagelength)
        photometric = int(page.photometric)
        compression = int(page.compression)
        if page.bitspersample == 1:
            raise ImageFileError(path, "1-bit (bitmap) images are not supported; " + _GRAY_HINT)
        if photometric in _TIFF_PHOTOMETRIC_PROBLEMS:
            raise ImageFileError(path, _TIFF_PHOTOMETRIC_PROBLEMS[photometric])
        if photometric == 6 and compression not in (6, 7):
            raise ImageFileError(path, "uncompressed YCbCr TIFF is not supported; " + _RGB_HINT)
        if photometric not in (1, 2, 6):
            raise ImageFileError(
                path, f"photometric interpretation {photometric} is not supported; " + _RGB_HINT
            )
        if page.imagedepth > 1:
            raise ImageFileError(path, "volumetric (3-D) TIFF is not supported")
        dtype = np.dtype(page.dtype) if page.dtype is not None else None
        bits = page.bitspersample
        if dtype is None or dtype.kind == "b" or bits == 1:
            raise ImageFileError(path, "1-bit (bitmap) images are not supported; " + _GRAY_HINT)
        if dtype.kind == "u" and bits not in (8, 16):
            raise ImageFileError(
                path, f"{bits}-bit integer samples are not supported; {_DEPTH_HINT}"
            )
        if dtype.kind == "i":
            raise ImageFileError(
                path, f"signed {bits}-bit samples are not supported; {_DEPTH_HINT}"
            )
        colour = 1 if photometric == 1 else 3
        if page.samplesperpixel < colour:
            raise ImageFileError(
                path, f"has {page.samplesperpixel} samples per pixel; expected RGB"
            )
        size = tif.filehandle.size
        ends = [
            o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c and o
        ]
        if size and ends and max(ends) > size:
            raise ImageFileError(
                path, f"file is truncated ({size} bytes; the image data needs {max(ends)})"
            )
        data = page.asarray(maxworkers=2)
        axes = page.axes
        order = [axes.index(a) for a in "YXS" if a in axes]
        if len(order) != data.ndim:
            raise ImageFileError(path, f"unexpected TIFF layout {axes!r}")
        data = data.transpose(order)
        if data.ndim == 3 and data.shape[2] > colour + 1:
            data = data[..., : colour + 1]  # keep colour + first extra channel (alpha)
        if data.dtype.kind == "f" and data.dtype != np.float32:
            data = data.astype(np.float32)
        tags = page.tags
        icc = _tag_bytes(tags, 34675)
        xmp = _tag_bytes(tags, 700)
        dpi = _tiff_dpi(tags)
        extra: dict[str, Any] = {}
        if page.extrasamples:
            extra["extrasamples"] = int(page.extrasamples[0])
        fh = tif.filehandle
        exif, iptc = _tiff_exif_blob(lambda off, n: _fh_read(fh, off, n))
    meta = {
        "icc": icc,
        "xmp": xmp,
        "exif": exif,
        "iptc": iptc,
        "dpi": dpi,
        "compression": _TIFF_COMPRESSIONS.get(compression, "deflate"),
        "extra": extra,
    }
    return np.ascontiguousarray(data), meta


def _fh_read(fh: Any, offset: int, size: int) -> bytes:
    fh.seek(offset)
    return fh.read(size)


def _tag_bytes(tags: Any, code: int) -> bytes | None:
    tag = tags.get(code)
    if tag is None:
        return None
    value = tag.value
    if isinstance(value, str):
        value = value.encode("utf-8")
    return bytes(value) if value is not None else None


def _tiff_dpi(tags: Any) -> tuple[float, float] | None:
    try:
        xres, yres = tags[282].value, tags[283].value
        unit = int(tags[296].value) if 296 in tags else 2
        x, y = xres[0] / xres[1], yres[0] / yres[1]
    except (KeyError, TypeError, ZeroDivisionError, IndexError):
        return None
    if unit == 3:
        return (x * 2.54, y * 2.54)
    return (x, y) if unit == 2 else None


# PNG -------------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PIXEL_CHUNKS = (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND")


def _png_chunks(blob: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield (type, data) of each chunk, checking lengths and the CRC of every small chunk."""
    pos = 8
    while True:
        if pos + 8 > len(blob):
            raise _Truncated(len(blob))
        length, ctype = struct.unpack(">I4s", blob[pos : pos + 8])
        end = pos + 12 + length
        if end > len(blob):
            raise _Truncated(len(blob))
        data = blob[pos + 8 : pos + 8 + length]
        if ctype != b"IDAT":  # libpng checks the IDAT CRCs itself
            (crc,) = struct.unpack(">I", blob[end - 4 : end])
            if zlib.crc32(ctype + data) != crc:
                raise ValueError(f"bad CRC in {ctype.decode('latin-1')} chunk")
        yield ctype, data
        if ctype == b"IEND":
            return
        pos = end


class _Truncated(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"file is truncated ({size} bytes)")


def _inflate(data: bytes) -> bytes:
    z = zlib.decompressobj()
    out = z.decompress(data, _MAX_META_BYTES)
    if z.unconsumed_tail:
        raise ValueError("metadata chunk inflates past 64 MB")
    return out


def _read_png(path: Path, limits: _Limits) -> tuple[np.ndarray, dict]:
    import imagecodecs

    blob = path.read_bytes()
    meta: dict[str, Any] = {
        "icc": None, "exif": None, "xmp": None, "iptc": None, "dpi": None, "extra": {}
    }  # fmt: skip
    pixel_chunks: list[bytes] = [_PNG_SIGNATURE]
    try:
        chunks = list(_png_chunks(blob))
    except _Truncated as exc:
        raise ImageFileError(path, str(exc)) from None
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise ImageFileError(path, "corrupt PNG: no IHDR header chunk")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    limits.check(width, height)
    for ctype_, data in chunks:
        if ctype_ in _PNG_PIXEL_CHUNKS:
            pixel_chunks.append(struct.pack(">I", len(data)) + ctype_ + data)
            pixel_chunks.append(struct.pack(">I", zlib.crc32(ctype_ + data)))
        elif ctype_ == b"iCCP":
            name, _, rest = data.partition(b"\0")
            meta["icc"] = _inflate(rest[1:])
            meta["extra"]["icc_name"] = name
        elif ctype_ == b"eXIf":
            meta["exif"] = data[6:] if data.startswith(b"Exif\0\0") else data
        elif ctype_ == b"iTXt" and data.startswith(b"XML:com.adobe.xmp\0"):
            meta["xmp"] = _itxt_text(data)
        elif ctype_ in (b"zTXt", b"tEXt", b"iTXt") and data.startswith(_PNG_IPTC_KEY):
            meta["iptc"] = _metadata.iptc_from_png_text(_png_text(ctype_, data))
        elif ctype_ == b"pHYs" and len(data) == 9:
            ppx, ppy, unit = struct.unpack(">IIB", data)
            if unit == 1:  # pixels per metre; 11811 is "300 dpi"
                meta["dpi"] = (_nice_dpi(ppx * 0.0254), _nice_dpi(ppy * 0.0254))
    if chunks[-1][0] != b"IEND":
        raise ImageFileError(path, "file is truncated (no IEND chunk)")
    _check_png_data(path, chunks[0][1], sum(len(d) for t, d in chunks if t == b"IDAT"))
    # libpng sees only what it needs for pixels: no warnings about odd ancillary chunks on stderr
    # libpng expands palette to RGB(A) and 1/2/4-bit gray to 8-bit levels (4-bit v -> 17 v)
    return imagecodecs.png_decode(b"".join(pixel_chunks)), meta


_PNG_IPTC_KEY = b"Raw profile type iptc\0"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_DEFLATE_MAX_RATIO = 1032  # zlib's best case: 258-byte matches coded in 2 bits each


def _check_png_data(path: Path, ihdr: bytes, idat: int) -> None:
    """Refuse image data too short for the header's size before libpng allocates it."""
    width, height, depth, colour = struct.unpack(">IIBB", ihdr[:10])
    row = 1 + (width * _PNG_CHANNELS.get(colour, 1) * depth + 7) // 8
    if idat * _DEFLATE_MAX_RATIO < row * height:
        raise ImageFileError(
            path, f"file is truncated ({idat} bytes of image data for {width}x{height} px)"
        )


def _png_text(ctype: bytes, data: bytes) -> bytes:
    if ctype == b"tEXt":
        return data.partition(b"\0")[2]
    if ctype == b"zTXt":
        return _inflate(data.partition(b"\0")[2][1:])
    return _itxt_text(data)


def _nice_dpi(value: float) -> float:
    return float(round(value)) if abs(value - round(value)) < 0.01 else value


def _itxt_text(data: bytes) -> bytes:
    _keyword, _, rest = data.partition(b"\0")
    flag, _method = rest[0], rest[1]
    rest = rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return _inflate(text) if flag else text


# JPEG ------------------------------------------------------------------------------------------


@contextmanager
def _pillow_limit(max_pixels: int | None) -> Iterator[None]:
    """Align Pillow's own decompression-bomb guard with ours for the duration of one read."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None if max_pixels is None else max(int(max_pixels), 1)
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _read_jpeg(path: Path, limits: _Limits) -> tuple[np.ndarray, dict]:
    from PIL import Image, JpegImagePlugin

    with _pillow_limit(limits.max_pixels):
        try:
            im = Image.open(path, formats=["JPEG"])
        except Image.DecompressionBombError:
            with _pillow_limit(None), Image.open(path, formats=["JPEG"]) as probe:
                limits.check(*probe.size)  # header only: says the size in our words
            raise
        with im:
            limits.check(*im.size)
            _check_jpeg_data(path, im.size)
            mode = im.mode
            if mode in ("CMYK", "YCCK"):
                raise ImageFileError(path, "CMYK is not supported; " + _RGB_HINT)
            if mode not in ("RGB", "L"):
                raise ImageFileError(
                    path, f"JPEG colour mode {mode} is not supported; " + _RGB_HINT
                )
            im.load()
            data = np.asarray(im)
            info = im.info
            exif = info.get("exif")
            if exif and exif.startswith(b"Exif\0\0"):
                exif = exif[6:]
            extra: dict[str, Any] = {}
            try:
                extra["subsampling"] = JpegImagePlugin.get_sampling(im)
            except Exception:
                pass
            iptc = None
            for marker, segment in im.applist:
                if marker == "APP13" and segment.startswith(b"Photoshop 3.0\0"):
                    iptc = _metadata.iptc_from_irb(segment) or iptc
            tables = getattr(im, "quantization", None) or {}
            quality = _metadata.jpeg_quality(tables[0])[0] if 0 in tables else 95
            dpi = info.get("dpi")
    sampling = _metadata.JPEG_SUBSAMPLING.get(extra.get("subsampling", 0), "4:4:4")
    meta = {
        "iptc": iptc,
        "jpeg_quality": quality,
        "jpeg_subsampling": sampling if data.ndim == 3 else "4:4:4",
        "icc": info.get("icc_profile") or None,
        "exif": exif or None,
        "xmp": info.get("xmp") or None,
        "dpi": (float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
        "extra": extra,
    }
    return data, meta


_JPEG_HUFFMAN_SOF = (0xC0, 0xC1, 0xC2, 0xC3)  # baseline, extended, progressive, lossless


def _check_jpeg_data(path: Path, size: tuple[int, int]) -> None:
    """Refuse a JPEG whose file is too short to hold its header's size, before decoding it.

    libjpeg fills missing data with gray and only warns, so a 2 KB file claiming 19000 x 19000 px
    would decode into 361 MP of gray. With Huffman coding every 8 x 8 luma block costs at least
    one bit (its DC code), so a file under blocks / 8 bytes cannot be complete. Arithmetic-coded
    files (rare) can be smaller and are not checked.
    """
    sof = _jpeg_sof(path)
    blocks = -(-size[0] // 8) * -(-size[1] // 8)
    have = path.stat().st_size
    if sof in _JPEG_HUFFMAN_SOF and have * 8 < blocks:
        raise ImageFileError(
            path, f"file is truncated ({have} bytes; {size[0]}x{size[1]} px need at least "
            f"{blocks // 8} bytes)"
        )  # fmt: skip


def _jpeg_sof(path: Path) -> int | None:
    """The SOFn marker code of a JPEG, read by walking its header segments."""
    with open(path, "rb") as fh:
        fh.seek(2)
        for _ in range(10000):
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0xFF:
                return None
            marker = head[1]
            if marker == 0xFF:  # fill byte
                fh.seek(-3, os.SEEK_CUR)
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return marker
            if marker == 0xDA:
                return None
            (length,) = struct.unpack(">H", head[2:4])
            fh.seek(length - 2, os.SEEK_CUR)
    return None


# PSD -------------------------------------------------------------------------------------------

_PSD_MODE_PROBLEMS = {
    0: "1-bit (bitmap) images are not supported; " + _GRAY_HINT,
    2: "indexed colour is not supported; " + _RGB_HINT,
    4: "CMYK is not supported; " + _RGB_HINT,
    7: "multichannel mode is not supported; " + _RGB_HINT,
    8: "duotone is not supported; " + _RGB_HINT,
    9: "Lab colour is not supported; " + _RGB_HINT,
}


def _read_psd(path: Path, limits: _Limits) -> tuple[np.ndarray, dict]:
    from psd_tools import PSDImage
    from psd_tools.api.utils import get_transparency_index

    psd = PSDImage.open(path)
    limits.check(psd.width, psd.height)
    mode = int(psd.color_mode)
    if mode in _PSD_MODE_PROBLEMS:
        raise ImageFileError(path, _PSD_MODE_PROBLEMS[mode])
    if mode not in (1, 3):
        raise ImageFileError(path, f"PSD colour mode {mode} is not supported; " + _RGB_HINT)
    if not psd.has_preview():
        raise ImageFileError(
            path,
            "PSD has no flattened composite; re-save it with 'Maximize PSD and PSB File "
            "Compatibility' on, or export a TIFF",
        )
    depth = psd.depth
    dtypes = {8: np.dtype("u1"), 16: np.dtype(">u2"), 32: np.dtype(">f4")}
    if depth not in dtypes:
        raise ImageFileError(path, f"{depth}-bit PSD is not supported; {_DEPTH_HINT}")
    header = psd._record.header
    raw = psd._record.image_data.get_data(header, False)
    channels = header.channels
    planes = np.frombuffer(raw, dtypes[depth], count=channels * psd.height * psd.width)
    planes = planes.reshape(channels, psd.height, psd.width)
    colour = 3 if mode == 3 else 1
    if channels < colour:
        raise ImageFileError(path, f"PSD has {channels} channels; expected {colour}")
    keep = list(range(colour))
    alpha_index = get_transparency_index(psd)
    if 0 <= alpha_index < channels:
        keep.append(alpha_index)
    data = np.empty((psd.height, psd.width, len(keep)), dtypes[depth].newbyteorder("="))
    for i, c in enumerate(keep):
        data[..., i] = planes[c]
    from regrain._psd import psd_metadata

    meta = psd_metadata(psd)  # ICC, EXIF, XMP, IPTC, resolution: the image resources
    meta["extra"] = {}
    meta["alpha_unmatte"] = len(keep) > colour  # Photoshop stores the composite matted on white
    return data, meta


def _unmatte_white(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a > 0, (image + a - 1.0) / a, image)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------- writing


def check_output_path(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    *,
    suffixes: Iterable[str] | None = tuple(WRITE_FORMATS),
) -> Path:
    """Refuse an output that would overwrite an input, has an unknown extension, or lands in a
    missing/unwritable folder. Cheap: call it before heavy work.

    *suffixes* are the accepted extensions (default: the image formats :func:`write_image`
    writes); pass e.g. ``(".psd",)`` for another kind of output, or None to accept any.
    """
    path = Path(path)
    if suffixes is not None:
        valid = sorted(s.lower() for s in suffixes)
        if path.suffix.lower() not in valid:
            got = f"'{path.suffix}'" if path.suffix else "no extension"
            raise ParameterError(
                f"unknown output format {got} for {path}; expected one of: {', '.join(valid)}"
            )
    if path.is_dir():
        raise ImageFileError(path, "output path is a folder; give a file name")
    target = path.resolve()
    for src in inputs:
        if src is None:
            continue
        src = Path(src)
        same = target == src.resolve()
        if not same and path.exists() and src.exists():
            same = os.path.samefile(path, src)
        if same:
            raise ImageFileError(
                path, f"output path is the input file {src}; choose another output"
            )
    folder = target.parent
    if folder.exists() and not folder.is_dir():
        raise ImageFileError(path, f"output folder {folder} is not a folder")
    if not folder.is_dir():
        raise ImageFileError(path, f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ImageFileError(path, f"output folder {folder} is not writable")
    return path


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    info: ImageInfo | None = None,
    *,
    bits: int | None = None,
    quality: int | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    note: str | dict | None = None,
) -> Path:
    """Write float32 (H, W, C) in [0, 1] to *path* atomically, as *info* describes.

    The format follows the extension (:data:`WRITE_FORMATS`). The bit depth is *bits* if given,
    else ``info.bits`` (16-bit in gives 16-bit out) where the format holds it: PNG stores 8/16, JPEG
    8 (a 16-bit source goes to 8-bit without complaint). TIFF keeps the source compression
    (deflate level 1 + predictor when the source was not a TIFF). The ICC profile, EXIF (the
    Software tag included), XMP, IPTC and resolution in *info* are written back byte-for-byte; an
    ICC profile made for another colour space than the image's (RGB on gray, gray on RGB) is
    dropped, as a PNG holding it would be invalid. Values are rounded to the nearest level, so a
    file read and written unchanged is identical. JPEG has no alpha: it is dropped there.

    JPEG *quality* None keeps ``info.jpeg_quality`` and ``info.jpeg_subsampling`` (a JPEG source's
    own; 95 and 4:4:4 otherwise); a number sets the quality and keeps the subsampling.

    *note* (what ran and its options: ``"restore"`` or ``{"command": "restore", "strength": 1}``)
    adds an ``xmpMM:History`` event to the XMP (``stEvt:softwareAgent`` "regrain <version>",
    ``stEvt:action`` "processed", or "derived" when the format changes), creating a minimal packet
    when there is none; without it the XMP is written as it came.
    """
    info = info or ImageInfo()
    path = check_output_path(path, inputs)
    fmt = WRITE_FORMATS[path.suffix.lower()]
    image = _check_write_image(image)
    alpha = info.alpha
    if alpha is None and image.shape[2] in (2, 4):
        image, alpha = image[..., :-1], image[..., -1]
    if alpha is not None:
        alpha = np.asarray(alpha, dtype=np.float32)
        alpha = alpha[..., 0] if alpha.ndim == 3 else alpha
        if alpha.shape != image.shape[:2]:
            raise ParameterError(
                f"alpha must match the image size {image.shape[1]}x{image.shape[0]} px; "
                f"got {alpha.shape[1]}x{alpha.shape[0]} px."
            )
    bits = _output_bits(fmt, bits, info.bits)
    if quality is None:
        quality = info.jpeg_quality
    if not 1 <= int(quality) <= 100:
        raise ParameterError(f"quality must be between 1 and 100; got {quality}.")
    info = _fit_icc(info, image.shape[2])
    if note is not None:
        info = info.with_(xmp=_with_note(info, note, fmt))
    writer = {"tiff": _write_tiff, "png": _write_png, "jpeg": _write_jpeg}[fmt]
    with _quiet(), atomic_output(path) as tmp:
        writer(tmp, image, alpha, info, bits, int(quality))
    return path


_ICC_SPACE = {1: "GRAY", 3: "RGB"}


def _fit_icc(info: ImageInfo, channels: int) -> ImageInfo:
    """Drop an ICC profile made for another colour space than the image's channels say."""
    space = _metadata.icc_colour_space(info.icc)
    if space is not None and space != _ICC_SPACE.get(channels if channels < 3 else 3):
        return info.with_(icc=None)
    return info


def _with_note(info: ImageInfo, note: str | dict, fmt: str) -> bytes:
    from regrain import __version__

    action = "processed" if info.format == fmt else "derived"
    return _metadata.add_history(info.xmp, note, action=action, agent=f"regrain {__version__}")


def _check_write_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array; got {type(image).__name__}.")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ParameterError(f"image must have shape (H, W, C) with C in 1..4; got {image.shape}.")
    if image.dtype.kind != "f":
        raise ParameterError(f"image must be float32 in [0, 1]; got {image.dtype}.")
    return image


def _output_bits(fmt: str, bits: int | None, source_bits: int) -> int:
    if bits is not None and bits not in (8, 16, 32):
        raise ParameterError(f"bits must be 8 or 16 (or 32 for float TIFF); got {bits}.")
    if fmt == "jpeg":
        if bits not in (None, 8):
            raise ParameterError(
                f"JPEG stores 8 bits per channel; got bits={bits}. Use .tif or .png."
            )
        return 8
    if fmt == "png":
        if bits == 32:
            raise ParameterError("PNG stores 8 or 16 bits per channel; got bits=32. Use .tif.")
        return bits or (8 if source_bits == 8 else 16)
    return bits or source_bits


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_STALE_AGE = 3600.0  # s: a temporary file nobody has written for an hour has no writer left
_HOST = format(zlib.crc32(os.uname().nodename.encode()), "08x")
_PART = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)@(?P<host>[0-9a-f]{8})\.)?[^.]+\.part$")
_CLEANED: set[str] = set()


def _write_error(path: Path, exc: OSError) -> ImageFileError:
    """An OSError from writing *path* in one line; a full disk or quota says "disk full"."""
    reason = exc.strerror or str(exc)
    if exc.errno in _DISK_FULL or ("requested and" in str(exc) and "written" in str(exc)):
        return ImageFileError(path, f"disk full: {reason}; free some space and run again")
    return ImageFileError(path, f"cannot write ({reason})")


def _fsync(path: Path, *, folder: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if folder else 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if not folder or exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise  # some file systems cannot fsync a folder: the files themselves are safe
    finally:
        os.close(fd)


def remove_stale_parts(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove temporary files that regrain's killed runs left in *folder*; return them.

    A file named as :class:`atomic_output` names them (``.<name>.<pid>@<host>.<random>.part``)
    is stale when its writer, a process of this machine, no longer runs, or when nobody has
    written to it for an hour (a writer on another machine sharing the folder, or a name without
    the pid, from before). Other hidden files are never touched.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _PART.match(entry.name)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        dead = m["pid"] is not None and m["host"] == _HOST and not _running(int(m["pid"]))
        if dead or age > _STALE_AGE:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process (or a pid we cannot test): leave its file
    return True


def _new_part(path: Path) -> Path:
    folder = str(path.parent.resolve())
    if folder not in _CLEANED:  # once per folder and process: a batch writes thousands of files
        _CLEANED.add(folder)
        remove_stale_parts(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}@{_HOST}.", suffix=".part", dir=path.parent
        )
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(tmp)


class atomic_output:
    """Context manager yielding a temporary path beside *path*, renamed onto it on success.

    The temporary file (``.<name>.<pid>@<host>.<random>.part``, mode as the umask says) is
    fsynced before the rename and the folder after it, so a power cut leaves the old file or the
    new one. It is removed on any failure, KeyboardInterrupt included; an OSError becomes an
    :class:`ImageFileError` naming *path* ("disk full: ..." for ENOSPC and quotas). The first
    write into a folder removes what killed runs left there (:func:`remove_stale_parts`).
    Every writer in regrain uses it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.tmp = _new_part(self.path)
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _finish_parts([(self.tmp, self.path)], exc_type, exc)


class atomic_outputs:
    """Write a set of files as a whole: yields one temporary path per target, in order.

    On success every file is fsynced, then all are renamed onto their targets (renames need no
    space, so a full disk can no longer fail the set half way); on any failure every temporary
    file is removed and no target changes. ::

        with atomic_outputs([folder / "low.tif", folder / "high.tif"]) as (low, high):
            write_low(low); write_high(high)
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]

    def __enter__(self) -> list[Path]:
        self.tmps: list[Path] = []
        try:
            for path in self.paths:
                self.tmps.append(_new_part(path))
        except BaseException:
            for tmp in self.tmps:
                tmp.unlink(missing_ok=True)
            raise
        return list(self.tmps)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _finish_parts(list(zip(self.tmps, self.paths, strict=True)), exc_type, exc)


def _finish_parts(pairs: list[tuple[Path, Path]], exc_type: Any, exc: Any) -> None:
    """Rename every (temporary, target) on success, after fsyncing them; else remove them all."""
    if exc_type is None:
        done = 0
        try:
            for tmp, _ in pairs:
                _fsync(tmp)
            for tmp, path in pairs:
                os.replace(tmp, path)
                done += 1
            for folder in {path.parent for _, path in pairs}:
                _fsync(folder, folder=True)
            return
        except OSError as err:
            for tmp, _ in pairs[done:]:
                tmp.unlink(missing_ok=True)
            raise _write_error(pairs[min(done, len(pairs) - 1)][1], err) from None
    for tmp, _ in pairs:
        tmp.unlink(missing_ok=True)
    if isinstance(exc, OSError) and not isinstance(exc, ImageFileError):
        # disk full, quota, I/O error: a problem with the output, not a bug
        raise _write_error(pairs[0][1], exc) from None


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        try:  # Linux tells without changing it (os.umask would, for every thread, for a moment)
            with open("/proc/self/status") as fh:
                line = next(x for x in fh if x.startswith("Umask:"))
            _UMASK = int(line.split()[1], 8)
        except (OSError, StopIteration, ValueError, IndexError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def _to_float(data: np.ndarray) -> np.ndarray:
    """uint8 v -> v/255, uint16 v -> v/65535 (float32); float samples as they are."""
    if data.dtype == np.uint8:
        return np.multiply(data, np.float32(1 / 255), dtype=np.float32)
    if data.dtype == np.uint16:
        return np.multiply(data, np.float32(1 / 65535), dtype=np.float32)
    if data.dtype.kind == "f":
        return np.ascontiguousarray(data, dtype=np.float32)
    raise ParameterError(f"unsupported sample type {data.dtype}")


def _from_float(image: np.ndarray, bits: int) -> np.ndarray:
    """float [0, 1] -> the nearest of 2**bits levels (clipped); float32 is kept as it is.

    Works in blocks of rows with one small reused buffer: a 24 MP frame needs no float temporary.
    """
    if bits == 32:
        return np.ascontiguousarray(image, dtype=np.float32)
    top = np.float32(255 if bits == 8 else 65535)
    out = np.empty(image.shape, np.uint8 if bits == 8 else np.uint16)
    rows = max(1, (1 << 20) // max(1, image[0].size))  # ~4 MB of float32 per block
    buf = np.empty((min(rows, image.shape[0]), *image.shape[1:]), np.float32)
    for start in range(0, image.shape[0], rows):
        block = image[start : start + rows]
        tmp = buf[: block.shape[0]]
        np.multiply(block, top, out=tmp, casting="unsafe")
        tmp += np.float32(0.5)
        np.clip(tmp, 0, top, out=tmp)  # NaN stays NaN and becomes 0 below
        np.copyto(out[start : start + rows], tmp, casting="unsafe")
    return out


def _stack(image: np.ndarray, alpha: np.ndarray | None, bits: int) -> np.ndarray:
    """Samples (H, W, S) of the output dtype: colour plus alpha when there is one."""
    colour = _from_float(image, bits)
    if alpha is None:
        return colour
    out = np.empty((*colour.shape[:2], colour.shape[2] + 1), colour.dtype)
    out[..., :-1] = colour
    out[..., -1] = _from_float(alpha, bits)
    return out


# TIFF ------------------------------------------------------------------------------------------

_TIFF_WRITE_COMPRESSIONS = {None, "lzw", "deflate", "zstd", "packbits", "lzma"}


def _write_tiff(
    tmp: Path, image: np.ndarray, alpha: np.ndarray | None, info: ImageInfo, bits: int, _q: int
) -> None:
    import tifffile

    data = _stack(image, alpha, bits)
    colour = image.shape[2]
    compression = info.compression if info.format == "tiff" else "deflate"
    if compression not in _TIFF_WRITE_COMPRESSIONS:
        compression = "deflate"  # JPEG-in-TIFF and other lossy or exotic codecs: keep it lossless
    kwargs: dict[str, Any] = {}
    if compression is not None:
        kwargs["compression"] = compression
        if compression == "deflate":
            kwargs["compressionargs"] = {"level": 1}
        if compression != "packbits":
            kwargs["predictor"] = True
    byteorder = "<"
    exif_tree = None
    extratags: list[tuple] = []
    if info.xmp:
        extratags.append((700, 1, len(info.xmp), info.xmp, True))
    bigtiff = data.nbytes > 2**32 - 2**27
    if info.exif:
        parsed = _parse_exif_blob(info.exif)
        if parsed is not None:
            byteorder, ifd0, exif_tree = parsed
            extratags += [
                (tag, typ, count, raw, True)
                for tag, (typ, count, raw) in ifd0.items()
                if tag not in _RESOLUTION_TAGS  # written from info.dpi
            ]
            # IFD pointer tags cannot go through tifffile: write a placeholder one code below
            # (keeps the IFD sorted) and patch code and offset once the file exists.
            ptr_type = 16 if bigtiff else 4
            extratags += [(tag - 1, ptr_type, 1, 0, True) for tag in exif_tree]
    if info.iptc:
        extratags.append((_IPTC_TAG, 7, len(info.iptc), info.iptc, True))
    if info.dpi:
        kwargs["resolution"] = (float(info.dpi[0]), float(info.dpi[1]))
        kwargs["resolutionunit"] = "inch"
    extrasamples = None
    if alpha is not None:
        extrasamples = [info.extra.get("extrasamples", 2)]
    tifffile.imwrite(
        tmp,
        data if data.shape[2] > 1 else data[..., 0],
        photometric="rgb" if colour == 3 else "minisblack",
        planarconfig="contig",
        extrasamples=extrasamples,
        iccprofile=info.icc or None,
        extratags=extratags,
        metadata=None,
        software=False,  # the source's Software tag, if any, comes with its EXIF; regrain's
        # own mark is the XMP processing note
        byteorder=byteorder,
        bigtiff=bigtiff,
        maxworkers=2,
        **kwargs,
    )
    if exif_tree:
        _embed_exif_ifds(tmp, exif_tree)


# PNG -------------------------------------------------------------------------------------------


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _write_png(
    tmp: Path, image: np.ndarray, alpha: np.ndarray | None, info: ImageInfo, bits: int, _q: int
) -> None:
    import imagecodecs

    data = _stack(image, alpha, bits)
    if data.shape[2] == 1:
        data = data[..., 0]
    # zlib level 1, RLE strategy, SUB filter (OpenCV's fast settings): a 24 MP 16-bit frame in
    # ~5 s instead of ~8 s at level 1 alone, for the same size
    encoded = imagecodecs.png_encode(data, level=1, strategy=3, filter=16)
    ihdr_end = 8 + 12 + 13
    meta = []
    if info.icc:
        name = info.extra.get("icc_name") or b"ICC profile"
        meta.append(_png_chunk(b"iCCP", name[:79] + b"\0\0" + zlib.compress(info.icc)))
    if info.dpi:
        ppm = [round(d / 0.0254) for d in info.dpi]
        meta.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if info.exif:
        meta.append(_png_chunk(b"eXIf", info.exif))
    if info.xmp:
        meta.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + info.xmp))
    if info.iptc:
        meta.append(_png_chunk(b"zTXt", _metadata.iptc_png_text(info.iptc)))
    with open(tmp, "wb") as fh:
        fh.write(encoded[:ihdr_end])
        fh.writelines(meta)
        fh.write(encoded[ihdr_end:])


# JPEG ------------------------------------------------------------------------------------------


def _write_jpeg(
    tmp: Path, image: np.ndarray, _alpha: np.ndarray | None, info: ImageInfo, _b: int, quality: int
) -> None:
    from PIL import Image

    data = _from_float(image, 8)
    im = Image.fromarray(data[..., 0] if data.shape[2] == 1 else data)
    options: dict[str, Any] = {"quality": quality}
    options["subsampling"] = info.jpeg_subsampling if data.shape[2] == 3 else "4:4:4"
    if info.iptc:
        try:
            options["extra"] = _metadata.iptc_app13(info.iptc)
        except ValueError as exc:
            raise ImageFileError(tmp, str(exc)) from None
    if info.icc:
        options["icc_profile"] = info.icc
    if info.exif:
        if len(info.exif) + 6 > 65533:
            raise ImageFileError(tmp, f"EXIF block of {len(info.exif)} bytes does not fit in JPEG")
        options["exif"] = b"Exif\0\0" + info.exif
    if info.xmp and len(info.xmp) <= 65533 - 29:  # larger XMP needs extended XMP: not written
        options["xmp"] = info.xmp
    if info.dpi:
        options["dpi"] = (round(info.dpi[0]), round(info.dpi[1]))
    im.save(tmp, format="JPEG", **options)


# ------------------------------------------------------------------------- EXIF inside TIFF files
#
# TIFF keeps EXIF as IFDs inside the file, not as a block. Reading, the Exif/GPS IFDs (and the few
# IFD0 tags an EXIF block carries) are copied entry by entry, value bytes untouched, into a
# TIFF-structured block; writing, the block's IFDs are appended to the new file and linked from
# IFD0. The block is built deterministically, so TIFF -> TIFF keeps it byte-for-byte.

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
               16: 8, 17: 8, 18: 8}  # fmt: skip
_SUBIFD_TAGS = (34665, 34853, 40965)  # Exif, GPS, Interoperability
_RESOLUTION_TAGS = (282, 283, 296)  # XResolution, YResolution, ResolutionUnit: ImageInfo.dpi
_EXIF_IFD0_TAGS = (270, 271, 272, 274, 282, 283, 296, 305, 306, 315, 33432)  # description, make,
# model, orientation, resolution, software, date, artist, copyright: the IFD0 tags of an EXIF block
# that a TIFF IFD0 carries as well
_IPTC_TAG = 33723  # IPTC-NAA: the raw IPTC record in a TIFF's IFD0
_MAX_ENTRIES = 1000

Entries = dict[int, Any]  # tag -> (type, count, raw value bytes) or a nested Entries for a sub-IFD


def _read_ifd(read: Callable[[int, int], bytes], offset: int, bo: str, big: bool, depth: int = 0
              ) -> Entries:  # fmt: skip
    count_fmt, ent, inline = ("Q", 20, 8) if big else ("H", 12, 4)
    head = read(offset, 8 if big else 2)
    (n,) = struct.unpack(bo + count_fmt, head)
    if n > _MAX_ENTRIES:
        raise ValueError(f"EXIF directory with {n} entries")
    raw = read(offset + len(head), n * ent)
    if len(raw) < n * ent:
        raise ValueError("EXIF directory past the end of the file")
    entries: Entries = {}
    for i in range(n):
        e = raw[i * ent : (i + 1) * ent]
        tag, typ = struct.unpack(bo + "HH", e[:4])
        (count,) = struct.unpack(bo + ("Q" if big else "I"), e[4 : 4 + inline])
        value_field = e[4 + inline :]
        size = _TYPE_SIZES.get(typ, 0) * count
        if size == 0 or size > _MAX_META_BYTES:
            continue
        if tag in _SUBIFD_TAGS and depth < 2 and count == 1:
            (sub,) = struct.unpack(bo + ("Q" if size == 8 else "I"), value_field[:size])
            if sub:
                entries[tag] = _read_ifd(read, sub, bo, big, depth + 1)
            continue
        if size <= inline:
            value = value_field[:size]
        else:
            (where,) = struct.unpack(bo + ("Q" if big else "I"), value_field)
            value = read(where, size)
            if len(value) < size:
                continue
        entries[tag] = (typ, count, value)
    return entries


def _tiff_header(read: Callable[[int, int], bytes]) -> tuple[str, bool, int]:
    head = read(0, 16)
    bo = "<" if head[:2] == b"II" else ">"
    (magic,) = struct.unpack(bo + "H", head[2:4])
    if magic == 43:
        return bo, True, struct.unpack(bo + "Q", head[8:16])[0]
    return bo, False, struct.unpack(bo + "I", head[4:8])[0]


def _tiff_exif_blob(read: Callable[[int, int], bytes]) -> tuple[bytes | None, bytes | None]:
    """(EXIF, IPTC) of a TIFF file: the EXIF as a TIFF-structured block (its Exif/GPS IFDs and the
    IFD0 tags an EXIF block carries: orientation, software, camera, resolution ...), None when
    there is nothing but the resolution; the IPTC record of tag 33723 as its raw bytes."""
    try:
        bo, big, first = _tiff_header(read)
        ifd0 = _read_ifd(read, first, bo, big)
    except (struct.error, ValueError):
        return None, None
    iptc_entry = ifd0.get(_IPTC_TAG)
    iptc = bytes(iptc_entry[2]) if isinstance(iptc_entry, tuple) and iptc_entry[2] else None
    tree = {t: v for t, v in ifd0.items() if t in _EXIF_IFD0_TAGS or t in (34665, 34853)}
    unit = tree.get(296)
    if unit is None or unit[2][:2] in (b"\0\1", b"\1\0"):  # no unit: not a resolution
        tree = {t: v for t, v in tree.items() if t not in _RESOLUTION_TAGS}
    if not set(tree) - set(_RESOLUTION_TAGS):
        return None, iptc
    blob = (
        (b"II*\0" if bo == "<" else b"MM\0*")
        + struct.pack(bo + "I", 8)
        + _pack_ifd(tree, 8, bo, False)
    )
    return blob, iptc


def _parse_exif_blob(blob: bytes) -> tuple[str, Entries, Entries] | None:
    """Split an EXIF block into (byte order, plain IFD0 tags, sub-IFD trees); None if unreadable."""
    if blob[:4] not in (b"II*\0", b"MM\0*"):
        return None

    def read(offset: int, size: int) -> bytes:
        return blob[offset : offset + size]

    try:
        bo, _big, first = _tiff_header(read)
        ifd0 = _read_ifd(read, first, bo, False)
    except (struct.error, ValueError):
        return None
    plain = {t: v for t, v in ifd0.items() if t in _EXIF_IFD0_TAGS and isinstance(v, tuple)}
    subs = {t: v for t, v in ifd0.items() if t in (34665, 34853) and isinstance(v, dict)}
    return bo, plain, subs


def _pack_ifd(tree: Entries, start: int, bo: str, big: bool) -> bytes:
    """Serialise an IFD (and its sub-IFDs after it) to be placed at file offset *start*."""
    count_fmt, ent, inline, off_fmt = ("Q", 20, 8, "Q") if big else ("H", 12, 4, "I")
    tags = sorted(tree)
    head_size = struct.calcsize(bo + count_fmt) + ent * len(tags) + struct.calcsize(bo + off_fmt)
    body = bytearray()
    fields: list[bytes] = []
    subtrees: list[tuple[int, Entries]] = []
    for tag in tags:
        value = tree[tag]
        if isinstance(value, dict):
            subtrees.append((len(fields), value))
            fields.append(b"")  # filled once the sub-IFD offset is known
            continue
        typ, count, raw = value
        entry = struct.pack(bo + "HH" + off_fmt, tag, typ, count)
        if len(raw) <= inline:
            fields.append(entry + raw.ljust(inline, b"\0"))
        else:
            if len(body) % 2:
                body += b"\0"
            fields.append(entry + struct.pack(bo + off_fmt, start + head_size + len(body)))
            body += raw
    for index, subtree in subtrees:
        if len(body) % 2:
            body += b"\0"
        where = start + head_size + len(body)
        body += _pack_ifd(subtree, where, bo, big)
        ptr_type = 16 if big else 4
        fields[index] = struct.pack(bo + "HH" + off_fmt, tags[index], ptr_type, 1) + struct.pack(
            bo + off_fmt, where
        )
    head = struct.pack(bo + count_fmt, len(tags)) + b"".join(fields) + struct.pack(bo + off_fmt, 0)
    return head + bytes(body)


def _embed_exif_ifds(path: Path, subs: Entries) -> None:
    """Append the Exif/GPS IFDs to a TIFF written with placeholder tags (code - 1) and link them."""
    with open(path, "r+b") as fh:

        def read(offset: int, size: int) -> bytes:
            return _fh_read(fh, offset, size)

        bo, big, first = _tiff_header(read)
        count_fmt, ent = ("Q", 20) if big else ("H", 12)
        (n,) = struct.unpack(bo + count_fmt, read(first, struct.calcsize(count_fmt)))
        entries_at = first + struct.calcsize(count_fmt)
        raw = read(entries_at, n * ent)
        for tag, tree in subs.items():
            for i in range(n):
                (code,) = struct.unpack(bo + "H", raw[i * ent : i * ent + 2])
                if code == tag - 1:
                    break
            else:  # pragma: no cover - tifffile always writes the placeholder
                continue
            end = fh.seek(0, os.SEEK_END)
            if end % 2:
                fh.write(b"\0")
                end += 1
            fh.write(_pack_ifd(tree, end, bo, big))
            fh.seek(entries_at + i * ent)
            fh.write(struct.pack(bo + "H", tag))
            fh.seek(entries_at + i * ent + (12 if big else 8))
            fh.write(struct.pack(bo + ("Q" if big else "I"), end))
