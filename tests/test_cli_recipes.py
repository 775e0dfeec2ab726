"""``regrain blend | luminosity | grain | graft``: 16-bit in and out, profiles kept, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regrain import BLEND_MODES, add_grain, blend, graft, luminosity_blend
from regrain.cli import app
from regrain.cli.recipes import MODE_NAMES
from regrain.io import ImageInfo, read_image, write_image

runner = CliRunner()
SIZE = (48, 64)


def run(*args: object, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def levels(image: np.ndarray, bits: int = 16) -> np.ndarray:
    """What write_image stores: the nearest integer level (halves up, in float32 as io does)."""
    scaled = np.clip(image, 0, 1).astype(np.float32) * np.float32(2**bits - 1) + np.float32(0.5)
    return scaled.astype(np.int64)


@pytest.fixture
def mask_file(tmp_path: Path) -> Path:
    mask = np.zeros((*SIZE, 1), np.float32)
    mask[8:40, 24:60] = 1.0
    mask[12:20, 4:12] = 0.5
    write_image(tmp_path / "mask.tif", mask, ImageInfo(bits=8))
    return tmp_path / "mask.tif"


def test_mode_names_in_help_match_the_library() -> None:
    assert MODE_NAMES.split(", ") == list(BLEND_MODES)


def test_blend_keeps_16_bits_and_the_base_profile(
    tmp_path: Path, make_image: Callable[..., Path], mask_file: Path
) -> None:
    base = make_image("base.tif", bits=16, size=SIZE, seed=1, xmp=True)
    layer = make_image("layer.tif", bits=8, size=SIZE, seed=2)
    out = tmp_path / "out.tif"
    run("blend", base, layer, "-o", out, "--mode", "soft-light", "--opacity", 0.6,
        "--mask", mask_file)  # fmt: skip

    got, info = read_image(out)
    below, base_info = read_image(base)
    above, _ = read_image(layer)
    mask, _ = read_image(mask_file)
    expected = blend(below, above, "soft-light", opacity=0.6, mask=mask[..., 0])
    assert info.bits == 16 and info.icc == base_info.icc
    assert base_info.icc and base_info.xmp
    # the base's XMP, plus one processing note saying what ran
    from regrain._metadata import read_history

    assert read_history(info.xmp)[len(read_history(base_info.xmp)) :] == [
        {
            **read_history(info.xmp)[-1],
            "action": "processed",
            "parameters": f"blend: mode=soft-light, opacity=0.6, mask={mask_file.name}",
        }
    ]
    assert read_history(info.xmp)[-1]["softwareAgent"].startswith("regrain ")
    assert np.array_equal(levels(got), levels(expected))
    outside = mask[..., 0] == 0
    assert np.array_equal(
        levels(got)[outside], levels(below)[outside]
    )  # untouched, level for level

    run("blend", base, layer, "-o", tmp_path / "out8.tif", "--mode", "overlay", "--bits", 8)
    assert read_image(tmp_path / "out8.tif")[1].bits == 8


def test_luminosity_keeps_the_edited_image_depth(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    original = make_image("original.tif", bits=8, size=SIZE, seed=3)
    edited = make_image("edited.tif", bits=16, size=SIZE, seed=4)
    out = tmp_path / "fixed.tif"
    run("luminosity", original, edited, "-o", out)
    got, info = read_image(out)
    below, edited_info = read_image(edited)
    expected = luminosity_blend(read_image(original)[0], below, opacity=0.2)
    assert info.bits == 16 and info.icc == edited_info.icc
    assert np.array_equal(levels(got), levels(expected))


def test_grain_16_bit_round_trip_is_the_library_result(
    tmp_path: Path, make_image: Callable[..., Path], mask_file: Path
) -> None:
    source = make_image("ai.tif", bits=16, size=SIZE, seed=5)
    out = tmp_path / "grain.tif"
    run("grain", source, "-o", out, "--material", "skin", "--amount", 4, "--seed", 9,
        "--mask", mask_file, "--mode", "soft-light")  # fmt: skip
    got, info = read_image(out)
    pixels, source_info = read_image(source)
    mask = read_image(mask_file)[0][..., 0]
    expected = add_grain(pixels, "skin", amount=4, seed=9, mask=mask, mode="soft-light")
    assert info.bits == 16 and info.icc == source_info.icc
    assert np.array_equal(levels(got), levels(expected))
    assert np.array_equal(levels(got)[mask == 0], levels(pixels)[mask == 0])
    # the same command again gives the same file content
    run("grain", source, "-o", tmp_path / "again.tif", "--material", "skin", "--amount", 4,
        "--seed", 9, "--mask", mask_file, "--mode", "soft-light")  # fmt: skip
    assert np.array_equal(read_image(tmp_path / "again.tif")[0], got)


def test_graft_writes_the_library_result(
    tmp_path: Path, make_image: Callable[..., Path], mask_file: Path
) -> None:
    source = make_image("ai.tif", bits=16, size=SIZE, seed=6)
    out = tmp_path / "graft.tif"
    run("graft", source, "-o", out, "--source", "2,2,20,20", "--mask", mask_file,
        "--radius", 1.5, "--midtones", "--seed", 3)  # fmt: skip
    got, info = read_image(out)
    pixels, _ = read_image(source)
    mask = read_image(mask_file)[0][..., 0]
    expected = graft(pixels, (2, 2, 20, 20), mask, radius=1.5, midtones=True, seed=3)
    assert info.bits == 16
    assert np.array_equal(levels(got), levels(expected))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["blend", "{a}", "{b}", "--mode", "softlight"], "unknown mode 'softlight'"),
        (["blend", "{a}", "{small}"], "both must be the same size"),
        (["blend", "{a}", "{b}", "--opacity", "101"], "--opacity must be <= 100 %; got 101."),
        (["blend", "{a}", "{b}", "--opacity", "-5%"], "--opacity must be >= 0 %; got -5."),
        (
            ["blend", "{a}", "{b}", "--opacity", "half"],
            "--opacity must be a percentage such as 20 or 20%; got 'half'.",
        ),
        (["luminosity", "{a}", "{b}", "--opacity", "nan"], "--opacity must be a percentage"),
        (
            ["grain", "{a}", "--material", "fabric"],
            "material 'fabric' has no synthetic grain "
            "recipe; grain offers: metal, skin (restore takes 'fabric': it measures the texture "
            "from the pair)",
        ),
        (["grain", "{a}", "--amount", "0%"], "--amount must be > 0 %; got 0."),
        (
            ["grain", "{a}", "--mode", "multiply"],
            "unknown --mode 'multiply'; expected one of: overlay, soft-light",
        ),
        (
            ["grain", "{a}", "--seed=-1"],
            "seed must be a whole number from 0 to 2147483647; got -1.",
        ),
        (["graft", "{a}", "--source", "1,2,30,30", "--mask", "{a}", "--seed=-1"], "seed must be"),
        (
            ["graft", "{a}", "--source", "1,2,8,8", "--mask", "{a}", "--radius", "3"],
            "radius must be <= a quarter of the source's smaller side (2 px)",
        ),
        (
            ["blend", "{a}", "{b}", "--max-megapixels", "nan"],
            "--max-megapixels must be a finite number; got nan.",
        ),
        (["grain", "{a}", "--max-megapixels", "inf"], "--max-megapixels must be a finite number"),
        (
            ["graft", "{a}", "--source", "1,2,30,30", "--mask", "{a}", "--max-megapixels", "-1"],
            "--max-megapixels must be > 0 MP; got -1.",
        ),
        (
            ["blend", "{a}", "{b}", "--quiet", "--verbose"],
            "give one of --quiet, --verbose, not both.",
        ),
        (["blend", "{a}", "{b}", "--bits", "12"], "--bits must be 8 or 16; got 12."),
        (["luminosity", "{a}", "{small}"], "both must be the same size"),
        (["grain", "{a}", "--material", "wood"], "unknown material 'wood'"),
        (["grain", "{a}", "--mask", "{small}"], "mask is 16x16 px but the image is 64x48 px"),
        (["graft", "{a}", "--source", "1,2,3", "--mask", "{a}"], "--source must be X,Y,W,H"),
        (["graft", "{a}", "--source", "50,2,30,30", "--mask", "{a}"], "reaches outside"),
    ],
)
def test_user_errors_are_one_line_and_write_nothing(
    tmp_path: Path, make_image: Callable[..., Path], command: list[str], message: str
) -> None:
    files = {
        "a": make_image("a.tif", size=SIZE, seed=1),
        "b": make_image("b.tif", size=SIZE, seed=2),
        "small": make_image("small.tif", size=(16, 16)),
    }
    out = tmp_path / "out.tif"
    args = [part.format(**files) for part in command] + ["-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regrain: error: ")
    assert message in lines[0]
    assert not out.exists()


def test_refuses_to_overwrite_an_input(make_image: Callable[..., Path]) -> None:
    base = make_image("base.tif", size=SIZE)
    before = base.read_bytes()
    result = runner.invoke(app, ["grain", str(base), "-o", str(base)])
    assert result.exit_code == 2 and "output path is the input file" in result.stderr
    assert base.read_bytes() == before


def test_opacity_is_percent_as_photoshop_shows_it(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    base = make_image("base.tif", bits=16, size=SIZE, seed=1)
    layer = make_image("layer.tif", bits=16, size=SIZE, seed=2)
    below, above = read_image(base)[0], read_image(layer)[0]
    written = {}
    for text in ("60", "60%", "0.6", " 60 % "):
        out = tmp_path / f"o{len(written)}.tif"
        run("blend", base, layer, "-o", out, "--mode", "multiply", "--opacity", text)
        written[text] = read_image(out)[0]
    expected = levels(blend(below, above, "multiply", opacity=0.6))
    for text, got in written.items():
        assert np.array_equal(levels(got), expected), text
    # 1% is one percent, a bare 1 the whole layer
    run("blend", base, layer, "-o", tmp_path / "one.tif", "--mode", "multiply", "--opacity", "1%")
    run("blend", base, layer, "-o", tmp_path / "all.tif", "--mode", "multiply", "--opacity", "1")
    assert np.array_equal(levels(read_image(tmp_path / "one.tif")[0]),
                          levels(blend(below, above, "multiply", opacity=0.01)))  # fmt: skip
    assert np.array_equal(levels(read_image(tmp_path / "all.tif")[0]),
                          levels(blend(below, above, "multiply")))  # fmt: skip


def test_every_mode_and_photoshop_spelling_on_the_command_line(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    base = make_image("base.tif", bits=8, size=SIZE, seed=1)
    layer = make_image("layer.tif", bits=8, size=SIZE, seed=2)
    below, above = read_image(base)[0], read_image(layer)[0]
    for mode in BLEND_MODES:
        spelled = mode.replace("-", " ").title()  # "Color Dodge", as Photoshop's menu
        out = tmp_path / f"{mode}.tif"
        run("blend", base, layer, "-o", out, "--mode", spelled, "-q")
        assert np.array_equal(levels(read_image(out)[0], 8), levels(blend(below, above, mode), 8))
