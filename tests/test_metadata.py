"""Metadata kept whole: EXIF, XMP, IPTC and ICC survive read -> write in every format, as exiftool
reads them; JPEG quality and subsampling are kept; regrain's note goes into XMP's history.

Sources are written by Pillow/tifffile/imagecodecs and tagged by exiftool, as a studio's catalog
tool would, so the reader meets metadata it did not write. ``python tests/test_metadata.py``
prints the table in docs/files.md (each field per path, as exiftool measures it).
"""

from __future__ import annotations

import io as _bytes_io
import json
import shutil
import subprocess
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from icc_profiles import prophoto_icc
from regrain import __version__, _metadata, io
from regrain.errors import ImageFileError

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")

TAGS = [
    "-EXIF:Orientation#=6",
    "-EXIF:Software=Capture One 23",
    "-EXIF:XResolution=300",
    "-EXIF:YResolution=300",
    "-EXIF:ResolutionUnit=inches",
    "-EXIF:Make=Canon",
    "-EXIF:ExposureTime=1/250",
    "-XMP-dc:Title=A title",
    "-XMP-xmp:CreatorTool=Lightroom",
    "-IPTC:Keywords=sku123",
    "-IPTC:Keywords=red",
    "-IPTC:ObjectName=Shoe 42",
    "-IPTC:By-line=Ann Photographer",
]

# exiftool field -> what a retoucher calls it; resolution is read from where each format keeps it
FIELDS = {
    "Orientation": ["IFD0:Orientation"],
    "Software": ["IFD0:Software"],
    "Resolution": ["IFD0:XResolution", "PNG-pHYs:PixelsPerUnitX", "JFIF:XResolution"],
    "Make": ["IFD0:Make"],
    "ExposureTime": ["ExifIFD:ExposureTime"],
    "XMP title": ["XMP-dc:Title"],
    "CreatorTool": ["XMP-xmp:CreatorTool"],
    "IPTC keywords": ["IPTC:Keywords"],
    "IPTC object name": ["IPTC:ObjectName"],
    "IPTC by-line": ["IPTC:By-line"],
    "ICC profile": ["ICC_Profile:ProfileDescription"],
}
EXPECTED = {
    "Orientation": "Rotate 90 CW",
    "Software": "Capture One 23",
    "Resolution": {300, 11811},  # 300 dpi; PNG stores pixels per metre
    "Make": "Canon",
    "ExposureTime": "1/250",
    "XMP title": "A title",
    "CreatorTool": "Lightroom",
    "IPTC keywords": ["sku123", "red"],
    "IPTC object name": "Shoe 42",
    "IPTC by-line": "Ann Photographer",
    "ICC profile": "ProPhoto RGB (regrain test)",
}
SOURCES = ("tif8", "tif16", "png8", "png16", "jpg")


