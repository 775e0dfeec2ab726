"""``regrain convert``: read an image and write it again (format, bit depth), keeping its profile."""

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
def convert(
    image: Annotated[Path, typer.Argument(help="Image to read.", show_default=False)],
    output: OutOpt,
    bits: BitsOpt = None,
    quality: QualityOpt = 95,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
) -> None:
    """Copy an image to another file or bit depth, keeping its ICC profile and metadata."""
    with user_errors():
        from regrain import io

        io.check_output_path(output, [image])
        pixels, info = io.read_image(image, max_pixels=max_pixels(max_megapixels))
        io.write_image(output, pixels, info, bits=bits, quality=quality, inputs=[image])
    echo(f"wrote {output}", quiet=quiet)
