"""Bad inputs and faults a studio meets (issue 11): every one is a single line on stderr, exit
code 2, no traceback, and nothing written; no input is ever overwritten.

The commands run through typer's CliRunner on small files the tests make (64x64 px).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import srgb_icc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_bad_inputs import snapshot
from regrain.cli import app
from regrain.io import ImageInfo, write_image

runner = CliRunner()
SIZE = 64


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback the user would have seen
    return result.exit_code, result.stdout, result.stderr


def _assert_held(code: int, stdout: str, stderr: str, *, contains: str = "") -> None:
    """The user's mistake as regrain answers it: exit 2, one line on stderr, no traceback."""
    assert code == 2, (code, stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("regrain: error: "), stderr
    assert "Traceback" not in stderr + stdout
    assert contains in lines[0], lines[0]


def _image(path: Path, *, seed: int, channels: int = 3, bits: int = 8) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.random((SIZE, SIZE, channels), dtype=np.float32)
    write_image(path, pixels, ImageInfo(format="tiff", bits=bits, icc=srgb_icc()))
    return path


@pytest.fixture
def pair(tmp_path: Path) -> dict[str, Path]:
    """An original, an edit of it (a smoothed square), and a mask of the square."""
    orig = _image(tmp_path / "o.tif", seed=1)
    from regrain.io import read_image

    pixels, info = read_image(orig)
    pixels[16:48, 16:48] = pixels[16:48, 16:48].mean(axis=(0, 1))
    write_image(tmp_path / "e.tif", pixels, info)
    mask = np.zeros((SIZE, SIZE, 1), np.float32)
    mask[12:52, 12:52] = 1.0
    write_image(tmp_path / "m.png", mask, ImageInfo(format="png", bits=8))
    return {"o": orig, "e": tmp_path / "e.tif", "m": tmp_path / "m.png"}


# ------------------------------------------------------------------------------------------------
# item 1: no output is an input, through any path

COMMANDS: dict[str, Callable[[dict[str, Path]], list[str | Path]]] = {
    "restore": lambda p: ["restore", p["o"], p["e"], "--mask", p["m"]],
    "restore-psd": lambda p: ["restore", p["o"], p["e"], "--mask", p["m"]],
    "inspect": lambda p: ["inspect", p["o"], p["e"], "--mask", p["m"]],
    "convert": lambda p: ["convert", p["m"]],
    "grain": lambda p: ["grain", p["o"], "--mask", p["m"]],
    "blend": lambda p: ["blend", p["o"], p["e"], "--mask", p["m"]],
    "graft": lambda p: ["graft", p["o"], "--source", "0,0,8,8", "--mask", p["m"]],
    "luminosity": lambda p: ["luminosity", p["o"], p["e"], "--mask", p["m"]],
    "merge": lambda p: ["merge", p["o"], p["e"]],
}


def _same_file(p: dict[str, Path], target: str) -> Path:
    return p[target]


def _through_symlink(p: dict[str, Path], target: str) -> Path:
    link = p[target].with_name("link" + p[target].suffix)
    link.symlink_to(p[target].name)
    return link


def _through_hard_link(p: dict[str, Path], target: str) -> Path:
    link = p[target].with_name("hard" + p[target].suffix)
    os.link(p[target], link)
    return link


def _through_dot_dot(p: dict[str, Path], target: str) -> Path:
    sub = p[target].parent / "sub"
    sub.mkdir()
    return sub / ".." / p[target].name


def _through_linked_folder(p: dict[str, Path], target: str) -> Path:
    folder = p[target].parent / "elsewhere"
    folder.symlink_to(p[target].parent, target_is_directory=True)
    return folder / p[target].name


WAYS = {
    "same": _same_file,
    "symlink": _through_symlink,
    "hard-link": _through_hard_link,
    "dot-dot": _through_dot_dot,
    "linked-folder": _through_linked_folder,
}


@pytest.mark.parametrize("way", sorted(WAYS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_output_is_an_input(pair: dict[str, Path], command: str, way: str) -> None:
    # the mask (or, without one, the last input) is the file most easily named by mistake
    if command == "restore-psd":  # the PSD writer: an input that is a .psd
        pair["e"] = pair["e"].rename(pair["e"].with_suffix(".psd"))
    args = COMMANDS[command](pair)
    target = "m" if pair["m"] in args else "e"
    if command == "restore-psd":
        target = "e"
    output = WAYS[way](pair, target)
    folder = pair["o"].parent
    before = snapshot(folder)
    extra = ["--overwrite"] if args[0] == "restore" else []
    code, stdout, stderr = _run(*args, "-o", output, *extra)
    _assert_held(code, stdout, stderr, contains="input")
    assert snapshot(folder) == before


def test_restore_maps_are_never_an_input(pair: dict[str, Path]) -> None:
    """A mask that lies inside the --maps folder under a map's name is refused before the work."""
    maps = pair["o"].parent / "maps"
    maps.mkdir()
    mask = pair["m"].rename(maps / "changed.png")
    before = snapshot(pair["o"].parent)
    out = pair["o"].parent / "out.tif"
    code, stdout, stderr = _run("restore", pair["o"], pair["e"], "--mask", mask, "-o", out,
                                "--maps", maps)  # fmt: skip
    _assert_held(code, stdout, stderr, contains="overwrite this input")
    assert snapshot(pair["o"].parent) == before


def _batch_folders(pair: dict[str, Path]) -> tuple[Path, Path, Path]:
    root = pair["o"].parent
    (root / "orig").mkdir()
    (root / "ai").mkdir()
    (root / "out").mkdir()
    pair["o"].rename(root / "orig" / "a.tif")
    pair["e"].rename(root / "ai" / "a_ai.tif")
    return root / "orig", root / "ai", root / "out"


def _batch_output_links_to_original(pair: dict[str, Path]) -> list[str | Path]:
    orig, ai, out = _batch_folders(pair)
    (out / "a.tif").symlink_to(orig / "a.tif")
    return ["batch", orig, ai, "-o", out, "--force", "--workers", "1"]


def _batch_output_hard_link(pair: dict[str, Path]) -> list[str | Path]:
    orig, ai, out = _batch_folders(pair)
    os.link(orig / "a.tif", out / "a.tif")
    return ["batch", orig, ai, "-o", out, "--force", "--workers", "1"]


def _batch_manifest_output_is_edited(pair: dict[str, Path]) -> list[str | Path]:
    orig, ai, out = _batch_folders(pair)
    (out / "e.tif").symlink_to(ai / "a_ai.tif")
    manifest = orig.parent / "pairs.csv"
    manifest.write_text(f"original,edited,output\n{orig / 'a.tif'},{ai / 'a_ai.tif'},e.tif\n")
    return ["batch", "--manifest", manifest, "-o", out, "--workers", "1"]


def _batch_maps_hold_the_mask(pair: dict[str, Path]) -> list[str | Path]:
    orig, ai, out = _batch_folders(pair)
    (orig / "a.tif").rename(orig / "changed.tif")
    (ai / "a_ai.tif").rename(ai / "changed_ai.tif")
    masks = out / "maps" / "changed"
    masks.mkdir(parents=True)
    pair["m"].rename(masks / "changed.png")
    return ["batch", orig, ai, "-o", out, "--mask-dir", masks, "--maps", out / "maps",
            "--workers", "1"]  # fmt: skip


BATCH_WAYS = {
    "output-symlink": _batch_output_links_to_original,
    "output-hard-link": _batch_output_hard_link,
    "manifest-output-is-edited": _batch_manifest_output_is_edited,
    "maps-hold-the-mask": _batch_maps_hold_the_mask,
}


@pytest.mark.parametrize("way", sorted(BATCH_WAYS))
def test_batch_output_is_never_an_input(pair: dict[str, Path], way: str) -> None:
    args = BATCH_WAYS[way](pair)
    root = pair["o"].parent
    inputs = {k: v for k, v in snapshot(root).items() if not k.startswith("out/") or
              k.startswith("out/maps/changed/")}  # fmt: skip
    inputs |= {k: v for k, v in snapshot(root).items() if k in ("out/a.tif",)}
    code, stdout, stderr = _run(*args)
    assert code in (1, 2), (code, stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert "input" in stdout + stderr
    after = snapshot(root)
    assert {k: after.get(k) for k in inputs} == inputs


# ------------------------------------------------------------------------------------------------
# item 8: every option is checked before any work


def _every_command(p: dict[str, Path]) -> dict[str, list[str | Path]]:
    root = p["o"].parent
    (root / "orig").mkdir()
    (root / "ai").mkdir()
    os.link(p["o"], root / "orig" / "a.tif")
    os.link(p["e"], root / "ai" / "a_ai.tif")
    return {
        "restore": ["restore", p["o"], p["e"], "-o", root / "out.tif"],
        "inspect": ["inspect", p["o"], p["e"], "-o", root / "out.png"],
        "convert": ["convert", p["o"], "-o", root / "out.tif"],
        "grain": ["grain", p["o"], "-o", root / "out.tif"],
        "blend": ["blend", p["o"], p["e"], "-o", root / "out.tif"],
        "graft": [
            "graft",
            p["o"],
            "--source",
            "0,0,8,8",
            "--mask",
            p["m"],
            "-o",
            root / "out.tif",
        ],
        "luminosity": ["luminosity", p["o"], p["e"], "-o", root / "out.tif"],
        "split": ["split", p["o"], "-o", root / "out.psd"],
        "merge": ["merge", p["o"], p["e"], "-o", root / "out.tif"],
        "batch": ["batch", root / "orig", root / "ai", "-o", root / "out", "--workers", "1"],
    }


ALL_COMMANDS = ("restore", "inspect", "convert", "grain", "blend", "graft", "luminosity",
                "split", "merge", "batch")  # fmt: skip


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "-inf"])
@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_max_megapixels_is_one_rule(pair: dict[str, Path], command: str, value: str) -> None:
    args = _every_command(pair)[command]
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, f"--max-megapixels={value}")
    _assert_held(code, stdout, stderr)
    number = float(value)
    rule = "a finite number" if not np.isfinite(number) else "> 0 MP"
    assert stderr == f"regrain: error: --max-megapixels must be {rule}; got {number:g}.\n"
    assert snapshot(pair["o"].parent) == before


@pytest.mark.parametrize("value", ["-1", str(2**31), str(2**40)])
@pytest.mark.parametrize("command", ["restore", "grain", "graft", "batch"])
def test_seed_is_refused_before_the_work(pair: dict[str, Path], command: str, value: str) -> None:
    args = _every_command(pair)[command]
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, f"--seed={value}")
    _assert_held(code, stdout, stderr, contains="seed must be a whole number from 0 to")
    assert snapshot(pair["o"].parent) == before