def exif_fields(path: Path) -> dict:
    raw = subprocess.run([EXIFTOOL, "-j", "-G1", "-a", str(path)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return json.loads(raw)[0]


def pick(fields: dict, name: str) -> object:
    for key in FIELDS[name]:
        if key in fields:
            value = fields[key]
            return value if name != "Resolution" else round(float(value))
    return None


def make_source(folder: Path, kind: str) -> Path:
    rng = np.random.default_rng(len(kind))
    a16 = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    a8 = (a16 >> 8).astype(np.uint8)
    path = folder / f"{kind}.{kind.rstrip('0123456789')}"
    if kind == "tif8":
        tifffile.imwrite(path, a8, photometric="rgb")
    elif kind == "tif16":
        tifffile.imwrite(path, a16, photometric="rgb", compression="deflate")
    elif kind == "png8":
        path.write_bytes(imagecodecs.png_encode(a8))
    elif kind == "png16":
        path.write_bytes(imagecodecs.png_encode(a16))
    else:
        Image.fromarray(a8).save(path, format="JPEG", quality=80)
    icc = folder / "p.icc"
    icc.write_bytes(prophoto_icc())
    subprocess.run([EXIFTOOL, "-q", "-q", "-overwrite_original", f"-ICC_Profile<={icc}", *TAGS,
                    str(path)], check=True)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if EXIFTOOL is None:
        pytest.skip("exiftool is not installed")
    folder = tmp_path_factory.mktemp("tagged")
    return {kind: make_source(folder, kind) for kind in SOURCES}


PATHS = [(src, ext) for src in SOURCES for ext in ("tif", "png", "jpg")]


@needs_exiftool
@pytest.mark.parametrize(("src", "ext"), PATHS, ids=[f"{s}-{e}" for s, e in PATHS])
def test_every_field_survives_read_then_write(
    tmp_path: Path, sources: dict[str, Path], src: str, ext: str
) -> None:
    source = exif_fields(sources[src])
    assert {name: pick(source, name) for name in FIELDS} == _expected(source)  # the setup holds
    out = io.write_image(tmp_path / f"out.{ext}", *io.read_image(sources[src]), note="convert")
    written = exif_fields(out)
    assert {name: pick(written, name) for name in FIELDS} == _expected(written)
    assert written["XMP-xmpMM:HistorySoftwareAgent"].startswith("regrain ")
    assert written["XMP-xmpMM:HistoryParameters"] == "convert"
    assert "ExifTool:Warning" not in written, written.get("ExifTool:Warning")


def _expected(fields: dict) -> dict:
    want = dict(EXPECTED)
    got = pick(fields, "Resolution")
    want["Resolution"] = got if got in EXPECTED["Resolution"] else "300 dpi"
    return want


@needs_exiftool
@pytest.mark.parametrize("src", SOURCES)
@pytest.mark.parametrize("ext", ["tif", "png", "jpg"])
def test_iptc_icc_and_xmp_bytes_are_kept(
    tmp_path: Path, sources: dict[str, Path], src: str, ext: str
) -> None:
    _, info = io.read_image(sources[src])
    iptc = subprocess.run([EXIFTOOL, "-b", "-IPTC-NAA" if src.startswith("tif") else "-IPTC:all",
                           str(sources[src])], capture_output=True, check=True).stdout  # fmt: skip
    assert info.iptc is not None and info.iptc.startswith(b"\x1c\x02")
    if src.startswith("tif"):  # exiftool's -b of the tag is the record itself
        assert iptc.rstrip(b"\0") == info.iptc.rstrip(b"\0")
    out = io.write_image(tmp_path / f"out.{ext}", *io.read_image(sources[src]))
    _, again = io.read_image(out)
    assert again.iptc == info.iptc  # byte for byte, through every format
    assert again.icc == info.icc == prophoto_icc()
    assert again.xmp == info.xmp  # without a note the packet is written as it came


# ------------------------------------------------------------------------------------- XMP note


@needs_exiftool
def test_note_without_xmp_creates_a_valid_packet(tmp_path: Path) -> None:
    image = np.full((4, 4, 3), 0.5, np.float32)
    note = {"command": "restore", "strength": 1, "material": "auto"}
    out = io.write_image(tmp_path / "a.png", image, io.ImageInfo(), note=note)
    fields = exif_fields(out)
    assert fields["XMP-xmpMM:HistoryAction"] == "derived"  # TIFF (the default info) -> PNG
    assert fields["XMP-xmpMM:HistoryParameters"] == "restore: strength=1, material=auto"
    assert "XMP-xmp:CreatorTool" not in fields
    assert "ExifTool:Warning" not in fields


@needs_exiftool
def test_note_appends_to_an_existing_history(tmp_path: Path, sources: dict[str, Path]) -> None:
    src = tmp_path / "h.tif"
    shutil.copy(sources["tif16"], src)
    history = ["-XMP-xmpMM:HistoryAction=saved", "-XMP-xmpMM:HistorySoftwareAgent=Adobe Photoshop"]
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", *history, str(src)], check=True)
    image, info = io.read_image(src)
    out = io.write_image(tmp_path / "o.tif", image, info, note="split radius=4")
    fields = exif_fields(out)
    assert fields["XMP-xmpMM:HistoryAction"] == ["saved", "processed"]
    assert fields["XMP-xmpMM:HistorySoftwareAgent"] == ["Adobe Photoshop", f"regrain {__version__}"]
    assert fields["XMP-xmp:CreatorTool"] == "Lightroom"
    _, again = io.read_image(out)
    # the original packet is all there, the event inserted into it; padding pays for it
    assert len(again.xmp) == len(info.xmp)
    kept = info.xmp.decode().rstrip()
    inserted = again.xmp.decode()
    assert all(line in inserted for line in kept.splitlines() if line.strip())


@needs_exiftool
def test_history_is_read_back_in_either_rdf_form(tmp_path: Path, sources: dict[str, Path]) -> None:
    src = tmp_path / "h.tif"
    shutil.copy(sources["tif16"], src)
    history = ["-XMP-xmpMM:HistoryAction=saved", "-XMP-xmpMM:HistoryWhen=2024:05:01 10:00:00"]
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", *history, str(src)], check=True)
    image, info = io.read_image(src)
    io.write_image(tmp_path / "o.png", image, info, note={"command": "grain", "amount": "2%"})
    events = _metadata.read_history(io.read_image(tmp_path / "o.png")[1].xmp)
    assert [e["action"] for e in events] == ["saved", "derived"]  # exiftool's elements, our attrs
    assert events[0]["when"].startswith("2024-05-01T10:00:00")
    assert events[1]["parameters"] == "grain: amount=2%"
    assert events[1]["softwareAgent"] == f"regrain {__version__}"


def test_malformed_xmp_is_left_alone() -> None:
    broken = b"<x:xmpmeta><rdf:RDF></x:xmpmeta>"
    assert _metadata.add_history(broken, "convert") == broken


def test_note_parameters_escape_xml() -> None:
    packet = _metadata.add_history(None, {"command": "blend", "mode": '"a" <b> & c'})
    assert b"mode=&quot;a&quot; &lt;b&gt; &amp; c" in packet


# ------------------------------------------------------------------------------- JPEG quality


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 80, 90, 95, 100])
def test_jpeg_quality_estimate_is_exact_for_libjpeg_files(quality: int) -> None:
    buf = _bytes_io.BytesIO()
    pixels = np.random.default_rng(quality).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    with Image.open(buf) as im:
        assert _metadata.jpeg_quality(im.quantization[0]) == (quality, True)


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_jpeg_keeps_its_quality_and_subsampling(tmp_path: Path, subsampling: str) -> None:
    src = tmp_path / "q80.jpg"
    pixels = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src, quality=80, subsampling=subsampling)
    image, info = io.read_image(src)
    assert (info.jpeg_quality, info.jpeg_subsampling) == (80, subsampling)
    io.write_image(tmp_path / "out.jpg", image, info)
    io.write_image(tmp_path / "q60.jpg", image, info, quality=60)
    from PIL import JpegImagePlugin

    with (
        Image.open(src) as a,
        Image.open(tmp_path / "out.jpg") as b,
        Image.open(tmp_path / "q60.jpg") as c,
    ):
        assert b.quantization == a.quantization
        assert JpegImagePlugin.get_sampling(b) == JpegImagePlugin.get_sampling(a)
        assert _metadata.jpeg_quality(c.quantization[0]) == (60, True)
        assert JpegImagePlugin.get_sampling(c) == JpegImagePlugin.get_sampling(a)


