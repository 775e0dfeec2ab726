"""What a batch keeps on disk besides the images: ``OUT/.regrain/``, and each output's record.

A delivery folder holds the restored images (and ``report.html``, ``review.json``, ``report/``);
everything else regrain needs lives in one hidden subfolder, so a studio's ingest that lists the
folder's images (or skips hidden names) sees only the deliveries::

    OUT/.regrain/batch.lock                the lock that keeps a second batch out
    OUT/.regrain/summary.json, summary.csv what the last run did, pair by pair
    OUT/.regrain/outputs/<output>.json     the record of each output: the options that made it
    OUT/.regrain/maps/<output stem>/       the maps the report shows (without --maps)

A record is written by the worker twice: ``started`` (with what was at the output's place
before) just before the restore, ``done`` (figures, seconds, the output's size and mtime) just
after. So after any kill the disk tells, for each output, whether it is complete and which
options made it: an output that matches a ``done`` record was made by it; one that differs from
what a ``started`` record saw before was written by that attempt (the worker died before the
``done`` record); one that still is what the ``started`` record saw is older than an unfinished
rewrite. Nothing here imports numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from regrain.errors import ImageFileError

__all__ = [
    "RESULT_OPTIONS",
    "STATE_DIR",
    "differences",
    "judge",
    "load_summary",
    "output_key",
    "output_stat",
    "read_record",
    "write_json",
]

STATE_DIR = ".regrain"
"""The hidden subfolder of a batch's output folder that holds everything but the deliveries."""

RESULT_OPTIONS = ("material", "seed", "strength", "bits", "quality")
"""The options that change an output's pixels: a resume with others must not skip it silently."""

LOCK_NAME = "batch.lock"
RECORDS = "outputs"


def state_dir(output_dir: Path) -> Path:
    return Path(output_dir) / STATE_DIR


def output_key(output: Path, output_dir: Path) -> str:
    """The name a batch gives an output in its records and report: its path inside OUT
    (``IMG_1.tif``, ``client/IMG_2.tif``), or for a manifest output outside OUT its file name and
    a hash of its absolute path (``IMG_3.tif~1a2b3c4d``)."""
    absolute = Path(output).resolve()
    try:
        return absolute.relative_to(Path(output_dir).resolve()).as_posix()
    except ValueError:
        digest = hashlib.sha1(str(absolute).encode()).hexdigest()[:8]
        return f"{absolute.name}~{digest}"


def record_path(output_dir: Path, key: str) -> Path:
    return state_dir(output_dir) / RECORDS / f"{key}.json"


def hidden_maps_dir(output_dir: Path, key: str) -> Path:
    return state_dir(output_dir) / "maps" / Path(key).with_suffix("")


def output_stat(path: Path) -> dict[str, int] | None:
    """Size and modification time (ns) of a file, or None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_json(path: Path, payload: Any) -> None:
    """Write *payload* as JSON atomically (temporary file beside it, then rename)."""
    from regrain.io import atomic_output

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def judge(output: Path, record: dict[str, Any] | None) -> str:
    """What the disk says of *output* given its *record*:

    - ``"missing"``: no output;
    - ``"recorded"``: the output is the one a ``done`` record describes (options and figures known);
    - ``"written"``: a ``started`` attempt wrote it, then died before recording (options known,
      figures not);
    - ``"stale"``: an attempt started after this output was made and did not finish;
    - ``"unknown"``: no record fits (an older regrain, or a file put or edited there by hand).
    """
    now = output_stat(output)
    if now is None:
        return "missing"
    if record is None:
        return "unknown"
    if record.get("state") == "done" and record.get("output") == now:
        return "recorded"
    if record.get("state") == "started":
        return "stale" if record.get("before") == now else "written"
    return "unknown"


def differences(record: dict[str, Any], options: dict[str, Any], mask: str | None) -> list[str]:
    """How *options* (and the pair's *mask*) differ from those that made a recorded output, in
    words: ``["material auto, now metal"]``; empty when the same."""
    made = record.get("options", {})
    out = [
        f"{name} {made.get(name)}, now {options.get(name)}"
        for name in RESULT_OPTIONS
        if made.get(name) != options.get(name)
    ]
    if (record.get("mask") or None) != (mask or None):
        out.append(f"mask {record.get('mask') or 'none'}, now {mask or 'none'}")
    return out


def load_summary(output_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The last batch summary of *output_dir* (``.regrain/summary.json``; an older regrain wrote
    ``summary.json`` at the top), as a dict; a one-line error when there is none."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise ImageFileError(output_dir, "no such folder")
    for path in (state_dir(output_dir) / "summary.json", output_dir / "summary.json"):
        if path.is_file():
            try:
                summary = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ImageFileError(path, f"unreadable batch summary ({exc})") from None
            if isinstance(summary, dict) and isinstance(summary.get("pairs"), list):
                return summary
            raise ImageFileError(path, "not a regrain batch summary (no 'pairs' list)")
    raise ImageFileError(
        output_dir, "no batch summary here (.regrain/summary.json); run `regrain batch` first"
    )
