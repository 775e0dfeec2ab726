"""Memory benchmark: peak resident memory per pixel of every command, for ``regrain._memory``.

Each command runs as its own process on 16-bit RGB TIFFs of 4 and 16 MP (a seeded gradient with
noise; the "edited" copy has a smoothed square, so restore and inspect have work to do). Its peak
RSS comes from the kernel (``os.wait4``'s ``ru_maxrss``); the interpreter's own (Python with
numpy and regrain imported, measured the same way) is subtracted. Peak = fixed + pixels x B/px:
the slope between the two sizes is what grows with the image (what
:data:`regrain._memory.BYTES_PER_PIXEL` holds, rounded up by 20 %), the rest (libraries imported
on first use, fixed buffers) is :data:`regrain._memory.FIXED_BYTES`.

    .venv/bin/python benchmarks/bench_memory.py [--sizes 4 16]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from regrain import io

OUT_DIR = Path("bench-output") / "memory"
PY = sys.executable
REGRAIN = [PY, "-m", "regrain"]


def make_inputs(megapixels: int) -> dict[str, Path]:
    import tifffile
    from PIL import Image

    folder = OUT_DIR / f"{megapixels}mp"
    folder.mkdir(parents=True, exist_ok=True)
    width = int(math.sqrt(megapixels * 1e6 * 3 / 2))
    height = int(megapixels * 1e6 / width)
    paths = {n: folder / f"{n}.tif" for n in ("original", "edited")}
    paths["mask"] = folder / "mask.png"
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.linspace(0, 0.6, height), np.linspace(0, 0.3, width))
    image = np.empty((height, width, 3), np.uint16)
    for c in range(3):
        noise = rng.normal(0, 0.03, (height, width))
        image[..., c] = np.clip((ramp + 0.1 * c + noise) * 65535, 0, 65535)
    tifffile.imwrite(paths["original"], image, photometric="rgb")
    h0, w0 = height // 3, width // 3
    edited = image.copy()
    edited[h0 : 2 * h0, w0 : 2 * w0] = image[h0 : 2 * h0, w0 : 2 * w0].mean(axis=(0, 1))
    tifffile.imwrite(paths["edited"], edited, photometric="rgb")
    mask = np.zeros((height, width), np.uint8)
    mask[h0 : 2 * h0, w0 : 2 * w0] = 255
    Image.fromarray(mask).save(paths["mask"])
    return paths


def commands(p: dict[str, Path], out: Path) -> dict[str, list[str]]:
    o, e, m = str(p["original"]), str(p["edited"]), str(p["mask"])
    split = out / "split"
    return {
        "read": [PY, "-c", f"from regrain import io; io.read_image({o!r})"],
        "convert": [*REGRAIN, "convert", o, "-o", str(out / "convert.png"), "-q"],
        "split": [*REGRAIN, "split", o, "-o", str(split), "-q"],
        "merge": [*REGRAIN, "merge", str(split), "-o", str(out / "merge.tif"), "-q"],
        "grain": [
            *REGRAIN,
            "grain",
            o,
            "--material",
            "skin",
            "--mask",
            m,
            "-o",
            str(out / "grain.tif"),
            "-q",
        ],
        "blend": [*REGRAIN, "blend", o, e, "-o", str(out / "blend.tif"), "-q"],
        "graft": [
            *REGRAIN,
            "graft",
            o,
            "--source",
            "0,0,256,256",
            "--mask",
            m,
            "-o",
            str(out / "graft.tif"),
            "-q",
        ],
        "luminosity": [*REGRAIN, "luminosity", o, e, "-o", str(out / "lum.tif"), "-q"],
        "restore": [*REGRAIN, "restore", o, e, "-o", str(out / "restore.tif"), "-q"],
        "inspect": [*REGRAIN, "inspect", o, e, "-q"],
    }


def peak_rss(cmd: list[str]) -> int:
    """Peak resident memory of *cmd*'s process in bytes (Linux reports ru_maxrss in KB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {err[-300:]}")
    return usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 16], help="megapixels")
    parser.add_argument("--make", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_inputs(args.make)
        return
    # inputs are made by a child: a child's ru_maxrss starts from its parent's RSS at fork, so
    # this process stays small and the same for every measurement (the baseline subtracts it)
    for mp in args.sizes:
        subprocess.run([PY, __file__, "--make", str(mp)], check=True)
    base = peak_rss([PY, "-c", "import numpy, regrain.io, regrain._memory"])
    rows: dict[str, list[float]] = {}
    for mp in args.sizes:
        paths = make_inputs(mp)
        header = io.probe_image(paths["original"])
        pixels = header.width * header.height
        out = OUT_DIR / f"{mp}mp-out"
        shutil.rmtree(out, ignore_errors=True)  # restore refuses to overwrite
        out.mkdir()
        for job, cmd in commands(paths, out).items():
            rows.setdefault(job, []).append((peak_rss(cmd) - base) / pixels)
    print(f"interpreter: {base / 1e6:.0f} MB")
    sizes = [mp * 1e6 for mp in args.sizes]
    head = "".join(f"{f'{mp} MP':>10}" for mp in args.sizes)
    print(f"{'job':<12}{head}{'B/px':>8}{'fixed MB':>10}{'table':>8}")
    for job, values in rows.items():
        # peak = fixed + pixels x slope: the slope from the two largest sizes, the imports and
        # buffers that do not grow with the image in the fixed part
        if len(values) > 1:
            (p0, p1), (v0, v1) = sizes[-2:], values[-2:]
            slope = (v1 * p1 - v0 * p0) / (p1 - p0)
            fixed = (v1 - slope) * p1
        else:
            slope, fixed = values[0], 0.0
        table = math.ceil(slope * 1.2)
        print(f"{job:<12}" + "".join(f"{v:>10.1f}" for v in values)
              + f"{slope:>8.1f}{fixed / 1e6:>10.0f}{table:>8}")  # fmt: skip
    print("(columns per size: peak RSS minus the interpreter's, per pixel; table = B/px + 20 %)")


if __name__ == "__main__":
    main()