def test_seed_in_the_api_is_a_whole_number() -> None:
    from regrain import add_grain
    from regrain.errors import ParameterError

    image = np.full((8, 8, 3), 0.5, np.float32)
    for seed in ("3", 2**40, None, -1, 1.5, True):
        with pytest.raises(ParameterError, match="seed must be a whole number"):
            add_grain(image, "metal", seed=seed)


def _maps_is_a_file(root: Path) -> Path:
    (root / "maps").write_text("notes")
    return root / "maps"


def _maps_under_a_file(root: Path) -> Path:
    (root / "notes.txt").write_text("notes")
    return root / "notes.txt" / "maps"


def _maps_through_a_broken_link(root: Path) -> Path:
    (root / "maps").symlink_to(root / "gone")
    return root / "maps"


MAPS = {
    "a-file": _maps_is_a_file,
    "under-a-file": _maps_under_a_file,
    "broken-link": _maps_through_a_broken_link,
}


@pytest.mark.parametrize("where", sorted(MAPS))
@pytest.mark.parametrize("command", ["restore", "batch"])
def test_maps_folder_is_checked_before_the_work(
    pair: dict[str, Path], command: str, where: str
) -> None:
    args = _every_command(pair)[command]
    maps = MAPS[where](pair["o"].parent)
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, "--maps", maps)
    _assert_held(code, stdout, stderr, contains="--maps")
    assert snapshot(pair["o"].parent) == before


