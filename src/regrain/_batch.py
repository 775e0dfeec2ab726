"""Catalogs: pair originals with their AI-edited versions and restore every pair.

A catalog is two folders (or a CSV manifest) of pairs. :func:`pair_folders` matches each original
with its edited copy by file stem (``IMG_0001.tif`` with ``IMG_0001_ai.png``) and says why any file
was left out; :func:`run_batch` restores each pair with ``regrain._restore_file.restore_file``
on Dask workers, locally (one process per core) or on an existing cluster, and writes
``report.html`` into the output folder and ``summary.json``, ``summary.csv`` and each output's
record into its hidden ``.regrain/`` subfolder (see :mod:`regrain._batch_state`).

What a retoucher can rely on:

- an output is written atomically, so an output that exists is finished: a second run of the same
  batch skips it and redoes only the rest (``force=True`` redoes everything);
- each output's record says which options made it: a run with other options refuses, in one line,
  to skip those outputs silently (``force=True`` redoes them);
- temporary files a killed run left behind (``.<name>.*.part*``) are removed and their pairs redone;
- one bad pair does not stop the others: it is recorded as failed with a one-line reason;
- Ctrl-C or SIGTERM stops the run cleanly and the summary is still written, rebuilt from what is
  on disk: a pair whose output was finished is ``done`` even if its worker died before saying so;
- the parent process never loads an image: workers get paths, at most ``2 x workers`` pairs are
  queued at once, so memory stays at about one pair per worker however large the catalog.

Dask is imported only when a batch runs.
"""

from __future__ import annotations

import contextlib
import csv
import io as _stringio
import itertools
import logging
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regrain import _batch_state as state
from regrain.errors import ImageFileError, ParameterError, RegrainError

__all__ = [
    "DEFAULT_SUFFIXES",
    "FIGURES",
    "IMAGE_EXTENSIONS",
    "BatchInterrupted",
    "BatchPlan",
    "BatchSummary",
    "Pair",
    "PairResult",
    "Pairing",
    "Unpaired",
    "pair_folders",
    "read_manifest",
    "run_batch",
]

IMAGE_EXTENSIONS = frozenset({".tif", ".tiff", ".png", ".jpg", ".jpeg", ".psd"})
"""File extensions (any case) that the batch treats as images."""

DEFAULT_SUFFIXES = ("_ai", "-edited", "_gf", "_edit")
"""Suffixes an edited file's stem may carry after the original's stem: ``a.tif`` <- ``a_ai.png``."""

FIGURES = (
    "plastic_before",
    "energy_ratio_before",
    "plastic_after",
    "energy_ratio_after",
    "share_restored",
    "share_rebuilt",
    "share_smooth",
)
"""The per-pair figures ``restore_file`` returns, in the order the summary lists them (shares are
fractions 0-1; a figure restore does not give is left empty). ``worst_box`` ([x, y, w, h] px of
the region that lost the most texture) is kept too, in summary.json only."""

MANIFEST_COLUMNS = ("original", "edited", "output", "mask")
SUMMARY_COLUMNS = (
    "name",
    "status",
    "reason",
    "seconds",
    *FIGURES,
    "original",
    "edited",
    "mask",
    "output",
)
NO_WORKERS_TIMEOUT = 60.0  # seconds to wait for a remote cluster that has no worker yet
SUMMARY_EVERY = 10.0  # seconds between summary rewrites during a run (kept if the run is killed)
LOST = "the worker died while restoring this pair (out of memory?)"

Job = Callable[..., dict]


# --------------------------------------------------------------------------------------- pairing
@dataclass(frozen=True)
class Pair:
    """One unit of work: restore *edited* with *original*'s texture into *output*."""

    original: Path
    edited: Path
    output: Path
    mask: Path | None = None

    @property
    def name(self) -> str:
        """How the pair is called in progress lines and the summary: the original's file name."""
        return self.original.name


@dataclass(frozen=True)
class Unpaired:
    """A file (or manifest line) left out of the batch, with the reason in words."""

    path: Path
    reason: str


@dataclass
class Pairing:
    """What :func:`pair_folders` or :func:`read_manifest` found: the pairs and what was left out."""

    pairs: list[Pair] = field(default_factory=list)
    unpaired: list[Unpaired] = field(default_factory=list)


