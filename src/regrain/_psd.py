"""Layered Photoshop files (PSD) for frequency-separation stacks, written and read at full depth.

A stack is a list of :class:`PsdLayer`, bottom layer first, as a retoucher builds it by hand:
``Low`` (Normal) with ``High`` above it in Linear Light, or ``Residual`` with ``Detail N`` layers
above it (coarsest first). :func:`write_psd_stack` writes it as an 8- or 16-bit RGB or Grayscale
PSD with the flattened composite and the ICC profile (image resource 1039), so Photoshop, GIMP
and psd-tools open it as layers and previews show the real image. :func:`read_psd_stack` reads any
RGB/Grayscale PSD back (a stack after a Generative Fill pass in Photoshop, say) with psd-tools.

Pixels cross the file boundary in regrain's float convention: Linear Light layers have mid grey
0.5 in memory and Photoshop's neutral level 128 / 32768 in the file (see
:func:`regrain._bands.high_to_file`). The format is Adobe's "Photoshop File Formats
Specification": header, colour mode data, image resources, layer and mask information, then the
merged image data. psd-tools can read 16-bit layered files but cannot create them, hence this
writer.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from regrain._bands import high_from_file
from regrain._checks import check_choice, check_image
from regrain.errors import ImageFileError, ParameterError

if TYPE_CHECKING:
    from regrain.io import ImageInfo

__all__ = [
    "BLEND_KEYS",
    "COMPRESSIONS",
    "PsdLayer",
    "flatten_layers",
    "merge_psd_stack",
    "read_psd_stack",
    "write_psd_stack",
]

BLEND_KEYS: dict[str, bytes] = {"normal": b"norm", "linear-light": b"lLit"}
"""Blend modes a stack may use -> Photoshop's 4-byte blend mode key."""

COMPRESSIONS = ("auto", "raw", "rle", "zip")
"""Values of ``compression`` for :func:`write_psd_stack`."""
_RAW, _RLE, _ZIP = 0, 1, 3  # PSD compression codes (3 = ZIP with prediction)
_MAX_SIDE = 30000  # PSD (not PSB) limit in pixels
_RESOLUTION_RESOURCE = 1005
_ICC_RESOURCE = 1039
_VERSION_RESOURCE = 1057
_XMP_RESOURCE = 1060
_MODE_GRAY, _MODE_RGB = 1, 3


@dataclass(frozen=True)
class PsdLayer:
    """One layer of a stack.

    ``image`` is float32 (H, W, C) in [0, 1] in regrain's convention (a Linear Light layer has
    mid grey 0.5) and ``alpha`` its transparency, float32 (H, W), None when opaque. ``mode`` is
    a key of :data:`BLEND_KEYS` when writing (reading may also give other Photoshop modes, e.g.
    ``"overlay"``); ``opacity`` is 0..1. Written layers cover the whole canvas; a layer read
    back covers its own box, whose corner on the canvas is ``top``/``left``, and has ``image``
    None when it has no pixels (an adjustment layer).
    """

    name: str
    image: np.ndarray | None = field(repr=False)
    mode: str = "normal"
    opacity: float = 1.0
    visible: bool = True
    alpha: np.ndarray | None = field(default=None, repr=False)
    top: int = 0
    left: int = 0


# ---------------------------------------------------------------------------------------------
# writing


