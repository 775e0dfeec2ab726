"""``regrain restore`` and ``regrain inspect``: automatic texture recovery from a pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regrain.cli._app import (
    DEFAULT_MAX_MP,
    BitsOpt,
    JsonOpt,
    MapsOpt,
    MaskOpt,
    MaterialOpt,
    MaxMPOpt,
    QualityOpt,
    QuietOpt,
    SeedOpt,
    VerboseOpt,
    app,
    check_output_bits,
    check_output_folder,
    check_verbosity,
    console,
    echo,
    max_pixels,
    print_json,
    user_errors,
)

OriginalArg = Annotated[
    Path, typer.Argument(help="The untouched original photograph.", show_default=False)
]
EditedArg = Annotated[
    Path, typer.Argument(help="The AI-edited version of it (same size).", show_default=False)
]
MAX_STRENGTH = 4.0


@app.command()
def restore(
    original: OriginalArg,
    edited: EditedArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file: .tif, .png or .jpg (flat), or .psd (layers: AI edit, Restored "
            "texture, Rebuilt texture).",
            show_default=False,
        ),
    ],
    mask: MaskOpt = None,
    material: MaterialOpt = "auto",
    strength: Annotated[
        float,
        typer.Option(
            "--strength", help="How much texture goes back: 0-4 (1 = the original's own)."
        ),
    ] = 1.0,
    maps: MapsOpt = None,
    seed: SeedOpt = 0,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")
    ] = False,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Put real texture back where the AI left plastic, keeping the AI's tones.

    Untouched pixels stay bit-identical; the original's texture goes back where only tones changed;
    texture is rebuilt from the surroundings where a defect or object was removed; smooth areas
    stay smooth. The output keeps the edited file's bit depth and ICC profile.
    """
    with user_errors():
        from regrain import io
        from regrain._checks import check_range, check_seed
        from regrain._materials import check_material
        from regrain._restore_file import restore_file
        from regrain.errors import ImageFileError

        # every option first: nothing is read before all of them are known to be good
        check_verbosity(quiet, verbose, as_json)
        limit = max_pixels(max_megapixels)
        check_material(material, "restore")
        check_seed(seed)
        strength = check_range(strength, "--strength", low=0.0, high=MAX_STRENGTH)
        check_output_bits(bits, output)
        inputs = [p for p in (original, edited, mask) if p is not None]
        io.check_output_path(output, inputs, suffixes=(*io.WRITE_FORMATS, ".psd"))
        if output.exists() and not overwrite:
            raise ImageFileError(output, "already exists; pass --overwrite to replace it")
        if maps is not None:
            check_output_folder(maps, "--maps")
        figures = restore_file(
            original,
            edited,
            output,
            mask=mask,
            maps_dir=maps,
            material=material,
            seed=seed,
            strength=strength,
            bits=bits,
            quality=quality,
            max_pixels=limit,
        )
    seconds = figures.pop("seconds", None)
    if as_json:
        print_json(
            {
                "original": str(original),
                "edited": str(edited),
                "mask": None if mask is None else str(mask),
                "output": str(output),
                "maps": None if maps is None else str(maps),
                "material": material,
                "strength": strength,
                "seed": seed,
                "seconds": seconds,
                **figures,
            }
        )
        return
    if quiet:
        return
    echo(
        f"wrote {output} in {seconds:.2f} s; plastic area "
        f"{_percent(figures.get('plastic_before'))} -> {_percent(figures.get('plastic_after'))}, "
        f"fine-texture energy {figures['energy_ratio_before']:.2f} -> "
        f"{figures['energy_ratio_after']:.2f} of the original's"
    )
    if maps is not None:
        echo(f"maps in {maps}/")
    if verbose:
        shares = [
            f"{name} {_percent(figures[f'share_{name}'])}"
            for name in ("restored", "rebuilt", "smooth")
            if figures.get(f"share_{name}") is not None
        ]
        if shares:
            echo(f"changed area: {', '.join(shares)}")
        if figures.get("worst_box"):
            x, y, w, h = figures["worst_box"]
            echo(f"most texture lost in the box x={x}, y={y}, {w}x{h} px")
        echo(f"material {material}, strength {strength:g}, seed {seed}")


def _percent(share: float | None) -> str:
    """A share 0-1 as people read it: percent with one decimal."""
    return "?" if share is None else f"{100 * share:.1f}%"


@app.command()
def inspect(
    original: OriginalArg,
    edited: EditedArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the texture-loss picture here (PNG/TIFF/JPEG).",
            show_default=False,
        ),
    ] = None,
    mask: MaskOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show where the AI took texture away and how much: a map and figures to sort a catalog by."""
    with user_errors():
        from regrain import io
        from regrain._detect import inspect as measure
        from regrain._detect import render_loss_map
        from regrain._restore_file import read_pair

        check_verbosity(quiet, verbose, as_json)
        limit = max_pixels(max_megapixels)
        inputs = [p for p in (original, edited, mask) if p is not None]
        if output is not None:
            io.check_output_path(output, inputs)
        orig, edit, info, _ = read_pair(original, edited, max_pixels=limit, job="inspect")
        m = io.read_mask(mask, edit.shape, max_pixels=limit) if mask is not None else None
        report = measure(orig, edit, mask=m)
        if output is not None:
            picture = render_loss_map(edit, report)
            from regrain._pictures import picture_icc

            # a picture, not a photograph: sRGB, and none of the photo's own metadata
            plain = info.with_(
                alpha=None, exif=None, xmp=None, iptc=None, icc=picture_icc(picture.shape[2])
            )
            io.write_image(output, picture, plain, bits=8, inputs=inputs)
    figures = report.figures()
    if as_json:
        paths = {"original": original, "edited": edited, "mask": mask, "output": output}
        print_json({**{k: None if v is None else str(v) for k, v in paths.items()}, **figures})
        return
    if quiet:
        return
    from rich.markup import escape
    from rich.table import Table

    out = console()
    out.print(
        f"[bold]{100 * figures['plastic_share']:.1f}%[/] of the area went plastic "
        f"(lost >= half its texture); the edit touched {100 * figures['changed_share']:.1f}%."
    )
    bands = Table("band", "energy edited/original", title="texture energy in the changed area")
    for band, ratio in figures["energy_ratio"].items():
        bands.add_row(band, f"{ratio:.2f}")
    out.print(bands)
    if verbose:
        shown = ", ".join(f"{k} {escape(str(v))}" for k, v in (("original", original),
                          ("edited", edited), ("mask", mask)) if v is not None)  # fmt: skip
        out.print(f"measured {shown}")
    regions = figures["regions"]
    if regions:
        worst = Table("#", "box x,y,w,h (px)", "area (px)", "mean loss", title="worst regions")
        for number, region in enumerate(regions, start=1):
            worst.add_row(
                str(number),
                ",".join(str(v) for v in region["box"]),
                str(region["area_px"]),
                f"{region['mean_loss']:.2f}",
            )
        out.print(worst)
    if output is not None:
        out.print(f"map written to {escape(str(output))}")
