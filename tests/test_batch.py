"""Catalogs: pairing rules, resume, --force, failing pairs, local workers, Dask clusters.

The batch machinery is tested with a cheap per-pair job (read both files, write the edited one) so
that tests stay fast; the end-to-end tests use the real ``restore_file`` on tiny images. Worker
processes import this module by name to run the cheap jobs (pytest puts tests/ on sys.path, and
spawned workers inherit it).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from regrain._batch import Pair, pair_folders, read_manifest, run_batch
from regrain.cli import app
from regrain.errors import ImageFileError, ParameterError

H, W = 48, 64
VENV_BIN = Path(sys.executable).parent


# ------------------------------------------------------------------------------- helpers
def texture(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """A seeded 16-bit RGB photo stand-in: a gradient plus fine grain."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.2, 0.8, w, dtype=np.float32)[None, :, None]
    grain = rng.normal(0.0, 0.04, (h, w, 3)).astype(np.float32)
    return np.round(np.clip(ramp + grain, 0, 1) * 65535).astype(np.uint16)


def smoothed(pixels: np.ndarray) -> np.ndarray:
    """The 'AI edit': a box blur over the central quarter, everything else untouched."""
    import cv2

    out = pixels.copy()
    h, w = pixels.shape[:2]
    region = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    out[region] = cv2.blur(pixels, (5, 5))[region]
    return out


def write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, pixels, photometric="rgb")
    return path


def catalog(root: Path, stems: list[str], *, suffix: str = "_ai") -> tuple[Path, Path]:
    """originals/<stem>.tif and edited/<stem><suffix>.tif for each stem; returns both folders."""
    for k, stem in enumerate(stems):
        pixels = texture(k)
        write(root / "originals" / f"{stem}.tif", pixels)
        write(root / "edited" / f"{stem}{suffix}.tif", smoothed(pixels))
    return root / "originals", root / "edited"


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def copy_job(original, edited, output, *, mask=None, maps_dir=None, **options) -> dict:
    """Cheap stand-in for restore_file: read both files, check sizes, write the edited one."""
    from regrain import io

    start = time.perf_counter()
    orig, _ = io.read_image(original)
    edit, info = io.read_image(edited)
    if orig.shape != edit.shape:
        raise ImageFileError(edited, f"size {edit.shape[:2]} differs from the original's")
    io.write_image(output, edit, info, inputs=[original, edited])
    pids = Path(output).parent.parent / "pids"
    pids.mkdir(exist_ok=True)
    (pids / f"{Path(output).name}.{os.getpid()}").touch()
    diff = float(np.abs(orig - edit).mean())
    return {
        "plastic_before": diff,
        "energy_ratio_before": 0.5,
        "plastic_after": 0.0,
        "energy_ratio_after": 1.0,
        "seconds": time.perf_counter() - start,
    }


def slow_copy_job(original, edited, output, **options) -> dict:
    time.sleep(0.3)
    return copy_job(original, edited, output, **options)


def write_then_hang_job(original, edited, output, **options) -> dict:
    """Finish the output, then never return: a worker caught between its write and its answer."""
    copy_job(original, edited, output, **options)
    time.sleep(120)
    return {}


def write_then_die_job(original, edited, output, **options) -> dict:
    """Finish the output, then the worker process dies (the kernel's OOM killer, a kill -9)."""
    copy_job(original, edited, output, **options)
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


def batch_process(tmp_path: Path, job: str, originals: Path, edited: Path, out: Path):
    """`regrain batch` in a new session (as a terminal runs it), with *job* as the per-pair job."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_batch\n"
        f"from regrain import _batch; _batch._default_job = lambda: test_batch.{job}\n"
        "from regrain.cli import app; app(sys.argv[2:], prog_name='regrain')\n"
    )
    args = [sys.executable, "-c", script, str(Path(__file__).parent), "batch"]
    args += [str(originals), str(edited), "-o", str(out), "--workers", "2"]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_outputs(out: Path, n: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("*.tif"))) < n:
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"the batch did not write {n} outputs in time")
        time.sleep(0.05)


def stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def summary_of(out: Path) -> dict:
    return json.loads((out / ".regrain" / "summary.json").read_text())


def summary_rows(out: Path) -> dict[str, dict]:
    return {row["name"]: row for row in summary_of(out)["pairs"]}


def reasons(found) -> dict[str, str]:
    return {u.path.name: u.reason for u in found.unpaired}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One two-worker LocalCluster shared by the machinery tests (saves a start-up per test)."""
    import logging

    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
        host="127.0.0.1",
    ) as local:
        yield local.scheduler_address


