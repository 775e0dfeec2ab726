"""Speed benchmark: ``regrain restore`` end to end on a 24 MP 16-bit RGB TIFF pair.

The pair (6000 x 4000, uncompressed) is built once into bench-output/speed/ from a real photograph
(scikit-image's astronaut, public domain) upscaled, with fine noise texture added so there is
texture to restore, and an edited copy with several smoothed, re-toned regions. Each run is a
separate process, timed wall-clock from start to exit, its peak memory read from the kernel
(``os.wait4`` resource usage, ``ru_maxrss``). Beside it, in the same run and interleaved, the bare
frequency-separation recipe done with OpenCV and tifffile on the same files: read both, Gaussian
blur radius 4, low(edited) + high(original), write 16-bit.

    make bench-speed            # or: .venv/bin/python benchmarks/bench_speed.py [--runs 5]

Goals: median <= 3 s, peak memory <= 2.5 GB, <= 5x the reference. Benchmarks never gate CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT_DIR = Path("bench-output")
PAIR_DIR = OUT_DIR / "speed"
WIDTH, HEIGHT = 6000, 4000
PAIR_VERSION = "1"  # bump when the way the pair is built changes

GOALS = {"median s": 3.0, "peak MB": 2500.0, "x reference": 5.0}

REFERENCE = """
import sys
import cv2
import numpy as np
import tifffile

