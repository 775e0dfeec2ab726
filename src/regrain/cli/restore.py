"""``regrain restore`` and ``regrain inspect``: automatic texture recovery from a pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from regrain.cli._app import (
    DEFAULT_MAX_MP,
    BitsOpt,
    MaskOpt,
    MaterialOpt,
    MaxMPOpt,
    OutOpt,
    QualityOpt,
    QuietOpt,
    SeedOpt,
    app,
    check_output_bits,
    echo,
    max_pixels,
    user_errors,
)

OriginalArg = Annotated[
    Path, typer.Argument(help="The untouched original photograph.", show_default=False)
]
EditedArg = Annotated[
    Path, typer.Argument(help="The AI-edited version of it (same size).", show_default=False)
]


@app.command()
def restore(
    original: OriginalArg,
    edited: EditedArg,
    output: OutOpt,
    mask: MaskOpt = None,
    material: MaterialOpt = "auto",
    maps: Annotated[
        Path | None,
        typer.Option(
            "--maps",
            help="Folder for the maps: changed, loss, rebuild, gain, classes.",
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
    bits: BitsOpt = None,
    quality: QualityOpt = 95,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
) -> None:
    """Put real texture back where the AI left plastic, keeping the AI's tones.

    Untouched pixels stay bit-identical; the original's texture goes back where only tones changed;
    texture is rebuilt from the surroundings where a defect or object was removed; smooth areas
    stay smooth. The output keeps the edited file's bit depth and ICC profile.
    """
    with user_errors():
        from regrain._checks import check_choice
        from regrain._restore import MATERIALS
        from regrain._restore_file import restore_file

        check_choice(material, MATERIALS, "material")  # before reading 2 large files
        check_output_bits(bits, output)
        figures = restore_file(
            original,
            edited,
            output,
            mask=mask,
            maps_dir=maps,
            material=material,
            seed=seed,
            bits=bits,
            quality=quality,
            max_pixels=max_pixels(max_megapixels),
        )
    if not quiet:
        echo(
            f"wrote {output} in {figures['seconds']:.2f} s; plastic area "
            f"{100 * figures['plastic_before']:.1f}% -> {100 * figures['plastic_after']:.1f}%, "
            f"fine-texture energy {figures['energy_ratio_before']:.2f} -> "
            f"{figures['energy_ratio_after']:.2f} of the original's"
        )
        if maps is not None:
            echo(f"maps in {maps}/")


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
) -> None:
    """Show where the AI took texture away and how much: a map and figures to sort a catalog by."""
    with user_errors():
        from regrain import io
        from regrain._detect import inspect as measure
        from regrain._detect import render_loss_map
        from regrain._restore_file import read_pair

        if output is not None:
            io.check_output_path(output, [original, edited])
        limit = max_pixels(max_megapixels)
        orig, edit, info = read_pair(original, edited, max_pixels=limit)
        m = io.read_mask(mask, edit.shape, max_pixels=limit) if mask is not None else None
        report = measure(orig, edit, mask=m)
        if output is not None:
            picture = render_loss_map(edit, report)
            plain = info.with_(alpha=None, exif=None, xmp=None)
            io.write_image(output, picture, plain, bits=8, inputs=[original, edited])
    figures = report.figures()
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(
        f"[bold]{100 * figures['plastic_share']:.1f}%[/] of the area went plastic "
        f"(lost >= half its texture); the edit touched {100 * figures['changed_share']:.1f}%."
    )
    bands = Table("band", "energy edited/original", title="texture energy in the changed area")
    for band, ratio in figures["energy_ratio"].items():
        bands.add_row(band, f"{ratio:.2f}")
    console.print(bands)
    if figures["regions"]:
        worst = Table("#", "box x,y,w,h (px)", "area (px)", "mean loss", title="worst regions")
        for number, region in enumerate(figures["regions"], start=1):
            worst.add_row(
                str(number),
                ",".join(str(v) for v in region["box"]),
                str(region["area_px"]),
                f"{region['mean_loss']:.2f}",
            )
        console.print(worst)
    if output is not None:
        console.print(f"map written to {output}")