def test_batch_output_folder_is_checked_before_the_work(pair: dict[str, Path]) -> None:
    args = [*_every_command(pair)["batch"][:-4], "--workers", "1"]
    root = pair["o"].parent
    (root / "taken").write_text("notes")
    outputs = {
        root / "taken": "--output names a file, not a folder",
        root / "taken" / "out": "is a file",
    }
    if os.geteuid() != 0:  # root writes anywhere
        (root / "locked").mkdir(mode=0o500)
        outputs[root / "locked" / "out"] = "not writable"
    before = snapshot(root)
    for output, message in outputs.items():
        code, stdout, stderr = _run(*args, "-o", output)
        _assert_held(code, stdout, stderr, contains=message)
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "address", ["not a url", "tcp://nowhere", "http://host:8786", "tcp://host:99999", "host:"]
)
def test_bad_scheduler_is_one_line_at_once(pair: dict[str, Path], address: str) -> None:
    args = _every_command(pair)["batch"][:-2]
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, "--scheduler", address)
    _assert_held(code, stdout, stderr, contains="--scheduler must be a Dask address")
    assert snapshot(pair["o"].parent) == before


# ------------------------------------------------------------------------------------------------
# item 10: Click's usage errors are one line too

USAGE_MISTAKES = {
    "missing -o": lambda args: _without_output(args),
    "unknown option": lambda args: [*args, "--sharpen"],
    "--quality 0": lambda args: [*args, "--quality", "0"],
    "--quality 101": lambda args: [*args, "--quality", "101"],
    "--quality abc": lambda args: [*args, "--quality", "abc"],
    "option without value": lambda args: [*args, "--max-megapixels"],
}


