"""``regrain batch``: restore whole catalogs, locally or on a Dask cluster."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from regrain.cli._app import (
    DEFAULT_MAX_MP,
    BitsOpt,
    JsonOpt,
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
    fail,
    interrupted_code,
    max_pixels,
    print_json,
    user_errors,
)

if TYPE_CHECKING:
    from rich.console import Console

    from regrain._batch import BatchPlan, BatchSummary, Pairing, PairResult

LIST_LIMIT = 20  # pairs listed before the run / rows of the final table, beyond: summary.csv


@app.command()
def batch(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Output folder (created if needed).", show_default=False
        ),
    ],
    originals: Annotated[
        Path | None,
        typer.Argument(help="Folder of the untouched originals.", show_default=False),
    ] = None,
    edited: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of the AI-edited files (may be ORIGINALS itself if they carry a suffix).",
            show_default=False,
        ),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="CSV with the header original,edited[,output][,mask] instead of two folders.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Local worker processes (default: one per core).",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Run on an existing Dask cluster: tcp://HOST:PORT or a scheduler file. Its "
            "workers must see the same paths (shared file system).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redo pairs whose output already exists.")
    ] = False,
    suffix: Annotated[
        list[str] | None,
        typer.Option(
            "--suffix",
            help="Suffix an edited file's stem may add to the original's (repeat the option; "
            "replaces the default list _ai, -edited, _gf, _edit).",
            show_default=False,
        ),
    ] = None,
    mask_dir: Annotated[
        Path | None,
        typer.Option(
            "--mask-dir",
            help="Folder of masks named like the originals (a.png or a_mask.png); white = restore.",
            show_default=False,
        ),
    ] = None,
    material: MaterialOpt = "auto",
    maps: Annotated[
        Path | None,
        typer.Option(
            "--maps",
            help="Also write each pair's maps into DIR/<name>/ (e.g. OUT/maps).",
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    seed: SeedOpt = 0,
    bits: BitsOpt = None,
    quality: QualityOpt = None,
    max_megapixels: MaxMPOpt = DEFAULT_MAX_MP,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Restore every (original, edited) pair of a catalog, with progress, resume and a summary.

    Pairs are matched by file stem: a.tif goes with a.png, a_ai.png, a-edited.tif, a_gf.jpg
    or a_edit.psd; each result is OUT/<original's file name>.

    Running the same command again after an interruption redoes only the unfinished pairs.

    Exit code: 0 all done or skipped, 1 a pair failed (see OUT/summary.csv), 2 a usage error,
    130 interrupted (Ctrl-C, SIGTERM).
    """
    with user_errors():
        from regrain import _batch
        from regrain._checks import check_seed
        from regrain._materials import check_material

        # every option before any pair is looked at, and before a cluster is reached
        check_verbosity(quiet, verbose, as_json)
        limit = max_pixels(max_megapixels)
        check_material(material, "restore")
        check_seed(seed)
        if workers is not None and scheduler is not None:
            raise fail("--workers is for local runs; a cluster's workers are set when started.")
        if scheduler is not None:
            check_scheduler(scheduler)
        check_output_folder(output, "--output")
        if maps is not None:
            check_output_folder(maps, "--maps")
        if manifest is not None:
            if originals is not None or edited is not None:
                raise fail("give either --manifest or the ORIGINALS and EDITED folders, not both.")
            if mask_dir is not None or suffix is not None:
                raise fail("--mask-dir and --suffix pair folders; a manifest names its masks.")
            found = _batch.read_manifest(manifest, output)
        elif originals is None or edited is None:
            raise fail("give the ORIGINALS and EDITED folders (or --manifest CSV).")
        else:
            suffixes = _batch.DEFAULT_SUFFIXES if suffix is None else tuple(suffix)
            found = _batch.pair_folders(
                originals, edited, output, suffixes=suffixes, mask_dir=mask_dir
            )
        if not found.pairs:
            if verbose:
                _print_pairing(console(stderr=True), found, quiet=False)
            raise fail(_nothing_to_do(found, verbose))
        for pair in found.pairs:
            check_output_bits(bits, pair.output)  # --bits 16 with a JPEG output
        view = _View(quiet=quiet or as_json)
        _print_pairing(view.console, found, quiet or as_json)
        try:
            summary = _batch.run_batch(
                found,
                output,
                workers=workers,
                scheduler=scheduler,
                force=force,
                maps=False if maps is None else maps,
                material=material,
                seed=seed,
                bits=bits,
                quality=quality,
                max_pixels=limit,
                on_plan=view.plan,
                on_result=view.result,
            )
        except _batch.BatchInterrupted as stop:
            view.close()
            if as_json:
                _print_summary_json(stop.summary)
            _interrupted(stop.summary, force)
            raise typer.Exit(interrupted_code(stop)) from None
        finally:
            view.close()
    if as_json:
        _print_summary_json(summary)
    else:
        _print_summary(view.console, summary, quiet, verbose)
    raise typer.Exit(summary.exit_code)


SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_scheduler(address: str) -> str:
    """Refuse a --scheduler that is neither a Dask address (``tcp://HOST:PORT``, ``HOST:PORT``)
    nor an existing scheduler file, before any connection is tried (a bad one would wait for a
    timeout)."""
    import re
    from urllib.parse import urlsplit

    from regrain.errors import ParameterError

    text = address.strip()
    rule = (
        "--scheduler must be a Dask address (tcp://HOST:PORT, HOST:PORT) or an existing scheduler "
        f"file; got {address!r}"
    )
    if "://" in text:
        parts = urlsplit(text)
        try:
            port = parts.port  # raises for a port that is not a number in 0-65535
        except ValueError:
            raise ParameterError(f"{rule}: the port is not a number from 0 to 65535.") from None
        if parts.scheme.lower() not in SCHEDULER_SCHEMES:
            raise ParameterError(
                f"{rule}: unknown protocol {parts.scheme!r}; expected one of: "
                f"{', '.join(SCHEDULER_SCHEMES)}."
            )
        if parts.scheme.lower() != "inproc" and (not parts.hostname or port is None):
            raise ParameterError(f"{rule}: it needs a host and a port.")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ParameterError(f"{rule}: a scheduler address has no path.")
        return text
    if re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}", text):
        if int(text.rsplit(":", 1)[1]) <= 65535:
            return text
    if Path(text).is_file():
        return text
    raise ParameterError(f"{rule}.")


def _nothing_to_do(found: Pairing, verbose: bool) -> str:
    """The "no pair found" error in one line: how many files were left out, the commonest reason."""
    if not found.unpaired:
        return "nothing to do: no image found to pair."
    from collections import Counter

    reasons = Counter(item.reason for item in found.unpaired)
    reason, count = reasons.most_common(1)[0]
    n = len(found.unpaired)
    more = "" if verbose else "; --verbose lists them"
    others = f", {n - count} for other reasons" if n > count else ""
    return (
        f"nothing to do: no pair found; {n} file{'s' * (n != 1)} left out "
        f"({count} {reason}{others}){more}."
    )


def _print_summary_json(summary: BatchSummary) -> None:
    """The batch's summary.json, as written, as the one JSON document on stdout."""
    import json

    print_json(json.loads(summary.json_path.read_text(encoding="utf-8")))


def _show(path: Path) -> str:
    """A path as the user typed it relative to here when possible, escaped for rich markup."""
    from rich.markup import escape

    try:
        text = str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        text = str(path)
    return escape(text)


def _print_pairing(console: Console, found: Pairing, quiet: bool) -> None:
    if quiet:
        return
    from rich.markup import escape

    n = len(found.pairs)
    console.print(f"Paired {n} original{'s' * (n != 1)} with an edited file:")
    for pair in found.pairs[:LIST_LIMIT]:
        mask = f" (mask {_show(pair.mask)})" if pair.mask is not None else ""
        console.print(
            f"  {_show(pair.original)} + {_show(pair.edited)}{mask} -> {_show(pair.output)}"
        )
    if n > LIST_LIMIT:
        console.print(f"  ... and {n - LIST_LIMIT} more")
    if found.unpaired:
        console.print(f"[yellow]Left out {len(found.unpaired)}:[/]")
        for item in found.unpaired:
            console.print(f"  {_show(item.path)}: {escape(item.reason)}")