def test_non_jpeg_source_gives_q95_444(tmp_path: Path) -> None:
    image = np.random.default_rng(2).random((16, 16, 3)).astype(np.float32)
    io.write_image(tmp_path / "a.jpg", image, io.ImageInfo(format="tiff"))
    from PIL import JpegImagePlugin

    with Image.open(tmp_path / "a.jpg") as im:
        assert _metadata.jpeg_quality(im.quantization[0]) == (95, True)
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4


def test_other_encoders_get_the_nearest_quality() -> None:
    table = [max(1, v - 1) for v in _metadata.ijg_table(85)]  # not IJG's, close to q85
    q, exact = _metadata.jpeg_quality(table)
    assert not exact and abs(q - 85) <= 2


# ------------------------------------------------------------------------- ICC fits the image


def _gray_icc() -> bytes:
    icc = bytearray(prophoto_icc())
    icc[16:20] = b"GRAY"
    return bytes(icc)


@pytest.mark.parametrize("ext", ["png", "tif", "jpg"])
def test_profile_of_the_wrong_colour_space_is_dropped(tmp_path: Path, ext: str) -> None:
    gray = np.full((8, 8, 1), 0.5, np.float32)
    rgb = np.full((8, 8, 3), 0.5, np.float32)
    io.write_image(tmp_path / f"g.{ext}", gray, io.ImageInfo(icc=prophoto_icc()))
    io.write_image(tmp_path / f"c.{ext}", rgb, io.ImageInfo(icc=_gray_icc()))
    io.write_image(tmp_path / f"ok.{ext}", rgb, io.ImageInfo(icc=prophoto_icc()))
    assert io.read_image(tmp_path / f"g.{ext}")[1].icc is None
    assert io.read_image(tmp_path / f"c.{ext}")[1].icc is None
    assert io.read_image(tmp_path / f"ok.{ext}")[1].icc == prophoto_icc()


