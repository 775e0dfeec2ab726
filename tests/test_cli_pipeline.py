"""The command line in pipelines: nothing wrapped, one JSON document, one-line errors, signals.

Every command runs here as a studio's script would run it: the real console script, its output
through a pipe (not a terminal), a 200-character output path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regrain.cli import app
from regrain.io import ImageInfo, write_image

runner = CliRunner()
SIZE = (40, 48)


def regrain(*args: object, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``python -m regrain ARGS`` with stdout and stderr on pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "regrain", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "80"},  # what a log or a pipe gets by default
    )


def invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small 16-bit pair (the edit smooths a square) and a mask of the square."""
    rng = np.random.default_rng(3)
    original = np.clip(0.5 + rng.normal(0, 0.06, (*SIZE, 3)), 0, 1).astype(np.float32)
    edited = original.copy()
    edited[8:32, 10:38] = original[8:32, 10:38].mean(axis=(0, 1))
    mask = np.zeros((*SIZE, 1), np.float32)
    mask[8:32, 10:38] = 1.0
    info = ImageInfo(bits=16)
    return (
        write_image(tmp_path / "o.tif", original, info),
        write_image(tmp_path / "e.tif", edited, info),
        write_image(tmp_path / "m.png", mask, ImageInfo(bits=8)),
    )


def long_folder(tmp_path: Path, length: int = 200) -> Path:
    """A folder whose path is at least *length* characters (beside files of 10-20 more)."""
    name = "a_catalog_folder_with_a_very_long_name_"
    folder = tmp_path
    while len(str(folder)) < length:
        folder = folder / name
    folder.mkdir(parents=True)
    return folder


def test_no_line_of_any_command_is_wrapped_in_a_pipe(tmp_path: Path, pair) -> None:
    original, edited, mask = pair
    out = long_folder(tmp_path)
    # batch: originals with a long file name, so the final table has a long cell
    catalog = tmp_path / "catalog"
    (catalog / "ai").mkdir(parents=True)
    stem = "IMG_0043_product_shot_front_view_studio_lighting_final_" * 2
    (catalog / f"{stem}.tif").write_bytes(original.read_bytes())
    (catalog / "ai" / f"{stem}.tif").write_bytes(edited.read_bytes())
    elsewhere = tmp_path / "elsewhere"  # cwd: paths are printed as given, not relative
    elsewhere.mkdir()
    commands = {
        "restore": ("restore", original, edited, "-o", out / "restored.tif", "--maps",
                    out / "maps"),
        "inspect": ("inspect", original, edited, "-o", out / "loss.png"),
        "batch": ("batch", catalog, catalog / "ai", "-o", out / "batch", "-w", "1"),
        "blend": ("blend", original, edited, "-o", out / "blend.tif", "--mode", "Soft Light"),
        "luminosity": ("luminosity", original, edited, "-o", out / "lum.tif"),
        "grain": ("grain", edited, "-o", out / "grain.tif", "--mask", mask),
        "graft": ("graft", edited, "-o", out / "graft.tif", "--source", "0,0,16,16", "--mask",
                  mask),
        "split": ("split", edited, "-o", out / "stack.psd"),
        "convert": ("convert", edited, "-o", out / "converted.png"),
    }  # fmt: skip
    running = {name: regrain(*args, cwd=elsewhere) for name, args in commands.items()}
    outputs = {name: proc.communicate(timeout=300) for name, proc in running.items()}
    merge = regrain("merge", out / "stack.psd", "-o", out / "merged.tif", cwd=elsewhere)
    outputs["merge"] = merge.communicate(timeout=120)
    running["merge"] = merge
    assert set(outputs) >= {"restore", "inspect", "batch", "blend", "luminosity", "grain",
                            "graft", "split", "merge", "convert"}  # fmt: skip
    for name, (stdout, stderr) in outputs.items():
        assert running[name].returncode == 0, (name, stderr)
        assert str(out) in stdout, (name, stdout)  # the whole path, on one line
        for line in stdout.splitlines():
            # a piece of the long folder name on a line without its start is a wrapped path
            if "very_long_name" in line or "product_shot" in line:
                assert str(tmp_path) in line or stem in line, (name, line)
        assert "\n\n\n" not in stdout
    # the batch table keeps the long file name in one cell
    assert f"{stem}.tif" in outputs["batch"][0]