# ------------------------------------------------------------------------------- pairing
def test_pairing_by_stem_suffix_and_other_extension(tmp_path: Path) -> None:
    touch(*(tmp_path / "o" / n for n in ("a.tif", "b.tif", "c.tif", "d.TIF", "e.tif")))
    touch(
        *(
            tmp_path / "e" / n
            for n in ("a_ai.png", "b-edited.tif", "c_gf.jpg", "D_EDIT.psd", "e.png")
        )
    )
    found = pair_folders(tmp_path / "o", tmp_path / "e", tmp_path / "out")
    got = {p.original.name: (p.edited.name, p.output) for p in found.pairs}
    assert got == {
        "a.tif": ("a_ai.png", tmp_path / "out" / "a.tif"),
        "b.tif": ("b-edited.tif", tmp_path / "out" / "b.tif"),
        "c.tif": ("c_gf.jpg", tmp_path / "out" / "c.tif"),
        "d.TIF": ("D_EDIT.psd", tmp_path / "out" / "d.TIF"),  # the original's format is kept
        "e.tif": ("e.png", tmp_path / "out" / "e.tif"),
    }
    assert found.unpaired == []


def test_unpaired_ambiguous_and_non_image_files_are_reported(tmp_path: Path) -> None:
    touch(*(tmp_path / "o" / n for n in ("f.tif", "g.tif", "readme.txt", ".DS_Store")))
    touch(*(tmp_path / "e" / n for n in ("f_ai.png", "f.png", "h_ai.png")))
    found = pair_folders(tmp_path / "o", tmp_path / "e", tmp_path / "out")
    assert found.pairs == []
    why = reasons(found)
    assert why["f.tif"].startswith("ambiguous: 2 edited candidates")
    assert "f_ai.png" in why["f.tif"] and "f.png" in why["f.tif"]
    assert why["f_ai.png"].startswith("ambiguous") and why["f.png"].startswith("ambiguous")
    assert why["g.tif"].startswith("no counterpart") and "g_ai.*" in why["g.tif"]
    assert why["h_ai.png"].startswith("no counterpart")
    assert why["readme.txt"].startswith("not an image extension")
    assert ".DS_Store" not in why  # hidden files are not the user's catalog


def test_custom_suffixes_replace_the_defaults(tmp_path: Path) -> None:
    touch(tmp_path / "o" / "a.tif", tmp_path / "o" / "b.tif")
    touch(tmp_path / "e" / "a_v2.tif", tmp_path / "e" / "b_ai.tif")
    found = pair_folders(tmp_path / "o", tmp_path / "e", tmp_path / "out", suffixes=["_v2"])
    assert [(p.original.name, p.edited.name) for p in found.pairs] == [("a.tif", "a_v2.tif")]
    assert set(reasons(found)) == {"b.tif", "b_ai.tif"}


def test_one_folder_holding_originals_and_suffixed_edits(tmp_path: Path) -> None:
    touch(*(tmp_path / "shoot" / n for n in ("a.tif", "a_ai.png", "b.tif")))
    found = pair_folders(tmp_path / "shoot", tmp_path / "shoot", tmp_path / "out")
    assert [(p.original.name, p.edited.name) for p in found.pairs] == [("a.tif", "a_ai.png")]
    assert list(reasons(found)) == ["b.tif"]


