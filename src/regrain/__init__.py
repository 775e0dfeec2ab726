"""regrain: give photographs back the fine texture that AI retouching takes away.

The public API is flat and loaded lazily, so ``import regrain`` (and ``regrain --help``) stays fast:
numpy, OpenCV and friends are imported the first time a function is used. ``__init__.pyi`` gives
type checkers the same names with their real signatures (the lazy ``__getattr__`` hides them), and
``py.typed`` says the package is typed.

>>> import regrain
>>> callable(regrain.blend)
True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; a test fails if one disappears
_EXPORTS: dict[str, str] = {
    # io
    "ImageInfo": "regrain.io",
    "read_image": "regrain.io",
    "read_mask": "regrain.io",
    "write_image": "regrain.io",
    # shared filters
    "gaussian_blur": "regrain._filters",
    "high_pass": "regrain._filters",
    "radius_to_sigma": "regrain._filters",
    # blend modes and the luminosity quick fix
    "BLEND_MODES": "regrain._blend",
    "mode_key": "regrain._blend",
    "blend": "regrain._blend",
    "luminosity_blend": "regrain._blend",
    # frequency separation and layered PSD stacks
    "split": "regrain._bands",
    "merge": "regrain._bands",
    "split_scales": "regrain._bands",
    "merge_scales": "regrain._bands",
    "PsdLayer": "regrain._psd",
    "write_psd_stack": "regrain._psd",
    "read_psd_stack": "regrain._psd",
    # materials (restore and grain share the table)
    "MATERIALS": "regrain._materials",
    "Material": "regrain._materials",
    "GrainRecipe": "regrain._materials",
    # synthetic texture and High Pass grafting
    "GRAIN_MATERIALS": "regrain._grain",
    "GrainMaterial": "regrain._grain",
    "add_grain": "regrain._grain",
    "graft": "regrain._graft",
    # texture-loss analysis and automatic restore
    "TextureReport": "regrain._detect",
    "inspect": "regrain._detect",
    "RestoreResult": "regrain._restore",
    "restore": "regrain._restore",
    # catalogs
    "Pair": "regrain._batch",
    "Pairing": "regrain._batch",
    "PairResult": "regrain._batch",
    "BatchSummary": "regrain._batch",
    "BatchInterrupted": "regrain._batch",
    "pair_folders": "regrain._batch",
    "read_manifest": "regrain._batch",
    "run_batch": "regrain._batch",
    # errors
    "RegrainError": "regrain.errors",
    "ImageFileError": "regrain.errors",
    "ParameterError": "regrain.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'regrain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