def pair_folders(
    originals: str | os.PathLike[str],
    edited: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    suffixes: Sequence[str] = DEFAULT_SUFFIXES,
    mask_dir: str | os.PathLike[str] | None = None,
) -> Pairing:
    """Match every original with its edited copy by file stem; the output keeps the original's name.

    An edited file pairs with the original of the same stem (case ignored), whatever its extension,
    or with the original whose stem is its own minus one of *suffixes*: ``a.tif`` pairs with
    ``a.png``, ``a_ai.png`` or ``A-edited.TIF``. The output is ``output_dir/<original's name>``.
    When *originals* and *edited* are the same folder, only suffixed files count as edited ones.
    With *mask_dir*, a mask named like the original (``a.png`` or ``a_mask.png``) limits the
    restore to its white areas; a pair without one is restored everywhere.

    Files left out are reported in ``Pairing.unpaired`` with the reason: no counterpart, ambiguous
    (two edited candidates for one original, or two originals with one stem), not an image
    extension. Folders are not searched recursively; hidden files are ignored.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("orig/a.tif", "orig/b.tif", "ai/a_ai.png", "ai/notes.txt"):
    ...     (root / name).parent.mkdir(exist_ok=True); (root / name).touch()
    >>> found = pair_folders(root / "orig", root / "ai", root / "out")
    >>> [(p.original.name, p.edited.name, p.output.name) for p in found.pairs]
    [('a.tif', 'a_ai.png', 'a.tif')]
    >>> [(u.path.name, u.reason.split(":")[0]) for u in found.unpaired]
    [('b.tif', 'no counterpart'), ('notes.txt', 'not an image extension')]
    """
    originals, edited, output_dir = Path(originals), Path(edited), Path(output_dir)
    shown = [s for s in dict.fromkeys(suffixes) if s]
    suffixes = sorted({s.casefold() for s in shown}, key=len, reverse=True)  # longest wins
    _check_folders({"originals": originals, "edited": edited}, output_dir, mask_dir)
    same = originals.resolve() == edited.resolve()
    found = Pairing()

    orig_files, found.unpaired = _list_images(originals)
    if same:
        stems = {p.stem.casefold() for p in orig_files}
        edit_files = [p for p in orig_files if _strip_suffix(p.stem, suffixes, stems)]
        orig_files = [p for p in orig_files if p not in edit_files]
    else:
        edit_files, skipped = _list_images(edited)
        found.unpaired += skipped

    by_stem: dict[str, list[Path]] = {}
    for path in orig_files:
        by_stem.setdefault(path.stem.casefold(), []).append(path)
    claims: dict[str, list[Path]] = {}
    for path in edit_files:
        key = path.stem.casefold()
        if same or key not in by_stem:
            key = _strip_suffix(path.stem, suffixes, by_stem)
        if key is None:
            found.unpaired.append(
                Unpaired(path, "no counterpart: no original of this stem (minus a suffix)")
            )
        else:
            claims.setdefault(key, []).append(path)

    masks = _mask_index(Path(mask_dir)) if mask_dir is not None else None
    for key, origs in by_stem.items():
        cands = claims.get(key, [])
        if len(origs) > 1:
            names = ", ".join(p.name for p in origs)
            for path in origs + cands:
                found.unpaired.append(
                    Unpaired(path, f"ambiguous: originals {names} share one stem")
                )
        elif not cands:
            stem = origs[0].stem
            looked_for = ", ".join(f"{stem}{s}.*" for s in ["", *shown])
            found.unpaired.append(Unpaired(origs[0], f"no counterpart: no edited {looked_for}"))
        elif len(cands) > 1:
            names = ", ".join(p.name for p in cands)
            found.unpaired.append(
                Unpaired(origs[0], f"ambiguous: {len(cands)} edited candidates ({names})")
            )
            for path in cands:
                found.unpaired.append(
                    Unpaired(
                        path, f"ambiguous: one of {len(cands)} edited files for {origs[0].name}"
                    )
                )
        else:
            mask = None
            if masks is not None:
                hits = masks.get(key, [])
                if len(hits) > 1:
                    names = ", ".join(p.name for p in hits)
                    found.unpaired.append(
                        Unpaired(origs[0], f"ambiguous: {len(hits)} masks ({names})")
                    )
                    continue
                mask = hits[0] if hits else None
            found.pairs.append(Pair(origs[0], cands[0], output_dir / origs[0].name, mask))
    found.pairs.sort(key=lambda p: p.original.name.casefold())
    found.unpaired.sort(key=lambda u: (u.reason.split(":")[0], str(u.path).casefold()))
    return found