def test_masks_are_found_by_the_original_stem(tmp_path: Path) -> None:
    touch(*(tmp_path / "o" / n for n in ("a.tif", "b.tif")))
    touch(*(tmp_path / "e" / n for n in ("a_ai.tif", "b_ai.tif")))
    touch(tmp_path / "m" / "a_mask.png")
    found = pair_folders(tmp_path / "o", tmp_path / "e", tmp_path / "out", mask_dir=tmp_path / "m")
    masks = {p.original.name: p.mask for p in found.pairs}
    assert masks == {"a.tif": tmp_path / "m" / "a_mask.png", "b.tif": None}


def test_output_folder_must_not_be_an_input_folder(tmp_path: Path) -> None:
    touch(tmp_path / "o" / "a.tif", tmp_path / "e" / "a.tif")
    with pytest.raises(ParameterError, match="must not be the originals folder"):
        pair_folders(tmp_path / "o", tmp_path / "e", tmp_path / "o")
    with pytest.raises(ImageFileError, match="edited folder not found"):
        pair_folders(tmp_path / "o", tmp_path / "nope", tmp_path / "out")


def test_manifest_with_output_and_mask_columns(tmp_path: Path) -> None:
    touch(
        *(
            tmp_path / "cat" / n
            for n in (
                "raw/a.tif",
                "raw/b.tif",
                "raw/c.tif",
                "ai/a.png",
                "ai/b.png",
                "ai/c.png",
                "masks/a.png",
            )
        )
    )
    manifest = tmp_path / "cat" / "pairs.csv"
    manifest.write_text(
        "original,edited,output,mask\n"
        "raw/a.tif,ai/a.png,final/a_fixed.tif,masks/a.png\n"
        "raw/b.tif,ai/b.png,,\n"
        "raw/c.tif,ai/missing.png,,\n"
        "raw/c.tif,ai/c.png,final/a_fixed.tif,\n"
        "raw/c.tif,ai/c.png,../cat/raw/c.tif,\n"
        "\n",
        encoding="utf-8-sig",  # a BOM, as Excel writes it
    )
    out = tmp_path / "out"
    found = read_manifest(manifest, out)
    cat = tmp_path / "cat"
    assert found.pairs == [
        Pair(cat / "raw/a.tif", cat / "ai/a.png", out / "final/a_fixed.tif", cat / "masks/a.png"),
        Pair(cat / "raw/b.tif", cat / "ai/b.png", out / "b.tif", None),
    ]
    problems = [u.reason for u in found.unpaired]
    assert len(problems) == 3
    assert problems[0] == "manifest line 4: edited not found"
    assert problems[1].startswith("manifest line 5: output")
    assert problems[1].endswith("is already the output of line 2")
    assert problems[2].startswith("manifest line 6: output") and "is an input file" in problems[2]


def test_manifest_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    touch(tmp_path / "a.tif", tmp_path / "a_ai.tif")
    manifest = tmp_path / "pairs.csv"
    manifest.write_text(f"original,edited,output\na.tif,a_ai.tif,{tmp_path / 'a.tif'}\n")
    found = read_manifest(manifest, tmp_path / "out")
    assert found.pairs == []
    assert "is an input file" in found.unpaired[0].reason


def test_manifest_with_a_bad_header_is_a_usage_error(tmp_path: Path) -> None:
    manifest = tmp_path / "pairs.csv"
    manifest.write_text("original,edit\na.tif,b.tif\n")
    with pytest.raises(ImageFileError, match="unknown column 'edit'"):
        read_manifest(manifest, tmp_path / "out")


