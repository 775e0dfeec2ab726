"""The typer application and what every command shares: options, error handling, output.

Command modules import only typer here; numpy, OpenCV and the core are imported inside the command
functions so that ``regrain --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="regrain",
    help="Give photographs back the fine texture (grain, pores, micro-scratches) that AI "
    "retouching removes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# options shared by every command that writes an image
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file.", show_default=False)]
BitsOpt = Annotated[
    int | None,
    typer.Option(
        "--bits", help="Output bit depth: 8 or 16 (default: the input's).", show_default=False
    ),
]
QualityOpt = Annotated[
    int, typer.Option("--quality", min=1, max=100, help="JPEG quality of the output (1-100).")
]
MaxMPOpt = Annotated[
    float,
    typer.Option(
        "--max-megapixels",
        help="Refuse images larger than this many megapixels (guards against decompression bombs).",
    ),
]
MaskOpt = Annotated[
    Path | None,
    typer.Option(
        "--mask", help="Grayscale mask: white = full effect, black = untouched.", show_default=False
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
# options of every command that restores (restore, batch)
MaterialOpt = Annotated[
    str,
    typer.Option(
        "--material",
        help="auto, skin (pores: no direction), metal (keeps the grain's direction) or fabric.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the rebuilt texture.")]

DEFAULT_MAX_MP = 400.0


def max_pixels(megapixels: float) -> int:
    """Turn the --max-megapixels option into a pixel count."""
    return int(megapixels * 1_000_000)


def check_output_bits(bits: int | None, output: Path) -> None:
    """Refuse a --bits the output cannot hold, before any work: 8 or 16, and 16 not as JPEG."""
    from regrain.errors import ParameterError

    if bits is not None and bits not in (8, 16):
        raise ParameterError(f"--bits must be 8 or 16; got {bits}.")
    if bits == 16 and output.suffix.lower() in (".jpg", ".jpeg"):
        raise ParameterError("JPEG stores 8 bits per channel; --bits 16 needs .tif or .png.")


def echo(message: str, *, quiet: bool = False) -> None:
    """Print a line of normal output unless --quiet."""
    if not quiet:
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(message)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``regrain: error: <message>`` on stderr (one line) and return the Exit to raise."""
    sys.stderr.write(f"regrain: error: {message}\n")
    sys.stderr.flush()
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake into one line on stderr and exit code 2, with no traceback."""
    from regrain.errors import RegrainError

    try:
        yield
    except RegrainError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no output was written for the unfinished image", 130) from None
