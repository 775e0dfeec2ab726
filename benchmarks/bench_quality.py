"""Quality benchmark: does ``regrain.restore`` hold on photographs and tools it was not tuned on?

Real third-party tools (denoisers, edge-aware smoothers, resamplers, inpainters, codecs) damage
real photographs fetched from package registries; the ground truth is kept (see
``benchmarks/quality/``). Photos and tools are split into a **tuning** and a **validation** set
that share neither; nothing in regrain may be fitted on validation, and its figure is the one
that counts. Per case, five methods are scored with ``regrain._quality``'s figures: the AI
output, Luminosity 20%, frequency separation as the seed article does it, gray grain in Overlay,
and ``regrain.restore`` with its defaults.

    make bench-quality                       # both sets, tables + bench-output/quality.{md,json}
    .venv/bin/python benchmarks/bench_quality.py --set validation --kinds defect,smooth --jobs 2

Runs against any tree's regrain: ``cd OTHER && .venv/bin/python THIS_FILE --set tuning``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import cases as cases_mod
from quality import metrics, photos, tools
from regrain import _quality as rq

OUT_DIR = Path("bench-output")
METHODS = ("AI output", "luminosity 20%", "freq. sep. r4", "grain overlay", "regrain restore")
SHOWN = ("energy", "fidelity", "leak", "tone", "far", "seam", "grain+")


# ------------------------------------------------------------------------------------ methods


def _outputs(case: cases_mod.BenchCase) -> tuple[dict[str, np.ndarray | None], dict, object]:
    """Every method's output for *case* (None where it failed), restore's figures and result."""
    import regrain

    d = case.damage
    out: dict[str, np.ndarray | None] = {"AI output": d.edited}
    calls = {
        "luminosity 20%": lambda: regrain.luminosity_blend(d.original, d.edited, opacity=0.2),
        "freq. sep. r4": lambda: regrain.merge(
            regrain.split(d.edited, 4.0)[0], regrain.split(d.original, 4.0)[1]
        ),
        "grain overlay": lambda: regrain.add_grain(d.edited, material=case.grain, mask=d.region),
    }
    errors = {}
    for label, call in calls.items():
        try:
            out[label] = call()
        except Exception as exc:  # a recipe missing in the tree under test is n/a, not a crash
            out[label], errors[label] = None, f"{type(exc).__name__}: {exc}"
    t0 = time.perf_counter()
    result = regrain.restore(d.original, d.edited, seed=0)
    seconds = time.perf_counter() - t0
    out["regrain restore"] = result.image
    info = {"seconds": seconds, "errors": errors}
    info["figures"] = {
        k: (float(v) if isinstance(v, (int, float, np.floating)) else v)
        for k, v in dict(getattr(result, "figures", {}) or {}).items()
        if not isinstance(v, np.ndarray)
    }
    return out, info, result


def _far_of_delivery(case: cases_mod.BenchCase, output: np.ndarray) -> float | None:
    """ "far" for a re-encoded delivery (every pixel differs from the original, so
    regrain._quality cannot tell the edit from the delivery): pixels > 16 px from the region."""
    import cv2

    region = case.damage.region > 0
    dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = dist > rq.FAR_PX
    if not far.any():
        return None
    return 100.0 * float(np.abs(output - case.damage.edited).mean(axis=2)[far].mean())


def evaluate(spec: cases_mod.Spec, sheets_dir: str | None) -> dict:
    """Build one case, run every method, measure everything; a JSON-ready dict."""
    t0 = time.perf_counter()
    case = cases_mod.build(spec)
    build_s = time.perf_counter() - t0
    outputs, info, result = _outputs(case)
    figures: dict[str, dict | None] = {}
    for label, image in outputs.items():
        if image is None:
            figures[label] = None
            continue
        f = rq.measure(case.damage, image)
        if spec.delivery and f.get("far") is None:
            f["far"] = _far_of_delivery(case, image)
        figures[label] = f
    truth = rq.measure(case.damage, case.damage.truth)
    if spec.delivery and truth.get("far") is None:
        truth["far"] = _far_of_delivery(case, case.damage.truth)
    marks = {k: rq.judge(v) if v else None for k, v in figures.items()}
    met = {k: _all_met(v) if v else None for k, v in figures.items()}

    row = {
        "id": spec.id,
        "set": spec.set,
        "photo": spec.photo,
        "kind": spec.kind,
        "tool": spec.tool,
        "delivery": spec.delivery,
        "backdrop": case.backdrop,
        "figures": figures,
        "marks": marks,
        "meets_all": met,
        "truth_figures": truth,
        "truth_meets_all": _all_met(truth),
        "comparisons": metrics.compare(spec.kind, figures),
        "restore": info,
        "build_seconds": build_s,
    }
    try:
        predicted = result.map("classes")
        row["confusion"] = metrics.confusion(case.classes, predicted).tolist()
    except Exception as exc:  # a tree whose restore has no classes map yet
        predicted = None
        row["confusion"] = None
        info["errors"]["classes"] = f"{type(exc).__name__}: {exc}"
    if spec.kind in ("defect", "replaced"):
        zone, ring, clean = metrics.rebuilt_zone(case)
        row["texture"] = {
            label: metrics.texture_statistics(image, zone, ring, clean, truth=case.damage.truth)
            for label, image in (*outputs.items(), ("truth", case.damage.truth))
            if label in ("regrain restore", "AI output", "freq. sep. r4", "truth")
            and image is not None
        }
    if sheets_dir:
        from quality import sheets

        restored = outputs["regrain restore"]
        title = _sheet_title(row)
        classes = {"true classes": case.classes}
        if predicted is not None:
            classes = {"restore classes": predicted, **classes}
        name = spec.id.replace("/", "_").replace("#", "_").replace("+", "_") + ".png"
        sheets.write(
            Path(sheets_dir) / spec.set / name,
            title,
            {
                "original": case.damage.original,
                "AI edit": case.damage.edited,
                "restored": restored,
                "truth": case.damage.truth,
            },
            classes,
            case.damage.region,
            restored,
            case.damage.truth,
        )
    row["seconds"] = time.perf_counter() - t0
    return row


def _all_met(figures: dict) -> bool:
    met, total = rq.passed(figures)
    return met == total


def _sheet_title(row: dict) -> str:
    f = row["figures"]["regrain restore"] or {}
    parts = [f"{k} {v:.3g}" for k, v in f.items() if v is not None]
    verdict = "meets every goal" if row["meets_all"]["regrain restore"] else "FAILS a goal"
    return f"{row['id']} [{row['set']}]  restore: {', '.join(parts)}  ({verdict})"


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


# ------------------------------------------------------------------------------------ tables


def _fmt(value, name: str | None = None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    text = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if name is not None:
        mark = rq.GOALS[name].met(value)
        text += "" if mark is None else (" ok" if mark else " FAIL")
    return text


def _count(values) -> str:
    values = [v for v in values if v is not None]
    return f"{sum(bool(v) for v in values)}/{len(values)}" if values else "n/a"


class Report:
    """Console tables (rich) and the same tables as Markdown."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        if not self.console.is_terminal:
            self.console = Console(highlight=False, width=220, soft_wrap=True)
        self.md: list[str] = []

    def table(self, title: str, headers: list[str], rows: list[list[str]], left: int = 3) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i < left else "right", no_wrap=i == 0)
        for row in rows:
            table.add_row(*[self._style(c) for c in row])
        self.console.print(table)
        self.md += [f"### {title}", "", "| " + " | ".join(headers) + " |"]
        self.md.append("|" + "|".join("---" for _ in headers) + "|")
        self.md += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        self.md.append("")

    @staticmethod
    def _style(cell: str) -> str:
        if cell.endswith(" FAIL") or cell == "NO":
            return f"[red]{cell}[/]"
        if cell.endswith(" ok"):
            return f"[green]{cell}[/]"
        return cell

    def line(self, text: str, bold: bool = False) -> None:
        self.console.print(f"[bold]{text}[/]" if bold else text)
        self.md += [f"**{text}**" if bold else text, ""]