# ------------------------------------------------------------------------- batch machinery
def test_failing_pairs_do_not_stop_the_others(tmp_path: Path, cluster: str) -> None:
    originals, edited = catalog(tmp_path, ["a", "b", "c", "d"])
    (originals / "b.tif").write_bytes(b"II*\x00 this is not a TIFF")  # corrupt
    write(edited / "c_ai.tif", texture(9, H + 2, W))  # size mismatch
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["batch", str(originals), str(edited), "-o", str(out), "--scheduler", cluster]
    )
    assert result.exit_code == 1, result.output
    rows = summary_rows(out)
    assert {name: row["status"] for name, row in rows.items()} == {
        "a.tif": "done",
        "b.tif": "failed",
        "c.tif": "failed",
        "d.tif": "done",
    }
    assert "b.tif:" in rows["b.tif"]["reason"]  # the file is named, then the problem
    assert "64x50" in rows["c.tif"]["reason"] and "64x48" in rows["c.tif"]["reason"]
    assert "\n" not in rows["b.tif"]["reason"] + rows["c.tif"]["reason"]
    with open(out / ".regrain" / "summary.csv", newline="") as handle:
        csv_rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert csv_rows["b.tif"]["status"] == "failed"
    assert csv_rows["b.tif"]["reason"] == rows["b.tif"]["reason"]
    assert float(csv_rows["a.tif"]["plastic_before"]) > float(csv_rows["a.tif"]["plastic_after"])
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".tif") == ["a.tif", "d.tif"]
    assert "failed b.tif" in result.stdout and "distributed" not in result.output


def test_resume_skips_finished_outputs_and_redoes_half_written_ones(
    tmp_path: Path, cluster: str
) -> None:
    originals, edited = catalog(tmp_path, ["a", "b", "c", "d"])
    out = tmp_path / "out"
    # what a killed run leaves: a finished, b finished but a --force rewrite of it was cut short,
    # c half written (only its temporary file), d not started
    out.mkdir()
    (out / "a.tif").write_bytes(b"finished earlier")
    (out / "b.tif").write_bytes(b"finished earlier")
    (out / ".b.tif.k3x9q1.part.tif").write_bytes(b"II*\x00half")
    (out / ".c.tif.8fj2ma.part.tif").write_bytes(b"II*\x00half")
    (out / ".summary.json.z0a1b2.part").write_text("{")  # an older regrain's
    (out / ".regrain").mkdir()
    (out / ".regrain" / ".summary.json.z0a1b2.part").write_text("{")
    summary = run_batch(pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job)
    status = {r.pair.name: r.status for r in summary.results}
    assert status == {"a.tif": "skipped", "b.tif": "done", "c.tif": "done", "d.tif": "done"}
    assert (out / "a.tif").read_bytes() == b"finished earlier"  # untouched
    np.testing.assert_array_equal(
        tifffile.imread(out / "b.tif"), tifffile.imread(edited / "b_ai.tif")
    )
    np.testing.assert_array_equal(
        tifffile.imread(out / "c.tif"), tifffile.imread(edited / "c_ai.tif")
    )
    assert [p.name for p in out.rglob("*") if ".part" in p.name] == []
    assert summary.exit_code == 0

    # a second run finds everything finished and keeps the figures of the first
    again = run_batch(pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job)
    assert {r.status for r in again.results} == {"skipped"}
    rows = summary_rows(out)
    assert rows["d.tif"]["status"] == "skipped"
    assert rows["d.tif"]["plastic_before"] == pytest.approx(
        next(r for r in summary.results if r.pair.name == "d.tif").figures["plastic_before"]
    )


