"""The typer application and what every command shares: options, checks, errors and output.

Command modules import only typer here; numpy, OpenCV and the core are imported inside the command
functions so that ``regrain --help`` answers at once.

Every message regrain prints goes through :func:`console` (rich, ``soft_wrap=True``, no width limit
when the output is not a terminal), so a path or a table row sent to a pipe or a log is never cut
over two lines. Every error, a usage error of Click's included, is one line on stderr:
``regrain: error: <what>`` and exit code 2 (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import math
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 10_000
"""Console width when the output is not a terminal: wide enough that no table row or path is
folded (rich lays tables out to the console width; 80 columns by default in a pipe)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler stopping regrain), handled as Ctrl-C is: the writer
    removes its temporary file and the command stops with one line and exit code 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


class RegrainGroup(TyperGroup):
    """The ``regrain`` group: Click's usage errors as one line, SIGTERM handled as Ctrl-C.

    Click draws a usage error (a missing ``-o``, an unknown option, ``--quality 0``) as a box of
    several lines; regrain prints it as every other error: one line on stderr, exit code 2.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        click = _click_exceptions()
        no_args = getattr(click, "NoArgsIsHelpError", ())  # Click >= 8.2

        previous = _install_sigterm()
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except no_args as exc:  # plain `regrain`: the help, as before
            typer.echo(exc.ctx.get_help())
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            fallback = self._command_path(args[0] if args else None, kwargs.get("args"))
            sys.stderr.write(f"regrain: error: {usage_message(exc, fallback)}\n")
            sys.stderr.flush()
            sys.exit(2)
        except typer.Abort:
            sys.stderr.write("regrain: error: aborted\n")
            sys.exit(130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        sys.exit(code if isinstance(code, int) else 0)

    def _command_path(self, *given: Any) -> str:
        """``regrain <command>`` as typed, for a usage error Click raised without its context
        (an option left without its value): the first argument that names a command."""
        args = next((a for a in given if a is not None), None)
        args = sys.argv[1:] if args is None else list(args)
        command = next((a for a in args if a in self.commands), None)
        return "regrain" if command is None else f"regrain {command}"


def _click_exceptions() -> Any:
    """The exceptions module of the Click that typer runs on (typer >= 0.2x vendors its own)."""
    import importlib

    return importlib.import_module(typer.BadParameter.__module__)


def usage_message(exc: Exception, command_path: str | None = None) -> str:
    """A Click error as one line: its message, and where to read the command's options
    (*command_path* when Click raised it without its context)."""
    click = _click_exceptions()
    text = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    text = " ".join(text.split())
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else command_path
    if isinstance(exc, click.UsageError) and path:
        text = f"{text.rstrip('.')}. See '{path} --help'."
    return text


def _install_sigterm() -> Any:
    """Handle SIGTERM as Ctrl-C (only the main thread may set handlers); return the old one."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