def test_restore_json_is_one_document_with_paths_and_figures(tmp_path: Path, pair) -> None:
    original, edited, mask = pair
    out = tmp_path / "r.tif"
    code, stdout, stderr = invoke("restore", original, edited, "-o", out, "--mask", mask, "--json")
    assert (code, stderr) == (0, "")
    doc = json.loads(stdout)
    assert doc["output"] == str(out) and doc["original"] == str(original)
    assert doc["mask"] == str(mask) and doc["maps"] is None and doc["strength"] == 1.0
    for key in ("plastic_before", "plastic_after", "energy_ratio_before", "energy_ratio_after"):
        assert 0.0 <= doc[key] <= 10.0, key
    assert doc["seconds"] > 0


def test_inspect_and_batch_json(tmp_path: Path, pair) -> None:
    original, edited, _ = pair
    code, stdout, stderr = invoke("inspect", original, edited, "--json")
    assert (code, stderr) == (0, "")
    doc = json.loads(stdout)
    assert doc["original"] == str(original) and doc["output"] is None
    assert 0 < doc["changed_share"] <= 1 and "energy_ratio" in doc
    catalog = tmp_path / "cat"
    catalog.mkdir()
    (catalog / "a.tif").write_bytes(original.read_bytes())
    (catalog / "a_ai.tif").write_bytes(edited.read_bytes())
    code, stdout, stderr = invoke("batch", catalog, catalog, "-o", tmp_path / "out", "-w", "1",
                                  "--json")  # fmt: skip
    assert code == 0, stderr
    doc = json.loads(stdout)  # nothing else on stdout: no pairing list, no table
    assert doc["counts"]["done"] == 1 and doc["pairs"][0]["name"] == "a.tif"
    assert doc["pairs"][0]["plastic_before"] is not None


def test_quiet_and_verbose(tmp_path: Path, pair) -> None:
    original, edited, _ = pair
    code, stdout, _ = invoke("restore", original, edited, "-o", tmp_path / "q.tif", "-q")
    assert (code, stdout) == (0, "")
    code, stdout, _ = invoke("restore", original, edited, "-o", tmp_path / "v.tif", "-v")
    assert code == 0 and "material auto, strength 1, seed 0" in stdout
    code, _, stderr = invoke("restore", original, edited, "-o", tmp_path / "x.tif", "-q", "-v")
    assert code == 2 and stderr == "regrain: error: give one of --quiet, --verbose, not both.\n"


