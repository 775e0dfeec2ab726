"""``regrain review OUT``: a local page to approve, reject or flag each restored image at 100%."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regrain.cli._app import DEFAULT_MAX_MP, MaxMPOpt, app, echo, max_pixels, user_errors

OutArg = Annotated[
    Path, typer.Argument(help="The output folder of a `regrain batch` run.", show_default=False)
]


@app.command()
def review(
    output: OutArg,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")
    ] = 8765,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
) -> None:
    """Serve a review page on 127.0.0.1 for a batch's output folder, until Ctrl-C.

    Flip AI edit / restored / original (keys 1 2 3, hold Space) at fit, 100% or 200%; approve,
    reject or flag each image with a note (saved to OUT/review.json as you go, and as an XMP
    label and rating on request); redo a rejected image with another material or strength, or a
    mask drawn on it.
    """
    with user_errors():
        from regrain._review import serve

        try:
            serve(
                output,
                port=port,
                max_pixels=max_pixels(max_megapixels),
                ready=lambda url: echo(f"review page: {url} (Ctrl-C stops it)"),
            )
        except KeyboardInterrupt:
            echo("review stopped")
