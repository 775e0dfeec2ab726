"""`regrain restore` and `regrain inspect` from the terminal: files, depth, profile, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import regrain
from regrain import _simulate as simulate
from regrain import io
from regrain.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def pair(tmp_path_factory, icc_profile_bytes) -> tuple[Path, Path, simulate.DamageCase]:
    """A 16-bit sRGB pair with a smoothed region and a removed object (chelsea, 512 px)."""
    folder = tmp_path_factory.mktemp("pair")
    case = simulate.replaced("chelsea")
    info = io.ImageInfo(format="tiff", bits=16, icc=icc_profile_bytes)
    original = io.write_image(folder / "cat.tif", case.original, info)
    edited = io.write_image(folder / "cat_ai.tif", case.edited, info)
    return original, edited, case


@pytest.fixture(scope="module")
def icc_profile_bytes() -> bytes:
    from conftest import srgb_icc

    return srgb_icc()


def test_restore_writes_16_bit_with_the_profile_and_maps(pair, tmp_path, icc_profile_bytes):
    original, edited, case = pair
    out = tmp_path / "restored.tif"
    result = runner.invoke(
        app, ["restore", str(original), str(edited), "-o", str(out), "--maps", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert "plastic area" in result.output
    pixels, info = io.read_image(out)
    assert info.bits == 16
    assert info.icc == icc_profile_bytes
    untouched = np.all(case.original == case.edited, axis=2)
    assert np.array_equal(pixels[untouched], case.edited[untouched])
    for name in ("changed", "loss", "rebuild", "gain", "classes"):
        assert (tmp_path / "m" / f"{name}.png").is_file()


def test_restore_bits_option_writes_8_bit(pair, tmp_path):
    original, edited, _ = pair
    out = tmp_path / "restored8.tif"
    result = runner.invoke(
        app, ["restore", str(original), str(edited), "-o", str(out), "--bits", "8"]
    )
    assert result.exit_code == 0, result.output
    assert io.read_image(out)[1].bits == 8


def test_inspect_reports_the_plastic_area_as_json_and_picture(pair, tmp_path):
    original, edited, case = pair
    picture = tmp_path / "loss.png"
    result = runner.invoke(
        app, ["inspect", str(original), str(edited), "--json", "-o", str(picture)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    region_share = float((case.region > 0.5).mean())
    assert 0.3 * region_share < figures["plastic_share"] <= figures["changed_share"] + 1e-6
    assert all(ratio < 0.7 for ratio in figures["energy_ratio"].values())
    x, y, w, h = figures["regions"][0]["box"]
    ys, xs = np.nonzero(case.region > 0.5)
    assert x <= xs.mean() <= x + w and y <= ys.mean() <= y + h
    image, info = io.read_image(picture)
    assert image.shape[:2] == case.original.shape[:2] and info.bits == 8


def test_inspect_of_an_untouched_pair_finds_nothing(pair):
    original, _, _ = pair
    result = runner.invoke(app, ["inspect", str(original), str(original), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["plastic_share"] == 0.0 and figures["regions"] == []


def test_size_mismatch_is_one_line_exit_2_and_no_output(pair, tmp_path, make_image):
    original, _, _ = pair
    small = make_image("small.tif", bits=16)
    out = tmp_path / "never.tif"
    proc = subprocess.run(
        [sys.executable, "-m", "regrain", "restore", str(original), str(small), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "small.tif" in proc.stderr and "px" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("*.part*"))


def test_unknown_material_lists_the_choices(pair, tmp_path):
    original, edited, _ = pair
    result = runner.invoke(
        app,
        [
            "restore",
            str(original),
            str(edited),
            "-o",
            str(tmp_path / "x.tif"),
            "--material",
            "wood",
        ],
    )
    assert result.exit_code == 2
    assert "unknown material 'wood'; expected one of: auto, fabric, metal, skin" in result.output


def test_output_over_an_input_is_refused(pair):
    original, edited, _ = pair
    before = edited.read_bytes()
    result = runner.invoke(app, ["restore", str(original), str(edited), "-o", str(edited)])
    assert result.exit_code == 2
    assert "input" in result.output
    assert edited.read_bytes() == before


def test_gray_against_rgb_names_both_kinds(pair, tmp_path):
    original, _, case = pair
    gray = io.write_image(
        tmp_path / "gray_ai.tif", case.edited.mean(axis=2, keepdims=True), io.ImageInfo(bits=16)
    )
    result = runner.invoke(
        app, ["restore", str(original), str(gray), "-o", str(tmp_path / "x.tif")]
    )
    assert result.exit_code == 2
    assert "edited image is grayscale but the original" in result.output
    assert "is RGB; convert one to match" in result.output
    assert not (tmp_path / "x.tif").exists()


# ------------------------------------------------------------- options of the restore command
SMALL = (40, 48)


@pytest.fixture
def small_pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A 16-bit pair whose edit smooths a square, and an 8-bit mask of the square."""
    rng = np.random.default_rng(8)
    original = np.clip(0.5 + rng.normal(0, 0.06, (*SMALL, 3)), 0, 1).astype(np.float32)
    edited = original.copy()
    edited[8:32, 10:38] = original[8:32, 10:38].mean(axis=(0, 1))
    mask = np.zeros((*SMALL, 1), np.float32)
    mask[4:36, 6:42] = 1.0
    info = io.ImageInfo(bits=16)
    return (
        io.write_image(tmp_path / "o.tif", original, info),
        io.write_image(tmp_path / "e.tif", edited, info),
        io.write_image(tmp_path / "m.png", mask, io.ImageInfo(bits=8)),
    )


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_strength_goes_to_restore(small_pair, tmp_path):
    original, edited, _ = small_pair
    outputs = {}
    for strength in ("0", "1", "2.5"):
        out = tmp_path / f"s{strength}.tif"
        result = _invoke("restore", original, edited, "-o", out, "--strength", strength)
        assert result.exit_code == 0, result.output
        outputs[strength] = io.read_image(out)[0]
    orig, edit = io.read_image(original)[0], io.read_image(edited)[0]
    for strength, got in outputs.items():  # the file holds the library's result at that strength
        expected = regrain.restore(orig, edit, strength=float(strength)).image
        stored = (np.clip(expected, 0, 1) * np.float32(65535) + np.float32(0.5)).astype(np.int64)
        assert np.array_equal(np.round(got * 65535).astype(np.int64), stored), strength
    assert not np.array_equal(outputs["1"], outputs["2.5"])
    for bad, message in (("5", "--strength must be <= 4; got 5."),
                         ("-1", "--strength must be >= 0; got -1.")):  # fmt: skip
        result = _invoke("restore", original, edited, "-o", tmp_path / "x.tif", "--strength", bad)
        assert result.exit_code == 2 and result.stderr == f"regrain: error: {message}\n"


