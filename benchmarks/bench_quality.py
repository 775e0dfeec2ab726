"""Quality benchmark: does ``regrain.restore`` give back the texture the AI took, and nothing else?

Every (photo x case) of :mod:`regrain._simulate` (simulated AI damage whose ground truth is kept) is
run through the AI output as it is, the three recipes of the seed articles done as written, and
``regrain.restore``; :mod:`regrain._quality` scores each against the ground truth. Prints a table
per case with PASS/FAIL marks and writes it as Markdown to bench-output/quality.md
(``--reencode``: every AI output delivered as a whole-frame JPEG, to quality-reencoded.md).

    make bench-quality          # or: .venv/bin/python benchmarks/bench_quality.py [--photos a,b]

A recipe whose module is not importable yet is shown as n/a; nothing is reimplemented here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from regrain import _quality as quality
from regrain import _simulate as simulate

OUT_DIR = Path("bench-output")

# grain material per photo material, first available in regrain.GRAIN_MATERIALS wins
GRAIN_MATERIAL = {"skin": ("skin",), "metal": ("metal",), "fur": ("fur", "fabric", "skin")}

Method = Callable[[simulate.DamageCase], np.ndarray]


def _api(name: str):
    """A public regrain name, or None when its module does not import yet."""
    import regrain

    try:
        return getattr(regrain, name)
    except (ImportError, AttributeError):
        return None


def methods() -> dict[str, Method | None]:
    """Method label -> function(case) -> output image; None when not available yet."""
    luminosity_blend, split, merge = _api("luminosity_blend"), _api("split"), _api("merge")
    add_grain, materials, restore = _api("add_grain"), _api("GRAIN_MATERIALS"), _api("restore")

    def ai(case: simulate.DamageCase) -> np.ndarray:
        return case.edited

    def luminosity(case: simulate.DamageCase) -> np.ndarray:
        return luminosity_blend(case.original, case.edited, opacity=0.2)

    def frequency_separation(case: simulate.DamageCase) -> np.ndarray:
        low, _ = split(case.edited, 4.0)
        _, high = split(case.original, 4.0)
        return merge(low, high)

    def grain(case: simulate.DamageCase) -> np.ndarray:
        wanted = GRAIN_MATERIAL[case.material]
        material = next((m for m in wanted if materials is None or m in materials), wanted[-1])
        return add_grain(case.edited, material=material, mask=case.region)

    def automatic(case: simulate.DamageCase) -> np.ndarray:
        return restore(case.original, case.edited, seed=0).image

    return {
        "AI output": ai,
        "luminosity 20%": luminosity if luminosity_blend else None,
        "freq. sep. r4": frequency_separation if split and merge else None,
        "grain overlay": grain if add_grain else None,
        "regrain restore": automatic if restore else None,
    }


def _cell(name: str, value: float | None) -> tuple[str, bool | None]:
    if value is None:
        return "n/a", None
    mark = quality.GOALS[name].met(value)
    text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {'PASS' if mark else 'FAIL'}", mark


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run(
    photos: tuple[str, ...], cases: tuple[str, ...], seed: int, *, reencode: bool = False
) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:  # a log file: room for every column
        console = Console(highlight=False, width=132)
    available = methods()
    scores: dict[str, list[int]] = {label: [0, 0] for label in available}
    per_figure: dict[str, list[int]] = {name: [0, 0] for name in quality.GOALS}
    errors: dict[str, str] = {}
    truth_fails: list[str] = []
    seconds: dict[str, float] = dict.fromkeys(available, 0.0)
    markdown = [
        "# regrain quality benchmark",
        "",
        "Simulated AI damage on real photographs (scikit-image data) with the ground truth kept; "
        "figures from `regrain._quality` (high band: luma minus Gaussian blur sigma 2 px). "
        "Goals: "
        + ", ".join(f"{n} {g.describe()}" for n, g in quality.GOALS.items())
        + (
            ". Every AI output re-encoded as a whole-frame JPEG (q95): every pixel touched a "
            "little. Produced by `benchmarks/bench_quality.py --reencode`."
            if reencode
            else ". Produced by `make bench-quality`."
        ),
        "",
    ]
    start = time.perf_counter()
    for case_name in cases:
        figures_used = [n for n in quality.GOALS if n in quality.figures_for(case_name)]
        headers = ["photo", "method", *figures_used]
        table = Table(title=f"case: {case_name}", title_justify="left")
        for h in headers:
            table.add_column(h, justify="left" if h in ("photo", "method") else "right")
        rows: list[list[str]] = []
        for photo in photos:
            case = simulate.CASES[case_name](photo, seed=seed)
            if reencode:
                case = simulate.reencoded(case)
            truth_marks = quality.judge(quality.measure(case, case.truth))
            if not all(m is not False for m in truth_marks.values()):
                truth_fails.append(f"{photo}/{case_name}")
            for label, fn in available.items():
                cells: list[str] = []
                styled: list[str] = []
                output = None
                if fn is not None and label not in errors:
                    t0 = time.perf_counter()
                    try:
                        output = fn(case)
                    except Exception as exc:
                        errors[label] = f"{type(exc).__name__}: {exc}"
                    seconds[label] += time.perf_counter() - t0
                figures = quality.measure(case, output) if output is not None else {}
                for name in figures_used:
                    text, mark = _cell(name, figures.get(name)) if figures else ("n/a", None)
                    cells.append(text)
                    styled.append(
                        text if mark is None else f"[{'green' if mark else 'red'}]{text}[/]"
                    )
                    if mark is not None:
                        scores[label][0] += mark
                        scores[label][1] += 1
                        if label == "regrain restore":
                            per_figure[name][0] += mark
                            per_figure[name][1] += 1
                rows.append([photo, label, *cells])
                table.add_row(photo, label, *styled, end_section=label == list(available)[-1])
        console.print(table)
        markdown += [f"## {case_name}", "", _markdown(headers, rows), ""]

    lines = []
    for label, (met, total) in scores.items():
        if total:
            lines.append(f"{label}: meets {met}/{total} goals")
        else:
            lines.append(f"{label}: n/a ({errors.get(label, 'not importable yet')})")
    restore_met, restore_total = scores["regrain restore"]
    detail = ", ".join(f"{n} {m}/{t}" for n, (m, t) in per_figure.items() if t)
    summary = (
        f"SUMMARY: regrain restore meets {restore_met}/{restore_total} goals"
        + (f" ({detail})" if detail else "")
        + f" over {len(photos)} photos x {len(cases)} cases"
    )
    check = (
        "ground truth meets every goal (metric self-check)"
        if not truth_fails
        else f"WARNING: the ground truth itself fails a goal in {', '.join(truth_fails)}"
    )
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items() if v > 0)
    for line in lines:
        console.print(line)
    console.print(check)
    console.print(
        f"time per method (all cases): {timing}; total {time.perf_counter() - start:.0f} s"
    )
    console.print(f"[bold]{summary}[/]")
    markdown += [
        "## Summary",
        "",
        *[f"- {line}" for line in lines],
        f"- {check}",
        "",
        f"**{summary}**",
        "",
    ]
    OUT_DIR.mkdir(exist_ok=True)
    name = "quality-reencoded.md" if reencode else "quality.md"
    (OUT_DIR / name).write_text("\n".join(markdown))
    console.print(f"table written to {OUT_DIR / name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--photos", default=",".join(simulate.PHOTOS), help="comma-separated photos (default: all)"
    )
    parser.add_argument(
        "--cases", default=",".join(simulate.CASES), help="comma-separated cases (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reencode",
        action="store_true",
        help="deliver each AI output as a whole-frame JPEG (q95): every pixel touched a little",
    )
    args = parser.parse_args(argv)
    photos = tuple(p for p in args.photos.split(",") if p)
    cases = tuple(c for c in args.cases.split(",") if c)
    for name in photos:
        if name not in simulate.PHOTOS:
            parser.error(f"unknown photo {name!r}; expected one of: {', '.join(simulate.PHOTOS)}")
    for name in cases:
        if name not in simulate.CASES:
            parser.error(f"unknown case {name!r}; expected one of: {', '.join(simulate.CASES)}")
    return run(photos, cases, args.seed, reencode=args.reencode)


if __name__ == "__main__":
    sys.exit(main())
