"""The public API stays visible and typed: a name or signature that changes by accident fails here.

``public_api.txt`` beside this file is the snapshot: every public name with its kind and
``str(inspect.signature(obj))``. After a deliberate change, regenerate it with
``REGRAIN_UPDATE_API=1 pytest tests/test_api.py`` and let the diff show what users will meet.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import regrain

SNAPSHOT = Path(__file__).with_name("public_api.txt")
STUB = Path(regrain.__file__).with_name("__init__.pyi")

PUBLIC = {
    "BLEND_MODES", "GRAIN_MATERIALS", "ImageFileError", "ImageInfo", "ParameterError",
    "RegrainError", "RestoreResult", "TextureReport", "add_grain", "blend", "gaussian_blur",
    "graft", "high_pass", "inspect", "luminosity_blend", "merge", "merge_scales", "pair_folders",
    "radius_to_sigma", "read_image", "read_mask", "read_psd_stack", "restore", "run_batch",
    "split", "split_scales", "write_image", "write_psd_stack",
    # the types a documented function takes or returns
    "PsdLayer", "Pair", "Pairing", "BatchSummary", "MATERIALS",
}  # fmt: skip


def describe(name: str) -> str:
    """One snapshot line: the name, its kind and its signature (or a dict's keys)."""
    obj = getattr(regrain, name)
    if isinstance(obj, dict):
        return f"{name}: dict[{', '.join(obj)}]"
    if inspect.isclass(obj):
        kind = f"class({', '.join(b.__name__ for b in obj.__bases__)})"
    else:
        kind = type(obj).__name__
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = "(?)"
    return f"{name}: {kind} {signature}"


def snapshot() -> str:
    names = sorted(n for n in regrain.__all__ if n != "__version__")
    return "".join(describe(name) + "\n" for name in names)


def test_every_public_name_is_exported_and_resolves() -> None:
    assert PUBLIC <= set(regrain.__all__)
    for name in regrain.__all__:
        assert getattr(regrain, name) is not None, name


def test_public_names_and_signatures_match_the_snapshot() -> None:
    now = snapshot()
    if os.environ.get("REGRAIN_UPDATE_API"):
        SNAPSHOT.write_text(now, encoding="utf-8")
    before = SNAPSHOT.read_text(encoding="utf-8")
    if now != before:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                before.splitlines(True), now.splitlines(True), "public_api.txt", "now"
            )
        )
        pytest.fail(
            "the public API changed; if on purpose, run REGRAIN_UPDATE_API=1 pytest "
            f"tests/test_api.py\n{diff}"
        )


def test_snapshot_can_see_a_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    # a renamed keyword shows in the snapshot line
    def blend(base, layer, mode="normal", *, opactiy=1.0, mask=None):
        return base

    monkeypatch.setattr(regrain, "blend", blend)
    assert "opactiy=1.0" in describe("blend")
    assert snapshot() != SNAPSHOT.read_text(encoding="utf-8")


def test_stub_lists_the_lazy_exports() -> None:
    """__init__.pyi re-exports exactly the names of ``_EXPORTS``, each from its module."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    stubbed = {
        alias.asname or alias.name: node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert stubbed == regrain._EXPORTS
    for name, module in stubbed.items():
        alias = next(a for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names
                     if (a.asname or a.name) == name)  # fmt: skip
        assert alias.asname == alias.name, f"{name}: 'import x as x' re-exports it"
        assert module.startswith("regrain")
    assert (STUB.parent / "py.typed").is_file()


def test_a_type_checker_sees_through_the_lazy_loader(tmp_path: Path, request) -> None:
    """mypy flags a wrong argument type given to a lazily loaded function, as for a plain one."""
    pytest.importorskip("mypy")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """\
            import numpy as np
            import regrain

            image = np.zeros((4, 4, 3), np.float32)
            result: regrain.RestoreResult = regrain.restore(image, image, strength=2.0)
            layer = regrain.PsdLayer("texture", image, mode="linear-light")
            regrain.write_psd_stack("stack.psd", [layer])
            regrain.restore(image, image, strength="strong")
            regrain.blend(image, image, "Soft Light", opacity="50%")
            """
        )
    )
    cache = request.config.cache.mkdir("mypy")  # a second run takes 0.2 s instead of ~5 s
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
         "--cache-dir", str(cache), "snippet.py"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=300,
    )  # fmt: skip
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, proc.stdout + proc.stderr
    assert errors[0].startswith("snippet.py:8:") and '"strength" to "restore"' in errors[0]
    assert errors[1].startswith("snippet.py:9:") and '"opacity" to "blend"' in errors[1]


def test_import_stays_light() -> None:
    """`import regrain` (and so `regrain --help`) must not pull numpy, OpenCV or dask in."""
    code = (
        "import sys, regrain.cli; "
        "print(sorted(m for m in ('numpy', 'cv2', 'dask', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "regrain", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("restore", "inspect", "batch", "blend", "luminosity", "split", "merge",
                    "grain", "graft", "convert"):  # fmt: skip
        assert command in out.stdout, command


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "regrain", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout == f"regrain {regrain.__version__}\n"
    from importlib.metadata import version

    assert regrain.__version__ == version("regrain")