original, edited, output = sys.argv[1:4]
o = tifffile.imread(original, maxworkers=2).astype(np.float32)
e = tifffile.imread(edited, maxworkers=2).astype(np.float32)
k = 2 * int(np.ceil(4 * 4.0)) + 1
low_o = cv2.GaussianBlur(o, (k, k), 4.0, borderType=cv2.BORDER_REFLECT)
low_e = cv2.GaussianBlur(e, (k, k), 4.0, borderType=cv2.BORDER_REFLECT)
o -= low_o  # high(original)
o += low_e  # + low(edited)
np.clip(o + 0.5, 0, 65535, out=o)
tifffile.imwrite(output, o.astype(np.uint16), photometric="rgb", maxworkers=2)
"""


def build_pair(folder: Path, width: int, height: int) -> tuple[Path, Path]:
    """Write original.tif and edited.tif (16-bit RGB, uncompressed) once; reuse them after."""
    import cv2
    import tifffile

    from regrain._filters import gaussian_blur
    from regrain._simulate import load_photo

    original, edited = folder / "original.tif", folder / "edited.tif"
    stamp = folder / f"pair-{PAIR_VERSION}-{width}x{height}.ok"
    if stamp.exists() and original.exists() and edited.exists():
        return original, edited
    folder.mkdir(parents=True, exist_ok=True)
    print(f"building the {width}x{height} 16-bit pair in {folder} (once) ...", flush=True)

    photo = load_photo("astronaut")
    h = round(photo.shape[1] * height / width)
    photo = photo[(photo.shape[0] - h) // 2 :][:h]
    big = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
    # fine texture: monochrome grain ~ 2% at sigma 0.8 px, stronger in the midtones
    rng = np.random.default_rng(0)
    grain = np.empty((height, width), np.float32)
    cv2.setRNGSeed(0)
    cv2.randn(grain, 0.0, 1.0)
    grain = gaussian_blur(grain, 0.8)
    grain *= np.float32(0.02 / grain.std())
    luma = big.mean(axis=2)
    grain *= 0.5 + 2.0 * luma * (1.0 - luma)
    big += grain[..., None]
    np.clip(big, 0.0, 1.0, out=big)
    orig16 = np.round(big * 65535.0).astype(np.uint16)
    del grain, luma

    # several retouched regions: smoothed (sigma 3 px) and lifted 2%, feathered edges
    retouched = big.copy()
    yy, xx = np.ogrid[0:height, 0:width]
    for _ in range(7):
        cy, cx = rng.uniform(0.1, 0.9) * height, rng.uniform(0.1, 0.9) * width
        ry, rx = rng.uniform(0.04, 0.12) * height, rng.uniform(0.04, 0.12) * width
        y0, y1 = int(max(0, cy - ry - 40)), int(min(height, cy + ry + 40))
        x0, x1 = int(max(0, cx - rx - 40)), int(min(width, cx + rx + 40))
        d = np.sqrt(((yy[y0:y1] - cy) / ry) ** 2 + ((xx[:, x0:x1] - cx) / rx) ** 2)
        w = np.clip((1.0 - d) * min(ry, rx) / 24.0 + 0.5, 0.0, 1.0).astype(np.float32)[..., None]
        crop = big[y0:y1, x0:x1]
        smooth = gaussian_blur(crop, 3.0) * np.float32(1.02)
        retouched[y0:y1, x0:x1] = crop * (1.0 - w) + smooth * w
    np.clip(retouched, 0.0, 1.0, out=retouched)
    edit16 = np.round(retouched * 65535.0).astype(np.uint16)
    del big, retouched
    tifffile.imwrite(original, orig16, photometric="rgb", maxworkers=2)
    tifffile.imwrite(edited, edit16, photometric="rgb", maxworkers=2)
    changed = float(np.any(orig16 != edit16, axis=2).mean())
    print(f"  {changed:.0%} of the pixels retouched", flush=True)
    stamp.write_text("ok\n")
    return original, edited


def restore_command(original: Path, edited: Path, output: Path) -> tuple[list[str], str]:
    """The CLI if ``regrain restore`` exists, else a ``python -c`` calling restore_file."""
    exe = Path(sys.executable).with_name("regrain")
    regrain = str(exe) if exe.exists() else shutil.which("regrain")
    if regrain:
        probe = subprocess.run(
            [regrain, "restore", "--help"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [regrain, "restore", str(original), str(edited), "-o", str(output)], (
                "regrain restore (CLI)"
            )
    code = (
        "import sys; from regrain._restore_file import restore_file; "
        "restore_file(sys.argv[1], sys.argv[2], sys.argv[3])"
    )
    return [sys.executable, "-c", code, str(original), str(edited), str(output)], (
        "restore_file (python -c)"
    )


def timed(command: list[str]) -> tuple[float, float, float]:
    """Run *command*; return (wall seconds, CPU seconds, peak resident MB) of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} ... failed ({proc.returncode}):\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    original, edited = build_pair(PAIR_DIR, args.width, args.height)
    out_restore = PAIR_DIR / "restored.tif"
    out_reference = PAIR_DIR / "reference.tif"
    command, label = restore_command(original, edited, out_restore)
    reference = [sys.executable, "-c", REFERENCE, str(original), str(edited), str(out_reference)]

    results: dict[str, list[tuple[float, float, float]]] = {label: [], "reference (OpenCV)": []}
    load_before = os.getloadavg()[0]
    for run in range(args.runs):  # interleaved, so both see the same machine
        for name, cmd, out in (
            (label, command, out_restore),
            ("reference (OpenCV)", reference, out_reference),
        ):
            out.unlink(missing_ok=True)
            results[name].append(timed(cmd))
        console.print(
            f"run {run + 1}/{args.runs}: "
            + ", ".join(f"{k} {v[-1][0]:.2f} s" for k, v in results.items())
        )

    ref_median = statistics.median(s for s, _, _ in results["reference (OpenCV)"])
    headers = ["", "median s", "min s", "cpu s", "peak MB", "x reference"]
    table = Table(
        title=f"{args.width}x{args.height} 16-bit RGB TIFF pair, {args.runs} runs each, "
        f"{os.cpu_count()} cores, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for h in headers:
        table.add_column(h, justify="left" if not h else "right")
    md_rows = []
    for name, samples in results.items():
        seconds = [s for s, _, _ in samples]
        med = statistics.median(seconds)
        values = {
            "median s": (med, "{:.2f}"),
            "min s": (min(seconds), "{:.2f}"),
            "cpu s": (statistics.median(c for _, c, _ in samples), "{:.2f}"),
            "peak MB": (max(m for _, _, m in samples), "{:.0f}"),
            "x reference": (med / ref_median, "{:.1f}"),
        }
        cells = []
        for key, (value, fmt) in values.items():
            text = fmt.format(value)
            if name == label and key in GOALS:
                text += " PASS" if value <= GOALS[key] else " FAIL"
            cells.append(text)
        table.add_row(name, *cells)
        md_rows.append([name, *cells])
    goal_row = ["goal", "<= 3", "", "", "<= 2500", "<= 5"]
    table.add_row(*goal_row, style="dim")
    console.print(table)
    md = [
        "# regrain speed benchmark",
        "",
        f"{args.width}x{args.height} 16-bit RGB uncompressed TIFF pair; {args.runs} runs each, "
        "interleaved; wall time of the whole process, its CPU time (user + system) and peak RSS "
        f"from the kernel; {os.cpu_count()} cores, load average {load_before:.1f} at the start. "
        "Produced by `make bench-speed`.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *["| " + " | ".join(r) + " |" for r in [*md_rows, goal_row]],
        "",
    ]
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "speed.md").write_text("\n".join(md))
    console.print(f"command timed: {' '.join(command[:2])} ...; table in {OUT_DIR / 'speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