app = typer.Typer(
    name="regrain",
    cls=RegrainGroup,
    help="Give photographs back the fine texture (grain, pores, micro-scratches) that AI "
    "retouching removes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        from regrain import __version__

        typer.echo(f"regrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print regrain's version and exit.", is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:  # fmt: skip
    """Give photographs back the fine texture that AI retouching removes."""


# options shared by every command that writes an image
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file.", show_default=False)]
BitsOpt = Annotated[
    int | None,
    typer.Option(
        "--bits", help="Output bit depth: 8 or 16 (default: the input's).", show_default=False
    ),
]
QualityOpt = Annotated[
    int | None,
    typer.Option(
        "--quality",
        min=1,
        max=100,
        help="JPEG quality of the output (1-100; default: the input JPEG's own, else 95).",
    ),
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
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Say more: every figure, every option used.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document on stdout (paths, figures), nothing else."
    ),
]
MapsOpt = Annotated[
    Path | None,
    typer.Option(
        "--maps",
        help="Folder for the maps: changed, loss, rebuild, gain, classes.",
        show_default=False,
        metavar="DIR",
    ),
]


def _material_help() -> str:
    from regrain._materials import MATERIALS  # plain Python: cheap enough for --help

    return ", ".join(f"{name} ({m.description})" for name, m in MATERIALS.items())


# options of every command that restores (restore, batch)
MaterialOpt = Annotated[str, typer.Option("--material", help=f"Material: {_material_help()}.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the rebuilt texture.")]

DEFAULT_MAX_MP = 400.0


def max_pixels(megapixels: float) -> int:
    """The --max-megapixels option as a pixel count: the one rule every command applies.

    A finite number above 0 (``-1``, ``0``, ``nan`` and ``inf`` are refused, so that no command
    runs unguarded by mistake).
    """
    from regrain._checks import check_range

    value = check_range(megapixels, "--max-megapixels", low=0.0, low_open=True, unit="MP")
    return max(1, int(value * 1_000_000))


def check_output_bits(bits: int | None, output: Path) -> None:
    """Refuse a --bits the output cannot hold, before any work: 8 or 16, and 16 not as JPEG.

    The one bit-depth rule of the commands that write photographs. TODO(files): delegate to
    ``io.check_output_bits`` once it is on main, so that the library and the CLI share it.
    """
    from regrain.errors import ParameterError

    if bits is not None and bits not in (8, 16):
        raise ParameterError(f"--bits must be 8 or 16; got {bits}.")
    if bits == 16 and output.suffix.lower() in (".jpg", ".jpeg"):
        raise ParameterError("JPEG stores 8 bits per channel; --bits 16 needs .tif or .png.")


def check_output_folder(folder: Path, option: str) -> Path:
    """Refuse, before any work, a folder option (``--maps``, ``batch -o``) that cannot be a folder
    regrain writes into: an existing file, a path under a file, or a place that is not writable."""
    import os

    from regrain.errors import ImageFileError

    if folder.exists() and not folder.is_dir():
        raise ImageFileError(folder, f"{option} names a file, not a folder")
    existing = folder
    while not existing.exists():
        if existing.is_symlink():  # a dangling link: mkdir would fail on it
            raise ImageFileError(folder, f"{option}: {existing} is a broken link")
        existing = existing.parent
    if not existing.is_dir():
        raise ImageFileError(folder, f"{option}: cannot create this folder: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "folder is" if existing == folder else f"folder {existing} is"
        raise ImageFileError(folder, f"{option}: {what} not writable")
    return folder


def parse_percent(text: str, option: str, *, fractions: bool = False) -> float:
    """A percentage as Photoshop shows it, ``20`` or ``20%``, as a number of percent (20.0).

    With *fractions* (``--opacity``) a bare number from 0 to 1 is a fraction, as the library takes
    it: ``0.2`` is 20 %; ``1`` is 100 %; write ``1%`` for one percent. A number above 1, or any
    number written with ``%``, is percent.
    """
    value, fraction = _percent_or_fraction(text, option, fractions)
    return value * 100.0 if fraction else value


def parse_fraction(text: str, option: str) -> tuple[float, float]:
    """``--opacity`` as ``(fraction 0-1 for the library, percent for messages)``, read as
    :func:`parse_percent` with *fractions*; a bare ``0.6`` stays exactly 0.6."""
    value, fraction = _percent_or_fraction(text, option, True)
    return (value, value * 100.0) if fraction else (value / 100.0, value)


def _percent_or_fraction(text: str, option: str, fractions: bool) -> tuple[float, bool]:
    from regrain.errors import ParameterError

    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.removesuffix("%").strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ParameterError(f"{option} must be a percentage such as 20 or 20%; got {text!r}.")
    return value, fractions and not percent and 0 <= value <= 1


def check_verbosity(quiet: bool, verbose: bool, as_json: bool = False) -> None:
    """--quiet, --verbose and --json (which prints nothing else) exclude each other."""
    from regrain.errors import ParameterError

    given = [name for name, on in (("--quiet", quiet), ("--verbose", verbose), ("--json", as_json))
             if on]  # fmt: skip
    if len(given) > 1:
        raise ParameterError(f"give one of {', '.join(given)}, not both.")


def console(*, stderr: bool = False) -> Console:
    """The rich console every message goes through: soft wrap, and no width limit in a pipe."""
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True, stderr=stderr)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, stderr=stderr, width=PIPE_WIDTH)
    return out


def echo(message: str, *, quiet: bool = False) -> None:
    """Print a line of plain text (no markup: a path with ``[1]`` in it prints as it is) unless
    --quiet."""
    if not quiet:
        console().print(message, markup=False)


def print_json(document: Any) -> None:
    """Print *document* as the one JSON document on stdout (numpy numbers and paths as JSON)."""
    import json

    sys.stdout.write(json.dumps(document, indent=2, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``regrain: error: <message>`` on stderr (one line) and return the Exit to raise."""
    sys.stderr.write(f"regrain: error: {' '.join(message.split())}\n")
    sys.stderr.flush()
    return typer.Exit(code)


def interrupted_code(exc: BaseException) -> int:
    """Exit code of an interruption: 143 (128 + 15) for SIGTERM, 130 (128 + 2) for Ctrl-C."""
    return 143 if isinstance(exc, Terminated) else 130


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake into one line on stderr and exit code 2, with no traceback.

    Also one line: running out of memory (numpy's or OpenCV's), Ctrl-C (exit 130) and SIGTERM
    (exit 143); the atomic writer has removed its temporary file by then.
    """
    from regrain.errors import RegrainError

    try:
        yield
    except RegrainError as exc:
        raise fail(str(exc)) from None
    except MemoryError as exc:
        raise fail(_memory_message(exc)) from None
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        raise fail(
            f"{what}; no output was written for the unfinished image", interrupted_code(exc)
        ) from None
    except Exception as exc:
        if _is_cv2_memory_error(exc):
            raise fail(_memory_message(exc)) from None
        raise


def _memory_message(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())
    detail = f" ({detail})" if detail else ""
    return (
        f"not enough memory for this image{detail}; close other programs, or work on a smaller "
        "image (--max-megapixels sets the limit)"
    )


def _is_cv2_memory_error(exc: BaseException) -> bool:
    cv2 = sys.modules.get("cv2")
    if cv2 is None or not isinstance(exc, cv2.error):
        return False
    text = str(exc).lower()
    return "insufficient memory" in text or "failed to allocate" in text
