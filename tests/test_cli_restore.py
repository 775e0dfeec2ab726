"""`regrain restore` and `regrain inspect` from the terminal: files, depth, profile, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

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