class _View:
    """Shows a batch as it runs: a rich progress bar on a terminal, one line per pair otherwise."""

    def __init__(self, *, quiet: bool) -> None:
        self.console = console()
        self.quiet = quiet
        self.bar = None
        self.task = None
        self.total = 0
        self.finished = 0
        self.failed = 0

    def plan(self, plan: BatchPlan) -> None:
        self.total = len(plan.todo)
        if self.quiet:
            return
        if plan.cleaned:
            n = len(plan.cleaned)
            self.console.print(
                f"Removed {n} temporary file{'s' * (n != 1)} left by an interrupted run; "
                "their pairs are redone."
            )
        if plan.skipped:
            self.console.print(
                f"Skipping {len(plan.skipped)} pair(s) whose output exists (--force redoes them)."
            )
        if plan.unrecorded:
            self.console.print(
                f"{len(plan.unrecorded)} of them have no record of the options that made them "
                "(an older regrain, or put there by hand): kept as they are."
            )
        if not plan.todo:
            return
        where = (
            f"the Dask cluster at {plan.scheduler}"
            if plan.scheduler
            else f"{plan.workers} local worker{'s' * (plan.workers != 1)}"
        )
        self.console.print(f"Restoring {self.total} pair(s) on {where}.")
        if self.console.is_terminal:
            self.bar = _progress_bar(self.console)
            self.bar.start()
            self.task = self.bar.add_task("restoring", total=self.total, failed=0)

    def result(self, result: PairResult) -> None:
        from rich.markup import escape

        self.finished += 1
        self.failed += result.status == "failed"
        if self.quiet:
            if result.status == "failed":
                sys.stderr.write(f"regrain: failed: {result.pair.name}: {result.reason}\n")
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)
            if result.status == "failed":
                self.bar.console.print(
                    f"[red]failed[/] {escape(result.pair.name)}: {escape(result.reason)}"
                )
            return
        took = f" in {result.seconds:.1f} s" if result.seconds is not None else ""
        why = f": {escape(result.reason)}" if result.reason else ""
        self.console.print(
            f"[{self.finished}/{self.total}] {escape(result.pair.name)} {result.status}{took}{why}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _progress_bar(console: Console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            if not task.completed or not task.elapsed:
                return Text("-- pairs/min", style="progress.data.speed")
            return Text(
                f"{60 * task.completed / task.elapsed:.1f} pairs/min", style="progress.data.speed"
            )

    class Failed(ProgressColumn):
        def render(self, task) -> Text:
            n = task.fields.get("failed", 0)
            return Text(f"{n} failed", style="red" if n else "dim")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("images"),
        Rate(),
        TimeRemainingColumn(),
        TextColumn("left"),
        Failed(),
        console=console,
        speed_estimate_period=600,
        transient=False,
    )


def _figure(result: PairResult, name: str) -> str:
    before, after = result.figures.get(f"{name}_before"), result.figures.get(f"{name}_after")
    if before is None or after is None:
        return ""
    if name == "plastic":  # a share of the image: percent with one decimal, as everywhere
        return f"{100 * before:.1f}% -> {100 * after:.1f}%"
    return f"{before:.2f} -> {after:.2f}"


def _print_summary(console: Console, summary: BatchSummary, quiet: bool, verbose: bool) -> None:
    if quiet:
        return
    from rich.markup import escape
    from rich.table import Table

    limit = len(summary.results) if verbose else LIST_LIMIT
    shown = [r for r in summary.results if r.status == "failed"][:limit]
    shown += [r for r in summary.results if r.status != "failed"][: max(limit - len(shown), 0)]
    order = {id(r): i for i, r in enumerate(summary.results)}
    shown.sort(key=lambda r: order[id(r)])
    table = Table(title="regrain batch", title_justify="left")
    for column, justify in (
        ("pair", "left"),
        ("status", "left"),
        ("seconds", "right"),
        ("plastic", "right"),
        ("energy ratio", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    style = {"done": "green", "skipped": "dim", "failed": "red", "not run": "yellow"}
    for r in shown:
        table.add_row(
            escape(r.pair.name),
            f"[{style.get(r.status, '')}]{r.status}[/]",
            "" if r.seconds is None else f"{r.seconds:.1f}",
            _figure(r, "plastic"),
            _figure(r, "energy_ratio"),
        )
    if len(shown) < len(summary.results):
        table.caption = f"{len(summary.results) - len(shown)} more rows in summary.csv"
    console.print(table)
    failures = [r for r in summary.results if r.status == "failed"]
    for r in failures[:LIST_LIMIT]:
        console.print(f"[red]failed[/] {escape(r.pair.name)}: {escape(r.reason)}")
    if len(failures) > LIST_LIMIT:
        console.print(f"... and {len(failures) - LIST_LIMIT} more failures in summary.csv")
    done = summary.count("done")
    minutes = summary.seconds / 60
    rate = f" ({done / minutes:.1f} pairs/min)" if done and minutes > 0 else ""
    failed = summary.count("failed")
    console.print(
        f"{done} done, {summary.count('skipped')} skipped, "
        f"{'[red]' if failed else ''}{failed} failed{'[/]' if failed else ''} "
        f"in {summary.seconds:.1f} s{rate}. Summary: {_show(summary.json_path)}, "
        f"{_show(summary.csv_path)}"
    )
    if summary.report is not None:
        console.print(
            f"Report: {_show(summary.report)} (regrain review {_show(summary.output_dir)})"
        )
    elif summary.report_error:
        console.print(f"[yellow]The report could not be written: {escape(summary.report_error)}[/]")


def _interrupted(summary: BatchSummary, force: bool) -> None:
    done = summary.count("done") + summary.count("skipped")
    args = [a for a in sys.argv[1:] if a != "--force"]
    again = (
        shlex.join(["regrain", *args])
        if Path(sys.argv[0]).name == "regrain"
        else "the same command" + (" without --force" if force else "")
    )
    sys.stderr.write(
        f"regrain: interrupted: {done} of {len(summary.results)} pairs finished "
        f"(summary in {summary.json_path}).\n"
        f"To resume, run {again}: finished pairs are skipped, the rest redone.\n"
    )
    sys.stderr.flush()
