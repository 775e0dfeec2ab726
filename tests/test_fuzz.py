"""Seeded fuzzing of the readers: mutated TIFF, PNG, JPEG and PSD files through ``read_image``.

Each format starts from a few small valid files the test writes (with an ICC profile, EXIF and
XMP where the format holds them); every case applies a few mutations drawn from its seed: bit
flips, a truncation, inserted or deleted bytes, a header field set to an extreme value. A reader
may answer in two ways only: an :class:`~regrain.errors.ImageFileError` naming the file, or an
image as regrain promises one (float32 (H, W, C) in [0, 1], no NaN). Anything else (an
``IndexError`` from a decoder, numpy's ``MemoryError``, a NaN) is a bug.
"""

from __future__ import annotations

import io as _bytes_io
import struct
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import SAMPLE_XMP, make_pixels, sample_exif, write_psd
from conftest import srgb_icc as _srgb_icc

CASES_PER_FORMAT = 200
FUZZ_MAX_PIXELS = 4_000_000
"""A low pixel limit, so that a mutated header claiming a huge image is refused at once (the
memory a reader may use under the limit is another test's business)."""


def srgb_icc() -> bytes:
    """The tests' sRGB profile without its creation time (LittleCMS stamps the clock in the
    header), so that the corpora, and the mutants, are the same on every run."""
    icc = bytearray(_srgb_icc())
    icc[24:36] = bytes(12)
    return bytes(icc)


def _tiff_files() -> list[bytes]:
    out = []
    for bits, compression, predictor in ((8, "deflate", True), (16, "lzw", True), (8, None, False),
                                         (16, "packbits", False)):  # fmt: skip
        buf = _bytes_io.BytesIO()
        tifffile.imwrite(buf, make_pixels(bits, 3, height=16, width=20, seed=bits),
                         photometric="rgb", compression=compression,
                         predictor=predictor or None, iccprofile=srgb_icc(),
                         extratags=[(700, 1, len(SAMPLE_XMP), SAMPLE_XMP, False)],
                         rowsperstrip=4)  # fmt: skip
        out.append(buf.getvalue())
    buf = _bytes_io.BytesIO()
    tifffile.imwrite(buf, make_pixels(8, 1, height=16, width=16), photometric="minisblack",
                     tile=(16, 16))  # fmt: skip
    out.append(buf.getvalue())
    return out


def _png_files() -> list[bytes]:
    out = [
        imagecodecs.png_encode(make_pixels(8, 3, height=16, width=20)),
        imagecodecs.png_encode(make_pixels(16, 4, height=12, width=12)),
        imagecodecs.png_encode(make_pixels(8, 1, height=16, width=16)),
    ]
    buf = _bytes_io.BytesIO()
    Image.fromarray(make_pixels(8, 3, height=16, width=20)).save(
        buf, format="PNG", icc_profile=srgb_icc(), exif=sample_exif()
    )
    out.append(buf.getvalue())
    pal = Image.fromarray(make_pixels(8, 3, height=16, width=16)).quantize(16)
    buf = _bytes_io.BytesIO()
    pal.save(buf, format="PNG")
    out.append(buf.getvalue())
    return out


def _jpeg_files() -> list[bytes]:
    out = []
    for mode, kwargs in (("RGB", {"quality": 90}), ("RGB", {"progressive": True}),
                         ("L", {"quality": 80}), ("RGB", {"subsampling": 0})):  # fmt: skip
        img = Image.fromarray(make_pixels(8, 3, height=24, width=32)).convert(mode)
        buf = _bytes_io.BytesIO()
        img.save(buf, format="JPEG", icc_profile=srgb_icc(), exif=sample_exif(), **kwargs)
        out.append(buf.getvalue())
    return out


def _psd_files(tmp: Path) -> list[bytes]:
    from regrain import PsdLayer, write_psd_stack

    out = [
        write_psd(
            tmp / "flat8.psd", make_pixels(8, 3, height=12, width=16), icc=srgb_icc()
        ).read_bytes(),
        write_psd(tmp / "flat16.psd", make_pixels(16, 1, height=12, width=16)).read_bytes(),
    ]
    image = make_pixels(16, 3, height=12, width=16).astype(np.float32) / 65535
    layers = [PsdLayer("Low", image), PsdLayer("High", 1 - image, mode="linear-light")]
    for bits, compression in ((8, "rle"), (16, "zip"), (16, "raw")):
        path = tmp / f"stack{bits}{compression}.psd"
        write_psd_stack(path, layers, bits=bits, icc=srgb_icc(), compression=compression)
        out.append(path.read_bytes())
    return out


