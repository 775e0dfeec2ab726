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

LOW_FILE, HIGH_FILE, RESIDUAL_FILE = "low.tif", "high.tif", "residual.tif"
DETAIL_FILE = "detail_{}.tif"


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
        from regrain._bands import split as split_bands
        from regrain._bands import split_scales
        from regrain._checks import check_choice, check_range
        from regrain._psd import COMPRESSIONS
        from regrain.errors import ImageFileError, ParameterError

        # every option is checked before the (possibly large) image is read
        if radius is not None:
            check_range(radius, "radius", low=0.0, low_open=True, unit="px")
        if bits not in (None, 8, 16, 32):
            raise ParameterError(f"bits must be one of 8, 16, 32; got {bits}.")
        check_choice(compression, COMPRESSIONS, "compression")
        as_psd = output.suffix.lower() == ".psd"
        if as_psd:
            io.check_output_path(output, [image], suffixes=(".psd",))
            names = []
        else:
            if output.suffix and not output.is_dir():
                raise ParameterError(
                    f"--output must be a .psd file or a folder; got {str(output)!r}."
                )
            if output.exists() and not output.is_dir():
                raise ImageFileError(output, "is a file, not a folder")
            if scales:
                names = [RESIDUAL_FILE, *(DETAIL_FILE.format(k) for k in range(1, scales + 1))]
            else:
                names = [LOW_FILE, HIGH_FILE]
            if not output.resolve().parent.is_dir():
                raise ImageFileError(output, f"folder {output.resolve().parent} does not exist")
            if output.is_dir():
                for name in names:
                    io.check_output_path(output / name, [image])

        pixels, info = io.read_image(image, max_pixels=max_pixels(max_megapixels))
        out_bits = bits or info.bits
        notes = []
        if as_psd and out_bits == 32:
            out_bits = 16
            notes.append("float input: the PSD stack is 16-bit")
        grid = out_bits if out_bits in (8, 16) else None
        if scales:
            details, residual = split_scales(
                pixels, scales, radius=1.0 if radius is None else radius, bits=grid
            )
            layers = [("Residual", residual, "normal")] + [
                (f"Detail {k}", details[k - 1], "linear-light") for k in range(scales, 0, -1)
            ]
        else:
            low, high = split_bands(pixels, 4.0 if radius is None else radius, bits=grid)
            layers = [("Low", low, "normal"), ("High", high, "linear-light")]
            del low, high
        if as_psd:
            from regrain._psd import PsdLayer, write_psd_stack

            if info.alpha is not None:
                notes.append("the alpha channel is not part of the stack")
            write_psd_stack(
                output,
                [PsdLayer(name, data, mode) for name, data, mode in layers],
                bits=out_bits,
                icc=info.icc,
                xmp=info.xmp,
                dpi=info.dpi,
                compression=compression,
                inputs=[image],
            )
            written = [output]
        else:
            written = _write_folder(output, layers, names, info, out_bits, image)
    for note in notes:
        echo(f"note: {note}", quiet=quiet)
    what = f"{len(layers) - 1} detail layers + residual" if scales else "Low + High"
    where = str(output) if as_psd else f"{output}/ ({', '.join(p.name for p in written)})"
    echo(f"wrote {where}: {what}, {out_bits}-bit", quiet=quiet)


def _write_folder(folder: Path, layers, names, info, bits: int, image: Path) -> list[Path]:
    """Write each layer as a TIFF in *folder* (created if missing); remove them all on failure."""
    from regrain import io
    from regrain._bands import high_to_file

    created = not folder.exists()
    folder.mkdir(exist_ok=True)
    by_name = {"Low": LOW_FILE, "High": HIGH_FILE, "Residual": RESIDUAL_FILE}
    written: list[Path] = []
    try:
        for name, data, mode in layers:
            target = folder / by_name.get(name, DETAIL_FILE.format(name.split()[-1]))
            if mode == "linear-light":
                data = high_to_file(data, bits)
                layer_info = info.with_(alpha=None)
            else:
                layer_info = info
            written.append(io.write_image(target, data, layer_info, bits=bits, inputs=[image]))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            folder.rmdir()
        raise
    return sorted(written, key=lambda p: names.index(p.name))


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
    quality: QualityOpt = 95,
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
            image, info = _merge_files(_folder_stack(inputs[0]), limit)
        elif len(inputs) >= 2:
            image, info = _merge_files(inputs, limit)
        else:
            raise ParameterError(
                f"merge needs STACK.psd, a folder written by split, or LOW HIGH files; "
                f"got {str(inputs[0])!r}."
            )
        io.write_image(output, image, info, bits=bits, quality=quality, inputs=inputs)
    for note in notes:
        echo(f"note: {note}", quiet=quiet)
    echo(f"wrote {output}", quiet=quiet)


def _folder_stack(folder: Path) -> list[Path]:
    """The files split wrote into *folder*, base layer first."""
    from regrain.errors import ImageFileError

    if (folder / LOW_FILE).is_file() and (folder / HIGH_FILE).is_file():
        return [folder / LOW_FILE, folder / HIGH_FILE]
    details = sorted(folder.glob(DETAIL_FILE.format("*")))
    if (folder / RESIDUAL_FILE).is_file() and details:
        return [folder / RESIDUAL_FILE, *details]
    found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
    raise ImageFileError(
        folder,
        f"no {LOW_FILE} + {HIGH_FILE} (or {RESIDUAL_FILE} + detail_N.tif) to merge; "
        f"it holds: {found}",
    )


def _merge_files(paths: list[Path], limit: int):
    """Read a base layer and texture layers from image files and merge them (float32, info)."""
    from regrain import io
    from regrain._bands import high_from_file, merge_scales
    from regrain._bands import merge as merge_bands
    from regrain.errors import ImageFileError

    base, info = io.read_image(paths[0], max_pixels=limit)
    highs = []
    icc = info.icc
    for path in paths[1:]:
        layer, layer_info = io.read_image(path, max_pixels=limit)
        if layer.shape[:2] != base.shape[:2]:
            raise ImageFileError(
                path,
                f"is {layer.shape[1]}x{layer.shape[0]} px but {paths[0].name} is "
                f"{base.shape[1]}x{base.shape[0]} px; the layers must have the same size",
            )
        if layer.shape[2] not in (1, base.shape[2]):
            raise ImageFileError(
                path, f"has {layer.shape[2]} channels but {paths[0].name} has {base.shape[2]}"
            )
        highs.append(high_from_file(layer, layer_info.bits))
        icc = icc or layer_info.icc
    image = merge_bands(base, highs[0]) if len(highs) == 1 else merge_scales(highs, base)
    return image, info.with_(icc=icc)