def _without_output(args: list[str | Path]) -> list[str | Path]:
    i = args.index("-o")
    return args[:i] + args[i + 2 :]


def _has_option(command: str, option: str) -> bool:
    from typer.main import get_command

    click_command = get_command(app).commands[command]  # type: ignore[attr-defined]
    return any(option in p.opts for p in click_command.params)


@pytest.mark.parametrize("mistake", sorted(USAGE_MISTAKES))
@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_usage_error_is_one_line(pair: dict[str, Path], command: str, mistake: str) -> None:
    args = _every_command(pair)[command]
    if "--quality" in mistake and not _has_option(command, "--quality"):
        pytest.skip(f"{command} has no --quality")
    if mistake == "missing -o" and command == "inspect":
        pytest.skip("inspect's -o is optional")
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*USAGE_MISTAKES[mistake](args))
    _assert_held(code, stdout, stderr, contains=f"See 'regrain {command} --help'.")
    assert snapshot(pair["o"].parent) == before


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [("split", "--scales", "0"), ("split", "--scales", "13"), ("batch", "--workers", "0"),
     ("batch", "--workers", "-2"), ("restore", "--bits", "x")],
)  # fmt: skip
def test_range_usage_error_is_one_line(
    pair: dict[str, Path], command: str, option: str, value: str
) -> None:
    args = _every_command(pair)[command]
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, option, value)
    _assert_held(code, stdout, stderr, contains=option)
    assert snapshot(pair["o"].parent) == before


def test_no_command_and_unknown_command(tmp_path: Path) -> None:
    code, stdout, stderr = _run("restorre")
    _assert_held(code, stdout, stderr, contains="No such command")


# ------------------------------------------------------------------------------------------------
# item 5: restore's output and maps are one set


