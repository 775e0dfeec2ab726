"""regrain.io: files keep their pixels, bit depth, colour profile and metadata through a round trip.

Source files are written by other libraries (tifffile, Pillow, imagecodecs, psd-tools) so that the
reader is checked on files it did not make; the written files are read back the same way.
"""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import SAMPLE_XMP, make_pixels, sample_exif, write_psd
from regrain import io
from regrain.errors import ImageFileError, ParameterError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _exif_tags(blob: bytes) -> dict:
    """Every EXIF tag of a block, flattened: {(ifd, tag): value}, for comparing across formats."""
    exif = Image.Exif()
    exif.load(b"Exif\0\0" + blob)
    tags = {(0, t): v for t, v in exif.items() if t not in (0x8769, 0x8825)}
    for ifd in (0x8769, 0x8825):
        tags.update({(ifd, t): v for t, v in exif.get_ifd(ifd).items()})
    return tags


def _png_with_chunks(pixels: np.ndarray, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG from imagecodecs (16-bit RGB works) with extra chunks after IHDR."""
    encoded = imagecodecs.png_encode(pixels)
    extra = b"".join(
        struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks
    )
    return encoded[:33] + extra + encoded[33:]


# ------------------------------------------------------------------------------- level mapping


@pytest.mark.parametrize("bits", [8, 16])
def test_every_level_survives_float_and_back(bits: int) -> None:
    dtype = np.uint8 if bits == 8 else np.uint16
    levels = np.arange(2**bits, dtype=dtype).reshape(1, -1, 1)
    as_float = io._to_float(levels)
    assert as_float.dtype == np.float32
    np.testing.assert_allclose(as_float.ravel(), levels.ravel() / (2**bits - 1), rtol=1e-6)
    assert np.array_equal(io._from_float(as_float, bits), levels)


def test_out_of_range_values_clip_to_black_and_white() -> None:
    values = np.array([-0.5, 0.0, 0.5, 1.0, 1.5], np.float32).reshape(1, -1, 1)
    assert io._from_float(values, 16).ravel().tolist() == [0, 0, 32768, 65535, 65535]
    assert io._from_float(values, 8).ravel().tolist() == [0, 0, 128, 255, 255]


# ------------------------------------------------------------------------------------- TIFF


@pytest.mark.parametrize("compression", [None, "lzw", "deflate", "zstd"])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("bits", [8, 16, 32])
def test_tiff_round_trip_is_exact(
    tmp_path: Path, bits: int, channels: int, compression: str | None, icc_profile: bytes
) -> None:
    raw = make_pixels(bits, channels, seed=bits + channels)
    src, out = tmp_path / "src.tif", tmp_path / "out.tif"
    tifffile.imwrite(
        src,
        raw if channels > 1 else raw[..., 0],
        photometric="rgb" if channels >= 3 else "minisblack",
        extrasamples=[2] if channels == 4 else None,
        compression=compression,
        iccprofile=icc_profile,
        extratags=[(700, 1, len(SAMPLE_XMP), SAMPLE_XMP, True)],
    )
    image, info = io.read_image(src)
    assert image.dtype == np.float32
    assert image.shape == (*raw.shape[:2], 3 if channels >= 3 else 1)
    assert (info.format, info.bits, info.compression) == ("tiff", bits, compression)
    assert (info.alpha is not None) == (channels == 4)
    io.write_image(out, image, info)
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        back = page.asarray()
        assert page.compression == tifffile.TiffFile(src).pages.first.compression
        kept = page.tags.get(34675)
        # an RGB profile on a gray image is dropped (it would make a PNG invalid)
        assert (kept.value if kept else None) == (icc_profile if channels >= 3 else None)
        assert page.tags[700].value == SAMPLE_XMP
    assert back.dtype == raw.dtype
    assert np.array_equal(back.reshape(raw.shape), raw)


def test_tiff_planar_and_big_endian_are_read(tmp_path: Path) -> None:
    raw = make_pixels(16, 3)
    src = tmp_path / "planar.tif"
    tifffile.imwrite(src, raw.transpose(2, 0, 1), photometric="rgb", planarconfig="separate",
                     byteorder=">")  # fmt: skip
    image, _ = io.read_image(src)
    assert np.array_equal(io._from_float(image, 16), raw)


def test_float_tiff_in_0_1_is_read_exactly(tmp_path: Path) -> None:
    values = np.array([[[0.0], [0.123456789], [1.0]]], np.float32)
    io.write_image(tmp_path / "f.tif", values, io.ImageInfo(bits=32))
    image, info = io.read_image(tmp_path / "f.tif")
    assert info.bits == 32
    assert np.array_equal(image, values)


def test_float_tiff_outside_0_1_is_refused(tmp_path: Path) -> None:
    # the core works on display-referred levels: scene-referred (HDR) values would be clipped
    hdr = np.array([[[-0.25], [0.5], [3.75]]], np.float32)
    tifffile.imwrite(tmp_path / "hdr.tif", hdr[..., 0])
    with pytest.raises(ImageFileError, match=r"hdr.tif: 2 pixels are outside 0-1 \(float values "
                       r"from -0.25 to 3.75\); .*tone-map"):  # fmt: skip
        io.read_image(tmp_path / "hdr.tif")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_nan_or_inf_is_refused(tmp_path: Path, bad: float) -> None:
    values = np.full((4, 5, 3), 0.5, np.float32)
    values[0, :4, 1] = bad  # 4 pixels, one channel each
    values[3, 4] = bad  # a fifth pixel, every channel
    tifffile.imwrite(tmp_path / "x.tif", values, photometric="rgb")
    with pytest.raises(ImageFileError, match=r"^\S*x.tif: 5 pixels are NaN or infinite; "):
        io.read_image(tmp_path / "x.tif")


def test_tiff_exif_is_kept_and_stable(tmp_path: Path, make_image) -> None:
    src = make_image("exif.tif", exif=True)
    _, info = io.read_image(src)
    assert info.dpi is None  # tifffile's default resolution has no unit: nothing to carry
    assert _exif_tags(info.exif) == _exif_tags(sample_exif())
    with tifffile.TiffFile(src) as tif:  # a real EXIF IFD that other readers find
        tags = tif.pages.first.tags
        assert tags[34665].value["ExposureTime"] == (1, 250)
        assert tags[34853].value["GPSLatitudeRef"] == "N"
        assert tags[271].value == "regrain test camera"
    io.write_image(tmp_path / "again.tif", *io.read_image(src))
    _, again = io.read_image(tmp_path / "again.tif")
    assert again.exif == info.exif  # TIFF -> TIFF: byte for byte


def test_tiff_without_exif_reads_none(rgb16_tiff: Path) -> None:
    _, info = io.read_image(rgb16_tiff)
    assert info.exif is None and info.xmp is None
    assert info.icc is not None


# -------------------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("bits", [8, 16])
def test_png_round_trip_is_exact(tmp_path: Path, bits: int, channels: int) -> None:
    raw = make_pixels(bits, channels, seed=channels)
    src, out = tmp_path / "src.png", tmp_path / "out.png"
    src.write_bytes(imagecodecs.png_encode(raw if channels > 1 else raw[..., 0]))
    image, info = io.read_image(src)
    assert (info.format, info.bits) == ("png", bits)
    assert (info.alpha is not None) == (channels in (2, 4))
    io.write_image(out, image, info)
    back = imagecodecs.png_decode(out.read_bytes())
    assert back.dtype == raw.dtype
    assert np.array_equal(back.reshape(raw.shape), raw)


def test_png16_metadata_bytes_are_kept(tmp_path: Path, icc_profile: bytes) -> None:
    exif = sample_exif()
    raw = make_pixels(16, 3)
    src = tmp_path / "meta.png"
    src.write_bytes(
        _png_with_chunks(
            raw,
            [
                (b"iCCP", b"sRGB\0\0" + zlib.compress(icc_profile)),
                (b"eXIf", exif),
                (b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + SAMPLE_XMP),
                (b"pHYs", struct.pack(">IIB", 11811, 11811, 1)),
            ],
        )
    )
    image, info = io.read_image(src)
    assert (info.icc, info.exif, info.xmp, info.dpi) == (icc_profile, exif, SAMPLE_XMP, (300, 300))
    out = tmp_path / "out.png"
    io.write_image(out, image, info)
    with Image.open(out) as im:  # an independent reader finds them
        assert im.info["icc_profile"] == icc_profile
        assert im.info["exif"].removeprefix(b"Exif\0\0") == exif
        assert im.info["xmp"] == SAMPLE_XMP
    _, again = io.read_image(out)
    assert (again.icc, again.exif, again.xmp) == (icc_profile, exif, SAMPLE_XMP)


def test_png_palette_is_expanded_to_rgb(tmp_path: Path) -> None:
    gray = make_pixels(8, 1)[..., 0]
    Image.fromarray(gray).convert("P").save(tmp_path / "palette.png")
    image, info = io.read_image(tmp_path / "palette.png")
    with Image.open(tmp_path / "palette.png") as im:
        expected = np.asarray(im.convert("RGB"))
    assert info.bits == 8
    assert np.array_equal(io._from_float(image, 8), expected)


# ------------------------------------------------------------------------------------- JPEG


def test_jpeg_round_trip_keeps_metadata_and_tones(tmp_path: Path, icc_profile: bytes) -> None:
    ramp = np.add.outer(np.arange(48), np.arange(64)) / 110
    raw = np.round(np.stack([ramp, ramp[::-1], ramp[:, ::-1]], axis=2) * 255).astype(np.uint8)
    src = tmp_path / "src.jpg"
    exif = sample_exif()
    Image.fromarray(raw).save(src, quality=95, icc_profile=icc_profile, exif=b"Exif\0\0" + exif,
                              xmp=SAMPLE_XMP, subsampling=0)  # fmt: skip
    image, info = io.read_image(src)
    assert (info.format, info.bits) == ("jpeg", 8)
    assert (info.icc, info.exif, info.xmp) == (icc_profile, exif, SAMPLE_XMP)
    out = tmp_path / "out.jpg"
    io.write_image(out, image, info, quality=95)
    again, info2 = io.read_image(out)
    assert (info2.icc, info2.exif, info2.xmp) == (icc_profile, exif, SAMPLE_XMP)
    assert np.abs(again - image).max() <= 3 / 255  # re-encoding a smooth image at q95


def test_jpeg_quality_changes_the_file(tmp_path: Path, rgb8_tiff: Path) -> None:
    image, info = io.read_image(rgb8_tiff)
    io.write_image(tmp_path / "q30.jpg", image, info, quality=30)
    io.write_image(tmp_path / "q95.jpg", image, info, quality=95)
    assert (tmp_path / "q30.jpg").stat().st_size < (tmp_path / "q95.jpg").stat().st_size


def test_16bit_tiff_to_jpeg_goes_to_8bit(tmp_path: Path, make_image) -> None:
    src = make_image("src.tif", bits=16, exif=True, xmp=True)
    image, info = io.read_image(src)
    io.write_image(tmp_path / "out.jpg", image, info)
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.mode == "RGB"
        assert im.info["icc_profile"] == info.icc
        assert im.info["xmp"] == SAMPLE_XMP
        assert _exif_tags(im.info["exif"][6:]) == _exif_tags(sample_exif())


def test_jpeg_exif_survives_tiff_and_png(tmp_path: Path, icc_profile: bytes) -> None:
    src = tmp_path / "camera.jpg"
    Image.fromarray(make_pixels(8, 3)).save(src, exif=b"Exif\0\0" + sample_exif(), quality=90)
    image, info = io.read_image(src)
    io.write_image(tmp_path / "a.tif", image, info)
    image, info = io.read_image(tmp_path / "a.tif")
    io.write_image(tmp_path / "b.png", image, info)
    _, final = io.read_image(tmp_path / "b.png")
    # the JPEG's JFIF density (Pillow writes 72 dpi) became the TIFF's resolution, which the
    # EXIF block carries from then on, as a TIFF's IFD0 does
    resolution = {(0, 282): 72.0, (0, 283): 72.0, (0, 296): 2}
    assert _exif_tags(final.exif) == {**_exif_tags(sample_exif()), **resolution}
    assert final.dpi == (72.0, 72.0)


# -------------------------------------------------------------------------------------- PSD


@pytest.mark.parametrize(("bits", "channels"), [(8, 3), (16, 3), (16, 1)])
def test_psd_composite_is_read_exactly(
    tmp_path: Path, bits: int, channels: int, icc_profile: bytes
) -> None:
    raw = make_pixels(bits, channels)
    src = write_psd(tmp_path / "flat.psd", raw, icc=icc_profile)
    image, info = io.read_image(src)
    assert (info.format, info.bits, info.icc) == ("psd", bits, icc_profile)
    assert np.array_equal(io._from_float(image, bits), raw)
    io.write_image(tmp_path / "out.tif", image, info)  # PSD in, TIFF out: same depth
    assert np.array_equal(tifffile.imread(tmp_path / "out.tif").reshape(raw.shape), raw)


def test_psd_written_by_psd_tools_is_read(tmp_path: Path) -> None:
    from psd_tools import PSDImage

    raw = make_pixels(8, 3)
    PSDImage.frompil(Image.fromarray(raw)).save(tmp_path / "tools.psd")
    image, _ = io.read_image(tmp_path / "tools.psd")
    assert np.array_equal(io._from_float(image, 8), raw)


# -------------------------------------------------------------------------------- bit depths


def test_bits_option_chooses_the_depth(tmp_path: Path, rgb16_tiff: Path) -> None:
    image, info = io.read_image(rgb16_tiff)
    io.write_image(tmp_path / "8.tif", image, info, bits=8)
    eight = tifffile.imread(tmp_path / "8.tif")
    assert eight.dtype == np.uint8
    assert np.array_equal(eight, np.floor(tifffile.imread(rgb16_tiff) / 257 + 0.5))
    image8, info8 = io.read_image(tmp_path / "8.tif")
    io.write_image(tmp_path / "16.png", image8, info8, bits=16)
    sixteen = imagecodecs.png_decode((tmp_path / "16.png").read_bytes())
    assert sixteen.dtype == np.uint16 and np.array_equal(sixteen, eight.astype(np.uint16) * 257)


def test_float_source_to_png_is_16bit(tmp_path: Path) -> None:
    io.write_image(tmp_path / "f.png", np.full((4, 4, 3), 0.5, np.float32), io.ImageInfo(bits=32))
    assert imagecodecs.png_decode((tmp_path / "f.png").read_bytes()).dtype == np.uint16


@pytest.mark.parametrize(
    ("name", "bits", "words"),
    [("x.jpg", 16, "JPEG stores 8 bits"), ("x.png", 32, "PNG stores 8 or 16"), ("x.tif", 12, "8")],
)
def test_impossible_bit_depth_is_a_parameter_error(
    tmp_path: Path, name: str, bits: int, words: str
) -> None:
    with pytest.raises(ParameterError, match=words):
        io.write_image(tmp_path / name, np.zeros((2, 2, 3), np.float32), bits=bits)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ output paths


def test_unknown_extension_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as err:
        io.write_image(tmp_path / "x.webp", np.zeros((2, 2, 3), np.float32))
    assert str(err.value) == (
        f"unknown output format '.webp' for {tmp_path / 'x.webp'}; "
        "expected one of: .jpeg, .jpg, .png, .tif, .tiff"
    )


def test_output_equal_to_input_is_refused_in_every_spelling(rgb16_tiff: Path) -> None:
    folder = rgb16_tiff.parent
    (folder / "sub").mkdir()
    (folder / "link.tif").symlink_to(rgb16_tiff)
    os.link(rgb16_tiff, folder / "hard.tif")
    spellings = [
        rgb16_tiff,
        folder / "sub" / ".." / rgb16_tiff.name,
        folder / "link.tif",
        folder / "hard.tif",
    ]
    before = rgb16_tiff.read_bytes()
    for output in spellings:
        with pytest.raises(ImageFileError, match="output path is the input file"):
            io.write_image(output, np.zeros((24, 32, 3), np.float32), inputs=[rgb16_tiff])
    assert rgb16_tiff.read_bytes() == before


@pytest.mark.parametrize(
    ("relative", "problem"),
    [
        ("missing/out.tif", "does not exist"),
        ("afile.txt/out.tif", "is not a folder"),
        ("afolder.tif", "is a folder"),
    ],
)
def test_bad_output_folder(tmp_path: Path, relative: str, problem: str) -> None:
    (tmp_path / "afile.txt").write_text("x")
    (tmp_path / "afolder.tif").mkdir()
    with pytest.raises(ImageFileError, match=problem):
        io.check_output_path(tmp_path / relative)


def test_read_only_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod cannot stop root (CI), so ask the same question os.access answers for a read-only folder
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)
    with pytest.raises(ImageFileError, match=f"output folder {tmp_path} is not writable"):
        io.check_output_path(tmp_path / "out.tif")


def test_check_output_path_accepts_other_suffixes_when_asked(tmp_path: Path) -> None:
    assert io.check_output_path(tmp_path / "s.psd", suffixes=(".psd",)) == tmp_path / "s.psd"
    assert io.check_output_path(tmp_path / "report.html", suffixes=None)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, OSError, RuntimeError])
def test_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    existing = tmp_path / "out.tif"
    existing.write_bytes(b"previous result")

    def half_write(path: str | Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"II*\0 half an image")
        raise interrupt("stopped")

    monkeypatch.setattr(tifffile, "imwrite", half_write)
    expected = ImageFileError if interrupt is OSError else interrupt  # disk full -> one line
    with pytest.raises(expected):
        io.write_image(existing, np.zeros((4, 4, 3), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]
    assert existing.read_bytes() == b"previous result"


def test_written_file_gets_normal_permissions(tmp_path: Path) -> None:
    out = io.write_image(tmp_path / "p.png", np.zeros((2, 2, 1), np.float32))
    umask = io._umask()
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------------- reading errors


def _bomb_png(path: Path) -> Path:
    """A 100 000 x 100 000 px PNG header over a few bytes of data: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    chunks = [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]
    body = b"".join(
        struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    with pytest.raises(ImageFileError, match=r"100000x100000 px .* above the limit of 400 MP"):
        io.read_image(_bomb_png(tmp_path / "bomb.png"))


@pytest.mark.parametrize("suffix", [".tif", ".png", ".jpg", ".psd"])
def test_pixel_limit_is_checked_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rgb8_tiff: Path, suffix: str
) -> None:
    image, info = io.read_image(rgb8_tiff)
    src = tmp_path / f"big{suffix}"
    if suffix == ".psd":
        write_psd(src, make_pixels(8, 3))
    else:
        io.write_image(src, image, info)

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded an image over the limit")

    from PIL import ImageFile
    from psd_tools.psd.image_data import ImageData

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_decoding)
    monkeypatch.setattr(imagecodecs, "png_decode", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(ImageData, "get_data", no_decoding)
    with pytest.raises(
        ImageFileError, match=r"32x24 px \(0\.0 MP\), above the limit of 0\.0001 MP"
    ):
        io.read_image(src, max_pixels=100)


def test_pillow_guard_does_not_refuse_what_we_allow(tmp_path: Path, rgb8_tiff: Path) -> None:
    from PIL import Image as PILImage

    image, info = io.read_image(rgb8_tiff)
    io.write_image(tmp_path / "x.jpg", image, info)
    saved = PILImage.MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = 10  # someone else lowered it: our own limit applies
    try:
        assert io.read_image(tmp_path / "x.jpg")[0].shape == (24, 32, 3)
    finally:
        PILImage.MAX_IMAGE_PIXELS = saved
    assert PILImage.MAX_IMAGE_PIXELS == saved


def test_size_mismatch_is_reported_before_decoding(tmp_path: Path, make_image) -> None:
    mask = make_image("mask.png", bits=8, channels=1, size=(10, 12))
    with pytest.raises(ImageFileError) as err:
        io.read_mask(mask, (24, 32, 3))
    assert str(err.value) == f"{mask}: mask is 12x10 px but the image is 32x24 px"
    with pytest.raises(ImageFileError, match="image is 12x10 px but the other image is 32x24 px"):
        io.read_image(mask, shape=(24, 32))


def test_mask_is_first_channel_in_0_1(make_image) -> None:
    path = make_image("mask.tif", bits=16, channels=3)
    mask = io.read_mask(path, (24, 32))
    image, _ = io.read_image(path)
    assert mask.shape == (24, 32) and mask.dtype == np.float32
    assert np.array_equal(mask, image[..., 0])


def test_reading_prints_no_warnings(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    # a JPEG whose EXIF block is garbage: Pillow warns about it when it parses it
    Image.fromarray(make_pixels(8, 3)).save(tmp_path / "odd.jpg", exif=b"Exif\0\0MM\0*garbage")
    io.read_image(tmp_path / "odd.jpg")
    assert len(recwarn) == 0


def test_samples_are_what_the_readme_says() -> None:
    image, info = io.read_image(SAMPLES / "astronaut-16bit.tif")
    assert (image.shape, info.bits, info.compression) == ((512, 512, 3), 16, "deflate")
    assert info.icc and info.exif and info.xmp
    for name in ("astronaut-16bit.tif", "chelsea.png", "coffee.jpg"):
        assert (SAMPLES / name).stat().st_size < 1_500_000
    assert io.read_image(SAMPLES / "chelsea.png")[0].shape == (300, 451, 3)
    assert io.read_image(SAMPLES / "coffee.jpg")[1].icc == info.icc


# ------------------------------------------------------------------- files that are not files

_READ_FIFO = """
import signal, sys
from regrain import io
signal.alarm(10)  # a hang fails the test instead of blocking the suite
try:
    getattr(io, sys.argv[1])(sys.argv[2])
except Exception as exc:
    print(exc)
"""


@pytest.mark.parametrize("reader", ["read_image", "read_mask", "probe_image"])
def test_fifo_is_refused_without_blocking(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    link = tmp_path / "link.tif"
    link.symlink_to(fifo)
    for path in (fifo, link):
        out = subprocess.run([sys.executable, "-c", _READ_FIFO, reader, str(path)],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        assert out.stdout.strip() == (
            f"{path}: is a FIFO (named pipe), not an image file; give a saved file"
        ), out.stderr


def test_character_device_is_refused() -> None:
    with pytest.raises(ImageFileError, match=r"^/dev/null: is a character device, not an image"):
        io.read_image("/dev/null")


# ------------------------------------------------------------------------ truncated and memory


def test_jpeg_cut_short_is_refused(tmp_path: Path) -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    buf = tmp_path / "full.jpg"
    Image.fromarray(pixels).save(buf, quality=90)
    data = buf.read_bytes()
    for fraction in (0.2, 0.5, 0.95):
        cut = tmp_path / f"cut{fraction}.jpg"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ImageFileError, match="truncated"):
            io.read_image(cut)


def test_jpeg_data_ending_before_the_header_size_is_refused(tmp_path: Path) -> None:
    # a complete small JPEG (EOI and all) whose header claims 4000 x 3000 px: libjpeg would pad
    # it with gray and only warn
    small = tmp_path / "small.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(small, quality=90)
    data = bytearray(small.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (3000).to_bytes(2, "big") + (4000).to_bytes(2, "big")
    (tmp_path / "lie.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match=r"lie.jpg: file is truncated \(\d+ bytes; "
                       r"4000x3000 px need at least 23437 bytes\)"):  # fmt: skip
        io.read_image(tmp_path / "lie.jpg")


def test_png_data_too_short_for_its_header_is_refused(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 16, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    (tmp_path / "lie.png").write_bytes(_png_with_chunks(np.zeros((1, 1, 3), np.uint8), [])[:8]
        + b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
                   for t, d in [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]))  # fmt: skip
    with pytest.raises(ImageFileError, match=r"lie.png: file is truncated \(\d+ bytes of image "
                       r"data for 20000x20000 px\)"):  # fmt: skip
        io.read_image(tmp_path / "lie.png", max_pixels=10**9)


def test_tiff_cut_short_is_refused(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "a.tif", make_pixels(16, 3), photometric="rgb")
    data = (tmp_path / "a.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFileError, match=r"cut.tif: file is truncated"):
        io.read_image(tmp_path / "cut.tif")


@pytest.mark.parametrize("where", ["_read_tiff", "_to_float"])
def test_memory_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    tifffile.imwrite(tmp_path / "a.tif", make_pixels(16, 3), photometric="rgb")

    def no_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(io, where, no_memory)
    with pytest.raises(ImageFileError, match=r"a.tif: not enough memory to decode this image; "):
        io.read_image(tmp_path / "a.tif")


# ------------------------------------------------------------------------------ atomic writes


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_full_disk_says_so_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def full(path: str | Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"II*\0 part of an image")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tifffile, "imwrite", full)
    with pytest.raises(ImageFileError, match=r"out.tif: disk full: "):
        io.write_image(tmp_path / "out.tif", np.zeros((4, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_output_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b))[1]
    )
    io.write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32))
    assert events == ["fsync", "rename", "fsync"]  # the file, the rename, then the folder


def test_stale_parts_of_killed_runs_are_removed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(io, "_CLEANED", set())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    host = io._HOST
    parts = {
        "dead": tmp_path / f".out.tif.{dead}@{host}.x1.part",  # its writer is gone
        "alive": tmp_path / f".out.tif.{os.getppid()}@{host}.x2.part",  # still writing
        "other host": tmp_path / f".out.tif.{dead}@00000000.x3.part",  # maybe still writing
        "old other host": tmp_path / f".b.png.{dead}@00000000.x4.part",  # an hour untouched
        "old style, old": tmp_path / ".c.png.abc123.part",
        "not ours": tmp_path / ".notes.txt",
    }
    for path in parts.values():
        path.write_bytes(b"x")
    hour_ago = time.time() - 3700
    for name in ("old other host", "old style, old"):
        os.utime(parts[name], (hour_ago, hour_ago))
    io.write_image(tmp_path / "new.png", np.zeros((2, 2, 3), np.float32))
    left = {name for name, path in parts.items() if path.exists()}
    assert left == {"alive", "other host", "not ours"}
    assert (tmp_path / "new.png").exists()


def test_a_set_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    low, high = tmp_path / "low.tif", tmp_path / "high.tif"
    low.write_bytes(b"old low")
    high.write_bytes(b"old high")
    with pytest.raises(ImageFileError, match=r"low.tif: disk full"):
        with io.atomic_outputs([low, high]) as (tmp_low, tmp_high):
            tmp_low.write_bytes(b"new low")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (low.read_bytes(), high.read_bytes()) == (b"old low", b"old high")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["high.tif", "low.tif"]
    with io.atomic_outputs([low, high]) as (tmp_low, tmp_high):
        tmp_low.write_bytes(b"new low")
        tmp_high.write_bytes(b"new high")
    assert (low.read_bytes(), high.read_bytes()) == (b"new low", b"new high")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["high.tif", "low.tif"]