# ------------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restore", "{o}", "{e}"], "Missing option '--output' / '-o'. See "),
        (["restore", "{o}", "{e}", "-o", "x.tif", "--bogus"], "No such option: --bogus"),
        (["convert", "{e}", "-o", "x.tif", "--quality", "0"], "Invalid value for '--quality'"),
        (["split", "{e}", "-o", "x.psd", "--scales", "0"], "Invalid value for '--scales'"),
        (["batch", "{d}", "{d}", "-o", "out", "--workers", "0"], "Invalid value for '--workers'"),
        (["restore", "{o}"], "Missing argument"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
        (["blend", "{o}", "{e}", "-o", "x.tif", "--bits", "eight"], "Invalid value for '--bits'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path: Path, pair, args, message) -> None:
    original, edited, _ = pair
    names = {"o": original, "e": edited, "d": tmp_path}
    args = [a.format(**{k: str(v) for k, v in names.items()}) for a in args]
    proc = regrain(*args, cwd=tmp_path)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("regrain: error: "), stderr
    assert message in stderr and "╭" not in stderr and "Usage:" not in stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_one_line(tmp_path: Path, pair) -> None:
    _, edited, _ = pair
    edited.chmod(0)
    code, _, stderr = invoke("convert", edited, "-o", tmp_path / "x.png")
    assert code == 2 and stderr.count("\n") == 1 and str(edited) in stderr


def test_memory_error_is_one_line(tmp_path: Path, pair, monkeypatch) -> None:
    import regrain.io

    _, edited, _ = pair

    def no_memory(*args, **kwargs):
        # what numpy raises (its _ArrayMemoryError is a MemoryError with this message)
        raise MemoryError(
            "Unable to allocate 4.47 GiB for an array with shape (20000, 20000, 3) and data type "
            "float32"
        )

    monkeypatch.setattr(regrain.io, "read_image", no_memory)
    for args in (["grain", edited, "-o", tmp_path / "g.tif"],
                 ["blend", edited, edited, "-o", tmp_path / "b.tif"]):  # fmt: skip
        code, stdout, stderr = invoke(*args)
        assert code == 2 and stdout == ""
        assert stderr.startswith("regrain: error: not enough memory for this image (Unable to ")
        assert stderr.count("\n") == 1 and "4.47 GiB" in stderr


# ------------------------------------------------------- options checked before any work
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "command",
    [
        ["restore", "{o}", "{e}", "-o", "{out}.tif"],
        ["inspect", "{o}", "{e}"],
        ["batch", "{d}", "{d}", "-o", "{out}"],
        ["blend", "{o}", "{e}", "-o", "{out}.tif"],
        ["luminosity", "{o}", "{e}", "-o", "{out}.tif"],
        ["grain", "{e}", "-o", "{out}.tif"],
        ["graft", "{e}", "-o", "{out}.tif", "--source", "0,0,16,16", "--mask", "{e}"],
        ["split", "{e}", "-o", "{out}.psd"],
        ["merge", "{e}", "{e}", "-o", "{out}.tif"],
        ["convert", "{e}", "-o", "{out}.tif"],
    ],
)
def test_every_command_refuses_a_bad_pixel_limit(tmp_path: Path, command, value) -> None:
    # the inputs do not exist: the limit is refused before anything is read
    names = {"o": tmp_path / "none.tif", "e": tmp_path / "nothing.tif", "d": tmp_path,
             "out": tmp_path / "out"}  # fmt: skip
    args = [a.format(**{k: str(v) for k, v in names.items()}) for a in command]
    code, stdout, stderr = invoke(*args, "--max-megapixels", value)
    assert code == 2 and stdout == "", stderr
    assert stderr.startswith("regrain: error: --max-megapixels must be "), stderr
    assert stderr.count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tif").exists()


@pytest.mark.parametrize("seed", ["-1", "2147483648", "3.5"])
@pytest.mark.parametrize(
    "command",
    [
        ["restore", "{o}", "{e}", "-o", "{out}.tif"],
        ["batch", "{d}", "{d}", "-o", "{out}"],
        ["grain", "{e}", "-o", "{out}.tif"],
        ["graft", "{e}", "-o", "{out}.tif", "--source", "0,0,16,16", "--mask", "{e}"],
    ],
)
def test_a_bad_seed_is_refused_before_any_work(tmp_path: Path, command, seed) -> None:
    names = {"o": tmp_path / "none.tif", "e": tmp_path / "nothing.tif", "d": tmp_path,
             "out": tmp_path / "out"}  # fmt: skip
    args = [a.format(**{k: str(v) for k, v in names.items()}) for a in command]
    code, _, stderr = invoke(*args, f"--seed={seed}")
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "seed" in stderr and "no such file" not in stderr


def test_maps_and_batch_output_must_be_folders(tmp_path: Path, pair) -> None:
    original, edited, _ = pair
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    cases = [
        (["restore", original, edited, "-o", tmp_path / "r.tif", "--maps", a_file],
         f"{a_file}: --maps names a file, not a folder"),
        (["restore", original, edited, "-o", tmp_path / "r.tif", "--maps", a_file / "maps"],
         f"{a_file / 'maps'}: --maps: cannot create this folder: {a_file} is a file"),
        (["batch", tmp_path, tmp_path, "-o", a_file], f"{a_file}: --output names a file"),
        (["batch", tmp_path, tmp_path, "-o", a_file / "sub" / "out"],
         f"--output: cannot create this folder: {a_file} is a file"),
        (["batch", tmp_path, tmp_path, "-o", tmp_path / "o", "--maps", a_file],
         "--maps names a file, not a folder"),
    ]  # fmt: skip
    for args, message in cases:
        code, stdout, stderr = invoke(*args)
        assert code == 2 and stdout == "", stderr
        assert stderr == f"regrain: error: {message}\n" or message in stderr, stderr
        assert stderr.count("\n") == 1
    assert not (tmp_path / "r.tif").exists() and not (tmp_path / "o").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_batch_output_in_a_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code, _, stderr = invoke("batch", tmp_path, tmp_path, "-o", locked / "out")
    assert code == 2 and f"folder {locked} is not writable" in stderr


@pytest.mark.parametrize(
    ("address", "detail"),
    [
        ("not a url", ""),
        ("tcp://", ": it needs a host and a port."),
        ("tcp://host:99999", ": the port is not a number from 0 to 65535."),
        (
            "http://host:8786",
            ": unknown protocol 'http'; expected one of: tcp, tls, ws, wss, ucx, inproc.",
        ),
        ("tcp://host:8786/path", ": a scheduler address has no path."),
    ],
)
def test_a_bad_scheduler_address_is_refused_at_once(tmp_path: Path, address, detail) -> None:
    start = time.perf_counter()
    proc = regrain("batch", tmp_path, tmp_path, "-o", tmp_path / "o", "--scheduler", address)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.perf_counter() - start < 15  # no connection attempt, no 20 s timeout
    assert proc.returncode == 2 and stdout == ""
    assert stderr == (
        "regrain: error: --scheduler must be a Dask address (tcp://HOST:PORT, HOST:PORT) or an "
        f"existing scheduler file; got {address!r}{detail or '.'}\n"
    )


def test_good_scheduler_addresses_pass_the_check(tmp_path: Path) -> None:
    from regrain.cli.batch import check_scheduler

    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text("{}")
    for address in ("tcp://10.0.0.5:8786", "tls://[::1]:8786", "localhost:8786",
                    str(scheduler_file), "inproc://"):  # fmt: skip
        assert check_scheduler(address) == address


def test_no_pair_found_is_one_line(tmp_path: Path, pair) -> None:
    original, _, _ = pair
    folder = tmp_path / "lonely"
    folder.mkdir()
    for k in range(30):
        (folder / f"shot_{k}.tif").write_bytes(original.read_bytes())
    code, stdout, stderr = invoke("batch", folder, folder, "-o", tmp_path / "o")
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("regrain: error: nothing to do: no pair found; 30 files left out (")
    assert stderr.endswith("; --verbose lists them.\n")
    code, _, stderr = invoke("batch", folder, folder, "-o", tmp_path / "o", "--verbose")
    assert code == 2 and "shot_17.tif" in stderr  # --verbose lists every file left out


# ------------------------------------------------------------------------------- signals
SIGNAL_SCRIPT = """\
import os, signal, sys, time
import regrain.io
from regrain.cli import main

real = regrain.io._write_tiff

def killed_while_writing(tmp, *args):
    real(tmp, *args)  # half of the work: the temporary file exists
    os.kill(os.getpid(), signal.{signal})
    time.sleep(10)

regrain.io._write_tiff = killed_while_writing
sys.argv = ["regrain", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("name", "code", "word"), [("SIGTERM", 143, "terminated"),
                                                     ("SIGINT", 130, "interrupted")])  # fmt: skip
def test_a_signal_while_writing_leaves_no_temporary_file(
    tmp_path: Path, pair, name: str, code: int, word: str
) -> None:
    _, edited, _ = pair
    script = tmp_path / "kill.py"
    script.write_text(SIGNAL_SCRIPT.format(signal=name))
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, str(script), "grain", str(edited), "-o", str(out / "g.tif")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == (
        f"regrain: error: {word}; no output was written for the unfinished image\n"
    )
    assert list(out.iterdir()) == []  # neither the output nor a .part file


def test_the_sigterm_handler_is_only_installed_while_a_command_runs() -> None:
    before = signal.getsignal(signal.SIGTERM)
    invoke("--version")
    assert signal.getsignal(signal.SIGTERM) is before


def test_user_errors_helper_for_other_commands() -> None:
    """The same one-line rule for any command built on user_errors (e.g. a helper's)."""
    import typer

    from regrain.cli._app import Terminated, user_errors

    for exc, code in ((Terminated(), 143), (KeyboardInterrupt(), 130), (MemoryError(), 2)):
        with pytest.raises(typer.Exit) as stop, user_errors():
            raise exc
        assert stop.value.exit_code == code


def test_run_as_a_module_prints_the_same(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """\
        from regrain.cli._app import console
        c = console()
        print(c.is_terminal, c.width, c.soft_wrap)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "10000", "True"]


def test_paths_with_brackets_print_as_they_are(tmp_path: Path, pair) -> None:
    # rich markup would take "[v2]" or "[bold]" for a style and drop it
    original, edited, _ = pair
    folder = tmp_path / "final [v2] [bold]"
    folder.mkdir()
    for args in (["grain", edited, "-o", folder / "g.tif"],
                 ["restore", original, edited, "-o", folder / "r.tif", "--maps", folder / "m"],
                 ["convert", edited, "-o", folder / "c.png"]):  # fmt: skip
        code, stdout, stderr = invoke(*args)
        assert code == 0, stderr
        assert f"wrote {args[-1] if args[0] != 'restore' else folder / 'r.tif'}" in stdout, stdout