def _disk_full_on(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make every write of a file named like *name* fail as a full disk would, half written."""
    from regrain import io

    real = io.write_image

    def write_image(path, *args, **kwargs):
        if name in Path(path).name:
            with io.atomic_output(Path(path)) as tmp:
                tmp.write_bytes(b"half an image")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io, "write_image", write_image)


@pytest.mark.parametrize("maps_before", ["none", "old-maps"])
def test_restore_maps_and_output_are_one_set(
    pair: dict[str, Path], monkeypatch: pytest.MonkeyPatch, maps_before: str
) -> None:
    root = pair["o"].parent
    maps = root / "maps"
    if maps_before == "old-maps":
        maps.mkdir()
        for name in ("changed", "loss", "rebuild", "gain", "classes"):
            (maps / f"{name}.png").write_bytes(f"old {name}".encode())
    before = snapshot(root)
    _disk_full_on(monkeypatch, "out.tif")
    code, stdout, stderr = _run("restore", pair["o"], pair["e"], "-o", root / "out.tif",
                                "--maps", maps)  # fmt: skip
    _assert_held(code, stdout, stderr, contains="out.tif: disk full")
    assert snapshot(root) == before  # no new map, old maps as they were, no temporary file


def test_restore_output_stays_when_a_map_fails(
    pair: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: a map that cannot be written leaves no output (nor other maps)."""
    root = pair["o"].parent
    before = snapshot(root)
    _disk_full_on(monkeypatch, "gain.png")
    code, stdout, stderr = _run("restore", pair["o"], pair["e"], "-o", root / "out.tif",
                                "--maps", root / "maps")  # fmt: skip
    _assert_held(code, stdout, stderr, contains="gain.png: disk full")
    assert snapshot(root) == before


def test_restore_set_is_complete_when_it_works(pair: dict[str, Path]) -> None:
    root = pair["o"].parent
    code, _, stderr = _run("restore", pair["o"], pair["e"], "-o", root / "out.tif",
                           "--maps", root / "maps")  # fmt: skip
    assert code == 0, stderr
    names = sorted(p.name for p in (root / "maps").iterdir())
    assert names == ["changed.png", "classes.png", "gain.png", "loss.png", "rebuild.png"]
    assert not [p for p in root.rglob(".*")]  # no temporary file left


# ------------------------------------------------------------------------------------------------
# item 11: views and Fortran-ordered arrays through the public API


def _api_image(seed: int, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.random((SIZE, SIZE, channels), dtype=np.float32)
    image[20:44, 20:44] = 0.5  # a smooth square: restore has something to rebuild
    return image


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rot90": lambda a: np.rot90(a),
    "flipped": lambda a: a[:, ::-1],
    "fortran": lambda a: np.asfortranarray(a),
    "strided": lambda a: np.repeat(np.repeat(a, 2, 0), 2, 1)[::2, ::2],
    "channel-slice": lambda a: np.concatenate([a, a[..., :1]], axis=2)[..., : a.shape[2]],
    "read-only": lambda a: _read_only(a),
}


def _read_only(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def _api_calls() -> dict[str, Callable[[Callable[[np.ndarray], np.ndarray]], object]]:
    import regrain

    o, e = _api_image(1), _api_image(1)
    e[8:56, 8:56] = np.clip(e[8:56, 8:56] * 0.9 + 0.05, 0, 1).mean(axis=2, keepdims=True)
    m = np.zeros((SIZE, SIZE, 1), np.float32)
    m[10:54, 10:54] = 1.0
    low, high = regrain.split(o, 3.0)
    details, residual = regrain.split_scales(o, 3)
    return {
        "restore": lambda f: regrain.restore(f(o), f(e), mask=f(m)).image,
        "inspect": lambda f: regrain.inspect(f(o), f(e), mask=f(m)).loss,
        "split": lambda f: regrain.split(f(o), 3.0),
        "split_scales": lambda f: regrain.split_scales(f(o), 3),
        "merge": lambda f: regrain.merge(f(low), f(high)),
        "merge_scales": lambda f: regrain.merge_scales([f(d) for d in details], f(residual)),
        "gaussian_blur": lambda f: regrain.gaussian_blur(f(o), 2.0),
        "high_pass": lambda f: regrain.high_pass(f(o), 2.0),
        "blend": lambda f: regrain.blend(f(o), f(e), "soft-light", opacity=0.7, mask=f(m)),
        "luminosity_blend": lambda f: regrain.luminosity_blend(f(o), f(e), mask=f(m)),
        "add_grain-metal": lambda f: regrain.add_grain(f(o), "metal", mask=f(m), seed=3),
        "add_grain-skin": lambda f: regrain.add_grain(f(o), "skin", mask=f(m), seed=3),
        "graft": lambda f: regrain.graft(f(o), (0, 0, 16, 16), f(m), seed=3),
    }


API_CALLS = sorted(_api_calls())


def _as_list(result: object) -> list[np.ndarray]:
    if isinstance(result, np.ndarray):
        return [result]
    out: list[np.ndarray] = []
    for item in result:  # type: ignore[attr-defined]
        out += _as_list(item)
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("call", API_CALLS)
def test_api_takes_views_and_fortran_arrays(call: str, layout: str) -> None:
    """The same numbers in another memory layout give the same result, to the last bit."""
    from regrain.errors import ParameterError

    run = _api_calls()[call]
    shape = LAYOUTS[layout]
    expected = _as_list(run(lambda a: np.ascontiguousarray(shape(a))))
    try:
        got = _as_list(run(shape))
    except ParameterError as exc:  # refusing by name is allowed, a raw cv2.error is not
        assert "contiguous" in str(exc) or "layout" in str(exc), exc
        return
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_api_out_arrays_in_any_layout(layout: str) -> None:
    """``out=`` of gaussian_blur and merge: filled as asked, or refused by name."""
    import regrain
    from regrain.errors import ParameterError

    image = _api_image(2)
    low, high = regrain.split(image, 3.0)
    for name, run in {
        "gaussian_blur": lambda out: regrain.gaussian_blur(image, 2.0, out=out),
        "merge": lambda out: regrain.merge(low, high, out=out),
    }.items():
        expected = run(None)
        out = LAYOUTS[layout](np.zeros_like(image))
        if not out.flags.writeable:  # numpy's own ValueError says it as clearly
            with pytest.raises(ValueError, match="read-only"):
                run(out)
            continue
        try:
            result = run(out)
        except ParameterError as exc:
            assert "out" in str(exc), (name, exc)
            continue
        np.testing.assert_array_equal(out, expected, err_msg=name)
        assert result is out or np.shares_memory(result, out), name


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_write_image_takes_views(tmp_path: Path, layout: str) -> None:
    from regrain.io import read_image

    image = _api_image(3)
    write_image(tmp_path / "a.tif", np.ascontiguousarray(LAYOUTS[layout](image)),
                ImageInfo(bits=16))  # fmt: skip
    write_image(tmp_path / "b.tif", LAYOUTS[layout](image), ImageInfo(bits=16))
    np.testing.assert_array_equal(read_image(tmp_path / "a.tif")[0],
                                  read_image(tmp_path / "b.tif")[0])  # fmt: skip


# ------------------------------------------------------------------------------------------------
# item 12: "no pair found" is one line; a mismatched pair's message names the file at fault


def test_no_pair_found_is_one_line(tmp_path: Path) -> None:
    orig, ai = tmp_path / "orig", tmp_path / "ai"
    orig.mkdir()
    ai.mkdir()
    for i in range(20):
        (orig / f"shot{i:02}.tif").touch()
        (ai / f"other{i:02}_ai.png").touch()
    for i in range(3):
        (ai / f"notes{i}.txt").touch()
    code, stdout, stderr = _run("batch", orig, ai, "-o", tmp_path / "out")
    _assert_held(code, stdout, stderr, contains="no pair found; 43 files left out")
    assert stdout == ""
    assert not (tmp_path / "out").exists()


def test_no_image_at_all_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "orig").mkdir()
    (tmp_path / "ai").mkdir()
    code, stdout, stderr = _run("batch", tmp_path / "orig", tmp_path / "ai", "-o", tmp_path / "o")
    _assert_held(code, stdout, stderr, contains="nothing to do: no image found to pair")


def _shifted(pair: dict[str, Path]) -> Path:
    from regrain.io import read_image

    pixels, info = read_image(pair["o"])
    path = pair["o"].with_name("shifted.tif")
    write_image(path, np.roll(pixels, 3, axis=1), info)
    return path


def _smaller(pair: dict[str, Path]) -> Path:
    from regrain.io import read_image

    pixels, info = read_image(pair["o"])
    out = pair["o"].with_name("small.tif")
    write_image(out, np.ascontiguousarray(pixels[:48]), info)
    return out


def _gray(pair: dict[str, Path]) -> Path:
    return _image(pair["o"].with_name("gray.tif"), seed=1, channels=1)


def _small_mask(pair: dict[str, Path]) -> Path:
    out = pair["o"].with_name("small-mask.png")
    write_image(out, np.ones((32, 32, 1), np.float32), ImageInfo(format="png", bits=8))
    return out


def _garbage(pair: dict[str, Path]) -> Path:
    out = pair["o"].with_name("garbage.tif")
    out.write_bytes(b"II*\x00" + bytes(200))
    return out


# (command, which argument gets the bad file, how to make it): the message must start with it
MISMATCHES = {
    "restore-edited-smaller": ("restore", "e", _smaller),
    "restore-edited-gray": ("restore", "e", _gray),
    "restore-edited-shifted": ("restore", "e", _shifted),
    "restore-mask-smaller": ("restore", "m", _small_mask),
    "restore-edited-garbage": ("restore", "e", _garbage),
    "restore-original-garbage": ("restore", "o", _garbage),
    "inspect-edited-smaller": ("inspect", "e", _smaller),
    "inspect-original-garbage": ("inspect", "o", _garbage),
    "inspect-mask-smaller": ("inspect", "m", _small_mask),
    "blend-layer-smaller": ("blend", "e", _smaller),
    "blend-mask-smaller": ("blend", "m", _small_mask),
    "luminosity-original-smaller": ("luminosity", "o", _smaller),
    "luminosity-mask-smaller": ("luminosity", "m", _small_mask),
    "luminosity-edited-garbage": ("luminosity", "e", _garbage),
    "grain-mask-smaller": ("grain", "m", _small_mask),
    "graft-mask-smaller": ("graft", "m", _small_mask),
}


@pytest.mark.parametrize("case", sorted(MISMATCHES))
def test_mismatch_names_the_file_at_fault(pair: dict[str, Path], case: str) -> None:
    command, role, make = MISMATCHES[case]
    bad = make(pair)
    pair = {**pair, role: bad}
    args = COMMANDS[command](pair)
    root = pair["o"].parent
    before = snapshot(root)
    code, stdout, stderr = _run(*args, "-o", root / "out.png")
    _assert_held(code, stdout, stderr)
    assert stderr.startswith(f"regrain: error: {bad}: "), stderr
    others = [p for k, p in pair.items() if k != role and p in args]
    # the good files may be named as what the bad one is compared with, never blamed first
    for good in others:
        assert not stderr.startswith(f"regrain: error: {good}:"), stderr
    assert snapshot(root) == before


def test_pair_of_two_sizes_names_both(pair: dict[str, Path]) -> None:
    """Which of two sizes is wrong nobody can tell: the edited file (checked against the original,
    the reference) comes first, and the original is named with its size."""
    small = _smaller(pair)
    root = pair["o"].parent
    code, stdout, stderr = _run("restore", small, pair["e"], "-o", root / "out.tif")
    _assert_held(code, stdout, stderr)
    assert stderr == (
        f"regrain: error: {pair['e']}: edited image is 64x64 px but the original small.tif is "
        "64x48 px\n"
    )


def test_unreachable_scheduler_leaves_no_output_folder(
    pair: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster that cannot be reached (after its 10 s connect timeout, faked here) is one line
    and leaves nothing behind: no output folder, no lock file."""
    from contextlib import contextmanager

    from regrain import _batch
    from regrain.errors import ParameterError

    @contextmanager
    def unreachable(n_local, scheduler):
        raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: timed out")
        yield

    monkeypatch.setattr(_batch, "_client", unreachable)
    args = _every_command(pair)["batch"][:-2]
    before = snapshot(pair["o"].parent)
    code, stdout, stderr = _run(*args, "--scheduler", "tcp://127.0.0.1:1", "--quiet")
    _assert_held(code, stdout, stderr, contains="cannot reach the Dask scheduler")
    assert snapshot(pair["o"].parent) == before
