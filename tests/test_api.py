"""The public API stays visible: a name that disappears by accident fails here."""

from __future__ import annotations

import subprocess
import sys

import regrain

PUBLIC = {
    "BLEND_MODES", "GRAIN_MATERIALS", "ImageFileError", "ImageInfo", "ParameterError",
    "RegrainError", "RestoreResult", "TextureReport", "add_grain", "blend", "gaussian_blur",
    "graft", "high_pass", "inspect", "luminosity_blend", "merge", "merge_scales", "pair_folders",
    "radius_to_sigma", "read_image", "read_mask", "read_psd_stack", "restore", "run_batch",
    "split", "split_scales", "write_image", "write_psd_stack",
}  # fmt: skip


def test_every_public_name_is_exported_and_resolves() -> None:
    assert PUBLIC <= set(regrain.__all__)
    for name in regrain.__all__:
        assert getattr(regrain, name) is not None, name


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
