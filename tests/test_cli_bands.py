"""``regrain split`` / ``regrain merge``: a 16-bit TIFF through a Photoshop stack and back."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import ImageCms
from psd_tools import PSDImage
from psd_tools.constants import BlendMode
from typer.testing import CliRunner

from regrain._filters import gaussian_blur
from regrain._psd import PsdLayer, read_psd_stack, write_psd_stack
from regrain.cli import app

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
runner = CliRunner()


def _write_tiff(path, data, icc=ICC):
    extratags = [(34675, 7, len(icc), icc, True)] if icc else []
    photometric = "rgb" if data.ndim == 3 else "minisblack"
    tifffile.imwrite(path, data, photometric=photometric, extratags=extratags)
    return path


def _icc(path):
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags.get("InterColorProfile")
        return None if tag is None else bytes(tag.value)


@pytest.fixture
def photo16(tmp_path):
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:90, 0:120]
    tone = 0.5 + 0.3 * np.sin(x / 11.0) * np.cos(y / 17.0)
    image = np.clip(tone[..., None] * [1.0, 0.85, 0.7] + rng.normal(0, 0.05, (90, 120, 3)), 0, 1)
    data = np.rint(image * 65535).astype(np.uint16)
    return _write_tiff(tmp_path / "ring.tif", data), data


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_split_psd_then_merge_gives_the_16bit_input_back(tmp_path, photo16):
    source, data = photo16
    _run("split", source, "-o", tmp_path / "ring.psd", "--radius", 4)
    psd = PSDImage.open(tmp_path / "ring.psd")
    assert psd.depth == 16
    assert [layer.name for layer in psd] == ["Low", "High"]
    assert psd[1].blend_mode == BlendMode.LINEAR_LIGHT
    assert psd.image_resources.get_data(1039) == ICC
    composite = np.rint(psd.numpy()[..., :3] * 65535).astype(np.int64)
    assert np.abs(composite - data).max() <= 1

    _run("merge", tmp_path / "ring.psd", "-o", tmp_path / "back.tif")
    back = tifffile.imread(tmp_path / "back.tif")
    assert back.dtype == np.uint16
    error = back.astype(np.int64) - data
    assert np.abs(error).max() <= 1  # within 1/65535 (the brief allows 2)
    assert _icc(tmp_path / "back.tif") == ICC


def test_merge_puts_the_untouched_high_back_on_an_edited_low(tmp_path, photo16):
    """A retoucher's pass on Low (blurred further, tone-shifted) keeps the texture exactly."""
    source, _ = photo16
    _run("split", source, "-o", tmp_path / "ring.psd")
    layers, info = read_psd_stack(tmp_path / "ring.psd")
    low, high = layers[0].image, layers[1].image
    edited = np.rint(np.clip(gaussian_blur(low, 8.0) * 0.92 + 0.05, 0, 1) * 65535) / 65535
    edited = edited.astype(np.float32)
    write_psd_stack(
        tmp_path / "edited.psd",
        [PsdLayer("Low", edited), PsdLayer("High", high, "linear-light")],
        bits=16,
        icc=info.icc,
    )
    _run("merge", tmp_path / "edited.psd", "-o", tmp_path / "out.tif")
    out = tifffile.imread(tmp_path / "out.tif").astype(np.int64)
    edited16 = np.rint(edited * 65535).astype(np.int64)
    stored_high = np.rint(PSDImage.open(tmp_path / "ring.psd")[1].numpy("color") * 65535)
    texture = 2 * stored_high.astype(np.int64) - 65536  # Linear Light at 16 bits
    inside = (edited16 + texture > 0) & (edited16 + texture < 65535)
    assert inside.mean() > 0.95
    assert np.array_equal((out - edited16)[inside], texture[inside])


