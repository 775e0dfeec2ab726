"""``regrain split`` and ``regrain merge``: frequency separation through Photoshop and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regrain.cli._app import (
    DEFAULT_MAX_MP,
    BitsOpt,
    MaxMPOpt,
    OutOpt,
    QualityOpt,
    QuietOpt,
    app,
    echo,
    max_pixels,
    user_errors,
)


@app.command()
def split(
    image: Annotated[Path, typer.Argument(help="Image to separate.", show_default=False)],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="A layered STACK.psd, or a folder for low.tif + high.tif "
            "(residual.tif + detail_N.tif with --scales).",
            show_default=False,
        ),
    ],
    radius: Annotated[
        float | None,
        typer.Option(
            "--radius",
            "-r",
            help="Gaussian Blur radius of the Low layer in px, as in Photoshop "
            "(default 4; with --scales the finest scale's radius, default 1).",
            show_default=False,
        ),
    ] = None,
    scales: Annotated[
        int | None,
        typer.Option(
            "--scales",
            min=1,
            max=12,
            help="Split into N detail layers (radius doubling per scale) over a residual.",
            show_default=False,
        ),
    ] = None,
    bits: BitsOpt = None,
    compression: Annotated[
        str,
        typer.Option(
            "--compression",
            help="PSD compression: auto (RLE where it shrinks the data), rle, raw, or zip "
            "(about 20% smaller at 16 bits, slower).",
        ),
    ] = "auto",
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
) -> None:
    """Split an image into Low + High layers (Linear Light) for retouching the Low layer alone.

    Run Generative Fill or any cleanup on the Low layer of the stack, save, then
    [bold]regrain merge[/bold] puts the untouched texture back.
    """
    with user_errors():
        from regrain import io
        from regrain._checks import check_choice, check_range
        from regrain._psd import COMPRESSIONS
        from regrain._stack import split_stack
        from regrain.errors import ParameterError

        # every option is checked before the (possibly large) image is read
        if radius is not None:
            check_range(radius, "radius", low=0.0, low_open=True, high=1000.0, unit="px")
        if bits not in (None, 8, 16, 32):
            raise ParameterError(f"bits must be one of 8, 16, 32; got {bits}.")
        check_choice(compression, COMPRESSIONS, "compression")
        as_psd = output.suffix.lower() == ".psd"
        if as_psd:
            io.check_output_path(output, [image], suffixes=(".psd",))
        elif output.suffix and not output.is_dir():
            raise ParameterError(f"--output must be a .psd file or a folder; got {str(output)!r}.")
        else:
            from regrain._stack import check_folder_output, stack_file_names

            check_folder_output(output, stack_file_names(scales), [image])

        pixels, info = io.read_image(image, max_pixels=max_pixels(max_megapixels), job="split")
        out_bits = bits or info.bits
        notes = []
        if as_psd and out_bits == 32:
            out_bits = 16
            notes.append("float input: the PSD stack is 16-bit")
        layers = split_stack(pixels, radius=radius, scales=scales, bits=out_bits)
        del pixels
        if as_psd:
            from regrain._psd import write_psd_stack

            if info.alpha is not None:
                notes.append("the alpha channel is not part of the stack")
            write_psd_stack(
                output,
                layers,
                bits=out_bits,
                icc=info.icc,
                xmp=info.xmp,
                exif=info.exif,
                iptc=getattr(info, "iptc", None),
                dpi=info.dpi,
                compression=compression,
                inputs=[image],
            )
            written = [output]
        else:
            from regrain._stack import write_folder_stack

            note = {"command": "split", "radius": radius, "scales": scales}
            written = write_folder_stack(
                output, layers, info, bits=out_bits, inputs=[image], note=note
            )
    for note in notes:
        echo(f"note: {note}", quiet=quiet)
    what = f"{len(layers) - 1} detail layers + residual" if scales else "Low + High"
    where = str(output) if as_psd else f"{output}/ ({', '.join(p.name for p in written)})"
    echo(f"wrote {where}: {what}, {out_bits}-bit", quiet=quiet)


@app.command()
def merge(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="STACK.psd saved from Photoshop, a folder written by split, or LOW HIGH "
            "[HIGH...] image files (the rest over the first in Linear Light).",
            show_default=False,
        ),
    ],
    output: OutOpt,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
) -> None:
    """Put the untouched High layer back over a retouched Low layer and write the result.

    From a PSD the layers are found by name (Low/High, or Residual + Detail N); the depth and
    ICC profile of the output are the PSD's (or the Low file's) unless --bits says otherwise.
    """
    notes: list[str] = []
    with user_errors():
        from regrain import io
        from regrain.errors import ParameterError

        io.check_output_path(output, inputs)
        limit = max_pixels(max_megapixels)
        if len(inputs) == 1 and inputs[0].suffix.lower() in (".psd", ".psb"):
            from regrain._psd import merge_psd_stack

            image, info, notes = merge_psd_stack(inputs[0], max_pixels=limit)
        elif len(inputs) == 1 and inputs[0].is_dir():
            from regrain._stack import merge_folder

            image, info = merge_folder(inputs[0], max_pixels=limit)
        elif len(inputs) >= 2:
            from regrain._stack import merge_layer_files

            image, info = merge_layer_files(inputs, max_pixels=limit)
        else:
            raise ParameterError(
                f"merge needs STACK.psd, a folder written by split, or LOW HIGH files; "
                f"got {str(inputs[0])!r}."
            )
        io.write_image(output, image, info, bits=bits, quality=quality, inputs=inputs, note="merge")
    for note in notes:
        echo(f"note: {note}", quiet=quiet)
    echo(f"wrote {output}", quiet=quiet)
