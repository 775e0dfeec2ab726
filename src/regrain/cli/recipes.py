"""``regrain blend``, ``luminosity``, ``grain``, ``graft``: the seed recipes as exact tools.

Each command reads its images, calls one library function and writes the result with the bit depth,
ICC profile and metadata of the image it changes (16-bit in, 16-bit out; ``--bits`` to choose).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from regrain.cli._app import (
    DEFAULT_MAX_MP,
    BitsOpt,
    MaskOpt,
    MaxMPOpt,
    OutOpt,
    QualityOpt,
    QuietOpt,
    VerboseOpt,
    app,
    check_output_bits,
    check_verbosity,
    echo,
    max_pixels,
    parse_fraction,
    parse_percent,
    user_errors,
)

if TYPE_CHECKING:
    import numpy as np

    from regrain.io import ImageInfo

# spelled out here so that `regrain --help` does not import numpy; a test keeps them in step
MODE_NAMES = (
    "normal, darken, multiply, color-burn, linear-burn, lighten, screen, color-dodge, "
    "linear-dodge, overlay, soft-light, hard-light, vivid-light, linear-light, pin-light, "
    "hard-mix, difference, exclusion, subtract, divide, hue, saturation, color, luminosity"
)

ImageArg = Annotated[Path, typer.Argument(help="Image to work on.", show_default=False)]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed: the same seed gives the same texture.")
]
OPACITY_RULE = "percent, as Photoshop shows it: 20 or 20%; a bare number up to 1 is a fraction"


def _opacity(text: str) -> float:
    """--opacity (percent, see :func:`parse_percent`) as the library's 0-1 fraction."""
    from regrain._checks import check_range

    fraction, percent = parse_fraction(text, "--opacity")
    check_range(percent, "--opacity", low=0.0, high=100.0, unit="%")
    return fraction


def _check_output(output: Path, bits: int | None, inputs: list[Path | None]) -> None:
    """Refuse a bad --bits or output path (an input among them) before any heavy work."""
    from regrain import io

    check_output_bits(bits, output)
    io.check_output_path(output, [p for p in inputs if p is not None])


def _read_mask(path: Path | None, shape: tuple[int, ...], limit: int) -> np.ndarray | None:
    from regrain import io

    if path is None:
        return None
    return io.read_mask(path, shape, max_pixels=limit)


def _write(
    output: Path,
    pixels: np.ndarray,
    info: ImageInfo,
    bits: int | None,
    quality: int | None,
    inputs: list[Path | None],
    quiet: bool,
    note: dict,
) -> None:
    from regrain import io

    if inputs[-1] is not None:  # the mask
        note = {**note, "mask": inputs[-1].name}
    written = io.write_image(
        output,
        pixels,
        info,
        bits=bits,
        quality=quality,
        inputs=[p for p in inputs if p],
        note=note,
    )
    echo(f"wrote {written}", quiet=quiet)


@app.command("blend")
def blend_command(
    base: Annotated[Path, typer.Argument(help="The lower layer (the image).", show_default=False)],
    layer: Annotated[Path, typer.Argument(help="The layer on top.", show_default=False)],
    output: OutOpt,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", "-m", help=f"Blend mode: {MODE_NAMES} (or as Photoshop spells them)."
        ),
    ] = "normal",
    opacity: Annotated[
        str, typer.Option("--opacity", help=f"Layer opacity in {OPACITY_RULE}.")
    ] = "100%",
    mask: MaskOpt = None,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Put LAYER over BASE in a Photoshop blend mode (W3C formulas); keeps BASE's depth and ICC."""
    with user_errors():
        from regrain import io
        from regrain._blend import blend, check_mode

        check_verbosity(quiet, verbose)
        limit = max_pixels(max_megapixels)
        mode = check_mode(mode)
        fraction = _opacity(opacity)
        _check_output(output, bits, [base, layer, mask])
        below, info = io.read_image(base, max_pixels=limit, job="blend")
        above, _ = io.read_image(layer, max_pixels=limit, shape=below.shape, job="blend")
        weight = _read_mask(mask, below.shape, limit)
        result = blend(below, above, mode, opacity=fraction, mask=weight)
        _write(
            output,
            result,
            info,
            bits,
            quality,
            [base, layer, mask],
            quiet,
            {"command": "blend", "mode": mode, "opacity": opacity},
        )
    if verbose:
        echo(f"mode {mode}, opacity {100 * fraction:g}%" + (", through the mask" * bool(mask)))