def report_set(rep: Report, set_name: str, rows: list[dict], *, per_case: bool) -> dict:
    """Print one set's tables; return its summary figures."""
    rows = [r for r in rows if r["set"] == set_name]
    if not rows:
        return {}
    rep.line(f"== {set_name} set: {len(rows)} cases ==", bold=True)
    if per_case:
        body = []
        for r in rows:
            f = r["figures"]["regrain restore"] or {}
            ai = r["figures"]["AI output"] or {}
            body.append(
                [
                    r["id"],
                    _fmt(ai.get("energy")),
                    *[_fmt(f.get(n), n) for n in SHOWN],
                    _fmt(r["meets_all"]["regrain restore"]),
                    _fmt(r["comparisons"]["vs freq. sep."] or r["comparisons"]["vs AI leak"]),
                ]
            )
        headers = ["case (photo/kind/tool#n)", "AI energy", *SHOWN, "all goals", "vs ref."]
        rep.table(f"{set_name}: regrain restore per case", headers, body, left=1)

    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    body = []
    for kind in cases_mod.KINDS:
        group = by_kind.get(kind)
        if not group:
            continue
        body.append(
            [
                kind,
                str(len(group)),
                ", ".join(sorted({r["tool"] for r in group})),
                *[_count(r["meets_all"][m] for r in group) for m in METHODS],
                _count(r["comparisons"]["vs freq. sep."] for r in group),
                _count(r["comparisons"]["vs AI leak"] for r in group),
                _count(r["truth_meets_all"] for r in group),
            ]
        )
    headers = ["kind", "cases", "tools", *[f"{m}: all goals" for m in METHODS]]
    headers += ["restore >= FS", "restore >= AI leak", "truth (self-check)"]
    rep.table(f"{set_name}: cases meeting every goal, per kind", headers, body)

    # per figure, restore
    body = []
    for name in SHOWN:
        marks = [r["marks"]["regrain restore"][name] for r in rows if r["marks"]["regrain restore"]]
        body.append([name, rq.GOALS[name].describe(), _count(marks)])
    rep.table(f"{set_name}: regrain restore per figure", ["figure", "goal", "met"], body)

    texture_rows = [r for r in rows if r.get("texture")]
    if texture_rows:
        body = []
        for r in texture_rows:
            t = r["texture"]
            cells = []
            for label in ("regrain restore", "AI output", "truth"):
                s = t.get(label)
                cells += ["n/a", "n/a"] if not s else [_ratio(s, "swd"), _ratio(s, "kurtosis")]
            ok = (t.get("regrain restore") or {}).get("met")
            body.append([r["id"], r["kind"], r["tool"], *cells, _fmt(ok)])
        headers = ["case", "kind", "tool", "restore SWD", "restore kurt.", "AI SWD", "AI kurt."]
        headers += ["truth SWD", "truth kurt.", f"within {metrics.TEXTURE_GOAL}x floor"]
        rep.table(
            f"{set_name}: rebuilt texture vs clean surroundings (distance / floor)", headers, body
        )

    for kind in cases_mod.KINDS:
        tables = [np.array(r["confusion"]) for r in by_kind.get(kind, []) if r.get("confusion")]
        if not tables:
            continue
        total = np.sum(tables, axis=0)
        body = []
        for i, label in enumerate(metrics.TRUE_LABELS):
            n = int(total[i].sum())
            if n == 0:
                continue
            shares = [f"{100.0 * v / n:.1f}%" for v in total[i]]
            body.append([f"true {label}", f"{n}", *shares])
        rep.table(
            f"{set_name}: confusion, {kind} (pixels; rows true, columns restore's classes)",
            ["true class", "pixels", *metrics.CLASS_LABELS],
            body,
        )

    met = [r["meets_all"]["regrain restore"] for r in rows]
    fs = [r["comparisons"]["vs freq. sep."] for r in rows]
    leak = [r["comparisons"]["vs AI leak"] for r in rows]
    texture = [(r.get("texture") or {}).get("regrain restore") for r in rows]
    texture = [t["met"] for t in texture if t]
    summary = {
        "cases": len(rows),
        "restore_meets_all": sum(bool(m) for m in met),
        "share": sum(bool(m) for m in met) / len(rows),
        "vs_fs": _count(fs),
        "vs_ai_leak": _count(leak),
        "texture": _count(texture),
        "truth_fails": [r["id"] for r in rows if not r["truth_meets_all"]],
        "per_kind": {
            k: _count(r["meets_all"]["regrain restore"] for r in g) for k, g in by_kind.items()
        },
    }
    return summary


