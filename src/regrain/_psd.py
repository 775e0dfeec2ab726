"""Layered Photoshop files (PSD): frequency-separation stacks and restore's layered result.

A stack is a list of :class:`PsdLayer`, bottom layer first, as a retoucher builds it by hand:
``Low`` (Normal) with ``High`` above it in Linear Light, or ``Residual`` with ``Detail N`` layers
above it (coarsest first). :func:`write_psd_stack` writes it as an 8- or 16-bit RGB or Grayscale
PSD with the flattened composite and the photo's metadata as image resources (ICC 1039, EXIF
1058, XMP 1060, IPTC 1028, resolution 1005), so Photoshop, GIMP and psd-tools open it as layers
and previews show the real image. :func:`read_psd_stack` reads any RGB/Grayscale PSD back (a
stack after a Generative Fill pass in Photoshop, say); :func:`merge_psd_stack` puts the texture
back. :func:`write_restore_psd` writes ``regrain restore``'s result as layers: ``AI edit`` and
the texture put back over it in Linear Light, each with its layer mask (docs/psd.md).

psd-tools (>= 1.26) builds, writes and reads the documents. Two things are done by hand, each
shown necessary by a test in tests/test_psd.py: the merged image is regrain's own composite
(psd-tools would store its float Linear Light, one level off Photoshop's at 8 bits), and the
header is checked before psd-tools parses the file, so a bad file is one line naming it.

Pixels cross the file boundary in regrain's float convention: Linear Light layers of a stack have
mid grey 0.5 in memory and Photoshop's neutral level 128 / 32768 in the file (see
:func:`regrain._bands.high_to_file`).
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regrain._bands import high_from_file
from regrain._checks import check_choice, check_image, check_range
from regrain.errors import ImageFileError, ParameterError

if TYPE_CHECKING:
    from regrain.io import ImageInfo

__all__ = [
    "BLEND_KEYS",
    "COMPRESSIONS",
    "RESTORE_LAYER_NAMES",
    "PsdLayer",
    "flatten_layers",
    "merge_psd_stack",
    "psd_metadata",
    "read_psd_stack",
    "write_psd_stack",
    "write_restore_psd",
]

BLEND_KEYS: dict[str, bytes] = {"normal": b"norm", "linear-light": b"lLit"}
"""Blend modes a written layer may use -> Photoshop's 4-byte blend mode key."""

COMPRESSIONS = ("auto", "raw", "rle", "zip")
"""Values of ``compression`` for :func:`write_psd_stack`: ``auto`` is PackBits (RLE), as ``rle``;
``zip`` is deflate with prediction (a 16-bit stack about 20 % smaller, about 3 times slower)."""

RESTORE_LAYER_NAMES = {
    "edited": "AI edit",
    "restored": "Restored texture",
    "rebuilt": "Rebuilt texture",
    "glare": "Glare compensation",
}
"""The layers of :func:`write_restore_psd`, bottom first: key of ``RestoreResult.layers`` ->
the layer's name in the PSD."""

