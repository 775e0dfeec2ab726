"""Shared fixtures: small seeded test images written as real files (TIFF, PNG, JPEG, PSD).

Every image is tiny (a few dozen pixels a side) so that tests stay fast; content is seeded noise
plus a gradient, which exercises every level a round trip must keep.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from regrain.io import ImageInfo, write_image


def srgb_icc() -> bytes:
    """An sRGB ICC profile (as Photoshop would embed it), built by LittleCMS."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def sample_exif() -> bytes:
    """A small TIFF-structured EXIF block: camera, orientation, exposure, date, GPS."""
    from PIL import Image

    exif = Image.Exif()
    exif[271] = "regrain test camera"  # Make
    exif[272] = "RT-1"  # Model
    exif[274] = 1  # Orientation
    exif[33432] = "CC0 test image"  # Copyright
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = (1, 250)  # ExposureTime
    sub[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    return exif.tobytes()[6:]  # without the JPEG "Exif\0\0" prefix


SAMPLE_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"/></rdf:RDF></x:xmpmeta>'
)


def make_pixels(
    bits: int, channels: int = 3, *, height: int = 24, width: int = 32, seed: int = 0
) -> np.ndarray:
    """Seeded integer (or float32) samples (H, W, channels): noise over a diagonal gradient."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.arange(height), np.arange(width)) / (height + width - 2)
    base = np.repeat(ramp[..., None], channels, axis=2)
    values = np.clip(base + rng.normal(0, 0.08, base.shape), 0, 1)
    if bits == 32:
        return values.astype(np.float32)
    top = 255 if bits == 8 else 65535
    return np.round(values * top).astype(np.uint8 if bits == 8 else np.uint16)


def write_psd(
    path: Path, pixels: np.ndarray, *, icc: bytes | None = None, mode: int | None = None
) -> Path:
    """Write a flat PSD (raw image data, no layers) from uint8/uint16 (H, W, 1|3|4) samples.

    Photoshop's own layout: header, empty colour-mode data, image resources (ICC 1039), empty layer
    section, then the flattened composite, planar and big-endian. *mode* is the PSD colour mode
    (1 gray, 3 RGB, 4 CMYK, 9 Lab; default from the channel count).
    """
    height, width, channels = pixels.shape
    depth = pixels.dtype.itemsize * 8
    if mode is None:
        mode = 3 if channels >= 3 else 1
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, channels, height, width, depth, mode)
    resources = b""
    if icc:
        block = icc + (b"\0" if len(icc) % 2 else b"")
        resources += b"8BIM" + struct.pack(">HHI", 1039, 0, len(icc)) + block
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1)).astype(pixels.dtype.newbyteorder(">"))
    body = (
        header
        + struct.pack(">I", 0)
        + struct.pack(">I", len(resources))
        + resources
        + struct.pack(">I", 0)
        + struct.pack(">H", 0)
        + planes.tobytes()
    )
    path.write_bytes(body)
    return path


@pytest.fixture
def icc_profile() -> bytes:
    return srgb_icc()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a small RGB image with an sRGB ICC profile; returns its path.

    ``make_image("x.tif", bits=16)`` -> 16-bit TIFF; ``.png`` / ``.jpg`` work too. Options:
    ``channels`` (1, 3, 4 = RGBA), ``size`` (H, W), ``seed``, ``exif``/``xmp`` (bytes, or True for
    the samples here), ``compression`` (TIFF).
    """

    def make(
        name: str = "image.tif",
        *,
        bits: int = 16,
        channels: int = 3,
        size: tuple[int, int] = (24, 32),
        seed: int = 0,
        exif: bytes | bool | None = None,
        xmp: bytes | bool | None = None,
        compression: str | None = None,
    ) -> Path:
        path = tmp_path / name
        raw = make_pixels(bits, channels, height=size[0], width=size[1], seed=seed)
        colour = 3 if channels >= 3 else 1
        scale = {8: 255.0, 16: 65535.0, 32: 1.0}[bits]
        image = (raw[..., :colour] / scale).astype(np.float32)
        alpha = (raw[..., colour] / scale).astype(np.float32) if channels > colour else None
        info = ImageInfo(
            format="tiff",
            bits=bits,
            icc=srgb_icc(),
            exif=sample_exif() if exif is True else exif or None,
            xmp=SAMPLE_XMP if xmp is True else xmp or None,
            alpha=alpha,
            compression=compression,
        )
        write_image(path, image, info)
        return path

    return make


@pytest.fixture
def rgb16_tiff(make_image: Callable[..., Path]) -> Path:
    """A 32x24 px 16-bit RGB TIFF with an sRGB ICC profile (the common retouching file)."""
    return make_image("rgb16.tif", bits=16)


@pytest.fixture
def rgb8_tiff(make_image: Callable[..., Path]) -> Path:
    """A 32x24 px 8-bit RGB TIFF with an sRGB ICC profile."""
    return make_image("rgb8.tif", bits=8)