@needs_exiftool
def test_gray_png_with_rgb_profile_is_never_invalid(tmp_path: Path) -> None:
    gray = np.full((8, 8, 1), 0.5, np.float32)
    out = io.write_image(tmp_path / "map.png", gray, io.ImageInfo(icc=prophoto_icc()))
    assert "ExifTool:Warning" not in exif_fields(out)


# ------------------------------------------------------------------------------- IPTC helpers


def test_iptc_wrappers_round_trip() -> None:
    record = b"\x1c\x02\x05\x00\x07Shoe 42\x1c\x02\x19\x00\x03red"  # odd length: padded
    irb = _metadata.iptc_irb(record)
    assert len(irb) % 2 == 0
    assert _metadata.iptc_from_irb(irb) == record
    assert _metadata.iptc_from_irb(_metadata.iptc_app13(record)[4:]) == record
    text = _metadata.iptc_png_text(record)
    key, _, rest = text.partition(b"\0")
    import zlib

    assert key == b"Raw profile type iptc"
    assert _metadata.iptc_from_png_text(zlib.decompress(rest[1:])) == record


def test_iptc_too_big_for_jpeg_is_refused(tmp_path: Path) -> None:
    image = np.full((4, 4, 3), 0.5, np.float32)
    with pytest.raises(ImageFileError, match="does not fit in a JPEG marker"):
        io.write_image(tmp_path / "a.jpg", image, io.ImageInfo(iptc=b"\x1c" * 70000))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ the table


def measure_table(folder: Path) -> str:
    """Markdown table: for each path, which fields exiftool finds equal to the source's."""
    srcs = {kind: make_source(folder, kind) for kind in SOURCES}
    head = "| path | " + " | ".join(FIELDS) + " | note |"
    lines = [head, "|" + "---|" * (len(FIELDS) + 2)]
    for src, ext in PATHS:
        out = io.write_image(folder / f"{src}-out.{ext}", *io.read_image(srcs[src]), note="convert")
        got = exif_fields(out)
        marks = [
            "kept" if pick(got, n) == _expected(got)[n] else f"lost ({pick(got, n)})"
            for n in FIELDS
        ]
        note = "yes" if "XMP-xmpMM:HistoryAction" in got else "no"
        lines.append(f"| {src} -> {ext} | " + " | ".join(marks) + f" | {note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(measure_table(Path(tmp)))
