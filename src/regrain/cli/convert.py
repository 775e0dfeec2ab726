"""``regrain convert``: read an image and write it again (format, bit depth), keeping its ICC."""

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
    check_output_bits,
    echo,
    max_pixels,
    user_errors,
)


@app.command()
def convert(
    image: Annotated[Path, typer.Argument(help="Image to read.", show_default=False)],
    output: OutOpt,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    quiet: QuietOpt = False,
) -> None:
    """Copy an image to another file or bit depth, keeping its ICC profile and metadata.

    Reads TIFF, PNG, JPEG and PSD (flattened composite); writes .tif/.tiff, .png, .jpg/.jpeg.
    """
    with user_errors():
        from regrain import io
        from regrain._checks import check_range

        check_output_bits(bits, output)
        check_range(max_megapixels, "--max-megapixels", low=0, low_open=True, unit="MP")
        io.check_output_path(output, [image])  # before the (possibly long) read
        pixels, info = io.read_image(image, max_pixels=max_pixels(max_megapixels), job="convert")
        note = {"command": "convert", "bits": bits or info.bits}
        written = io.write_image(
            output, pixels, info, bits=bits, quality=quality, inputs=[image], note=note
        )
        out_bits = _written_bits(written, bits, info.bits)
    profile = ", ICC profile kept" if info.icc else ""
    echo(f"wrote {written} ({out_bits}-bit{profile})", quiet=quiet)


def _written_bits(path: Path, bits: int | None, source_bits: int) -> int:
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return 8
    if suffix == ".png":
        return bits or (8 if source_bits == 8 else 16)
    return bits or source_bits