def test_split_to_a_folder_and_merge_two_files(tmp_path, photo16):
    source, data = photo16
    _run("split", source, "-o", tmp_path / "bands")
    low = tifffile.imread(tmp_path / "bands" / "low.tif")
    high = tifffile.imread(tmp_path / "bands" / "high.tif")
    assert low.dtype == high.dtype == np.uint16
    assert _icc(tmp_path / "bands" / "low.tif") == ICC
    assert abs(float(np.median(high)) - 32768) <= 64  # texture sits around the neutral level

    _run("merge", tmp_path / "bands", "-o", tmp_path / "a.tif")
    _run("merge", tmp_path / "bands" / "low.tif", tmp_path / "bands" / "high.tif", "-o",
         tmp_path / "b.tif")  # fmt: skip
    for name in ("a.tif", "b.tif"):
        back = tifffile.imread(tmp_path / name).astype(np.int64)
        assert np.abs(back - data).max() <= 1
    # Photoshop's 16-bit Linear Light, in file levels: low + 2 * high - 65536
    expected = np.clip(low.astype(np.int64) + 2 * high.astype(np.int64) - 65536, 0, 65535)
    assert np.array_equal(tifffile.imread(tmp_path / "b.tif"), expected)


def test_scales_stack_in_psd_and_folder(tmp_path, photo16):
    source, data = photo16
    _run("split", source, "-o", tmp_path / "s.psd", "--scales", 3)
    psd = PSDImage.open(tmp_path / "s.psd")
    assert [layer.name for layer in psd] == ["Residual", "Detail 3", "Detail 2", "Detail 1"]
    assert [layer.blend_mode for layer in psd][1:] == [BlendMode.LINEAR_LIGHT] * 3
    _run("merge", tmp_path / "s.psd", "-o", tmp_path / "s.tif")
    assert np.abs(tifffile.imread(tmp_path / "s.tif").astype(np.int64) - data).max() <= 1

    _run("split", source, "-o", tmp_path / "scales", "--scales", 3)
    names = sorted(p.name for p in (tmp_path / "scales").iterdir())
    assert names == ["detail_1.tif", "detail_2.tif", "detail_3.tif", "residual.tif"]
    _run("merge", tmp_path / "scales", "-o", tmp_path / "f.tif")
    assert np.abs(tifffile.imread(tmp_path / "f.tif").astype(np.int64) - data).max() <= 1


def test_8bit_gray_input_gives_an_8bit_grayscale_stack(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(40, 220, (50, 70), dtype=np.uint8)
    source = _write_tiff(tmp_path / "gray.tif", data, icc=None)
    _run("split", source, "-o", tmp_path / "gray.psd", "-r", 2)
    psd = PSDImage.open(tmp_path / "gray.psd")
    assert (psd.depth, psd.channels) == (8, 1)
    _run("merge", tmp_path / "gray.psd", "-o", tmp_path / "gray_back.tif")
    back = tifffile.imread(tmp_path / "gray_back.tif")
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - data).max() <= 1


def test_psd_without_low_and_high_is_one_clear_line(tmp_path):
    image = np.full((10, 10, 3), 0.5, np.float32)
    stack = [PsdLayer("Background", image), PsdLayer("Retouch", image)]
    psd = write_psd_stack(tmp_path / "other.psd", stack, bits=16)
    command = "from regrain.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", command, "merge", str(psd), "-o", str(tmp_path / "o.tif")],
        capture_output=True,
        text=True,
    )
    stderr, code = result.stderr, result.returncode
    assert code == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("regrain: error: ")
    assert "bottom first: 'Background', 'Retouch'" in stderr
    assert not (tmp_path / "o.tif").exists()


def test_merge_refuses_files_of_different_sizes(tmp_path):
    low = _write_tiff(tmp_path / "low.tif", np.zeros((20, 30, 3), np.uint16))
    high = _write_tiff(tmp_path / "high.tif", np.zeros((20, 20, 3), np.uint16))
    result = runner.invoke(app, ["merge", str(low), str(high), "-o", str(tmp_path / "o.tif")])
    assert result.exit_code == 2
    assert "high.tif: is 20x20 px but low.tif is 30x20 px" in result.stderr
    assert not (tmp_path / "o.tif").exists()