def _ratio(stats: dict, name: str) -> str:
    return f"{stats[name]:.3g}/{stats[name + '_floor']:.3g} = {stats[name + '_ratio']:.2f}"


# --------------------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> int:
    sets = ("tuning", "validation") if args.set == "both" else (args.set,)
    kinds = _list(args.kinds, cases_mod.KINDS, "kind")
    photo_filter = _list(args.photos, photos.PHOTOS, "photo") if args.photos else None
    tool_filter = _list(args.tools, tools.TOOLS, "tool") if args.tools else None
    missing = [n for n in tools.TOOLS if not tools.available(n)]
    rep = Report()
    if missing:
        rep.line(
            "WARNING: tools skipped, a module is missing (pip install 'regrain[bench]'): "
            + ", ".join(f"{n} needs {tools.TOOLS[n].needs}" for n in missing),
            bold=True,
        )
    specs = []
    for s in sets:
        names = tuple(n for n in photos.photo_names(s) if not photo_filter or n in photo_filter)
        if names:
            specs += cases_mod.specs(
                s, kinds=kinds, photo_names=names, tool_names=tool_filter, reps=args.reps,
                seed=args.seed,
            )  # fmt: skip
    if not specs:
        rep.line("no case matches the options")
        return 2
    needed = sorted({sp.photo for sp in specs})
    t0 = time.perf_counter()
    for name in needed:
        photos.fetch(name, quiet=False)
    fetch_s = time.perf_counter() - t0
    sheets_dir = str(OUT_DIR / "sheets") if args.sheets else None
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, initializer=_init_worker) as pool:
            rows = list(pool.map(evaluate, specs, [sheets_dir] * len(specs), chunksize=2))
    else:
        _init_worker()
        rows = [evaluate(sp, sheets_dir) for sp in specs]
    run_s = time.perf_counter() - t0

    rep.md += [
        "# regrain quality benchmark",
        "",
        "Real third-party tools on photographs from package registries, ground truth kept; "
        "figures from `regrain._quality`. Goals: "
        + ", ".join(f"{n} {g.describe()}" for n, g in rq.GOALS.items())
        + f". Comparisons within {metrics.TOLERANCE}. Produced by `benchmarks/bench_quality.py`.",
        "",
    ]
    summaries = {s: report_set(rep, s, rows, per_case=not args.quiet) for s in sets}
    restore_s = sum(r["restore"]["seconds"] for r in rows)
    for s, sm in summaries.items():
        if not sm:
            continue
        rep.line(
            f"SUMMARY {s}: regrain restore meets every goal on {sm['restore_meets_all']}/"
            f"{sm['cases']} cases ({100 * sm['share']:.1f}%; goal >= 95% on validation); "
            f"per kind: "
            + ", ".join(f"{k} {v}" for k, v in sm["per_kind"].items())
            + f"; restore >= freq. sep. {sm['vs_fs']}, restore >= AI leak {sm['vs_ai_leak']}, "
            f"rebuilt texture within {metrics.TEXTURE_GOAL}x floor {sm['texture']}",
            bold=True,
        )
        if sm["truth_fails"]:
            rep.line(
                f"WARNING {s}: the ground truth fails a goal in " + ", ".join(sm["truth_fails"])
            )
        else:
            rep.line(f"{s}: the ground truth meets every goal on every case (metric self-check)")
    rep.line(
        f"time: fetch {fetch_s:.0f} s, cases {run_s:.0f} s with {args.jobs} jobs "
        f"({len(rows)} cases; restore itself {restore_s:.1f} s in all)"
    )
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "quality.md").write_text("\n".join(rep.md))
    json_path = Path(args.json) if args.json else OUT_DIR / "quality.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps({"summaries": summaries, "cases": rows}, indent=1, default=_json_default)
    )
    rep.console.print(f"tables: {OUT_DIR / 'quality.md'}; every figure: {json_path}")
    if sheets_dir:
        rep.console.print(f"contact sheets: {sheets_dir}/<set>/")
    return 0


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _list(text: str, valid, what: str) -> tuple[str, ...]:
    items = tuple(i for i in text.split(",") if i)
    for item in items:
        if item not in valid:
            raise SystemExit(f"unknown {what} {item!r}; expected one of: {', '.join(valid)}")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tuning", "validation", "both"), default="both")
    parser.add_argument("--kinds", default=",".join(cases_mod.KINDS), help="comma-separated")
    parser.add_argument("--photos", default="", help="comma-separated (default: the set's)")
    parser.add_argument("--tools", default="", help="comma-separated (default: the set's)")
    parser.add_argument("--reps", type=int, default=2, help="cases per photo and kind")
    parser.add_argument("--seed", type=int, default=0, help="another seed: other places")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", default="", help="where every figure goes (JSON)")
    parser.add_argument("--sheets", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--quiet", action="store_true", help="no per-case tables")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