def write_psd_stack(
    path: str | os.PathLike[str],
    layers: Sequence[PsdLayer],
    *,
    bits: int = 16,
    icc: bytes | None = None,
    xmp: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    composite: np.ndarray | None = None,
    compression: str = "auto",
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write *layers* (bottom first) as a layered 8- or 16-bit PSD, atomically.

    Every layer covers the canvas, opaque unless it has an ``alpha``; its ``mode`` is
    ``"normal"`` or ``"linear-light"``. The document is Grayscale when every layer has one
    channel, else RGB (a one-channel layer is repeated into R, G and B). *icc* goes into image
    resource 1039 and *xmp* into 1060, byte for byte; *dpi* (x, y) into 1005. The merged image
    (what a viewer without layer support shows) is *composite* if given, else the layers
    flattened as Photoshop would (:func:`flatten_layers`) from the values actually stored.
    *compression*: ``"auto"`` uses PackBits (RLE) where it pays (8-bit channels, the opaque
    transparency channel) and stores 16-bit colour raw, which PackBits cannot shrink; ``"rle"``
    and ``"raw"`` use one method throughout; ``"zip"`` deflates the layers with prediction
    (a 16-bit stack about 20 % smaller, several times slower). Refuses to overwrite one of
    *inputs*.
    """
    from regrain.io import check_output_path

    if bits not in (8, 16):
        raise ParameterError(f"bits must be 8 or 16 for a PSD stack; got {bits}.")
    check_choice(compression, COMPRESSIONS, "compression")
    if not layers:
        raise ParameterError("layers must hold at least one layer; got none.")
    height, width = _check_layers(layers)
    if max(height, width) > _MAX_SIDE:
        raise ParameterError(
            f"a PSD is at most {_MAX_SIDE} px on a side; the image is {width}x{height} px "
            "(write the layers as TIFF files to a folder instead)."
        )
    channels = 1 if all(layer.image.shape[2] == 1 for layer in layers) else 3
    top = 255 if bits == 8 else 65535
    path = check_output_path(path, inputs, suffixes=None)

    scratch = np.empty((height, width, channels), np.float32)  # reused: fresh memory is slow
    stored = [_to_levels(layer, bits, channels, scratch) for layer in layers]
    if composite is None and _simple(layers):
        merged = _flatten_levels(layers, stored, top)
    elif composite is None:
        decoded = [
            PsdLayer(
                layer.name,
                _from_levels(levels, top, layer.mode, bits),
                layer.mode,
                layer.opacity,
                layer.visible,
                None if layer.alpha is None else _levels(layer.alpha, top, bits) / np.float32(top),
            )
            for layer, levels in zip(layers, stored, strict=True)
        ]
        merged = _levels(_broadcast(flatten_layers(decoded), channels), top, bits, scratch)
        del decoded
    else:
        check_image(composite, "composite")
        if composite.shape[:2] != (height, width):
            raise ParameterError(
                f"composite must be {width}x{height} px like the layers; "
                f"got {composite.shape[1]}x{composite.shape[0]}."
            )
        merged = _levels(_broadcast(composite, channels), top, bits, scratch)
    del scratch

    from regrain.io import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w+b") as fp:
        _write_header(fp, channels, height, width, bits)
        fp.write(struct.pack(">I", 0))  # colour mode data: none for RGB/Grayscale
        _write_resources(fp, icc=icc, xmp=xmp, dpi=dpi)
        _write_layer_section(fp, layers, stored, bits, compression)
        merged_rle = compression == "rle" or (compression != "raw" and bits == 8)
        _write_merged(fp, merged, bits, _RLE if merged_rle else _RAW)
    return path


def _check_layers(layers: Sequence[PsdLayer]) -> tuple[int, int]:
    shape = None
    for k, layer in enumerate(layers):
        if not isinstance(layer, PsdLayer):
            raise TypeError(f"layers[{k}] must be a PsdLayer; got {type(layer).__name__}.")
        if layer.image is None:
            raise ParameterError(f"layer {layer.name!r} has no pixels.")
        check_image(layer.image, f"layer {layer.name!r}")
        if layer.image.shape[2] not in (1, 3):
            raise ParameterError(
                f"layer {layer.name!r} must have 1 or 3 channels; got {layer.image.shape[2]}."
            )
        check_choice(layer.mode, BLEND_KEYS, "blend mode")
        if not 0.0 <= layer.opacity <= 1.0:
            raise ParameterError(f"opacity must be in 0..1; got {layer.opacity:g}.")
        if layer.top or layer.left:
            raise ParameterError(
                f"layer {layer.name!r} must cover the canvas from its corner; "
                f"got top={layer.top}, left={layer.left}."
            )
        if layer.alpha is not None and layer.alpha.shape != layer.image.shape[:2]:
            raise ParameterError(
                f"layer {layer.name!r}: alpha must be (H, W) like its image; "
                f"got {layer.alpha.shape}."
            )
        if shape is None:
            shape = layer.image.shape[:2]
        elif layer.image.shape[:2] != shape:
            h, w = layer.image.shape[:2]
            raise ParameterError(
                f"layer {layer.name!r} is {w}x{h} px but layer {layers[0].name!r} is "
                f"{shape[1]}x{shape[0]} px; all layers must have the same size."
            )
    return shape


def _broadcast(image: np.ndarray, channels: int) -> np.ndarray:
    if image.shape[2] == channels:
        return image
    if image.shape[2] == 1:
        return np.repeat(image, channels, axis=2)
    raise ParameterError(f"cannot store a {image.shape[2]}-channel image in a Grayscale PSD.")


def _levels(
    image: np.ndarray, top: int, bits: int, scratch: np.ndarray | None = None
) -> np.ndarray:
    """Float [0, 1] -> uint8/uint16 levels, nearest level (like regrain.io)."""
    out = np.multiply(image, np.float32(top), out=scratch, dtype=np.float32)
    np.clip(out, np.float32(0), np.float32(top), out=out)
    np.rint(out, out=out)
    return out.astype(np.uint8 if bits == 8 else np.uint16)


def _to_levels(layer: PsdLayer, bits: int, channels: int, scratch: np.ndarray) -> np.ndarray:
    top = 255 if bits == 8 else 65535
    image = _broadcast(layer.image, channels)
    if layer.mode != "linear-light":
        return _levels(image, top, bits, scratch)
    # Linear Light layers sit on Photoshop's grid: level = high * top + 0.5 (high_to_file)
    np.multiply(image, np.float32(top), out=scratch)
    scratch += np.float32(0.5)
    np.clip(scratch, np.float32(0), np.float32(top), out=scratch)
    np.rint(scratch, out=scratch)
    return scratch.astype(np.uint8 if bits == 8 else np.uint16)


def _simple(layers: Sequence[PsdLayer]) -> bool:
    """Opaque, visible, full-opacity layers: the composite can be done in integer levels."""
    plain = all(layer.visible and layer.opacity == 1.0 and layer.alpha is None for layer in layers)
    return plain and any(layer.mode == "normal" for layer in layers)


def _flatten_levels(layers: Sequence[PsdLayer], stored: list[np.ndarray], top: int) -> np.ndarray:
    """Photoshop's integer compositing: Normal replaces, Linear Light adds 2*H - (top + 1)."""
    start = max(k for k, layer in enumerate(layers) if layer.mode == "normal")
    result = stored[start].astype(np.int32)
    for levels in stored[start + 1 :]:  # all Linear Light
        result += levels
        result += levels
        result -= top + 1
        np.clip(result, 0, top, out=result)
    return result.astype(stored[0].dtype)


def _from_levels(levels: np.ndarray, top: int, mode: str, bits: int) -> np.ndarray:
    image = levels.astype(np.float32) * np.float32(1.0 / top)
    if mode == "linear-light":
        image = high_from_file(image, bits)
    return image


def _write_header(fp: BinaryIO, channels: int, height: int, width: int, bits: int) -> None:
    mode = _MODE_GRAY if channels == 1 else _MODE_RGB
    fp.write(b"8BPS" + struct.pack(">H6xHIIHH", 1, channels, height, width, bits, mode))


def _unicode_string(text: str) -> bytes:
    data = text.encode("utf-16-be")
    return struct.pack(">I", len(data) // 2) + data


def _resource(rid: int, data: bytes) -> bytes:
    block = b"8BIM" + struct.pack(">H", rid) + b"\x00\x00" + struct.pack(">I", len(data)) + data
    return block + (b"\x00" if len(data) % 2 else b"")


def _write_resources(
    fp: BinaryIO, *, icc: bytes | None, xmp: bytes | None, dpi: tuple[float, float] | None
) -> None:
    # 1057 version info: "has real merged data", so readers trust the composite
    version = (
        struct.pack(">IB", 1, 1) + _unicode_string("regrain") + _unicode_string("regrain")
    ) + struct.pack(">I", 1)
    blocks = [_resource(_VERSION_RESOURCE, version)]
    if dpi:  # fixed-point 16.16 pixels per inch, shown in inches
        x, y = (round(float(v) * 65536) for v in dpi)
        blocks.append(_resource(_RESOLUTION_RESOURCE, struct.pack(">IHHIHH", x, 1, 1, y, 1, 1)))
    if icc:
        blocks.append(_resource(_ICC_RESOURCE, bytes(icc)))
    if xmp:
        blocks.append(_resource(_XMP_RESOURCE, bytes(xmp)))
    data = b"".join(blocks)
    fp.write(struct.pack(">I", len(data)) + data)


def _pascal_name(name: str) -> bytes:
    raw = name.encode("latin-1", "replace")[:255]
    data = bytes([len(raw)]) + raw
    return data + b"\x00" * (-len(data) % 4)


def _layer_record(layer: PsdLayer, shape: tuple[int, int], ids: list[int]) -> tuple[bytes, int]:
    """One layer record; returns it and the offset of its first channel-length field."""
    height, width = shape
    head = struct.pack(">4iH", 0, 0, height, width, len(ids))
    first_length = len(head) + 2
    head += b"".join(struct.pack(">hI", cid, 0) for cid in ids)  # lengths patched later
    flags = 0x08  # bit 3: bit 4 is meaningful (pixel data relevant); bit 1 clear: visible
    if not layer.visible:
        flags |= 0x02
    opacity = round(layer.opacity * 255)
    head += b"8BIM" + BLEND_KEYS[layer.mode] + struct.pack(">BBBx", opacity, 0, flags)
    ranges = struct.pack(">HHHH", 0, 0xFFFF, 0, 0xFFFF) * (len(ids))  # gray + each colour
    extra = struct.pack(">I", 0)  # no layer mask
    extra += struct.pack(">I", len(ranges)) + ranges
    extra += _pascal_name(layer.name)
    luni = _unicode_string(layer.name)
    luni += b"\x00" * (-len(luni) % 4)
    extra += b"8BIMluni" + struct.pack(">I", len(luni)) + luni
    return head + struct.pack(">I", len(extra)) + extra, first_length


def _channel_method(compression: str, bits: int, alpha: bool) -> int:
    if compression == "raw":
        return _RAW
    if compression == "zip":
        return _ZIP
    if compression == "rle" or bits == 8 or alpha:
        return _RLE
    return _RAW  # "auto", 16-bit colour: PackBits would not shrink it


def _encode_channel(plane: np.ndarray, bits: int, method: int) -> list:
    """One channel (H, W) of levels as PSD channel data: a list of buffers, code first."""
    big = plane.astype(">u2" if bits == 16 else np.uint8)  # contiguous copy of a strided plane
    head = struct.pack(">H", method)
    if method == _RAW:
        return [head, big]
    if method == _ZIP:
        delta = np.empty_like(big)  # prediction: each row as differences, wrapping around
        delta[:, :1] = big[:, :1]
        np.subtract(big[:, 1:], big[:, :-1], out=delta[:, 1:])
        return [head, zlib.compress(delta, 1)]
    counts, data = _packbits_rows(big)
    return [head, counts, data]


def _packbits_rows(big: np.ndarray) -> tuple[bytes, bytes]:
    """PackBits each row of a (H, W) big-endian array; returns (row byte counts, data)."""
    import imagecodecs

    rows = big.view(np.uint8).reshape(big.shape[0], -1)
    packed = [imagecodecs.packbits_encode(row) for row in rows]
    counts = np.array([len(p) for p in packed], dtype=">u2").tobytes()
    return counts, b"".join(packed)


def _write_layer_section(
    fp: BinaryIO,
    layers: Sequence[PsdLayer],
    stored: list[np.ndarray],
    bits: int,
    compression: str,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    channels = stored[0].shape[2]
    ids = [-1, *range(channels)]  # -1: transparency (all opaque)
    section_start = fp.tell()
    fp.write(struct.pack(">II", 0, 0))  # layer-and-mask length, layer-info length: patched
    info_start = fp.tell()
    fp.write(struct.pack(">h", len(layers)))  # positive: the merged image has no alpha
    length_fields = []
    for layer in layers:
        record, first = _layer_record(layer, stored[0].shape[:2], ids)
        length_fields.append(fp.tell() + first)
        fp.write(record)
    top = 255 if bits == 8 else 65535
    opaque = np.full(stored[0].shape[:2], top, np.uint8 if bits == 8 else np.uint16)
    # deflate releases the GIL: two channels at a time on two cores
    with ThreadPoolExecutor(2 if compression == "zip" else 1) as pool:
        for layer, levels, first in zip(layers, stored, length_fields, strict=True):
            alpha = opaque
            if layer.alpha is not None:
                alpha = _levels(layer.alpha[..., None], top, bits)[..., 0]
            jobs = [
                pool.submit(
                    _encode_channel,
                    alpha if cid == -1 else levels[..., cid],
                    bits,
                    _channel_method(compression, bits, cid == -1),
                )
                for cid in ids
            ]
            lengths = []
            for job in jobs:
                buffers = job.result()
                for buffer in buffers:
                    fp.write(buffer)
                lengths.append(sum(memoryview(b).nbytes for b in buffers))
            end = fp.tell()
            for k, length in enumerate(lengths):
                fp.seek(first + 6 * k)
                fp.write(struct.pack(">I", length))
            fp.seek(end)
    info_length = fp.tell() - info_start
    fp.write(b"\x00" * (-info_length % 4))
    info_length += -info_length % 4
    fp.write(struct.pack(">I", 0))  # global layer mask info: none
    end = fp.tell()
    fp.seek(section_start)
    fp.write(struct.pack(">II", end - section_start - 4, info_length))
    fp.seek(end)


def _write_merged(fp: BinaryIO, merged: np.ndarray, bits: int, compression: int) -> None:
    dtype = ">u2" if bits == 16 else np.uint8
    planes = [merged[..., c].astype(dtype) for c in range(merged.shape[2])]
    fp.write(struct.pack(">H", compression))
    if compression == _RAW:
        for plane in planes:
            fp.write(plane)
        return
    encoded = [_packbits_rows(plane) for plane in planes]
    for counts, _ in encoded:
        fp.write(counts)
    for _, data in encoded:
        fp.write(data)


# ---------------------------------------------------------------------------------------------
# flattening


def flatten_layers(layers: Sequence[PsdLayer]) -> np.ndarray:
    """Composite visible layers bottom-up as Photoshop does for Normal and Linear Light.

    Each layer blends over the result so far, clipped to [0, 1], then mixes in by its opacity
    times its ``alpha``. The bottom visible layer is taken as opaque.
    Returns float32 (H, W, C). Other blend modes raise :class:`ParameterError`.
    """
    from regrain._bands import merge

    result: np.ndarray | None = None
    for layer in layers:
        if not layer.visible or layer.image is None:
            continue
        check_choice(layer.mode, BLEND_KEYS, "blend mode")
        if layer.mode == "normal" or result is None:
            blended = layer.image.astype(np.float32, copy=True)
            if result is not None and blended.shape[2] != result.shape[2]:
                blended = _broadcast(blended, result.shape[2])
        else:
            blended = merge(result, layer.image)
        weight = layer.opacity if layer.alpha is None else layer.alpha[..., None] * layer.opacity
        if result is not None and (layer.alpha is not None or layer.opacity < 1.0):
            blended -= result
            blended *= np.float32(weight) if layer.alpha is None else weight.astype(np.float32)
            blended += result
        result = blended
    if result is None:
        raise ParameterError("no visible layer with pixels to flatten.")
    return result


# ---------------------------------------------------------------------------------------------
# reading


def read_psd_stack(
    path: str | os.PathLike[str], *, max_pixels: int | None = None
) -> tuple[list[PsdLayer], ImageInfo]:
    """Read every layer of an RGB or Grayscale PSD/PSB at full depth, bottom layer first.

    Returns ``(layers, info)``: :class:`PsdLayer` objects (layers inside groups included, groups
    themselves left out) and a :class:`regrain.io.ImageInfo` with the file's bit depth, ICC
    profile (resource 1039), XMP and resolution. Linear Light layers are converted back to mid
    grey 0.5.
    """
    psd, info = _open(path, max_pixels)
    layers = [_read_layer(layer, info.bits) for layer in psd.descendants() if not layer.is_group()]
    return layers, info


def _open(path: str | os.PathLike[str], max_pixels: int | None) -> tuple[Any, ImageInfo]:
    """Check the header, then open with psd-tools; returns (PSDImage, ImageInfo)."""
    from psd_tools import PSDImage

    from regrain.io import DEFAULT_MAX_PIXELS, ImageInfo

    path = Path(path)
    height, width, bits = _read_header(path)
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if height * width > limit:
        raise ImageFileError(
            path,
            f"{width}x{height} px is more than the {limit / 1e6:g} MP limit "
            "(raise --max-megapixels if the file is trusted)",
        )
    try:
        psd = PSDImage.open(path)
    except Exception as exc:  # any parse failure is a bad file for the user
        raise ImageFileError(path, f"not a readable PSD ({exc})") from None
    resources = psd.image_resources
    icc = resources.get_data(_ICC_RESOURCE) if _ICC_RESOURCE in resources else None
    xmp = resources.get_data(_XMP_RESOURCE) if _XMP_RESOURCE in resources else None
    dpi = None
    if _RESOLUTION_RESOURCE in resources:
        res = resources.get_data(_RESOLUTION_RESOURCE)
        dpi = (res.horizontal / 65536, res.vertical / 65536)
    info = ImageInfo(format="psd", bits=bits, icc=icc, xmp=xmp, dpi=dpi, path=str(path))
    return psd, info


def _read_header(path: Path) -> tuple[int, int, int]:
    if not path.is_file():
        raise ImageFileError(path, "no such file")
    with open(path, "rb") as fp:
        head = fp.read(26)
    if len(head) < 26 or head[:4] != b"8BPS":
        raise ImageFileError(path, "not a Photoshop file (no 8BPS signature)")
    _version, _channels, height, width, bits, mode = struct.unpack(">H6xHIIHH", head[4:])
    if mode not in (_MODE_GRAY, _MODE_RGB):
        names = {0: "Bitmap", 2: "Indexed", 4: "CMYK", 7: "Multichannel", 8: "Duotone", 9: "Lab"}
        raise ImageFileError(
            path,
            f"colour mode {names.get(mode, mode)} is not supported; convert the document to "
            "RGB or Grayscale in Photoshop (Image > Mode)",
        )
    if bits not in (8, 16, 32):
        raise ImageFileError(path, f"{bits}-bit documents are not supported; use 8 or 16 bits")
    return height, width, bits


def _read_layer(layer, bits: int) -> PsdLayer:
    mode = _mode_name(layer.blend_mode)
    opacity = layer.opacity / 255.0
    color = layer.numpy("color") if layer.has_pixels() else None
    if color is None:
        return PsdLayer(layer.name, None, mode, opacity, layer.visible)
    image = _exact(color, bits)
    if mode == "linear-light":
        image = high_from_file(image, bits)
    alpha = layer.numpy("shape")
    if alpha is not None and float(np.min(alpha)) < 1.0:
        alpha = _exact(alpha, bits)[..., 0]
    else:
        alpha = None
    left, top = layer.offset
    return PsdLayer(layer.name, image, mode, opacity, layer.visible, alpha, top, left)


def _exact(array: np.ndarray, bits: int) -> np.ndarray:
    """psd-tools' float pixels snapped back onto the file's level grid, as float32 (H, W, C)."""
    array = np.array(array, dtype=np.float32, copy=True, order="C")
    if array.ndim == 2:
        array = array[..., None]
    if bits in (8, 16):
        top = np.float32(255 if bits == 8 else 65535)
        array *= top
        np.rint(array, out=array)
        array *= np.float32(1.0) / top
    return array


def _mode_name(blend_mode) -> str:
    """psd-tools BlendMode -> regrain's mode name ('linear-light', 'normal', 'overlay', ...)."""
    name = getattr(blend_mode, "name", str(blend_mode))
    return name.lower().replace("_", "-")


# ---------------------------------------------------------------------------------------------
# putting the texture back


_BASE_NAME = re.compile(r"^\s*(low|residual)\b", re.IGNORECASE)
_DETAIL_NAME = re.compile(r"^\s*(high|detail\s*\d+)\b", re.IGNORECASE)


def merge_psd_stack(
    path: str | os.PathLike[str], *, max_pixels: int | None = None
) -> tuple[np.ndarray, ImageInfo, list[str]]:
    """Put a stack's untouched texture back over its (retouched) Low layer: ``regrain merge``.

    Finds the texture layers by name (``High``, or ``Detail 1``..``Detail N``; names such as
    "High-Frequency" or "High (Texture)" count) and the ``Low`` / ``Residual`` layer beneath
    them. What lies under the texture is taken as Photoshop shows it: the Low layer's pixels, or,
    when other visible layers sit between Low and the texture (a Generative Fill layer, a
    retouch layer), the composite of everything beneath the texture (psd-tools). The texture
    layers are then added in Linear Light at their opacity, hidden or not. Layers above the
    texture are left out (reported in the notes).

    Returns ``(image, info, notes)``: float32 (H, W, C), a :class:`regrain.io.ImageInfo` with
    the PSD's depth and ICC profile, and lines worth telling the user.
    """
    psd, info = _open(path, max_pixels)
    height, width, bits = psd.height, psd.width, info.bits
    layers = [layer for layer in psd.descendants() if not layer.is_group()]
    names = ", ".join(repr(layer.name) for layer in layers) or "none"
    details = [k for k, layer in enumerate(layers) if _DETAIL_NAME.match(layer.name)]
    bases = [k for k, layer in enumerate(layers) if _BASE_NAME.match(layer.name)]
    if not details or not bases:
        raise ImageFileError(
            path,
            "no Low and High layers (or Residual and Detail N layers) to merge; its layers are, "
            f"bottom first: {names}",
        )
    highs = [k for k in details if layers[k].name.strip().lower().startswith("high")]
    if highs and len(highs) != len(details):
        raise ImageFileError(path, f"mixes High and Detail N texture layers; its layers: {names}")
    if len(highs) > 1:
        raise ImageFileError(
            path,
            f"has {len(highs)} High layers ({', '.join(repr(layers[k].name) for k in highs)}); "
            "rename or delete all but one",
        )
    first = min(details)
    below = [k for k in bases if k < first]
    if not below:
        raise ImageFileError(
            path,
            f"layer {layers[bases[0]].name!r} must lie below {layers[first].name!r}; "
            f"its layers are, bottom first: {names}",
        )
    base = max(below)

    notes: list[str] = []
    extra = [k for k in range(base + 1, first) if layers[k].is_visible()]
    gaps = [k for k in range(first, len(layers)) if k not in details]
    above = [layers[k].name for k in gaps if k > max(details)]
    between = [layers[k].name for k in gaps if k < max(details)]
    if between:
        raise ImageFileError(
            path,
            f"layers {', '.join(map(repr, between))} sit between the texture layers; move "
            "them under the lowest texture layer or above the top one",
        )
    if above:
        notes.append(f"left out the layers above the texture: {', '.join(map(repr, above))}")

    if not extra and _plain_layer(layers[base], width, height):
        low = _exact(layers[base].numpy("color"), bits)
    else:
        from psd_tools.composite import composite

        wanted = {id(layers[k]) for k in range(0, first)}
        color, _shape, _alpha = composite(
            psd,
            color=1.0,
            alpha=0.0,
            viewport=(0, 0, width, height),
            layer_filter=lambda layer: layer.is_group() or (id(layer) in wanted and layer.visible),
        )
        low = _exact(color, bits)
        composited = [layers[k].name for k in range(base, first) if layers[k].is_visible()]
        notes.append(f"took what lies under the texture: {', '.join(map(repr, composited))}")
    image = low
    for k in details:
        layer = layers[k]
        mode = _mode_name(layer.blend_mode)
        if mode != "linear-light":
            raise ImageFileError(
                path,
                f"layer {layer.name!r} is in {mode.replace('-', ' ').title()} mode; the texture "
                "must be in Linear Light",
            )
        if not _plain_layer(layer, width, height, check_mode=False):
            raise ImageFileError(
                path,
                f"layer {layer.name!r} no longer covers the whole {width}x{height} px canvas "
                "opaquely; regrain needs the texture layer as split wrote it",
            )
        texture = high_from_file(_exact(layer.numpy("color"), bits), bits)
        texture -= np.float32(0.5)
        texture *= np.float32(2.0 * layer.opacity / 255.0)  # Linear Light at the layer's opacity
        image += texture
    np.clip(image, 0.0, 1.0, out=image)
    return image, info, notes


def _plain_layer(layer, width: int, height: int, *, check_mode: bool = True) -> bool:
    """Is this a pixel layer whose stored pixels are exactly what it shows over the canvas?"""
    # psd-tools >= 1.10 calls it `clipping`; older versions `clipping_layer`
    clipped = layer.clipping if hasattr(type(layer), "clipping") else layer.clipping_layer
    if layer.bbox != (0, 0, width, height) or clipped or layer.has_effects():
        return False
    if layer.mask is not None and not layer.mask.disabled:
        return False
    if check_mode and (_mode_name(layer.blend_mode) != "normal" or layer.opacity != 255):
        return False
    alpha = layer.numpy("shape")
    return alpha is None or float(alpha.min()) >= 1.0