def read_manifest(manifest: str | os.PathLike[str], output_dir: str | os.PathLike[str]) -> Pairing:
    """Read the pairs from a CSV with the header ``original,edited[,output][,mask]``.

    Relative ``original``, ``edited`` and ``mask`` paths are resolved against the CSV's folder; a
    relative ``output`` against *output_dir* (so every result lands in the batch's output folder),
    and an empty one means ``output_dir/<original's file name>``. Lines whose files are missing,
    not images, or whose output is an input or repeats another line's output, are reported in
    ``Pairing.unpaired`` with the line number.
    """
    manifest, output_dir = Path(manifest), Path(output_dir)
    if not manifest.is_file():
        raise ImageFileError(manifest, "no such manifest file")
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImageFileError(manifest, f"cannot read the manifest ({exc})") from None
    reader = csv.reader(_stringio.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    missing = [h for h in ("original", "edited") if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        problem = (
            f"unknown column {unknown[0]!r}"
            if unknown
            else (f"missing column {missing[0]!r}" if missing else "a column appears twice")
        )
        raise ImageFileError(
            manifest, f"{problem}; the header must be original,edited[,output][,mask]"
        )
    base = manifest.resolve().parent
    found = Pairing()
    seen_outputs: dict[Path, int] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        rows.append((reader.line_num, cells))
    inputs = {
        (base / cells[k]).resolve()
        for _, cells in rows
        for k in ("original", "edited", "mask")
        if cells.get(k)
    }
    for line, cells in rows:
        where = f"manifest line {line}"
        paths: dict[str, Path | None] = {}
        problem = None
        for key in ("original", "edited", "mask"):
            value = cells.get(key, "")
            if not value:
                paths[key] = None
                if key != "mask" and problem is None:
                    problem = f"{where}: no {key} given"
                continue
            path = paths[key] = base / value
            if problem is None and not path.is_file():
                problem = f"{where}: {key} not found"
            elif problem is None and path.suffix.lower() not in IMAGE_EXTENSIONS:
                problem = f"{where}: {key} is not an image extension ({path.suffix or 'none'})"
        original, edited = paths["original"], paths["edited"]
        if problem is not None or original is None or edited is None:
            found.unpaired.append(Unpaired(original or edited or manifest, str(problem)))
            continue
        output = output_dir / (cells.get("output") or original.name)
        key = output.resolve()
        if output.suffix.lower() not in IMAGE_EXTENSIONS:
            problem = f"{where}: output is not an image extension ({output.suffix or 'none'})"
        elif key in inputs:
            problem = f"{where}: output {output} is an input file; choose another output"
        elif key in seen_outputs:
            problem = f"{where}: output {output} is already the output of line {seen_outputs[key]}"
        if problem is not None:
            found.unpaired.append(Unpaired(original, problem))
            continue
        seen_outputs[key] = line
        found.pairs.append(Pair(original, edited, output, paths["mask"]))
    return found


def _check_folders(
    inputs: dict[str, Path], output_dir: Path, mask_dir: str | os.PathLike[str] | None
) -> None:
    if mask_dir is not None:
        inputs = {**inputs, "mask": Path(mask_dir)}
    for role, folder in inputs.items():
        if not folder.is_dir():
            raise ImageFileError(folder, f"{role} folder not found")
    out = output_dir.resolve()
    for role, folder in inputs.items():
        if out == folder.resolve():
            raise ParameterError(
                f"the output folder must not be the {role} folder ({folder}): a finished output "
                "would be indistinguishable from an input; choose another -o folder."
            )


def _list_images(folder: Path) -> tuple[list[Path], list[Unpaired]]:
    images, others = [], []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.casefold()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(path)
        else:
            others.append(
                Unpaired(path, f"not an image extension ({path.suffix or 'none'}); not used")
            )
    return images, others


def _strip_suffix(stem: str, suffixes: Sequence[str], known: Iterable[str]) -> str | None:
    """The original's stem key that *stem* names with one suffix added, or None."""
    key = stem.casefold()
    for suffix in suffixes:
        if key.endswith(suffix) and key[: -len(suffix)] in known:
            return key[: -len(suffix)]
    return None


def _mask_index(folder: Path) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = {}
    for path in _list_images(folder)[0]:
        key = path.stem.casefold()
        key = key[: -len("_mask")] if key.endswith("_mask") else key
        index.setdefault(key, []).append(path)
    return index


# ----------------------------------------------------------------------------------- running
@dataclass
class PairResult:
    """How one pair ended: ``done``, ``skipped`` (output already there), ``failed``, or ``not run``
    (the batch was interrupted first). ``figures`` holds :data:`FIGURES` when known, ``worst_box``
    the region that lost the most texture ([x, y, w, h] px) when restore gave it."""

    pair: Pair
    status: str
    reason: str = ""
    seconds: float | None = None
    figures: dict[str, float] = field(default_factory=dict)
    traceback: str | None = None
    worst_box: list[int] | None = None
    report_seconds: float | None = None
    lost: bool = False  # the worker died: what the disk says decides

    def row(self) -> dict[str, Any]:
        """The pair as one summary row (paths as strings)."""
        p = self.pair
        return {
            "name": p.name,
            "status": self.status,
            "reason": self.reason,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            **{k: self.figures.get(k) for k in FIGURES},
            "original": str(p.original.resolve()),
            "edited": str(p.edited.resolve()),
            "mask": "" if p.mask is None else str(p.mask.resolve()),
            "output": str(p.output.resolve()),
        }


@dataclass
class BatchPlan:
    """What a run is about to do, handed to ``on_plan`` before any worker starts. ``unrecorded``
    are skipped outputs with no record of the options that made them (an older regrain, or files
    put there by hand)."""

    todo: list[Pair]
    skipped: list[Pair]
    cleaned: list[Path]
    workers: int
    scheduler: str | None
    unrecorded: list[Pair] = field(default_factory=list)


@dataclass
class BatchSummary:
    """Every pair's :class:`PairResult` in catalog order, plus what was left unpaired."""

    results: list[PairResult]
    unpaired: list[Unpaired]
    output_dir: Path
    workers: int
    scheduler: str | None
    seconds: float
    interrupted: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None
    report_error: str | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every pair is done or skipped, 1 when any failed, 130 when interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.count("failed") else 0

    @property
    def json_path(self) -> Path:
        return state.state_dir(self.output_dir) / "summary.json"

    @property
    def csv_path(self) -> Path:
        return state.state_dir(self.output_dir) / "summary.csv"


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during :func:`run_batch`: work stopped cleanly; ``summary`` says what
    is done."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__("batch interrupted")
        self.summary = summary


def run_batch(
    pairs: Pairing | Iterable[Pair],
    output_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    maps: bool | str | os.PathLike[str] = False,
    material: str = "auto",
    seed: int = 0,
    strength: float = 1.0,
    bits: int | None = None,
    quality: int | None = None,
    max_pixels: int | None = None,
    report: bool = True,
    job: Job | None = None,
    on_plan: Callable[[BatchPlan], None] | None = None,
    on_result: Callable[[PairResult], None] | None = None,
) -> BatchSummary:
    """Restore every pair on Dask workers; write ``report.html`` and the summary in *output_dir*.

    Locally (the default) *workers* processes (default: one per core) run one pair each at a time;
    with *scheduler* (``tcp://host:port`` or a scheduler file) the same tasks go to an existing Dask
    cluster, whose workers must see the same paths (a shared file system). Pairs whose output
    already exists are skipped unless *force*; leftovers of a killed run are removed first and their
    pairs redone. An output whose record says it was made with other options (*material*, *seed*,
    *strength*, *bits*, *quality*, its mask) is not skipped silently: without *force* the run
    refuses before any work (:class:`ParameterError`). *maps* (True, or a folder) writes each pair's
    maps into ``<maps or output_dir/maps>/<output stem>/`` (with *report* and no *maps*, they go
    to ``.regrain/maps/``).
    The other options go to ``restore_file`` unchanged, the same for every pair. *report* writes
    ``report.html`` (see :mod:`regrain._report`), its pictures made by the workers.

    *job* replaces ``regrain._restore_file.restore_file`` (same signature; it must be importable by
    the workers). ``on_plan`` is called once before the workers start, ``on_result`` after each
    pair.
    Ctrl-C or SIGTERM cancels the queued pairs, stops the workers, writes the summary and raises
    :class:`BatchInterrupted`; running the same batch again resumes.
    """
    if workers is not None and scheduler is not None:
        raise ParameterError("workers applies to local runs; a cluster's workers are its own.")
    if workers is not None and workers < 1:
        raise ParameterError(f"workers must be >= 1; got {workers}.")
    started = time.perf_counter()
    if isinstance(pairs, Pairing):
        pairs, unpaired = list(pairs.pairs), list(pairs.unpaired)
    else:
        pairs, unpaired = list(pairs), []
    output_dir = Path(output_dir)
    job = job or _default_job()
    if max_pixels is None:
        from regrain.io import DEFAULT_MAX_PIXELS

        max_pixels = DEFAULT_MAX_PIXELS
    options = {
        "material": material,
        "seed": seed,
        "strength": strength,
        "bits": bits,
        "quality": quality,
        "max_pixels": max_pixels,
    }
    run = uuid.uuid4().hex
    keys = [state.output_key(p.output, output_dir) for p in pairs]

    with _new_folders(output_dir), _exclusive(output_dir), _sigterm_as_interrupt():
        cleaned, redo = _remove_leftovers(pairs, output_dir, maps)
        previous = _previous_figures(output_dir)
        results: dict[int, PairResult] = {}
        todo: list[int] = []
        unrecorded: list[int] = []
        mismatched: list[tuple[Pair, list[str]]] = []
        for i, pair in enumerate(pairs):
            record = state.read_record(state.record_path(output_dir, keys[i]))
            verdict = state.judge(pair.output, record)
            if force or i in redo or verdict in ("missing", "stale"):
                todo.append(i)
            elif verdict == "unknown":
                old = previous.get(str(pair.output.resolve()), {})
                results[i] = PairResult(
                    pair,
                    "skipped",
                    "output exists; no record of the options that made it",
                    old.get("seconds"),
                    old.get("figures", {}),
                )
                unrecorded.append(i)
            else:
                record = record or {}  # judge() saw one
                mask = None if pair.mask is None else str(pair.mask.resolve())
                diff = state.differences(record, options, mask)
                if diff and record.get("origin") != "review":
                    mismatched.append((pair, diff))
                    continue
                results[i] = _from_record(pair, record, "skipped")
        if mismatched:
            raise ParameterError(_mismatch_message(mismatched, output_dir))
        n_local = min(workers or _cores(), max(len(todo), 1))
        plan = BatchPlan(
            [pairs[i] for i in todo],
            [pairs[i] for i in sorted(results)],
            cleaned,
            n_local if scheduler is None else 0,
            scheduler,
            [pairs[i] for i in unrecorded],
        )
        if on_plan is not None:
            on_plan(plan)

        def summary(interrupted: bool = False) -> BatchSummary:
            ordered = []
            for i, pair in enumerate(pairs):
                result = results.get(i)
                if result is None or result.lost:  # the disk says whether it was finished
                    result = _from_disk(pair, output_dir, keys[i], run) or result
                ordered.append(result or PairResult(pair, "not run", "batch interrupted"))
            return BatchSummary(
                ordered,
                unpaired,
                output_dir,
                plan.workers,
                scheduler,
                time.perf_counter() - started,
                interrupted,
                {**options, "maps": maps if isinstance(maps, bool) else str(maps), "force": force},
            )

        try:
            if todo:
                tasks = {
                    i: _task(pairs[i], output_dir, keys[i], maps, report, run, options)
                    for i in todo
                }
                last_write = time.perf_counter()
                flow = _dispatch(job, tasks, n_local, scheduler, plan)
                with contextlib.closing(flow):
                    for i, result in flow:
                        results[i] = PairResult(pairs[i], **result)
                        if on_result is not None:
                            on_result(results[i])
                        if time.perf_counter() - last_write > SUMMARY_EVERY:
                            _write_summary(summary(interrupted=True))
                            last_write = time.perf_counter()
        except KeyboardInterrupt:
            with _no_sigint():
                if scheduler is None:  # local workers are gone: their half-written files too
                    unfinished = [pairs[i] for i in todo if i not in results]
                    _remove_leftovers(unfinished, output_dir, maps)
                done = summary(interrupted=True)
                _write_summary(done)
                if report:
                    _write_report(done, make_pictures=False)
            raise BatchInterrupted(done) from None
        done = summary()
        _write_summary(done)
        if report:
            _write_report(done, make_pictures=True)
    return done


def _from_record(pair: Pair, record: dict[str, Any], status: str) -> PairResult:
    figures = record.get("figures") or {}
    return PairResult(
        pair,
        status,
        "output exists" if status == "skipped" else "",
        record.get("seconds"),
        {k: float(v) for k, v in figures.items() if k in FIGURES and _is_number(v)},
        worst_box=_box(figures.get("worst_box")),
        report_seconds=record.get("report_seconds"),
    )


def _from_disk(pair: Pair, output_dir: Path, key: str, run: str) -> PairResult | None:
    """A pair of this run whose result never came back (interrupted, worker died), as the disk
    tells: ``done`` when its output is complete and was written by this run, else None."""
    record = state.read_record(state.record_path(output_dir, key))
    if record is None or record.get("run") != run:
        return None
    verdict = state.judge(pair.output, record)
    if verdict == "recorded":
        return _from_record(pair, record, "done")
    if verdict == "written":
        return PairResult(pair, "done", "figures not recorded: the worker stopped after writing")
    return None


def _mismatch_message(mismatched: list[tuple[Pair, list[str]]], output_dir: Path) -> str:
    first, diff = mismatched[0]
    more = f" and {len(mismatched) - 1} more" if len(mismatched) > 1 else ""
    return (
        f"{len(mismatched)} output{'s' * (len(mismatched) != 1)} in {output_dir} "
        f"{'were' if len(mismatched) != 1 else 'was'} made with other options "
        f"({first.output.name}{more}: {'; '.join(diff)}); add --force to redo "
        f"{'them' if len(mismatched) != 1 else 'it'} with these, or choose another output folder."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _box(value: Any) -> list[int] | None:
    if isinstance(value, list | tuple) and len(value) == 4 and all(map(_is_number, value)):
        return [int(v) for v in value]
    return None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``kill``, a scheduler stopping the job) as Ctrl-C while a batch runs, so the
    workers are stopped and the summary written, when we own the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _write_report(summary: BatchSummary, *, make_pictures: bool) -> None:
    """report.html for *summary*; a failure is noted in the summary, never fails the batch."""
    try:
        from regrain._report import build_report

        summary.report = build_report(summary.output_dir, make_pictures=make_pictures)
    except (RegrainError, OSError, ValueError) as exc:
        summary.report_error = " ".join(str(exc).split())


def _cores() -> int:
    """Cores this process may use (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _default_job() -> Job:
    try:
        from regrain._restore_file import restore_file
    except ImportError as exc:
        raise RegrainError(
            f"the per-pair restore (regrain._restore_file.restore_file) is not available: {exc}"
        ) from None
    return restore_file


def _task(
    pair: Pair,
    output_dir: Path,
    key: str,
    maps: Any,
    report: bool,
    run: str,
    options: dict[str, Any],
) -> dict[str, Any]:
    """What a worker needs for one pair: absolute paths (workers may run elsewhere) and options."""
    maps_dir = (
        _maps_dir(pair, output_dir, maps)
        if maps
        else (state.hidden_maps_dir(output_dir, key) if report else None)
    )
    mask = None if pair.mask is None else str(pair.mask.resolve())
    return {
        "original": str(pair.original.resolve()),
        "edited": str(pair.edited.resolve()),
        "output": str(pair.output.resolve()),
        "mask": mask,
        "maps_dir": None if maps_dir is None else str(maps_dir.resolve()),
        **options,
        "_batch": {
            "record": str(state.record_path(output_dir, key).resolve()),
            "run": run,
            "options": {k: options[k] for k in state.RESULT_OPTIONS},
            "pictures": str(_report_dir(output_dir, key).resolve()) if report else None,
        },
    }


def _report_dir(output_dir: Path, key: str) -> Path:
    from regrain._report import pair_folder

    return pair_folder(output_dir, key)


def _maps_dir(pair: Pair, output_dir: Path, maps: Any = True) -> Path:
    try:
        rel = pair.output.resolve().relative_to(output_dir.resolve())
    except ValueError:
        rel = Path(pair.output.name)
    return (output_dir / "maps" if maps is True else Path(maps)) / rel.with_suffix("")


def run_pair(job: Job, task: dict[str, Any]) -> dict[str, Any]:
    """Run on a worker: restore one pair and report how it ended, never raising for a bad pair.

    The output's record (``.regrain/outputs/``) is written before the restore (``started``) and
    after it (``done``, with the figures), then the report's pictures of the pair are made.
    A :class:`RegrainError` (bad file, sizes that differ, bad option) is the pair's one-line reason;
    anything else is a bug, reported with its type and the traceback kept for the summary.
    """
    start = time.perf_counter()
    task = dict(task)
    batch = task.pop("_batch", None) or {}
    original, edited, output = task.pop("original"), task.pop("edited"), task.pop("output")
    record_file = Path(batch["record"]) if batch.get("record") else None
    record = {
        "run": batch.get("run"),
        "origin": "batch",
        "options": batch.get("options", {}),
        "mask": task.get("mask"),
        "original": original,
        "edited": edited,
        "maps_dir": task.get("maps_dir"),
    }
    try:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        if task.get("maps_dir"):
            Path(task["maps_dir"]).mkdir(parents=True, exist_ok=True)
        if record_file is not None:
            before = state.output_stat(Path(output))
            state.write_json(record_file, {"state": "started", "before": before, **record})
        figures = job(original, edited, output, **task) or {}
    except RegrainError as exc:
        return _failed(str(exc), start)
    except MemoryError:
        return _failed("out of memory on the worker", start)
    except Exception as exc:  # one pair's bug must not stop the catalog
        return _failed(f"internal error {type(exc).__name__}: {exc}", start, traceback.format_exc())
    seconds = time.perf_counter() - start
    kept = {k: float(v) for k, v in figures.items() if k in FIGURES and _is_number(v)}
    box = _box(figures.get("worst_box"))
    out = {"status": "done", "seconds": seconds, "figures": kept, "worst_box": box}
    if record_file is not None:
        record.update(
            state="done",
            output=state.output_stat(Path(output)),
            figures={**kept, "worst_box": box},
            seconds=round(seconds, 3),
        )
        with contextlib.suppress(RegrainError, OSError):  # the output is fine without it
            state.write_json(record_file, record)
    if batch.get("pictures"):
        out["report_seconds"] = _pair_pictures(
            batch["pictures"], original, edited, output, task, box
        )
    return out


def _pair_pictures(
    folder: str, original: str, edited: str, output: str, task: dict, box: list[int] | None
) -> float:
    """Make the report's pictures of one finished pair (on the worker); seconds it took."""
    start = time.perf_counter()
    with contextlib.suppress(RegrainError, OSError, ValueError):  # the report says what is missing
        from regrain._report import pair_pictures

        pair_pictures(
            folder,
            original=original,
            edited=edited,
            output=output,
            maps_dir=task.get("maps_dir"),
            worst_box=box,
            max_pixels=task.get("max_pixels"),
        )
    return time.perf_counter() - start


def _failed(reason: str, start: float, tb: str | None = None) -> dict[str, Any]:
    reason = " ".join(reason.split()) or "failed without a message"
    return {
        "status": "failed",
        "reason": reason,
        "seconds": time.perf_counter() - start,
        "traceback": tb,
    }


def _dispatch(
    job: Job,
    tasks: dict[int, dict[str, Any]],
    n_local: int,
    scheduler: str | None,
    plan: BatchPlan,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, result) as pairs finish, keeping at most 2 x workers pairs queued.

    A pair lost with a dead worker before it even started (it was queued there) is sent again,
    once: the death was another pair's, not its own.
    """
    from dask.distributed import as_completed

    with _quiet_dask(), _client(n_local, scheduler) as client:
        queue = iter(tasks.items())
        again: list[tuple[int, dict[str, Any]]] = []
        resent: set[int] = set()
        running: dict[str, tuple[int, Any]] = {}
        token = uuid.uuid4().hex[:12]  # keys are shared by every client of a cluster

        def submit(n: int) -> list:
            futures = []
            for i, task in itertools.islice(itertools.chain(again, queue), n):
                if again and again[0][0] == i:
                    again.pop(0)
                key = f"regrain-{token}-{i}{'-again' * (i in resent)}"
                future = client.submit(run_pair, job, task, pure=False, key=key)
                running[future.key] = (i, future)
                futures.append(future)
            return futures

        nthreads = client.nthreads()
        if scheduler is not None:
            plan.workers = len(nthreads)
        budget = 2 * max(sum(nthreads.values()), 1)
        flow = as_completed(submit(budget), loop=client.loop)
        try:
            for future in flow:
                i, _ = running.pop(future.key)
                try:
                    result = future.result()
                except Exception as exc:  # a dead worker, a task the cluster lost
                    result = _lost(exc)
                future.release()
                if result.get("lost") and i not in resent and not _started(tasks[i]):
                    resent.add(i)
                    again.append((i, tasks[i]))
                else:
                    yield i, result
                for new in submit(budget - len(running)):
                    flow.add(new)
        except BaseException:
            with _no_sigint():
                client.cancel([f for _, f in running.values()], force=True)
            raise


def _started(task: dict[str, Any]) -> bool:
    """Whether this run's worker began the pair of *task* (its record says so)."""
    batch = task.get("_batch") or {}
    if not batch.get("record"):
        return True  # no record kept: assume the worst
    record = state.read_record(Path(batch["record"]))
    return record is not None and record.get("run") == batch.get("run")


def _lost(exc: BaseException) -> dict[str, Any]:
    name = type(exc).__name__
    if name == "KilledWorker":
        reason = LOST
    else:
        reason = f"could not run on the worker: {name}: {exc}"
    return {"status": "failed", "reason": " ".join(reason.split()), "lost": True}


@contextlib.contextmanager
def _client(n_local: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client on a fresh LocalCluster (n_local processes) or on the given scheduler."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        # Worker processes are spawned with Ctrl-C ignored: the parent alone reacts to it (a
        # Ctrl-C in the terminal reaches every process of the group) and closes them cleanly.
        with _no_sigint(), dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(
                n_workers=n_local,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                host="127.0.0.1",
            )
        try:
            with Client(cluster, set_as_default=False) as client:
                yield client
        except BaseException:
            with _no_sigint():
                _kill_workers(cluster)
            raise
        finally:
            with _no_sigint():
                cluster.close()
        return
    try:
        if Path(scheduler).is_file():
            client = Client(scheduler_file=scheduler, timeout="10s", set_as_default=False)
        else:
            client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, ValueError, TimeoutError) as exc:
        raise RegrainError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=NO_WORKERS_TIMEOUT)
        except (OSError, TimeoutError):
            raise RegrainError(
                f"the Dask scheduler at {scheduler} has no worker (waited "
                f"{NO_WORKERS_TIMEOUT:g} s); start some with `dask worker {scheduler}`"
            ) from None
        yield client
    finally:
        with _no_sigint():
            client.close()


def _kill_workers(cluster: Any) -> None:
    """Stop local workers now: a graceful close would wait ~4 s for the pairs they are on."""
    import asyncio

    async def kill(nannies: list) -> None:
        await asyncio.gather(*(n.kill(timeout=0.5) for n in nannies), return_exceptions=True)

    with contextlib.suppress(Exception):  # internals may change: then close() does it slower
        cluster.sync(kill, list(cluster.workers.values()))


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """Ignore Ctrl-C for a moment (spawning or stopping workers) when we own the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Keep distributed's and tornado's log lines off the terminal while a batch runs."""
    import warnings

    loggers = [logging.getLogger(name) for name in ("distributed", "tornado")] + [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(("distributed.", "tornado."))
    ]
    old = [(logger, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"distributed(\..*)?")
            yield
    finally:
        for logger, disabled in old:
            logger.disabled = disabled


# --------------------------------------------------------------------- files: resume, summary
@contextlib.contextmanager
def _new_folders(output_dir: Path) -> Iterator[None]:
    """Make the output folder; when the batch then fails before any pair is written (a cluster
    out of reach, a resume with other options), remove what this run made and left empty: the
    folder, its state folder and the lock file."""
    made = [p for p in (*reversed(output_dir.parents), output_dir) if not p.exists()]
    folder = state.state_dir(output_dir)
    fresh_state = not folder.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except RegrainError:
        if fresh_state:
            (folder / state.LOCK_NAME).unlink(missing_ok=True)
            made.append(folder)
        for path in reversed(made):
            try:
                path.rmdir()  # only when empty: anything written stays
            except OSError:
                break
        raise


@contextlib.contextmanager
def _exclusive(output_dir: Path) -> Iterator[None]:
    """Refuse a second batch writing into the same folder (it would delete our temporary files)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; documented
        yield
        return
    folder = state.state_dir(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / state.LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ParameterError(
                f"another regrain batch is writing into {output_dir}; wait for it to finish."
            ) from None
        except OSError:  # a file system without locks (some NFS): run unprotected
            pass
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(
    pairs: Sequence[Pair], output_dir: Path, maps: Any
) -> tuple[list[Path], set[int]]:
    """Delete temporary files of unfinished writes; return them and the pairs they belong to."""
    by_folder: dict[Path, dict[str, int]] = {}
    for i, pair in enumerate(pairs):
        by_folder.setdefault(pair.output.parent, {})[pair.output.name] = i
    by_folder.setdefault(output_dir, {})
    removed, redo = [], set()
    for folder, names in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            owner = _part_owner(entry.name)
            if owner is None:
                continue
            if owner in names:
                redo.add(names[owner])
            elif not owner.startswith("summary."):
                continue
            entry.unlink(missing_ok=True)
            removed.append(entry)
    folders = [state.state_dir(output_dir), output_dir / "report"]
    if maps:
        folders += [_maps_dir(pair, output_dir, maps) for pair in pairs]
    for folder in folders:  # regrain's own files: every temporary file there is ours
        if folder.is_dir():
            for entry in folder.rglob(".*.part*"):
                if entry.is_file() and _part_owner(entry.name) is not None:
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
    return removed, redo


def _part_owner(name: str) -> str | None:
    """``.a.tif.x8k2.part.tif`` -> ``a.tif``: the file a temporary file was being written as."""
    if not name.startswith(".") or ".part" not in name:
        return None
    stem = name[1 : name.rindex(".part")]
    return stem.rsplit(".", 1)[0] if "." in stem else None


def _previous_figures(output_dir: Path) -> dict[str, dict[str, Any]]:
    """Figures of pairs finished by an earlier run (from its summary), by output path; for
    outputs that have no record (made by a regrain that kept none)."""
    try:
        rows = state.load_summary(output_dir)["pairs"]
    except RegrainError:
        return {}
    known = {}
    for row in rows:
        if isinstance(row, dict) and row.get("status") in ("done", "skipped"):
            figures = {k: row[k] for k in FIGURES if _is_number(row.get(k))}
            known[str(row.get("output"))] = {"seconds": row.get("seconds"), "figures": figures}
    return known


def _write_summary(summary: BatchSummary) -> None:
    """Write .regrain/summary.json and summary.csv atomically (temporary file, then rename)."""
    from regrain import __version__

    counts = {s: summary.count(s) for s in ("done", "skipped", "failed", "not run")}
    rows = [r.row() for r in summary.results]
    payload = {
        "regrain": __version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "output_dir": str(summary.output_dir),
        "workers": summary.workers,
        "scheduler": summary.scheduler,
        "seconds": round(summary.seconds, 3),
        "interrupted": summary.interrupted,
        "counts": counts,
        "options": summary.options,
        "pairs": [
            {
                **row,
                "key": state.output_key(r.pair.output, summary.output_dir),
                "worst_box": r.worst_box,
                "report_seconds": None if r.report_seconds is None else round(r.report_seconds, 3),
                **({"traceback": r.traceback} if r.traceback else {}),
            }
            for row, r in zip(rows, summary.results, strict=True)
        ],
        "unpaired": [{"path": str(u.path), "reason": u.reason} for u in summary.unpaired],
    }
    state.write_json(summary.json_path, payload)
    buffer = _stringio.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    _atomic_text(summary.csv_path, buffer.getvalue())


def _atomic_text(path: Path, text: str) -> None:
    from regrain.io import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
