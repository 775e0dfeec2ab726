"""What the commands hand on besides pixels: the edited file's metadata with a processing note,
the JPEG's own quality, pictures that carry sRGB and nothing of the photo, and a mismatched pair
refused from its headers before either file is decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from regrain import io
from regrain._metadata import read_history
from regrain.cli import app

runner = CliRunner()
SHAPE = (48, 64)
IPTC = b"\x1c\x02\x00\x00\x02\x00\x04\x1c\x02\x19\x00\x07SKU-123\x1c\x02\x05\x00\x04ring"


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def tagged_pair(tmp_path: Path, icc_profile: bytes) -> tuple[Path, Path]:
    """A 16-bit pair whose edited file carries ICC, XMP and IPTC; the edit smooths a square."""
    rng = np.random.default_rng(5)
    original = np.clip(0.5 + rng.normal(0, 0.06, (*SHAPE, 3)), 0, 1).astype(np.float32)
    edited = original.copy()
    edited[10:38, 12:50] = original[10:38, 12:50].mean(axis=(0, 1))
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/'
        b'1.0/" xmp:CreatorTool="Photoshop" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>'
    )
    info = io.ImageInfo(bits=16, icc=icc_profile, xmp=xmp, iptc=IPTC)
    return (
        io.write_image(tmp_path / "o.tif", original, io.ImageInfo(bits=16, icc=icc_profile)),
        io.write_image(tmp_path / "e.tif", edited, info),
    )


def test_restore_keeps_the_edited_files_metadata_and_notes_what_ran(tagged_pair, tmp_path):
    original, edited = tagged_pair
    out, maps = tmp_path / "out.tif", tmp_path / "maps"
    result = _invoke("restore", original, edited, "-o", out, "--strength", "0.8", "--maps", maps)
    assert result.exit_code == 0, result.output
    _, got = io.read_image(out)
    _, source = io.read_image(edited)
    assert (got.icc, got.iptc) == (source.icc, IPTC)
    assert b'xmp:CreatorTool="Photoshop"' in got.xmp and b'xmp:Rating="3"' in got.xmp
    (event,) = read_history(got.xmp)
    assert event["action"] == "processed" and event["softwareAgent"].startswith("regrain ")
    assert event["parameters"] == "restore: material=auto, strength=0.8, seed=0"
    # the maps are pictures: sRGB or no profile, none of the photo's metadata
    for png in sorted(maps.glob("*.png")):
        _, info = io.read_image(png)
        assert (info.exif, info.xmp, info.iptc) == (None, None, None), png.name
        assert (info.icc is None) == (Image.open(png).mode == "L"), png.name


def test_restore_to_psd_notes_what_ran_in_its_xmp(tagged_pair, tmp_path):
    from psd_tools import PSDImage

    original, edited = tagged_pair
    out = tmp_path / "layers.psd"
    assert _invoke("restore", original, edited, "-o", out).exit_code == 0
    resources = PSDImage.open(out).image_resources
    (event,) = read_history(resources.get_data(1060))
    assert event["action"] == "derived" and event["parameters"].startswith("restore: ")
    assert resources.get_data(1028) is not None  # IPTC


def test_inspect_picture_is_srgb_without_the_photos_metadata(tagged_pair, tmp_path):
    original, edited = tagged_pair
    out = tmp_path / "loss.png"
    assert _invoke("inspect", original, edited, "-o", out).exit_code == 0
    _, info = io.read_image(out)
    assert (info.exif, info.xmp, info.iptc) == (None, None, None)
    from regrain._pictures import srgb_icc

    assert info.icc == srgb_icc()


@pytest.mark.parametrize("quality,subsampling", [(80, 2), (62, 1), (93, 0)])
def test_convert_keeps_a_jpegs_quality_and_subsampling(tmp_path, quality, subsampling):
    rng = np.random.default_rng(quality)
    pixels = (rng.random((*SHAPE, 3)) * 255).astype(np.uint8)
    source = tmp_path / "in.jpg"
    Image.fromarray(pixels).save(source, quality=quality, subsampling=subsampling)
    out = tmp_path / "out.jpg"
    assert _invoke("convert", source, "-o", out).exit_code == 0
    with Image.open(source) as a, Image.open(out) as b:
        assert a.quantization == b.quantization  # the same tables: the same quality
        assert a.layer == b.layer  # the same sampling factors per component
    assert io.read_image(out)[1].jpeg_quality == quality
    # --quality still says otherwise
    other = tmp_path / "q95.jpg"
    assert _invoke("convert", source, "-o", other, "--quality", "95").exit_code == 0
    assert io.read_image(other)[1].jpeg_quality == 95


def test_a_pair_of_other_sizes_is_refused_from_the_headers(tmp_path, monkeypatch):
    from regrain import _restore_file

    big = io.write_image(tmp_path / "big.tif", np.zeros((40, 60, 3), np.float32))
    small = io.write_image(tmp_path / "small.tif", np.zeros((60, 40, 3), np.float32))

    def no_decoding(*args, **kwargs):
        raise AssertionError("a file was decoded")

    monkeypatch.setattr(io, "read_image", no_decoding)
    with pytest.raises(io.ImageFileError, match=r"small\.tif: edited image is 40x60 px") as err:
        _restore_file.read_pair(big, small)
    assert "turned 90 degrees" in str(err.value)
