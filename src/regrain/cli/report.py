"""``regrain report OUT``: rebuild a batch's report.html from what is on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regrain.cli._app import DEFAULT_MAX_MP, MaxMPOpt, QuietOpt, app, echo, max_pixels, user_errors

OutArg = Annotated[
    Path, typer.Argument(help="The output folder of a `regrain batch` run.", show_default=False)
]


@app.command()
def report(
    output: OutArg, max_megapixels: MaxMPOpt = DEFAULT_MAX_MP, quiet: QuietOpt = False
) -> None:
    """Rebuild OUT/report.html: every pair with its figures, pictures and status.

    Pictures missing or older than their output (a pair redone since) are made again; the page
    opens from the file system, offline.
    """
    with user_errors():
        from regrain._report import build_report

        path = build_report(output, max_pixels=max_pixels(max_megapixels))
    echo(f"wrote {path}", quiet=quiet)
