"""Automatic texture recovery from an (original, AI-edited) pair: see :func:`restore`."""

from regrain._restore._legacy import (
    CLASS_NAMES,
    MATERIALS,
    MAX_GLARE_GAIN,
    Material,
    RestoreResult,
    restore,
)

__all__ = ["CLASS_NAMES", "MATERIALS", "MAX_GLARE_GAIN", "Material", "RestoreResult", "restore"]
