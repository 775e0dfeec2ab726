"""Bad inputs a careless user, a script or a broken disk hands regrain, through the real console
script: how many of each kind were tried and how many held.

Every case runs ``regrain ...`` in a subprocess, in a fresh folder of small files it makes (64x64
px). A case *held* when regrain answered as it promises: exit code 2, one line on stderr starting
``regrain: error:``, no traceback, and no file in the folder created, changed or removed. Two
kinds differ: a batch pair whose output would be an input fails that pair (exit 1) with the inputs
untouched; a fuzzed file may also be a good image (exit 0, the output written, nothing else).
Categories: the items of issue 11 (output = input through any path, options checked before the
work, Click's usage errors, a mismatched pair) and the fuzz corpora of ``tests/test_fuzz.py``
(mutated TIFF, PNG, JPEG and PSD files through ``regrain convert``). Not a test: it prints a table
(and writes it to ``bench-output/bad-inputs.md``); ``docs/bad-inputs.md`` keeps it as measured.

    .venv/bin/python benchmarks/bench_bad_inputs.py               # ~3 min on 2 cores
    .venv/bin/python benchmarks/bench_bad_inputs.py --fuzz 10     # quick look
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REGRAIN = Path(sys.executable).with_name("regrain")
SIZE = 64
TIMEOUT_S = 60  # a case that takes longer hangs: it did not hold


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    setup: Callable[[Path], list[str]]
    """Makes the case's files in a folder and returns regrain's arguments."""
    kind: str = "refuse"
    """refuse: exit 2, one line, nothing written; pair-fails: a batch pair refused, inputs kept;
    fuzz: refused as *refuse*, or read and converted."""


# ------------------------------------------------------------------------------ files of a case


def _pair(folder: Path) -> dict[str, Path]:
    from regrain.io import ImageInfo, write_image

    rng = np.random.default_rng(1)
    orig = rng.random((SIZE, SIZE, 3), dtype=np.float32)
    edit = orig.copy()
    edit[16:48, 16:48] = edit[16:48, 16:48].mean(axis=(0, 1))
    mask = np.zeros((SIZE, SIZE, 1), np.float32)
    mask[12:52, 12:52] = 1.0
    paths = {"o": folder / "o.tif", "e": folder / "e.tif", "m": folder / "m.png"}
    write_image(paths["o"], orig, ImageInfo(bits=8))
    write_image(paths["e"], edit, ImageInfo(bits=8))
    write_image(paths["m"], mask, ImageInfo(format="png", bits=8))
    return paths


def _command(name: str, p: dict[str, Path]) -> list[str]:
    """A good invocation of every command but its output."""
    folder = p["o"].parent
    if name == "batch":
        for sub, src, dst in (("orig", "o", "a.tif"), ("ai", "e", "a_ai.tif")):
            (folder / sub).mkdir(exist_ok=True)
            if not (folder / sub / dst).exists():
                os.link(p[src], folder / sub / dst)
        return ["batch", str(folder / "orig"), str(folder / "ai"), "--workers", "1"]
    args = {
        "restore": ["restore", p["o"], p["e"], "--mask", p["m"]],
        "inspect": ["inspect", p["o"], p["e"], "--mask", p["m"]],
        "convert": ["convert", p["m"]],
        "grain": ["grain", p["o"], "--mask", p["m"]],
        "blend": ["blend", p["o"], p["e"], "--mask", p["m"]],
        "graft": ["graft", p["o"], "--source", "0,0,8,8", "--mask", p["m"]],
        "luminosity": ["luminosity", p["o"], p["e"], "--mask", p["m"]],
        "split": ["split", p["o"]],
        "merge": ["merge", p["o"], p["e"]],
    }[name]
    return [str(a) for a in args]


def _default_output(name: str, folder: Path) -> list[str]:
    out = {"batch": "out", "split": "out.psd", "inspect": "out.png"}.get(name, "out.tif")
    return ["-o", str(folder / out)]


COMMANDS = ("restore", "inspect", "convert", "grain", "blend", "graft", "luminosity", "split",
            "merge", "batch")  # fmt: skip
IMAGE_COMMANDS = (*COMMANDS[:7], "merge")


# ------------------------------------------------------------------------------ the categories


def _output_is_input() -> list[Case]:
    def way(command: str, how: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            p = _pair(folder)
            args = _command(command, p)
            target = p["m"] if str(p["m"]) in args else p["e"]
            if how == "same":
                out = target
            elif how == "symlink":
                out = folder / f"link{target.suffix}"
                out.symlink_to(target.name)
            elif how == "hard-link":
                out = folder / f"hard{target.suffix}"
                os.link(target, out)
            else:  # through a linked folder
                (folder / "elsewhere").symlink_to(folder, target_is_directory=True)
                out = folder / "elsewhere" / target.name
            return [*args, "-o", str(out), *(["--overwrite"] * (command == "restore"))]

        return setup

    def mask_in_maps(folder: Path) -> list[str]:
        p = _pair(folder)
        (folder / "maps").mkdir()
        mask = p["m"].rename(folder / "maps" / "changed.png")
        return ["restore", str(p["o"]), str(p["e"]), "--mask", str(mask), "--maps",
                str(folder / "maps"), "-o", str(folder / "out.tif")]  # fmt: skip

    def batch_link(kind: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            args = _command("batch", _pair(folder))
            (folder / "out").mkdir()
            if kind == "symlink":
                (folder / "out" / "a.tif").symlink_to(folder / "orig" / "a.tif")
            else:
                os.link(folder / "orig" / "a.tif", folder / "out" / "a.tif")
            return [*args, "-o", str(folder / "out"), "--force"]

        return setup

    cases = [
        Case("output is an input", f"{c} {how}", way(c, how))
        for c in IMAGE_COMMANDS
        for how in ("same", "symlink", "hard-link", "linked-folder")
    ]
    cases.append(Case("output is an input", "restore mask in --maps", mask_in_maps))
    cases += [
        Case("output is an input", f"batch {k}", batch_link(k), kind="pair-fails")
        for k in ("symlink", "hard-link")
    ]
    return cases


def _bad_options() -> list[Case]:
    def option(command: str, *extra: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            args = _command(command, _pair(folder))
            if "--scheduler" in extra:  # --workers is for local runs: it would be refused first
                args = args[:-2]
            return [*args, *_default_output(command, folder), *extra]

        return setup

    def maps(command: str, where: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            args = [*_command(command, _pair(folder)), *_default_output(command, folder)]
            (folder / "taken").write_text("notes")
            path = folder / "taken" if where == "a file" else folder / "taken" / "maps"
            return [*args, "--maps", str(path)]

        return setup

    def batch_out(where: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            args = _command("batch", _pair(folder))
            (folder / "taken").write_text("notes")
            path = folder / "taken" if where == "a file" else folder / "taken" / "out"
            return [*args, "-o", str(path)]

        return setup

    cases = [
        Case(
            "options checked first", f"{c} --max-megapixels {v}", option(c, f"--max-megapixels={v}")
        )
        for c in COMMANDS
        for v in ("nan", "inf", "-1")
    ]
    cases += [
        Case("options checked first", f"{c} --seed {v}", option(c, f"--seed={v}"))
        for c in ("restore", "grain", "graft", "batch")
        for v in ("-1", str(2**40))
    ]
    cases += [
        Case("options checked first", f"{c} --maps {w}", maps(c, w))
        for c in ("restore", "batch")
        for w in ("a file", "under a file")
    ]
    cases += [Case("options checked first", f"batch -o {w}", batch_out(w))
              for w in ("a file", "under a file")]  # fmt: skip
    cases += [
        Case("options checked first", f"batch --scheduler {a!r}", option("batch", "--scheduler", a))
        for a in ("not a url", "tcp://nowhere", "http://host:8786")
    ]
    return cases


def _usage_errors() -> list[Case]:
    def mistake(command: str, what: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            args = _command(command, _pair(folder))
            if what == "missing -o":
                return args
            args += _default_output(command, folder)
            return {
                "unknown option": [*args, "--sharpen"],
                "--quality 0": [*args, "--quality", "0"],
                "value missing": [*args, "--max-megapixels"],
                "--scales 0": [*args, "--scales", "0"],
                "--workers 0": [*args[:-2], "--workers", "0"],
            }[what]

        return setup

    cases = [
        Case("usage errors", f"{c} {w}", mistake(c, w))
        for c in COMMANDS
        for w in ("missing -o", "unknown option", "value missing")
        if not (c == "inspect" and w == "missing -o")
    ]
    cases += [Case("usage errors", f"{c} --quality 0", mistake(c, "--quality 0"))
              for c in ("restore", "convert", "grain", "blend", "graft", "luminosity", "merge",
                        "batch")]  # fmt: skip
    cases.append(Case("usage errors", "split --scales 0", mistake("split", "--scales 0")))
    cases.append(Case("usage errors", "batch --workers 0", mistake("batch", "--workers 0")))
    return cases


def _mismatched_pairs() -> list[Case]:
    from regrain.io import ImageInfo, read_image, write_image

    def bad(command: str, role: str, how: str) -> Callable[[Path], list[str]]:
        def setup(folder: Path) -> list[str]:
            p = _pair(folder)
            pixels, info = read_image(p["o"])
            path = folder / f"bad-{how}.tif"
            if how == "smaller":
                write_image(path, np.ascontiguousarray(pixels[:48]), info)
            elif how == "gray":
                write_image(path, np.ascontiguousarray(pixels[..., :1]), info)
            elif how == "shifted":
                write_image(path, np.roll(pixels, 3, axis=1), info)
            elif how == "small mask":
                path = folder / "small-mask.png"
                write_image(path, np.ones((32, 32, 1), np.float32), ImageInfo(format="png", bits=8))
            else:
                path.write_bytes(b"II*\x00" + bytes(200))
            args = [str(path) if a == str(p[role]) else a for a in _command(command, p)]
            return [*args, *_default_output(command, folder)]

        return setup

    return [
        Case("mismatched pairs", f"{c} {role} {how}", bad(c, role, how))
        for c, role, how in (
            ("restore", "e", "smaller"), ("restore", "e", "gray"), ("restore", "e", "shifted"),
            ("restore", "m", "small mask"), ("restore", "o", "garbage"),
            ("inspect", "e", "smaller"), ("blend", "e", "smaller"), ("blend", "m", "small mask"),
            ("luminosity", "o", "smaller"), ("grain", "m", "small mask"),
            ("graft", "m", "small mask"),
        )
    ]  # fmt: skip


def _no_pair() -> list[Case]:
    def setup(folder: Path) -> list[str]:
        for sub, names in (("orig", "shot{:02}.tif"), ("ai", "other{:02}_ai.png")):
            (folder / sub).mkdir()
            for i in range(17):
                (folder / sub / names.format(i)).touch()
        return ["batch", str(folder / "orig"), str(folder / "ai"), "-o", str(folder / "out")]

    return [Case("mismatched pairs", "batch: no pair found", setup)]


def _fuzz(per_format: int) -> list[Case]:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_fuzz

    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (suffix, make) in sorted(test_fuzz.FORMATS.items()):
            sources = make(Path(tmp))
            for seed in range(per_format):
                data = test_fuzz._mutant(fmt, sources[seed % len(sources)], seed)

                def setup(folder: Path, data: bytes = data, suffix: str = suffix) -> list[str]:
                    (folder / f"in{suffix}").write_bytes(data)
                    return ["convert", str(folder / f"in{suffix}"), "-o", str(folder / "out.tif")]

                cases.append(Case(f"fuzzed {fmt.upper()}", f"seed {seed}", setup, kind="fuzz"))
    return cases


# ------------------------------------------------------------------------------ running


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under *folder* (links as their target text) and its bytes: what a case must
    leave as it was (tests/test_robust.py uses it too)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
        else:
            out[rel + "/"] = b""
    return out


def run_case(case: Case) -> tuple[bool, str]:
    """Run one case; return whether it held and what regrain printed (or why it did not hold)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = case.setup(folder)
        before = snapshot(folder)
        try:
            done = subprocess.run([str(REGRAIN), *args], cwd=folder, capture_output=True,
                                  text=True, timeout=TIMEOUT_S)  # fmt: skip
        except subprocess.TimeoutExpired:
            return False, f"no answer in {TIMEOUT_S} s"
        after = snapshot(folder)
        lines = done.stderr.splitlines()
        said = lines[0] if lines else done.stdout.strip().splitlines()[-1:] or ""
        if "Traceback" in done.stdout + done.stderr:
            return False, f"traceback (exit {done.returncode})"
        if case.kind == "pair-fails":
            kept = all(after.get(k) == v for k, v in before.items())
            return done.returncode in (1, 2) and kept, str(said)
        if case.kind == "fuzz" and done.returncode == 0:
            new = set(after) - set(before)
            same = all(after.get(k) == v for k, v in before.items())
            return new == {"out.tif"} and same, "read"
        one_line = len(lines) == 1 and lines[0].startswith("regrain: error: ")
        if done.returncode != 2 or not one_line or after != before:
            return False, f"exit {done.returncode}, {len(lines)} lines: {done.stderr[:200]!r}"
        return True, lines[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz", type=int, default=25, help="fuzzed files per format")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--show", action="store_true", help="print every case's answer")
    options = parser.parse_args()

    cases = (_output_is_input() + _bad_options() + _usage_errors() + _mismatched_pairs()
             + _no_pair() + _fuzz(options.fuzz))  # fmt: skip
    with ThreadPoolExecutor(options.jobs) as pool:
        results = list(pool.map(run_case, cases))
    table: dict[str, list[int]] = {}
    failed = []
    for case, (held, said) in zip(cases, results, strict=True):
        row = table.setdefault(case.category, [0, 0])
        row[0] += 1
        row[1] += held
        if not held:
            failed.append(f"{case.category}: {case.name}: {said}")
        if options.show:
            print(f"{'held' if held else 'BROKE'}  {case.category}: {case.name}: {said}")
    rows = ["| category | tried | held |", "|---|---:|---:|"]
    rows += [f"| {name} | {tried} | {held} |" for name, (tried, held) in table.items()]
    total = [sum(r[0] for r in table.values()), sum(r[1] for r in table.values())]
    rows.append(f"| **all** | **{total[0]}** | **{total[1]}** |")
    text = "\n".join(rows)
    print(text)
    for line in failed:
        print(f"did not hold: {line}")
    out = ROOT / "bench-output"
    out.mkdir(exist_ok=True)
    (out / "bad-inputs.md").write_text(text + "\n" + "".join(f"\n- {f}" for f in failed) + "\n")


if __name__ == "__main__":
    main()