def test_force_redoes_everything(tmp_path: Path, cluster: str) -> None:
    originals, edited = catalog(tmp_path, ["a", "b"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.tif").write_bytes(b"stale")
    summary = run_batch(
        pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job, force=True
    )
    assert [r.status for r in summary.results] == ["done", "done"]
    np.testing.assert_array_equal(
        tifffile.imread(out / "a.tif"), tifffile.imread(edited / "a_ai.tif")
    )


def test_queue_holds_at_most_twice_the_workers(
    tmp_path: Path, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask.distributed import Client

    originals, edited = catalog(tmp_path, [f"p{k}" for k in range(10)])
    submitted, in_flight = [], []
    real_submit = Client.submit

    def counting_submit(self, *args, **kwargs):
        submitted.append(1)
        return real_submit(self, *args, **kwargs)

    monkeypatch.setattr(Client, "submit", counting_submit)
    seen = []

    def on_result(result) -> None:
        seen.append(result)
        in_flight.append(len(submitted) - len(seen) + 1)

    out = tmp_path / "out"
    run_batch(
        pair_folders(originals, edited, out),
        out,
        scheduler=cluster,
        job=copy_job,
        on_result=on_result,
    )
    assert len(seen) == 10
    assert max(in_flight) <= 4  # 2 workers x 2


def test_local_workers_run_pairs_in_two_processes(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, ["a", "b", "c", "d", "e", "f"])
    out = tmp_path / "run" / "out"
    plans = []
    summary = run_batch(
        pair_folders(originals, edited, out),
        out,
        workers=2,
        job=slow_copy_job,
        on_plan=plans.append,
    )
    assert plans[0].workers == 2 and len(plans[0].todo) == 6
    assert summary.count("done") == 6
    pids = {p.suffix for p in (tmp_path / "run" / "pids").iterdir()}
    assert len(pids) == 2 and f".{os.getpid()}" not in pids


# ---------------------------------------------------------------- end to end, real restore
def test_end_to_end_with_restore_file_on_local_workers(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, ["a", "b"], suffix="-edited")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(originals),
            str(edited),
            "-o",
            str(out),
            "-w",
            "2",
            "--maps",
            str(out / "maps"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Paired 2 originals" in result.stdout and "2 done, 0 skipped, 0 failed" in result.stdout
    assert result.stderr == ""  # no dask log lines
    for stem in ("a", "b"):
        orig, edit = (
            tifffile.imread(originals / f"{stem}.tif"),
            tifffile.imread(edited / f"{stem}-edited.tif"),
        )
        restored = tifffile.imread(out / f"{stem}.tif")
        assert restored.dtype == np.uint16 and restored.shape == orig.shape
        untouched = np.all(orig == edit, axis=2)
        np.testing.assert_array_equal(restored[untouched], edit[untouched])
        assert any((out / "maps" / stem).iterdir())
    rows = summary_rows(out)
    for row in rows.values():
        assert row["status"] == "done"
        assert row["plastic_after"] <= row["plastic_before"]


def test_manifest_run_with_a_mask_leaves_the_black_area_alone(tmp_path: Path, cluster: str) -> None:
    _, edited = catalog(tmp_path, ["a"])
    mask = np.zeros((H, W), np.uint8)
    mask[:, : W // 2] = 255  # restore the left half only
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    manifest = tmp_path / "pairs.csv"
    manifest.write_text(
        "original,edited,output,mask\noriginals/a.tif,edited/a_ai.tif,client/a.tif,mask.tif\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["batch", "--manifest", str(manifest), "-o", str(out), "--scheduler", cluster]
    )
    assert result.exit_code == 0, result.output
    restored = tifffile.imread(out / "client" / "a.tif")
    edit = tifffile.imread(edited / "a_ai.tif")
    np.testing.assert_array_equal(restored[:, W // 2 :], edit[:, W // 2 :])
    assert not np.array_equal(restored[:, : W // 2], edit[:, : W // 2])  # texture came back


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, ["a"])
    runner = CliRunner()
    bad = runner.invoke(app, ["batch", str(originals), str(tmp_path / "nope"), "-o", "x"])
    assert bad.exit_code == 2 and "edited folder not found" in bad.stderr
    both = runner.invoke(
        app,
        [
            "batch",
            str(originals),
            str(edited),
            "-o",
            str(tmp_path / "o"),
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    )
    assert both.exit_code == 2 and "--workers" in both.stderr
    into = runner.invoke(app, ["batch", str(originals), str(edited), "-o", str(originals)])
    assert into.exit_code == 2 and "must not be the originals folder" in into.stderr
    none = runner.invoke(app, ["batch", str(originals), str(tmp_path), "-o", str(tmp_path / "o")])
    assert none.exit_code == 2 and "no pair found" in none.stderr
    both = runner.invoke(
        app,
        ["batch", str(originals), str(edited), "--manifest", "m.csv", "-o", str(tmp_path / "o")],
    )
    assert both.exit_code == 2 and "not both" in both.stderr
    bits = runner.invoke(
        app, ["batch", str(originals), str(edited), "-o", str(tmp_path / "o"), "--bits", "12"]
    )
    assert bits.exit_code == 2 and "--bits must be 8 or 16; got 12." in bits.stderr


# ------------------------------------------------------------------- Ctrl-C, then resume
def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path: Path, cluster: str) -> None:
    originals, edited = catalog(tmp_path, [f"p{k}" for k in range(10)])
    out = tmp_path / "out"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_batch\n"
        "from regrain import _batch; _batch._default_job = lambda: test_batch.slow_copy_job\n"
        "from regrain.cli import app; app(sys.argv[2:], prog_name='regrain')\n"
    )
    args = [
        sys.executable,
        "-c",
        script,
        str(Path(__file__).parent),
        "batch",
        str(originals),
        str(edited),
        "-o",
        str(out),
        "--workers",
        "2",
    ]
    # a new session, and Ctrl-C sent to the whole group, as a terminal does
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(out.glob("*.tif"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "To resume, run the same command" in stderr
    assert "Traceback" not in stderr and "distributed" not in stderr + stdout
    report = summary_of(out)
    assert report["interrupted"] is True and report["counts"]["not run"] > 0
    finished = {p.name for p in out.glob("*.tif")}
    assert 2 <= len(finished) < 10
    assert not [p for p in out.iterdir() if ".part" in p.name]

    summary = run_batch(pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job)
    status = {r.pair.name: r.status for r in summary.results}
    assert {n for n, s in status.items() if s == "skipped"} == finished
    assert all(s in ("done", "skipped") for s in status.values())
    assert len(list(out.glob("*.tif"))) == 10


# ----------------------------------------------------- a real scheduler and worker process
@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[str]:
    """A `dask scheduler` and a `dask worker` on 127.0.0.1, killed whatever happens."""
    dask_cli = VENV_BIN / "dask"
    if not dask_cli.exists() and shutil.which("dask") is None:
        pytest.skip("the `dask` command line is not installed (pip install 'dask[distributed]')")
    dask_cli = dask_cli if dask_cli.exists() else Path(shutil.which("dask") or "dask")
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "dask-logs.txt"
    procs: list[subprocess.Popen] = []
    with open(logs, "w") as log:
        try:
            procs.append(
                subprocess.Popen(
                    [
                        str(dask_cli),
                        "scheduler",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        "0",
                        "--no-dashboard",
                        "--scheduler-file",
                        str(scheduler_file),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            deadline = time.monotonic() + 30
            while not scheduler_file.exists() or not scheduler_file.read_text().strip():
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail(f"dask scheduler did not start:\n{logs.read_text()}")
                time.sleep(0.05)
            procs.append(
                subprocess.Popen(
                    [
                        str(dask_cli),
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            yield json.loads(scheduler_file.read_text())["address"]
        finally:
            for proc in reversed(procs):
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in reversed(procs):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def test_batch_on_a_separate_dask_scheduler_and_worker(tmp_path: Path, dask_processes: str) -> None:
    originals, edited = catalog(tmp_path, ["a", "b", "c"])
    out = tmp_path / "out"
    assert dask_processes.startswith("tcp://127.0.0.1:")
    result = CliRunner().invoke(
        app, ["batch", str(originals), str(edited), "-o", str(out), "--scheduler", dask_processes]
    )
    assert result.exit_code == 0, result.output
    assert f"the Dask cluster at {dask_processes}" in result.stdout
    report = summary_of(out)
    assert report["counts"]["done"] == 3 and report["scheduler"] == dask_processes
    assert report["workers"] == 1
    for stem in ("a", "b", "c"):
        assert tifffile.imread(out / f"{stem}.tif").shape == (H, W, 3)


# ----------------------------------------------- the disk, not the messages, says what is done
def test_sigterm_stops_the_batch_and_still_writes_the_summary(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, [f"p{k}" for k in range(10)])
    out = tmp_path / "out"
    proc = batch_process(tmp_path, "slow_copy_job", originals, edited, out)
    try:
        wait_for_outputs(out, 2, proc)
        os.kill(proc.pid, signal.SIGTERM)  # the parent only, as `kill PID` or a job scheduler does
        _, stderr = proc.communicate(timeout=30)
    finally:
        stop_group(proc)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    report = summary_of(out)
    assert report["interrupted"] is True
    finished = {p.name for p in out.glob("*.tif")}
    rows = summary_rows(out)
    assert {n for n, r in rows.items() if r["status"] == "done"} == finished
    assert not [p for p in out.rglob("*") if ".part" in p.name]


def test_outputs_finished_before_ctrl_c_are_done_not_not_run(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, ["a", "b", "c", "d"])
    out = tmp_path / "out"
    proc = batch_process(tmp_path, "write_then_hang_job", originals, edited, out)
    try:
        wait_for_outputs(out, 2, proc)  # both workers wrote their output, neither has answered
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        stop_group(proc)
    assert proc.returncode == 130, stderr
    finished = {p.name for p in out.glob("*.tif")}
    assert len(finished) == 2
    rows = summary_rows(out)
    assert {n for n, r in rows.items() if r["status"] == "done"} == finished
    assert {n for n, r in rows.items() if r["status"] == "not run"} == {
        "a.tif",
        "b.tif",
        "c.tif",
        "d.tif",
    } - finished
    assert "2 of 4 pairs finished" in stderr
    for name in finished:  # complete, and the edited pixels as the job wrote them
        np.testing.assert_array_equal(
            tifffile.imread(out / name), tifffile.imread(edited / name.replace(".tif", "_ai.tif"))
        )


def test_a_worker_killed_after_writing_its_output_does_not_fail_the_pair(tmp_path: Path) -> None:
    originals, edited = catalog(tmp_path, ["a", "b"])
    out = tmp_path / "out"
    summary = run_batch(
        pair_folders(originals, edited, out), out, workers=1, job=write_then_die_job, report=False
    )
    status = {r.pair.name: (r.status, r.reason) for r in summary.results}
    assert {s for s, _ in status.values()} == {"done"}, status
    assert all("figures not recorded" in why for _, why in status.values())
    assert summary.exit_code == 0
    # and a second run skips them: the records say which options made them
    again = run_batch(pair_folders(originals, edited, out), out, workers=1, job=copy_job)
    assert {r.status for r in again.results} == {"skipped"}


def test_a_resume_with_other_options_refuses_and_force_redoes(tmp_path: Path, cluster: str) -> None:
    originals, edited = catalog(tmp_path, ["a", "b"])
    out = tmp_path / "out"
    run_batch(pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.tif")}
    record = json.loads((out / ".regrain" / "outputs" / "a.tif.json").read_text())
    assert record["state"] == "done" and record["options"]["material"] == "auto"

    with pytest.raises(ParameterError, match=r"2 outputs .* were made with other options") as err:
        run_batch(
            pair_folders(originals, edited, out),
            out,
            scheduler=cluster,
            job=copy_job,
            material="metal",
        )
    assert "material auto, now metal" in str(err.value) and "--force" in str(err.value)
    assert "\n" not in str(err.value)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.tif")} == before  # nothing redone

    cli = CliRunner().invoke(
        app, ["batch", str(originals), str(edited), "-o", str(out), "--material", "metal"]
    )
    assert cli.exit_code == 2 and "made with other options" in cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1

    redone = run_batch(
        pair_folders(originals, edited, out),
        out,
        scheduler=cluster,
        job=copy_job,
        material="metal",
        force=True,
    )
    assert [r.status for r in redone.results] == ["done", "done"]
    record = json.loads((out / ".regrain" / "outputs" / "a.tif.json").read_text())
    assert record["options"]["material"] == "metal"
    assert summary_of(out)["options"]["material"] == "metal"


def test_lock_and_summaries_stay_out_of_the_delivery_folder(tmp_path: Path, cluster: str) -> None:
    originals, edited = catalog(tmp_path, ["a", "b"])
    out = tmp_path / "out"
    run_batch(pair_folders(originals, edited, out), out, scheduler=cluster, job=copy_job)
    top = sorted(p.name for p in out.iterdir())
    assert top == [".regrain", "a.tif", "b.tif", "report", "report.html"]
    hidden = sorted(p.name for p in (out / ".regrain").iterdir())
    assert {"batch.lock", "summary.csv", "summary.json", "outputs"} <= set(hidden)
