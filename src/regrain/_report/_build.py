"""Build ``OUT/report.html`` from the batch summary, the outputs' records and the pictures."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from regrain import _batch_state as state

__all__ = ["REPORT_NAME", "build_report", "pair_folder", "report_rows"]

REPORT_NAME = "report.html"
PICTURES = "report"
STATUSES = ("done", "skipped", "failed", "not run")

# (key, header, kind): the sortable columns; kind says how a value is shown
COLUMNS = (
    ("name", "pair", "text"),
    ("status", "status", "text"),
    ("plastic_before", "plastic before", "share"),
    ("plastic_after", "plastic after", "share"),
    ("energy_ratio_before", "energy before", "ratio"),
    ("energy_ratio_after", "energy after", "ratio"),
    ("share_restored", "restored", "share"),
    ("share_rebuilt", "rebuilt", "share"),
    ("share_smooth", "smooth", "share"),
    ("seconds", "time", "seconds"),
)


def pair_folder(output_dir: str | os.PathLike[str], key: str) -> Path:
    """``OUT/report/<pair>/``: the pictures of the output called *key* (see ``output_key``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "pair"
    digest = hashlib.sha1(key.encode()).hexdigest()[:6]
    return Path(output_dir) / PICTURES / f"{slug[:80]}-{digest}"


def report_rows(output_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary and its pair rows, each with ``key`` and, where a record made later (a redo
    from the review page) describes the output on disk, that record's figures and options."""
    summary = state.load_summary(output_dir)
    rows = []
    for raw in summary["pairs"]:
        if not isinstance(raw, dict) or not raw.get("output"):
            continue
        row = dict(raw)
        row["key"] = row.get("key") or state.output_key(Path(row["output"]), output_dir)
        record = state.read_record(state.record_path(output_dir, row["key"]))
        output = Path(row["output"])
        if (
            record
            and record.get("origin") == "review"
            and state.judge(output, record) == "recorded"
        ):
            figures = record.get("figures") or {}
            row.update({k: v for k, v in figures.items() if k != "worst_box"})
            row["worst_box"] = figures.get("worst_box")
            row["seconds"] = record.get("seconds")
            row["status"], row["reason"] = "done", _redo_note(record)
        row["maps_dir"] = (record or {}).get("maps_dir") or ""
        rows.append(row)
    return summary, rows


def _redo_note(record: dict[str, Any]) -> str:
    options = record.get("options", {})
    mask = ", a drawn mask" if record.get("mask") else ""
    return (
        f"redone in review: material {options.get('material')}, "
        f"strength {options.get('strength')}{mask}"
    )


def build_report(
    output_dir: str | os.PathLike[str], *, make_pictures: bool = True, max_pixels: int | None = None
) -> Path:
    """Write ``OUT/report.html`` (atomically) for the batch in *output_dir*; return its path.

    With *make_pictures*, pairs whose output exists but whose pictures are missing or older than
    the output get them now (one pair at a time, in this process); without, the page shows what
    is there. Pairs without an output (failed, not run) show their status and reason.
    """
    from regrain._report._pair import pair_pictures, pictures_meta
    from regrain.errors import RegrainError

    output_dir = Path(output_dir)
    summary, rows = report_rows(output_dir)
    decisions = _decisions(output_dir)
    for row in rows:
        folder = pair_folder(output_dir, row["key"])
        output = Path(row["output"])
        meta = pictures_meta(folder)
        fresh = meta is not None and meta.get("made_from", {}).get("output") == state.output_stat(
            output
        )
        if make_pictures and not fresh and output.is_file() and row["status"] != "failed":
            try:
                meta = pair_pictures(
                    folder,
                    original=row["original"],
                    edited=row["edited"],
                    output=output,
                    maps_dir=row["maps_dir"] or None,
                    worst_box=row.get("worst_box"),
                    max_pixels=max_pixels,
                )
            except (RegrainError, OSError, ValueError) as exc:
                meta = {"error": " ".join(str(exc).split())}
        row["pictures"] = meta if output.is_file() else None
        row["folder"] = folder
        row["decision"] = decisions.get(row["key"])
    page = _page(output_dir, summary, rows)
    path = output_dir / REPORT_NAME
    from regrain.io import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _decisions(output_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((output_dir / "review.json").read_text(encoding="utf-8"))
        pairs = data.get("pairs", {})
        return pairs if isinstance(pairs, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


# ---------------------------------------------------------------------------------------- HTML
def _value(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _show(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "seconds":
        return f"{value:.1f} s"
    return str(value)


def _href(path: Path, base: Path) -> str:
    try:
        return quote(path.resolve().relative_to(base.resolve()).as_posix())
    except ValueError:
        return path.resolve().as_uri()


def _img(folder: Path, base: Path, meta: dict[str, Any], name: str, alt: str) -> str:
    file = (meta.get("files") or {}).get(name)
    if not file:
        return f'<div class="missing">{html.escape(alt)}: not made</div>'
    src = _href(folder / file, base)
    return f'<img src="{src}" alt="{html.escape(alt)}" loading="lazy">'


def _figure(folder: Path, base: Path, meta: dict[str, Any], name: str, caption: str) -> str:
    image = _img(folder, base, meta, name, caption)
    return f"<figure>{image}<figcaption>{caption}</figcaption></figure>"


LOSS_LEGEND = (
    '<div class="legend"><span class="ramp gray"></span><span>0%</span><span>50%</span>'
    "<span>100% of the texture lost</span></div>"
)


def _classes_legend() -> str:
    from regrain._pictures import CLASS_COLOURS

    items = "".join(
        f'<span class="swatch" style="background:rgb{colour}"></span>'
        f'<span title="{html.escape(meaning)}">{name}</span>'
        for name, (colour, meaning) in CLASS_COLOURS.items()
    )
    return f'<div class="legend">{items}</div>'


def _pictures_cell(row: dict[str, Any], base: Path) -> str:
    meta = row.get("pictures")
    if not meta:
        return '<td class="pics"><div class="missing">no output</div></td>'
    if "error" in meta:
        why = html.escape(meta["error"])
        return f'<td class="pics"><div class="missing">pictures: {why}</div></td>'
    folder = row["folder"]
    crop = meta.get("crop") or [0, 0, 0, 0]
    where = (
        f"{crop[2]}x{crop[3]} px at ({crop[0]}, {crop[1]}), "
        f"{html.escape(str(meta.get('crop_from') or ''))}"
    )
    maps = ""
    if "loss" in meta.get("files", {}) or "classes" in meta.get("files", {}):
        maps = (
            '<div class="maps">'
            f"<figure>{_img(folder, base, meta, 'loss', 'loss map')}"
            f"<figcaption>texture lost{LOSS_LEGEND}</figcaption></figure>"
            f"<figure>{_img(folder, base, meta, 'classes', 'classes map')}"
            f"<figcaption>what regrain did{_classes_legend()}</figcaption></figure>"
            "</div>"
        )
    return (
        '<td class="pics"><div class="pair">'
        + _figure(folder, base, meta, "edited", "AI edit")
        + _figure(folder, base, meta, "restored", "restored")
        + "</div>"
        + f'<div class="crops" title="100% crop: {where}">'
        + _figure(folder, base, meta, "crop-edited", "AI edit, 100%")
        + _figure(folder, base, meta, "crop-restored", "restored, 100%")
        + _figure(folder, base, meta, "crop-original", "original, 100%")
        + f'<div class="where">crop: {where}</div></div>'
        + maps
        + "</td>"
    )


def _row(row: dict[str, Any], base: Path) -> str:
    status = str(row.get("status") or "")
    data = [f'data-status="{html.escape(status)}"', f'data-name="{html.escape(row["name"])}"']
    cells = []
    for key, _, kind in COLUMNS:
        if kind == "text":
            continue
        value = _value(row, key)
        data.append(f'data-{key.replace("_", "-")}="{"" if value is None else repr(value)}"')
        cells.append(f'<td class="num">{_show(value, kind)}</td>')
    output = Path(row["output"])
    name = html.escape(row["name"])
    link = f'<a href="{_href(output, base)}">{name}</a>' if output.is_file() else name
    reason = html.escape(str(row.get("reason") or ""))
    decision = row.get("decision") or {}
    review = ""
    if decision.get("decision"):
        said = html.escape(str(decision["decision"]))
        note = html.escape(str(decision.get("note") or ""))
        review = f'<div class="review {said}">{said} {note}</div>'
    return (
        f"<tbody {' '.join(data)}><tr>"
        f'<td class="name">{link}{review}</td>'
        f'<td class="status {status.replace(" ", "-")}">{html.escape(status)}'
        f'<div class="reason">{reason}</div></td>'
        + "".join(cells)
        + "</tr><tr>"
        + _pictures_cell(row, base).replace(
            '<td class="pics">', f'<td class="pics" colspan="{len(COLUMNS)}">', 1
        )
        + "</tr></tbody>"
    )


def _page(output_dir: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    counts = {s: sum(r.get("status") == s for r in rows) for s in STATUSES}
    options = summary.get("options") or {}
    shown = ", ".join(
        f"{k} {options[k]}"
        for k in ("material", "strength", "seed", "bits")
        if options.get(k) is not None
    )
    filters = "".join(
        f'<label><input type="checkbox" data-filter="{s}" checked> {s} ({counts[s]})</label>'
        for s in STATUSES
    )
    heads = "".join(
        f'<th data-key="{key.replace("_", "-")}" data-kind="{kind}" tabindex="0">{title}</th>'
        for key, title, kind in COLUMNS
    )
    css = resources.files("regrain._report").joinpath("report.css").read_text(encoding="utf-8")
    js = resources.files("regrain._report").joinpath("report.js").read_text(encoding="utf-8")
    title = f"regrain report: {output_dir.resolve().name}"
    summary_csv = _href(state.state_dir(output_dir) / "summary.csv", output_dir)
    finished = html.escape(str(summary.get("finished", "")))
    built = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style></head>
<body>
<header><h1>{html.escape(title)}</h1>
<p>{len(rows)} pairs: {counts["done"]} done, {counts["skipped"]} skipped, {counts["failed"]} failed,
{counts["not run"]} not run{" (interrupted)" if summary.get("interrupted") else ""}.
Options: {html.escape(shown or "defaults")}. Batch finished {finished}; report built {built}.
All pairs: <a href="{summary_csv}">summary.csv</a>.</p>
<p class="help">Plastic: share of the image that lost at least half of its fine texture, before
(the AI edit) and after (restored). Energy: fine-texture energy against the original's (1.00 = all
there). Restored / rebuilt / smooth: shares of the changed area. Click a column to sort, again to
reverse.</p>
<div class="controls">Show: {filters} <span id="shown"></span></div>
</header>
<table id="pairs"><thead><tr>{heads}</tr></thead>
{"".join(_row(row, output_dir) for row in rows)}
</table>
<script>{js}</script>
</body></html>
"""
