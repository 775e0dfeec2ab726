"""Catalog throughput: pairs restored per minute by ``regrain batch`` with 1 and 2 local workers,
and what the report (report.html, its pictures and the maps they need) costs per pair.

Generates 20 pairs of 12 MP (4240 x 2832) 16-bit RGB TIFFs into a temporary folder: a seeded
"photo" (smooth tones plus fine grain) and its "AI edit", the same photo with a Gaussian-smoothed
copy blended into a few soft-edged regions (texture gone, tones kept). Then runs the real batch
(``regrain._batch.run_batch`` with ``restore_file``, Dask LocalCluster start-up included) once per
worker count and prints a table. Then the report's cost per pair against the restore itself:
the maps restore writes for it (``restore_file`` with and without ``maps_dir``, on one pair), the
pictures the workers make after each restore (``report_seconds`` of the summary) and the page
(``build_report``). Not a test: it never fails on a time.

    make bench-batch                       # or: .venv/bin/python benchmarks/bench_batch.py
    .venv/bin/python benchmarks/bench_batch.py --pairs 4 --width 2000 --height 1500   # quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_pair(seed: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A 16-bit (original, edited) pair: the edit smooths a few feathered ellipses."""
    import cv2

    rng = np.random.default_rng(seed)
    tones = rng.random((height // 64 + 1, width // 64 + 1, 3), dtype=np.float32)
    tones = cv2.resize(tones, (width, height), interpolation=cv2.INTER_CUBIC)
    photo = np.empty((height, width, 3), np.float32)
    cv2.randn(photo, 0.0, 0.03)  # grain
    photo += 0.15 + 0.7 * np.clip(tones, 0, 1)
    np.clip(photo, 0, 1, out=photo)

    weight = np.zeros((height, width), np.float32)
    for _ in range(4):
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        axes = (
            int(rng.integers(width // 12, width // 5)),
            int(rng.integers(height // 12, height // 5)),
        )
        cv2.ellipse(weight, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    weight = cv2.GaussianBlur(weight, (0, 0), 12)[..., None]
    smooth = cv2.GaussianBlur(photo, (0, 0), 3)
    edited = photo + weight * (smooth - photo)
    to16 = lambda a: (a * 65535 + 0.5).astype(np.uint16)  # noqa: E731
    return to16(photo), to16(edited)


def generate(root: Path, pairs: int, width: int, height: int) -> tuple[Path, Path]:
    import tifffile

    originals, edited = root / "originals", root / "edited"
    originals.mkdir(parents=True)
    edited.mkdir()
    for k in range(pairs):
        photo, edit = make_pair(k, width, height)
        tifffile.imwrite(originals / f"shot{k:03d}.tif", photo, photometric="rgb", maxworkers=2)
        tifffile.imwrite(edited / f"shot{k:03d}_ai.tif", edit, photometric="rgb", maxworkers=2)
    return originals, edited


def maps_cost(originals: Path, edited: Path, root: Path, repeat: int = 3) -> tuple[float, float]:
    """Median seconds of restore_file on the first pair without and with maps_dir."""
    from regrain._restore_file import restore_file

    original = sorted(originals.iterdir())[0]
    edit = edited / f"{original.stem}_ai.tif"
    times: dict[bool, list[float]] = {False: [], True: []}
    for k in range(repeat):
        for maps in (False, True):
            out = root / f"maps-cost-{k}-{maps}.tif"
            start = time.perf_counter()
            restore_file(original, edit, out, maps_dir=root / f"maps-{k}" if maps else None)
            times[maps].append(time.perf_counter() - start)
    return float(np.median(times[False])), float(np.median(times[True]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--width", type=int, default=4240)
    parser.add_argument("--height", type=int, default=2832)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    try:
        from regrain._restore_file import restore_file  # noqa: F401 - the real job, or no benchmark
    except ImportError as exc:
        sys.exit(
            f"bench_batch: regrain._restore_file.restore_file is not available ({exc}); "
            "this benchmark measures the real restore and will not fake it."
        )
    from regrain._batch import pair_folders, run_batch
    from regrain._report import build_report

    root = Path(tempfile.mkdtemp(prefix="regrain-bench-batch-"))
    try:
        start = time.perf_counter()
        originals, edited = generate(root, args.pairs, args.width, args.height)
        mp = args.width * args.height / 1e6
        print(
            f"generated {args.pairs} pairs of {args.width}x{args.height} ({mp:.1f} MP) 16-bit "
            f"RGB TIFFs in {time.perf_counter() - start:.1f} s ({root}); {os.cpu_count()} cores"
        )
        rows, pictures, pages = [], [], []
        for workers in args.workers:
            out = root / f"out-{workers}"
            start = time.perf_counter()
            summary = run_batch(pair_folders(originals, edited, out), out, workers=workers)
            seconds = time.perf_counter() - start
            failed = [r for r in summary.results if r.status != "done"]
            if failed:
                sys.exit(f"bench_batch: {len(failed)} pairs not done, e.g. {failed[0].reason}")
            per_pair = np.median([r.seconds for r in summary.results])
            rows.append((workers, args.pairs, seconds, 60 * args.pairs / seconds, per_pair))
            pictures.append(np.median([r.report_seconds for r in summary.results]))
            start = time.perf_counter()
            build_report(out, make_pictures=False)
            pages.append((time.perf_counter() - start) / args.pairs)
            shutil.rmtree(out)
        base = rows[0][3]
        print()
        print("| workers | pairs | seconds | pairs/min | speed-up | median s/pair (in worker) |")
        print("|--------:|------:|--------:|----------:|---------:|--------------------------:|")
        for workers, pairs, seconds, rate, per_pair in rows:
            print(
                f"| {workers:7d} | {pairs:5d} | {seconds:7.1f} | {rate:9.2f} | "
                f"{rate / base:7.2f}x | {per_pair:25.2f} |"
            )
        plain, with_maps = maps_cost(originals, edited, root)
        maps_s = with_maps - plain
        picture_s, page_s = float(np.median(pictures)), float(np.median(pages))
        report_s = maps_s + picture_s + page_s
        restore_s = (
            rows[0][4] - maps_s
        )  # one worker's median, less the maps it wrote for the report
        print()
        print("| one worker, per pair                             | s/pair | of the restore |")
        print("|--------------------------------------------------|-------:|---------------:|")
        for name, value in (
            ("restore in the worker (summary seconds, no maps)", restore_s),
            ("maps the report shows (write_maps, warm)", maps_s),
            ("pictures: thumbnails, 100% crops, map thumbs", picture_s),
            ("report.html (per pair)", page_s),
            ("the report in all", report_s),
        ):
            print(f"| {name:<48} | {value:6.2f} | {100 * value / restore_s:13.0f}% |")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":  # worker processes are spawned: they must not rerun the benchmark
    sys.exit(main())