_MAX_SIDE = 30000  # PSD (not PSB) limit in pixels
_RESOLUTION, _ICC, _EXIF, _XMP, _IPTC = 1005, 1039, 1058, 1060, 1028  # image resource ids
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
# writing a frequency-separation stack


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
    exif: bytes | None = None,
    iptc: bytes | None = None,
) -> Path:
    """Write *layers* (bottom first) as a layered 8- or 16-bit PSD, atomically.

    Every layer covers the canvas, opaque unless it has an ``alpha``; its ``mode`` is
    ``"normal"`` or ``"linear-light"``. The document is Grayscale when every layer has one
    channel, else RGB (a one-channel layer is repeated into R, G and B). *icc*, *exif* (a
    TIFF-structured block, as :class:`regrain.io.ImageInfo` holds it), *xmp* and *iptc* (IPTC-IIM
    records) go into image resources 1039, 1058, 1060 and 1028 byte for byte; *dpi* (x, y) into
    1005. The merged image (what a viewer without layer support shows) is *composite* if given,
    else the layers flattened as Photoshop would (:func:`flatten_layers`) from the values
    actually stored. *compression* is one of :data:`COMPRESSIONS`. Refuses to overwrite one of
    *inputs*.
    """
    from regrain.io import check_output_path

    if bits not in (8, 16):
        raise ParameterError(f"bits must be 8 or 16 for a PSD stack; got {bits}.")
    check_choice(compression, COMPRESSIONS, "compression")
    if not layers:
        raise ParameterError("layers must hold at least one layer; got none.")
    height, width = _check_layers(layers)
    _check_side(height, width)
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

    doc = _Document(channels, height, width, bits, compression)
    for layer, levels in zip(layers, stored, strict=True):
        alpha = None if layer.alpha is None else _levels(layer.alpha, top, bits)
        doc.add(layer.name, levels, layer.mode, layer.opacity, visible=layer.visible, alpha=alpha)
    doc.save(path, merged, {_ICC: icc, _EXIF: exif, _XMP: xmp, _IPTC: iptc}, dpi=dpi)
    return path


def _check_side(height: int, width: int) -> None:
    if max(height, width) > _MAX_SIDE:
        raise ParameterError(
            f"a PSD is at most {_MAX_SIDE} px on a side; the image is {width}x{height} px "
            "(write the layers as TIFF files to a folder instead)."
        )


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