EXTREMES = (0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)


SAME_LENGTH = (0, 4, 5)
"""The mutations that keep every byte in its place (a chunked format's structure survives)."""


def mutate(data: bytes, seed: int, *, same_length: bool = False) -> bytes:
    """One to four mutations of *data*, drawn from *seed*; the first 4 bytes (the magic number)
    survive most of them, so that the file still reaches its format's reader."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 6))
        if same_length:
            kind = SAME_LENGTH[kind % len(SAME_LENGTH)]
        at = int(rng.integers(4, max(5, len(out))))
        if kind == 0:  # bit flips
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(4, len(out)))
                out[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # truncation
            del out[at:]
        elif kind == 2:  # inserted bytes
            out[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        elif kind == 3:  # deleted bytes
            del out[at : at + int(rng.integers(1, 64))]
        elif kind == 4:  # a 2- or 4-byte field set to an extreme value, either byte order
            size = 2 if rng.random() < 0.5 else 4
            value = EXTREMES[int(rng.integers(0, len(EXTREMES)))] & ((1 << (8 * size)) - 1)
            order = ">" if rng.random() < 0.5 else "<"
            out[at : at + size] = struct.pack(f"{order}{'H' if size == 2 else 'I'}", value)
        else:  # a run of bytes overwritten with random ones
            n = int(rng.integers(1, 32))
            out[at : at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        if len(out) < 8:
            out = bytearray(data[:8])
    return bytes(out)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk's CRC that the file's structure still lets one find, so that a
    mutation reaches the decoder instead of stopping at the checksum."""
    import zlib

    out = bytearray(data)
    pos = 8
    while pos + 12 <= len(out):
        (length,) = struct.unpack(">I", out[pos : pos + 4])
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(out[pos + 4 : end]))
        pos = end + 4
    return bytes(out)


def _mutant(fmt: str, source: bytes, seed: int) -> bytes:
    if fmt != "png" or seed % 4 == 0:
        return mutate(source, seed)
    # PNG checks a CRC per chunk and wants its chunk chain whole: three in four mutants keep
    # their bytes in place and get good checksums, so that the mutation reaches the decoder
    return fix_png_crcs(mutate(source, seed, same_length=True))


FORMATS: dict[str, tuple[str, Callable[[Path], list[bytes]]]] = {
    "tiff": (".tif", lambda tmp: _tiff_files()),
    "png": (".png", lambda tmp: _png_files()),
    "jpeg": (".jpg", lambda tmp: _jpeg_files()),
    "psd": (".psd", _psd_files),
}


def read_mutant(path: Path) -> str:
    """Read *path* as regrain does; return "read" or "refused", or raise what went wrong."""
    from regrain.errors import ImageFileError
    from regrain.io import read_image

    try:
        pixels, _ = read_image(path, max_pixels=FUZZ_MAX_PIXELS)
    except ImageFileError as exc:
        assert exc.path == str(path), exc
        assert "\n" not in str(exc), exc
        return "refused"
    assert pixels.dtype == np.float32 and pixels.ndim == 3, (pixels.dtype, pixels.shape)
    assert pixels.shape[2] in (1, 2, 3, 4), pixels.shape
    low, high = float(pixels.min()), float(pixels.max())
    assert np.isfinite(low) and np.isfinite(high), "NaN or inf in a read image"
    assert 0.0 <= low and high <= 1.0, (low, high)
    return "read"


KNOWN_CRASHES: dict[str, list[int]] = {}
"""Seeds whose mutant a reader does not handle yet (see test_known_reader_crashes)."""


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_mutated_files_are_read_or_refused(tmp_path: Path, fmt: str) -> None:
    suffix, make = FORMATS[fmt]
    sources = make(tmp_path)
    outcomes = {"read": 0, "refused": 0}
    failures = []
    for seed in range(CASES_PER_FORMAT):
        if seed in KNOWN_CRASHES.get(fmt, ()):
            continue
        path = tmp_path / f"mutant{seed}{suffix}"
        path.write_bytes(_mutant(fmt, sources[seed % len(sources)], seed))
        try:
            outcomes[read_mutant(path)] += 1
        except Exception as exc:  # collected, reported together below
            failures.append(f"seed {seed}: {type(exc).__name__}: {exc}"[:300])
        path.unlink()
    assert not failures, "\n".join(failures)
    assert outcomes["refused"] > CASES_PER_FORMAT // 10  # the mutations do reach the readers
