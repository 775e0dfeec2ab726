"""``regrain convert`` with bad input: one line on stderr naming the file, exit code 2, no output.

A few cases run the real console script in a subprocess to prove that no traceback and no library
warning reaches the terminal; the rest use typer's CliRunner, which is much faster.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

from conftest import make_pixels, write_psd
from regrain.cli import app

REGRAIN = Path(sys.executable).with_name("regrain")
runner = CliRunner()


def _truncated(source: Callable[[Path], Path], keep: float) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        src = source(folder)
        data = src.read_bytes()
        bad = folder / f"cut{src.suffix}"
        bad.write_bytes(data[: int(len(data) * keep)])
        src.unlink()
        return bad

    return make


def _tiff16(folder: Path) -> Path:
    tifffile.imwrite(folder / "good.tif", make_pixels(16, 3), photometric="rgb",
                     compression="deflate")  # fmt: skip
    return folder / "good.tif"


def _png16(folder: Path) -> Path:
    (folder / "good.png").write_bytes(imagecodecs.png_encode(make_pixels(16, 3)))
    return folder / "good.png"


def _jpeg(folder: Path) -> Path:
    Image.fromarray(make_pixels(8, 3, height=64, width=64)).save(folder / "good.jpg", quality=90)
    return folder / "good.jpg"


def _corrupt_jpeg(folder: Path) -> Path:
    data = bytearray(_jpeg(folder).read_bytes())
    rng = np.random.default_rng(5)
    for i in rng.integers(len(data) // 2, len(data) - 4, 40):
        data[i] ^= 0x5A
    (folder / "good.jpg").unlink()
    (folder / "bad.jpg").write_bytes(bytes(data))
    return folder / "bad.jpg"


def _tiff(name: str, data: np.ndarray, **kwargs: object) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        tifffile.imwrite(folder / name, data, **kwargs)
        return folder / name

    return make


def _text(folder: Path) -> Path:
    (folder / "notes.tif").write_text("not an image, despite the name\n")
    return folder / "notes.tif"


def _cmyk_jpeg(folder: Path) -> Path:
    Image.new("CMYK", (8, 8)).save(folder / "print.jpg")
    return folder / "print.jpg"


def _psd(name: str, mode: int, channels: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        return write_psd(folder / name, make_pixels(8, channels), mode=mode)

    return make


def _bomb(folder: Path) -> Path:
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 16, 2, 0, 0, 0)
    chunks = [(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\0" * 100)), (b"IEND", b"")]
    body = b"".join(
        struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks
    )
    (folder / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return folder / "bomb.png"


def _webp(folder: Path) -> Path:
    Image.new("RGB", (8, 8)).save(folder / "web.webp")
    return folder / "web.webp"


def _empty(folder: Path) -> Path:
    (folder / "empty.png").write_bytes(b"")
    return folder / "empty.png"


RGB_HINT = "convert to RGB first (Photoshop: Image > Mode > RGB Color)"

# (maker of the bad file, exact problem printed after "regrain: error: <path>: ")
BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (lambda f: f / "missing.tif", "no such file"),
    "folder": (
        lambda f: (f / "shots.tif").mkdir() or f / "shots.tif",
        "is a folder, not an image file",
    ),
    "empty": (_empty, "file is empty"),
    "text": (_text, "not an image file (expected TIFF, PNG, JPEG or PSD)"),
    "webp": (_webp, "WebP files are not supported; save as TIFF, PNG or JPEG first"),
    "tiff-half": (_truncated(_tiff16, 0.5), "file is truncated (2* bytes; the image data needs *)"),
    "tiff-header": (
        _truncated(_tiff16, 0.01),
        "cannot decode this TIFF file; it is truncated or *",
    ),
    "png-half": (_truncated(_png16, 0.5), "file is truncated (2* bytes)"),
    "png-end": (_truncated(_png16, 0.999), "file is truncated (*"),
    "jpeg-half": (_truncated(_jpeg, 0.5), "cannot decode this JPEG file; it is truncated or *"),
    "jpeg-corrupt": (_corrupt_jpeg, "cannot decode this JPEG file; it is truncated or corrupt*"),
    "cmyk-tiff": (
        _tiff("cmyk.tif", np.zeros((8, 8, 4), np.uint8), photometric="separated"),
        "CMYK is not supported; " + RGB_HINT,
    ),
    "cmyk-jpeg": (_cmyk_jpeg, "CMYK is not supported; " + RGB_HINT),
    "cmyk-psd": (_psd("cmyk.psd", 4, 4), "CMYK is not supported; " + RGB_HINT),
    "lab-tiff": (
        _tiff("lab.tif", np.zeros((8, 8, 3), np.uint8), photometric="cielab"),
        "Lab colour is not supported; " + RGB_HINT,
    ),
    "lab-psd": (_psd("lab.psd", 9, 3), "Lab colour is not supported; " + RGB_HINT),
    "palette-tiff": (
        _tiff(
            "indexed.tif",
            np.zeros((8, 8), np.uint8),
            photometric="palette",
            colormap=np.zeros((3, 256), np.uint16),
        ),
        "indexed colour is not supported; " + RGB_HINT,
    ),
    "bitmap-tiff": (
        _tiff("bitmap.tif", np.zeros((8, 8), bool)),
        "1-bit (bitmap) images are not supported; convert to Grayscale first "
        "(Photoshop: Image > Mode > Grayscale)",
    ),
    "int32-tiff": (
        _tiff("int32.tif", np.zeros((8, 8), np.uint32)),
        "32-bit integer samples are not supported; save as 8 or 16 bits/channel first "
        "(Photoshop: Image > Mode > 16 Bits/Channel)",
    ),
    "bomb": (
        _bomb,
        "image is 50000x50000 px (2500.0 MP), above the limit of 400 MP; raise it with "
        "--max-megapixels if you trust this file",
    ),
}


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path: Path, case: str) -> None:
    make, problem = BAD_INPUTS[case]
    src = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, stdout, stderr = _run("convert", src, "-o", tmp_path / "out.tif")
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    from fnmatch import fnmatchcase

    assert fnmatchcase(lines[0], f"regrain: error: {src}: {problem}"), lines[0]
    assert sorted(os.listdir(tmp_path)) == before  # no output, no *.part left over


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bits", "12"], "regrain: error: --bits must be 8 or 16; got 12."),
        (["--bits", "32"], "regrain: error: --bits must be 8 or 16; got 32."),
        (["--max-megapixels", "0"], "regrain: error: --max-megapixels must be > 0 MP; got 0."),
    ],
)
def test_bad_option_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    src = _tiff16(tmp_path)
    code, _, stderr = _run("convert", src, "-o", tmp_path / "out.tif", *args)
    assert (code, stderr) == (2, message + "\n")
    assert sorted(os.listdir(tmp_path)) == ["good.tif"]


def test_16_bit_jpeg_is_refused_before_reading(tmp_path: Path) -> None:
    code, _, stderr = _run("convert", tmp_path / "missing.tif", "-o", tmp_path / "o.jpg",
                           "--bits", "16")  # fmt: skip
    assert code == 2
    assert stderr == (
        "regrain: error: JPEG stores 8 bits per channel; --bits 16 needs .tif or .png.\n"
    )


def test_output_problems_are_found_before_reading(tmp_path: Path) -> None:
    src = _tiff16(tmp_path)
    (tmp_path / "link.tif").symlink_to(src)
    cases = {
        tmp_path / "x.webp": f"unknown output format '.webp' for {tmp_path / 'x.webp'}; "
        "expected one of: .jpeg, .jpg, .png, .tif, .tiff",
        tmp_path / "nowhere" / "o.tif": f"{tmp_path / 'nowhere' / 'o.tif'}: output folder "
        f"{tmp_path / 'nowhere'} does not exist",
        tmp_path / "." / "good.tif": f"{tmp_path / 'good.tif'}: output path is the input file "
        f"{src}; choose another output",
        tmp_path / "link.tif": f"{tmp_path / 'link.tif'}: output path is the input file {src}; "
        "choose another output",
    }
    before = src.read_bytes()
    for output, message in cases.items():
        code, _, stderr = _run("convert", src, "-o", output)
        assert (code, stderr) == (2, f"regrain: error: {message}\n")
    assert src.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["good.tif", "link.tif"]


def test_max_megapixels_option_sets_the_limit(tmp_path: Path) -> None:
    src = _tiff16(tmp_path)  # 32 x 24 = 768 px
    code, _, stderr = _run("convert", src, "-o", tmp_path / "o.tif", "--max-megapixels", "0.0005")
    assert code == 2 and "above the limit of 0.0005 MP" in stderr
    code, stdout, _ = _run("convert", src, "-o", tmp_path / "o.tif", "--max-megapixels", "0.001")
    assert code == 0 and "wrote" in stdout


def test_convert_round_trip_is_exact(tmp_path: Path, make_image) -> None:
    src = make_image("src.tif", bits=16, exif=True, xmp=True)
    assert _run("convert", src, "-o", tmp_path / "a.png")[0] == 0
    code, stdout, _ = _run("convert", tmp_path / "a.png", "-o", tmp_path / "b.tif", "-q")
    assert (code, stdout) == (0, "")
    assert np.array_equal(tifffile.imread(tmp_path / "b.tif"), tifffile.imread(src))
    code, stdout, _ = _run("convert", src, "-o", tmp_path / "c.tif", "--bits", "8")
    assert code == 0 and "(8-bit, ICC profile kept)" in stdout
    assert tifffile.imread(tmp_path / "c.tif").dtype == np.uint8


# ------------------------------------------------------------------- the real console script


@pytest.mark.skipif(not REGRAIN.exists(), reason="console script not installed beside python")
@pytest.mark.parametrize("case", ["missing", "png-half", "jpeg-corrupt", "bomb"])
def test_console_script_prints_one_line_and_no_traceback(tmp_path: Path, case: str) -> None:
    make, _ = BAD_INPUTS[case]
    src = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.run(
        [REGRAIN, "convert", src, "-o", tmp_path / "out.png"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"regrain: error: {src}: ")
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == before