def test_an_existing_output_is_kept_unless_overwrite(small_pair, tmp_path):
    original, edited, _ = small_pair
    out = tmp_path / "done.tif"
    out.write_bytes(b"the studio's delivered file")
    result = _invoke("restore", original, edited, "-o", out)
    assert result.exit_code == 2
    assert (
        result.stderr == f"regrain: error: {out}: already exists; pass --overwrite to replace it\n"
    )
    assert out.read_bytes() == b"the studio's delivered file"
    result = _invoke("restore", original, edited, "-o", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert io.read_image(out)[0].shape == (*SMALL, 3)


def test_the_mask_is_never_an_output(small_pair, tmp_path):
    original, edited, mask = small_pair
    before = mask.read_bytes()
    (tmp_path / "link.png").symlink_to(mask)
    commands = [
        ["restore", original, edited, "--mask", mask, "-o", mask, "--overwrite"],
        ["restore", original, edited, "--mask", mask, "-o", tmp_path / "link.png", "--overwrite"],
        ["inspect", original, edited, "--mask", mask, "-o", mask],
        ["blend", original, edited, "--mask", mask, "-o", mask],
        ["luminosity", original, edited, "--mask", mask, "-o", mask],
        ["grain", edited, "--mask", mask, "-o", mask],
        ["graft", edited, "--source", "0,0,16,16", "--mask", mask, "-o", mask],
    ]
    for args in commands:
        result = _invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "output path is the input file" in result.stderr and str(mask) in result.stderr
        assert result.stderr.count("\n") == 1
        assert mask.read_bytes() == before, args


def test_a_psd_output_goes_to_restore_file(small_pair, tmp_path, monkeypatch):
    """The command passes a .psd output through (restore_file writes the layered file)."""
    import regrain._restore_file

    original, edited, mask = small_pair
    calls = []

    def fake(*args, **kwargs):
        calls.append((args, kwargs))
        return {"seconds": 0.1, "plastic_before": 0.5, "plastic_after": 0.0,
                "energy_ratio_before": 0.2, "energy_ratio_after": 1.0}  # fmt: skip

    monkeypatch.setattr(regrain._restore_file, "restore_file", fake)
    out = tmp_path / "layers.psd"
    result = _invoke("restore", original, edited, "-o", out, "--mask", mask, "--strength", "1.5")
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = calls
    assert args == (original, edited, out) and kwargs["strength"] == 1.5
    assert kwargs["mask"] == mask
    assert "plastic area 50.0% -> 0.0%" in result.stdout


def test_restore_to_psd_writes_the_named_layers(small_pair, tmp_path):
    from psd_tools import PSDImage

    original, edited, _ = small_pair
    out = tmp_path / "layers.psd"
    result = _invoke("restore", original, edited, "-o", out)
    assert result.exit_code == 0, result.output
    psd = PSDImage.open(out)
    assert psd.depth == 16 and (psd.width, psd.height) == (SMALL[1], SMALL[0])
    names = [layer.name for layer in psd.descendants()]
    assert names[:3] == ["AI edit", "Restored texture", "Rebuilt texture"]


def test_restore_to_psd_honours_bits(small_pair, tmp_path):
    """--bits 8 writes an 8-bit PSD from a 16-bit pair (it was silently ignored for PSD)."""
    from psd_tools import PSDImage

    original, edited, _ = small_pair
    out = tmp_path / "layers8.psd"
    result = _invoke("restore", original, edited, "-o", out, "--bits", "8")
    assert result.exit_code == 0, result.output
    assert PSDImage.open(out).depth == 8