@app.command("luminosity")
def luminosity_command(
    original: Annotated[
        Path, typer.Argument(help="The untouched original (goes on top).", show_default=False)
    ],
    edited: Annotated[Path, typer.Argument(help="The AI-retouched image.", show_default=False)],
    output: OutOpt,
    opacity: Annotated[
        str,
        typer.Option("--opacity", help=f"Opacity of the original in {OPACITY_RULE} (recipe: 20%)."),
    ] = "20%",
    mask: MaskOpt = None,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Quick fix: the ORIGINAL over the EDITED image in Luminosity mode brings its grain back.

    The edited image keeps its colours; its depth, ICC profile and metadata are kept.
    """
    with user_errors():
        from regrain import io
        from regrain._blend import luminosity_blend

        check_verbosity(quiet, verbose)
        limit = max_pixels(max_megapixels)
        fraction = _opacity(opacity)
        _check_output(output, bits, [original, edited, mask])
        below, info = io.read_image(edited, max_pixels=limit, job="luminosity")
        above, _ = io.read_image(original, max_pixels=limit, shape=below.shape, job="luminosity")
        weight = _read_mask(mask, below.shape, limit)
        result = luminosity_blend(above, below, opacity=fraction, mask=weight)
        _write(
            output,
            result,
            info,
            bits,
            quality,
            [original, edited, mask],
            quiet,
            {"command": "luminosity", "opacity": opacity},
        )
    if verbose:
        echo(f"Luminosity at {100 * fraction:g}%" + (", through the mask" * bool(mask)))


@app.command("grain")
def grain_command(
    image: ImageArg,
    output: OutOpt,
    material: Annotated[
        str,
        typer.Option(
            "--material",
            help="metal (micro-scratches) or skin (pores); auto and fabric are restore's only.",
        ),
    ] = "metal",
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount",
            help="Noise strength in % of full scale (2 or 2%): metal = Gaussian std (1-3, "
            "default 2), skin = uniform +/- range (2-5, default 3).",
            show_default=False,
        ),
    ] = None,
    mask: MaskOpt = None,
    seed: SeedOpt = 0,
    mode: Annotated[
        str,
        typer.Option("--mode", "-m", help="Texture layer mode: overlay or soft-light (subtler)."),
    ] = "overlay",
    radius: Annotated[
        float | None,
        typer.Option(
            "--radius",
            help="metal: Unsharp Mask radius (default 1.0 px); skin: pore blur (default 0.4 px).",
            show_default=False,
        ),
    ] = None,
    angle: Annotated[
        float, typer.Option("--angle", help="metal: scratch direction in degrees (0 = horizontal).")
    ] = 0.0,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Add synthetic metal or skin texture (a 50% gray noise layer in Overlay), inside MASK."""
    with user_errors():
        from regrain import io
        from regrain._blend import check_mode
        from regrain._checks import check_seed
        from regrain._grain import GRAIN_MODES, add_grain, grain_options

        check_verbosity(quiet, verbose)
        limit = max_pixels(max_megapixels)
        percent = None if amount is None else parse_percent(amount, "--amount")
        _, percent, radius, angle = grain_options(
            material,
            amount=percent,
            radius=radius,
            angle=angle,
            names=("--amount", "--radius", "--angle"),
        )
        mode = check_mode(mode, GRAIN_MODES, "--mode")
        check_seed(seed)
        _check_output(output, bits, [image, mask])
        pixels, info = io.read_image(image, max_pixels=limit, job="grain")
        weight = _read_mask(mask, pixels.shape, limit)
        result = add_grain(
            pixels,
            material,
            amount=percent,
            mask=weight,
            seed=seed,
            mode=mode,
            radius=radius,
            angle=angle,
        )
        _write(
            output,
            result,
            info,
            bits,
            quality,
            [image, mask],
            quiet,
            {
                "command": "grain",
                "material": material,
                "amount": amount,
                "mode": mode,
                "seed": seed,
            },
        )
    if verbose:
        echo(
            f"{material} grain: amount {percent:g}%, radius {radius:g} px, angle {angle:g} "
            f"degrees, mode {mode}, seed {seed}"
        )


@app.command("graft")
def graft_command(
    image: ImageArg,
    output: OutOpt,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="Clean texture patch as X,Y,W,H in px (top-left corner, width, height).",
            show_default=False,
        ),
    ],
    mask: Annotated[
        Path,
        typer.Option(
            "--mask", help="Where to graft: white = texture, black = untouched.", show_default=False
        ),
    ],
    radius: Annotated[
        float, typer.Option("--radius", help="High Pass radius in px (1.5-3 for pores).")
    ] = 2.0,
    midtones: Annotated[
        bool,
        typer.Option(
            "--midtones", help="Keep deep shadows and highlights smooth (luminosity mask)."
        ),
    ] = False,
    seed: SeedOpt = 0,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Graft real texture from a clean patch (desaturated High Pass, Linear Light) inside MASK."""
    with user_errors():
        from regrain import io
        from regrain._checks import check_seed
        from regrain._graft import graft, graft_options

        check_verbosity(quiet, verbose)
        limit = max_pixels(max_megapixels)
        box, radius = graft_options(_parse_box(source), radius)
        check_seed(seed)
        _check_output(output, bits, [image, mask])
        pixels, info = io.read_image(image, max_pixels=limit, job="graft")
        weight = _read_mask(mask, pixels.shape, limit)
        result = graft(pixels, box, weight, radius=radius, midtones=midtones, seed=seed)
        _write(
            output,
            result,
            info,
            bits,
            quality,
            [image, mask],
            quiet,
            {"command": "graft", "source": source, "midtones": midtones, "seed": seed},
        )
    if verbose:
        x, y, w, h = box
        echo(f"texture from x={x}, y={y}, {w}x{h} px, High Pass {radius:g} px, seed {seed}")


def _parse_box(text: str) -> tuple[int, int, int, int]:
    """``"X,Y,W,H"`` -> four ints, or a one-line error."""
    from regrain.errors import ParameterError

    parts = text.replace(" ", "").split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise ParameterError(
            f"--source must be X,Y,W,H: four whole numbers in px; got {text!r}."
        ) from None
    return x, y, w, h