def test_split_refuses_a_non_psd_file_output_and_overwriting_its_input(tmp_path, photo16):
    source, data = photo16
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path / "x.tif")])
    assert result.exit_code == 2
    assert "--output must be a .psd file or a folder" in result.stderr
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path)])  # low.tif, high.tif
    assert result.exit_code == 0
    result = runner.invoke(app, ["split", str(tmp_path / "low.tif"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "is the input file" in result.stderr
    assert np.array_equal(tifffile.imread(source), data)


def test_split_and_merge_through_psd_keep_the_metadata_and_orientation(tmp_path, photo16):
    """EXIF (Orientation 6: the camera was turned), XMP and ICC go into the PSD and come back
    on the merged file, byte for byte; the pixels are not turned."""
    import shutil

    from PIL import Image

    from conftest import SAMPLE_XMP
    from regrain import io

    _, data = photo16
    exif = Image.Exif()
    exif[271], exif[274] = "regrain test camera", 6
    exif_bytes = exif.tobytes()[6:]
    # a PNG source: regrain.io's TIFF reader does not hand IFD0's Orientation on as EXIF yet
    info = io.ImageInfo(format="png", bits=16, icc=ICC, exif=exif_bytes, xmp=SAMPLE_XMP)
    source = io.write_image(tmp_path / "turned.png", data / np.float32(65535), info)
    _, written = io.read_image(source)
    _run("split", source, "-o", tmp_path / "t.psd")
    resources = PSDImage.open(tmp_path / "t.psd").image_resources
    assert resources[1058].data == written.exif and resources[1060].data == SAMPLE_XMP
    _run("merge", tmp_path / "t.psd", "-o", tmp_path / "back.png")
    back, back_info = io.read_image(tmp_path / "back.png")
    assert back.shape == data.shape  # not turned
    assert back_info.icc == ICC
    # the original's XMP, plus merge's processing note
    from regrain._metadata import read_history

    assert back_info.xmp.startswith(SAMPLE_XMP.split(b"</rdf:RDF>")[0].rstrip(b"/>"))
    assert [e["parameters"] for e in read_history(back_info.xmp)] == ["merge"]
    assert back_info.exif == written.exif
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed; the fields were compared as bytes above")
    fields = subprocess.run(
        ["exiftool", "-n", "-s3", "-Orientation", "-Make", str(tmp_path / "back.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert fields[:2] == ["6", "regrain test camera"]


def test_a_failed_folder_write_leaves_the_old_layers(tmp_path, photo16, monkeypatch):
    from regrain import io

    source, _ = photo16
    _run("split", source, "-o", tmp_path / "bands", "-r", 2)
    before = {p.name: p.read_bytes() for p in (tmp_path / "bands").iterdir()}
    real, calls = io.write_image, []

    def second_fails(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise io.ImageFileError(path, "cannot write (No space left on device)")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io, "write_image", second_fails)
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path / "bands"), "-r", "6"])
    assert result.exit_code == 2 and "No space left" in result.stderr
    assert len(calls) == 2
    assert {p.name: p.read_bytes() for p in (tmp_path / "bands").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bands", "ring.tif"]  # no temp folder
    monkeypatch.setattr(io, "write_image", real)
    # a new folder appears whole or not at all
    monkeypatch.setattr(io, "write_image", second_fails)
    calls.clear()
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path / "new")])
    assert result.exit_code == 2 and not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("radius", "message"),
    [
        ("1e6", "radius must be <= 1000 px; got 1e+06."),
        ("200", "radius 200 px must be at most the image's longest side, 120 px"),
    ],
)
def test_split_refuses_a_radius_wider_than_the_image_in_one_line(
    tmp_path, photo16, radius, message
):
    source, _ = photo16
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path / "s.psd"), "-r", radius])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "s.psd").exists()
    result = runner.invoke(app, ["split", str(source), "-o", str(tmp_path / "s"), "--scales", "9"])
    assert "the coarsest scale's radius (256 px) must be at most" in result.stderr


def test_the_folder_names_checked_before_the_work_are_the_ones_written():
    from regrain._stack import folder_names, split_stack, stack_file_names

    image = np.random.default_rng(1).random((40, 40, 3), dtype=np.float32)
    for scales in (None, 3):
        layers = split_stack(image, scales=scales, bits=16)
        assert folder_names(layers) == stack_file_names(scales)


def test_merge_of_a_damaged_psd_is_one_line(tmp_path, photo16):
    source, _ = photo16
    _run("split", source, "-o", tmp_path / "s.psd", "--bits", 8)
    data = (tmp_path / "s.psd").read_bytes()
    (tmp_path / "cut.psd").write_bytes(data[: len(data) // 2])
    result = runner.invoke(app, ["merge", str(tmp_path / "cut.psd"), "-o", str(tmp_path / "o.tif")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"regrain: error: {tmp_path / 'cut.psd'}: cannot decode this PSD; its layer data is "
        "truncated or corrupt\n"
    )
    assert not (tmp_path / "o.tif").exists()