class _Document:
    """A new PSD built with psd-tools: layers added bottom first, then saved atomically with
    regrain's merged image and the photo's image resources."""

    def __init__(self, channels: int, height: int, width: int, bits: int, compression: str):
        from psd_tools import PSDImage
        from psd_tools.constants import Compression

        self.bits = bits
        codes = {"raw": Compression.RAW, "rle": Compression.RLE}
        codes["zip"] = Compression.ZIP_WITH_PREDICTION
        codes["auto"] = Compression.RLE  # psd-tools stores every channel of a layer alike:
        # raw 16-bit colour would leave the constant transparency channel raw too (+18 % size)
        self.compression = codes[compression]
        self.psd = PSDImage.new("RGB" if channels == 3 else "L", (width, height), depth=bits)

    def add(
        self,
        name: str,
        levels: np.ndarray,
        mode: str,
        opacity: float,
        *,
        visible: bool = True,
        alpha: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        """Add a layer over the canvas from its stored levels (uint8/uint16 (H, W, C)); *alpha*
        (H, W) levels is its transparency, *mask* (H, W) bool its layer mask."""
        from PIL import Image
        from psd_tools.api.layers import PixelLayer
        from psd_tools.constants import BlendMode

        if alpha is not None:
            levels = np.concatenate([levels, alpha[..., None]], axis=2)
        layer = PixelLayer.fromarray(levels, self.psd, name=name, compression=self.compression)
        layer.blend_mode = BlendMode(BLEND_KEYS[mode])
        layer.opacity = round(opacity * 255)
        layer.visible = visible
        if mask is not None:
            picture = Image.fromarray(np.where(mask, np.uint8(255), np.uint8(0)), "L")
            layer.create_mask(picture, compression=self.compression)

    def save(
        self,
        path: Path,
        merged: np.ndarray,
        resources: Mapping[int, bytes | None],
        *,
        dpi: tuple[float, float] | None = None,
    ) -> None:
        """Write the document to *path* atomically; *merged* is the composite in levels."""
        from psd_tools.constants import Compression
        from psd_tools.psd.image_resources import ImageResource

        from regrain.io import atomic_output

        blocks = self.psd.image_resources
        if dpi:  # fixed-point 16.16 pixels per inch, shown in inches
            x, y = (round(float(v) * 65536) for v in dpi)
            data = struct.pack(">IHHIHH", x, 1, 1, y, 1, 1)
            blocks[_RESOLUTION] = ImageResource(key=_RESOLUTION, data=data)
        for key, data in resources.items():
            if data:
                blocks[key] = ImageResource(key=key, data=bytes(data))
        # psd-tools would store its own float composite (one level off Photoshop's 8-bit Linear
        # Light); the merged image is regrain's, so flat readers see the exact result
        record = self.psd._record
        record.image_data.compression = Compression.RLE if self.bits == 8 else Compression.RAW
        dtype = np.uint8 if self.bits == 8 else ">u2"
        planes = [
            np.ascontiguousarray(merged[..., c], dtype).tobytes() for c in range(merged.shape[2])
        ]
        record.image_data.set_data(planes, record.header)
        self.psd._updated = False
        with atomic_output(path) as tmp:
            self.psd.save(tmp)


# ---------------------------------------------------------------------------------------------
# restore's result as layers


def write_restore_psd(
    path: str | os.PathLike[str],
    edited: np.ndarray,
    layers: Mapping[str, np.ndarray],
    info: ImageInfo,
    *,
    strength: float = 1.0,
    inputs: Iterable[str | os.PathLike[str]] = (),
    note: str | dict | None = None,
    bits: int | None = None,
) -> Path:
    """Write restore's result as a layered PSD a retoucher can adjust, atomically.

    *edited* is the AI's image, float32 (H, W, C); *layers* is ``RestoreResult.layers`` of
    ``regrain.restore(..., layers=True)`` (signed differences at strength 1 and their 0/1 masks);
    *info* the edited file's :class:`regrain.io.ImageInfo`. The layers, bottom first (names in
    :data:`RESTORE_LAYER_NAMES`): ``AI edit`` (Normal), ``Restored texture`` and ``Rebuilt
    texture`` (Linear Light, each with its layer mask), and ``Glare compensation`` (Linear
    Light, masked) when restore made up for a veil. Their composite is restore's flat output
    ``clip(edited + strength * (restored + glare + rebuilt))`` within one level in GIMP,
    psd-tools and Photoshop at 16 bits (see docs/psd.md for Photoshop at 8 bits); the merged
    image is that output exactly. Opacity is *strength* up to 1; above 1 the layers hold the
    strengthened texture at full opacity. *bits* (8 or 16) sets the depth; by default 8-bit
    for an 8-bit *info*, else 16-bit; Grayscale or
    RGB as *edited*; ICC, EXIF, XMP, IPTC and resolution of *info* as image resources. *note*
    adds a processing note to the XMP, as :func:`regrain.io.write_image` does.
    """
    from regrain.io import _with_note, check_output_path

    if note is not None:
        info = info.with_(xmp=_with_note(info, note, "psd"))

    check_image(edited, "edited")
    strength = check_range(strength, "strength", low=0.0, high=4.0)
    height, width, channels = edited.shape
    _check_side(height, width)
    if channels not in (1, 3):
        raise ParameterError(f"edited must have 1 or 3 channels; got {channels}.")
    for key in ("restored", "glare", "rebuilt"):
        if key not in layers or layers[key].shape != edited.shape:
            raise ParameterError(
                f"layers[{key!r}] must be a difference shaped like edited {edited.shape}; "
                "pass RestoreResult.layers of restore(..., layers=True)."
            )
    path = check_output_path(path, inputs, suffixes=(".psd",))
    if bits not in (None, 8, 16):
        raise ParameterError(f"bits must be 8 or 16 for a PSD; got {bits!r}.")
    bits = bits or (8 if info.bits == 8 else 16)
    top = np.float32(255 if bits == 8 else 65535)
    opacity = round(min(strength, 1.0) * 255) / 255  # as stored: a whole 0..255 step
    gain = 1.0 if strength == 0 else strength / opacity  # what the layer holds, x difference
    mix = 1.0 if strength == 0 else opacity  # at strength 0 the layers show strength 1, hidden

    def grid(image: np.ndarray) -> np.ndarray:  # regrain.io's rounding to float levels, in place
        np.clip(image, 0.0, 1.0, out=image)
        image *= top
        image += np.float32(0.5)
        return np.floor(image, out=image)

    # whole-image float32 buffers: the stack so far (in levels, as the float programs compute
    # it), the differences so far, and one scratch plane set for targets and levels
    built = grid(edited.copy())
    doc = _Document(channels, height, width, bits, "auto")
    doc.add(RESTORE_LAYER_NAMES["edited"], built.astype(_dtype(bits)), "normal", 1.0)
    total = np.zeros_like(edited)
    scratch = np.empty_like(edited)
    plan = [("restored", layers.get("restored_mask")), ("rebuilt", layers.get("rebuilt_mask"))]
    glare = layers["glare"]
    if np.any(glare):
        plan.append(("glare", np.abs(glare).max(axis=2) > 0))
    for i, (key, mask) in enumerate(plan):
        difference = layers[key]
        cover = np.abs(difference).max(axis=2) > 0 if mask is None else np.asarray(mask) > 0
        if i == len(plan) - 1:
            # the last layer aims at the flat output itself, summed in restore's own order: a
            # float32 sum in the layers' order can differ by an ulp, which at a half-level
            # boundary is one level more, and the layer's own rounding up made it two
            np.add(layers["restored"], layers["glare"], out=total)
            total += layers["rebuilt"]
        else:
            total += difference
        np.multiply(total, np.float32(gain * mix), out=scratch)
        scratch += edited
        levels = _linear_light_levels(grid(scratch), built, mix, top)
        levels[~cover] = np.ceil(top / 2)  # neutral where the mask hides the layer
        doc.add(RESTORE_LAYER_NAMES[key], levels.astype(_dtype(bits)), "linear-light", opacity,
                mask=cover)  # fmt: skip
        _linear_light(built, levels, mix, top, cover)
    del built
    delta = total  # the last layer's step left restore's own sum there
    if strength != 1.0:
        delta *= np.float32(strength)
    delta += edited
    flat = grid(delta)
    resources = {_ICC: info.icc, _EXIF: info.exif, _XMP: info.xmp}
    resources[_IPTC] = getattr(info, "iptc", None)
    doc.save(path, flat.astype(_dtype(bits)), resources, dpi=info.dpi)
    return path


def _dtype(bits: int) -> type:
    return np.uint8 if bits == 8 else np.uint16


def _linear_light_levels(
    target: np.ndarray, below: np.ndarray, opacity: float, top: np.float32
) -> np.ndarray:
    """The Linear Light levels that bring *below* to *target* (float levels) at *opacity*,
    computed in *target*'s buffer.

    Linear Light in float, as GIMP, psd-tools and Photoshop at 16 bits compute it, adds
    ``opacity * (2 * L - top)`` levels; L is rounded up, so the float result lands on the target
    or one level above, and Photoshop's 8-bit ``B + 2L - 256`` on it or one below.
    """
    levels = np.subtract(target, below, out=target)
    if opacity != 1.0:
        levels /= np.float32(opacity)
    levels += top
    levels *= np.float32(0.5)
    levels -= np.float32(1e-3)  # an exact half-way value is not rounded up by float noise
    np.ceil(levels, out=levels)
    return np.clip(levels, 0, top, out=levels)


def _linear_light(
    built: np.ndarray, levels: np.ndarray, opacity: float, top: np.float32, cover: np.ndarray
) -> None:
    """Lay *levels* over *built* in float Linear Light at *opacity* where *cover*, in place:
    what GIMP shows (each layer clipped to the range, then mixed by its opacity)."""
    blended = np.multiply(levels, np.float32(2))
    blended -= top
    blended += built
    np.clip(blended, 0, top, out=blended)
    blended -= built
    if opacity != 1.0:
        blended *= np.float32(opacity)
    blended[~cover] = 0
    built += blended


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
    with _decoding(Path(path)):
        layers = [
            _read_layer(layer, info.bits) for layer in psd.descendants() if not layer.is_group()
        ]
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
    with _decoding(path):
        psd = PSDImage.open(path)
        _check_packbits(psd, path)
        meta = psd_metadata(psd)
    return psd, ImageInfo(format="psd", bits=bits, path=str(path), **meta)


def psd_metadata(psd: Any) -> dict[str, Any]:
    """The :class:`regrain.io.ImageInfo` fields a PSD's image resources give, as keywords:
    ``icc``, ``exif``, ``xmp`` (bytes or None), ``dpi`` ((x, y) or None) and ``iptc`` when
    ImageInfo has that field."""
    from regrain.io import ImageInfo

    resources = psd.image_resources
    found = {key: _resource_bytes(resources, key) for key in (_ICC, _EXIF, _XMP, _IPTC)}
    dpi = None
    res = resources.get_data(_RESOLUTION) if _RESOLUTION in resources else None
    if res is not None and res.horizontal and res.vertical:
        dpi = (res.horizontal / 65536, res.vertical / 65536)
    meta = {"icc": found[_ICC], "exif": found[_EXIF], "xmp": found[_XMP], "dpi": dpi}
    if found[_IPTC] and "iptc" in {f.name for f in fields(ImageInfo)}:
        meta["iptc"] = found[_IPTC]
    return meta


@contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Turn any failure of psd-tools on a bad file into one line naming it (its own messages,
    such as ``'{name}' must be in range []``, mean nothing to a user), warnings kept quiet."""
    from psd_tools import PSDDecompressionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # psd-tools replaces a channel it cannot decode by black and warns: here that is an error
        warnings.simplefilter("error", PSDDecompressionWarning)
        try:
            yield
        except (ImageFileError, KeyboardInterrupt):
            raise
        except MemoryError:
            raise ImageFileError(path, "not enough memory to decode this PSD") from None
        except Exception as exc:
            raise ImageFileError(
                path, "cannot decode this PSD; its layer data is truncated or corrupt"
            ) from exc


def _check_packbits(psd: Any, path: Path) -> None:
    """Refuse corrupt PackBits layer data, which psd-tools pads or clips row by row in silence
    (a corrupt layer would merge as garbage; tests/test_psd.py shows it)."""
    import imagecodecs
    from psd_tools.constants import Compression

    depth = psd.depth // 8
    for layer in psd.descendants():
        record, channels = layer._record, getattr(layer, "_channels", None) or []
        width, height = record.right - record.left, record.bottom - record.top
        for info, channel in zip(record.channel_info, channels, strict=False):
            if info.id < -1 or channel.compression != Compression.RLE or width * height == 0:
                continue  # masks have their own box; only colour and transparency are checked
            data = channel.data
            counts = np.frombuffer(data, ">u2", count=height) if len(data) >= 2 * height else None
            ok = counts is not None and int(counts.sum()) == len(data) - 2 * height
            offset = 2 * height
            for count in counts if ok else ():
                row = imagecodecs.packbits_decode(data[offset : offset + int(count)])
                offset += int(count)
                if len(row) != width * depth:
                    ok = False
                    break
            if not ok:
                raise ImageFileError(
                    path, f"layer {layer.name!r} has corrupt PackBits data; the file is damaged"
                )


def _resource_bytes(resources: Any, key: int) -> bytes | None:
    if key not in resources:
        return None
    value = resources[key].data
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value) or None
    return None


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
    if bits not in (8, 16):
        raise ImageFileError(
            path,
            f"{bits}-bit layers are not supported; save the document as 8 or 16 bits/channel "
            "(Photoshop: Image > Mode > 16 Bits/Channel)",
        )
    if height * width == 0:
        raise ImageFileError(path, f"header gives an empty image ({width}x{height} px)")
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
    with _decoding(Path(path)):
        return _merge(psd, info, path)


def _merge(psd, info: ImageInfo, path) -> tuple[np.ndarray, ImageInfo, list[str]]:
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
