"""``python -m regrain.demo`` (``make demo``): restore the bundled pair and show what changed.

The pair in samples/demo/ is a portrait (NASA's astronaut photograph, public domain) whose
"AI retouch" is simulated, so the perfect result is known: the face was skin-smoothed and re-toned,
glare was removed from a shoulder, blemishes, a scratch and dust were painted out of the chest, a
patch was removed from the sleeve, and a speck was removed from the plain backdrop. The demo runs
``regrain restore`` and ``regrain inspect`` on it exactly as a user would, then scores the result
against the kept ground truth.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

KINDS = {
    "retone": "face: skin-smoothed and re-toned",
    "glare": "shoulder: glare removed",
    "defect": "chest: blemishes, scratch, dust removed",
    "replaced": "sleeve: a patch removed",
    "smooth": "backdrop: a speck removed (must stay smooth)",
}

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "demo"


def _regrain(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``regrain`` command line in a fresh process, as a user would."""
    code = "import sys; from regrain.cli import main; sys.argv[0] = 'regrain'; main()"
    print("$ regrain " + " ".join(args), flush=True)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 and check:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"regrain demo: `regrain {args[0]}` failed (exit {done.returncode})")
    return done


def _inspect(original: Path, edited: Path, picture: Path) -> dict:
    """inspect's figures as JSON, writing its loss picture; the figures alone if that fails."""
    done = _regrain(
        ["inspect", str(original), str(edited), "-o", str(picture), "--json"], check=False
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        print(f"  (the loss picture could not be written: {reason})")
        done = _regrain(["inspect", str(original), str(edited), "--json"])
    return json.loads(done.stdout)


def load_case(folder: Path):
    """The bundled pair and its ground truth as a :class:`regrain._simulate.DamageCase`."""
    import numpy as np

    from regrain import io
    from regrain._simulate import DamageCase, defect_band

    original, _ = io.read_image(folder / "original.tif")
    edited, _ = io.read_image(folder / "edited.tif")
    truth, _ = io.read_image(folder / "truth" / "truth.tif")
    parts = {k: io.read_mask(folder / "truth" / f"region-{k}.png", edited.shape) for k in KINDS}
    defect = io.read_mask(folder / "truth" / "defects.png", edited.shape)
    return DamageCase(
        name="all",
        photo="astronaut",
        material="skin",
        original=original,
        edited=edited,
        truth=truth,
        region=np.maximum.reduce(list(parts.values())),
        defect=defect,
        defect_high=defect_band(original, truth, defect),
        parts=parts,
    )


def _short(path: Path) -> Path:
    """*path* relative to the working folder when it lies inside it (shorter commands)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regrain.demo", description=__doc__)
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder of the demo pair")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    args = parser.parse_args(argv)
    samples, out = _short(args.samples), args.out
    original, edited = samples / "original.tif", samples / "edited.tif"
    if not (original.is_file() and edited.is_file()):
        raise SystemExit(
            f"regrain demo: the demo pair is not in {samples}; it ships with the source tree "
            "(samples/demo/): run `make demo` from a clone of the repository."
        )
    out.mkdir(parents=True, exist_ok=True)
    restored, maps = out / "restored.tif", out / "maps"
    print("regrain demo: a portrait whose AI retouch went plastic in five places:")
    for text in KINDS.values():
        print(f"  - {text}")
    print()

    done = _regrain(
        [
            "restore",
            str(original),
            str(edited),
            "-o",
            str(restored),
            "--maps",
            str(maps),
            "--overwrite",
        ]
    )
    print(done.stdout.strip() + "\n")
    before = _inspect(original, edited, out / "inspect.png")
    after = _inspect(original, restored, out / "inspect-restored.png")
    regions = before.get("regions") or [{}]
    picture = before_after(
        original, edited, restored, regions[0].get("box"), out / "before-after.png"
    )
    print()
    _report(samples, restored, before, after)
    print(f"\nResults in {out}/:")
    print(f"  before-after.png       AI edit | restored, and the worst region at 100%: {picture}")
    print(f"  restored.tif           the restored image (compare with {edited})")
    print("  maps/                  what restore did where (changed, loss, rebuild, gain, classes)")
    for name, text in (
        ("inspect.png", "where the AI edit lost texture"),
        ("inspect-restored.png", "the same after regrain restore"),
    ):
        if (out / name).is_file():
            print(f"  {name:<22} {text}")
    return 0


def before_after(
    original: Path, edited: Path, restored: Path, box: list[int] | None, path: Path
) -> Path:
    """Write the before/after picture: AI edit | restored, and below them the region that lost
    the most texture (*box*, from inspect) at 100% as AI edit / restored / original, in sRGB."""
    from PIL import Image

    from regrain import io
    from regrain._pictures import before_after_picture, crop_box, srgb_icc, to_srgb8

    shown = []
    for source in (edited, restored, original):
        image, info = io.read_image(source)
        shown.append(to_srgb8(image, info.icc))
    picture = before_after_picture(*shown, crop_box(box, shown[0].shape))
    with io.atomic_output(path) as tmp:
        Image.fromarray(picture, "RGB").save(tmp, "PNG", icc_profile=srgb_icc())
    return path


def _report(samples: Path, restored: Path, before: dict, after: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from regrain import _quality as quality
    from regrain import io

    console = Console(highlight=False)
    console.print(
        f"Plastic area (lost >= half its texture), inspect: "
        f"{100 * before['plastic_share']:.1f}% of the image in the AI edit -> "
        f"[bold]{100 * after['plastic_share']:.1f}%[/] after regrain restore"
    )
    case = load_case(samples)
    output, _ = io.read_image(restored)
    table = Table(title="Scored against the kept ground truth", box=box.SIMPLE_HEAD, padding=(0, 1))
    shown = [name for name in quality.GOALS if name != "far"]  # far: one line below
    table.add_column("damage", no_wrap=True)
    table.add_column("image", no_wrap=True)
    for name in shown:
        table.add_column(name, justify="right", no_wrap=True)
    met = total = 0
    for kind in KINDS:
        part = case.part(kind)
        for label, image in (("AI edit", case.edited), ("regrain", output)):
            cells = []
            figures = quality.measure(part, image)
            for name in shown:
                value = figures[name]
                mark = quality.GOALS[name].met(value)
                if mark is None:
                    cells.append("[dim]-[/]")
                    continue
                cells.append(f"[{'green' if mark else 'red'}]{value:.2f} {'✓' if mark else '✗'}[/]")
                if label == "regrain":
                    met, total = met + mark, total + 1
            table.add_row(
                kind if label == "AI edit" else "", label, *cells, end_section=label == "regrain"
            )
    console.print(table)
    far = quality.measure(case, output)["far"]
    far_ok = quality.GOALS["far"].met(far)
    met, total = met + bool(far_ok), total + 1
    console.print(
        f"far from every edit (> {quality.FAR_PX:g} px) the image changed by {far:.3f}% on "
        f"average {'✓' if far_ok else '✗'}"
    )
    console.print(
        "[dim]goals: "
        + ", ".join(f"{n} {g.describe()}" for n, g in quality.GOALS.items())
        + " (tone, far, grain+ in % of full scale; - = does not apply)[/]"
    )
    console.print(f"regrain restore meets [bold]{met}/{total}[/] quality goals on the demo pair.")


if __name__ == "__main__":
    sys.exit(main())
