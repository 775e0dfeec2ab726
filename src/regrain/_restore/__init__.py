"""Automatic texture recovery from an (original, AI-edited) pair.

The AI's result is kept; regrain only adds the texture it took away, region by region, decided from
the pair itself. The files of this package are its stages:

* :mod:`.analysis` -- the bands of the pair and their local statistics (a frozen dataclass);
* :mod:`.classify` -- one function per documented rule: which cells were edited, which hold a
  defect or an object the AI removed (rebuilt), which had no texture (smooth);
* :mod:`.synthesis` -- new texture for rebuilt zones: a table of methods and one dispatcher;
* :mod:`.compose` -- restored and rebuilt texture added onto the AI's result, untouched pixels
  copied;
* :mod:`.report` -- the result, its maps and figures.

See ``docs/restore.md`` for what each rule measures and why.
"""

from __future__ import annotations

import numpy as np

from regrain._checks import as_mask, check_image, check_range, check_same_size, check_seed
from regrain._grid import analysis_factor, touched_pixels
from regrain._materials import MATERIALS, Material, check_material
from regrain._restore.analysis import MAX_GLARE_GAIN, analyse
from regrain._restore.classify import classify
from regrain._restore.compose import compose
from regrain._restore.report import CLASS_NAMES, RestoreResult, assemble, unchanged
from regrain._restore.synthesis import SYNTHESIS_METHODS, rebuild_textures
from regrain.errors import ParameterError

__all__ = [
    "CLASS_NAMES",
    "MATERIALS",
    "MAX_GLARE_GAIN",
    "SYNTHESIS_METHODS",
    "Material",
    "RestoreResult",
    "restore",
]


def restore(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    material: str = "auto",
    seed: int = 0,
    strength: float = 1.0,
    layers: bool = False,
    synthesis: str = "auto",
    compare_bits: int | None = None,
    out: np.ndarray | None = None,
) -> RestoreResult:
    """Give *edited* back the texture the AI took from *original*, keeping the AI's result.

    *original* and *edited* are float32 (H, W, C) in [0, 1] of one size, in the file's encoding.
    Pixels the AI left alone come back bit for bit. *mask* (white = work here) limits and scales
    the work; *material* chooses the texture band and whether rebuilt texture keeps a direction;
    *seed* makes rebuilt texture repeatable; *strength* (0-4) scales the texture added (0: the AI
    output, 1: the original's amount). *layers* keeps the differences that make the image
    (``result.layers``: ``restored``, ``glare``, ``rebuilt`` and their masks; ``image ==
    clip(edited + strength * (restored + glare + rebuilt))``). *synthesis* forces a method of
    :data:`SYNTHESIS_METHODS` for rebuilt zones (default: measured per zone). *compare_bits* (8 or
    16) compares the pair at that depth's precision, for files of different depths: a pixel that
    only differs by the finer file's extra precision is untouched and stays the edited one.
    *out*, a writeable C-ordered float32 array of *edited*'s shape, receives the image
    (``result.image is out``); it may be *edited* itself, which is then overwritten and no second
    full-size image is made (the image is the same, bit for bit).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> photo = (0.5 + 0.04 * rng.standard_normal((96, 96, 1))).astype(np.float32)
    >>> plastic = photo.copy()
    >>> plastic[32:64, 32:64] = 0.5
    >>> out = restore(photo, plastic).image
    >>> bool(np.array_equal(out[:16], plastic[:16]))  # untouched rows, bit for bit
    True
    >>> round(float(out[36:60, 36:60].std() / photo[36:60, 36:60].std()), 1)
    1.0
    """
    original, edited = check_image(original, "original"), check_image(edited, "edited")
    check_same_size(original, edited, ("original", "edited"))
    if original.shape != edited.shape:
        raise ParameterError(
            f"original and edited must have the same channels; got {original.shape[2]} and "
            f"{edited.shape[2]}."
        )
    spec = check_material(material, "restore")
    seed = check_seed(seed)
    strength = check_range(strength, "strength", low=0.0, high=4.0)
    if synthesis != "auto" and synthesis not in SYNTHESIS_METHODS:
        raise ParameterError(
            f"unknown synthesis {synthesis!r}; expected one of: auto, "
            + ", ".join(SYNTHESIS_METHODS)
        )
    weight = as_mask(mask, edited)
    if out is not None:
        _check_out(out, edited)

    if compare_bits not in (None, 8, 16):
        raise ParameterError(f"compare_bits must be 8, 16 or None; got {compare_bits!r}.")
    levels = None if compare_bits is None else (1 << compare_bits) - 1
    touched = touched_pixels(original, edited, levels=levels)
    if weight is not None:
        touched &= weight[..., 0] > 0
    factor = analysis_factor(edited.shape)
    box = _work_box(touched, factor, spec)
    if box is None:
        if out is None:
            return unchanged(edited, factor, keep_layers=layers)
        if not np.shares_memory(out, edited):
            np.copyto(out, edited)
        return unchanged(out, factor, keep_layers=layers, copy=False)
    o, e = original[box], edited[box]
    bands = analyse(o, e, touched[box], spec, factor)
    regions = classify(bands)
    zones = rebuild_textures(o, bands, regions, seed=seed, method=synthesis)
    crop_weight = None if weight is None else weight[box][..., 0]
    # the edited image outside the crop (already there when out is edited); compose fills it
    if out is None:
        out = np.empty_like(edited)
    if not np.shares_memory(out, edited):
        _copy_outside(edited, box, out)
    composed = compose(
        o,
        e,
        bands,
        regions,
        zones,
        strength=strength,
        weight=crop_weight,
        keep_layers=layers,
        out=out[box],
    )
    area = None if weight is None else weight[..., 0]
    return assemble(out, box, bands, regions, composed, zones, area=area)


def _copy_outside(edited: np.ndarray, box: tuple[slice, slice], out: np.ndarray) -> None:
    """Copy *edited* into *out* outside *box* (inside: left for compose)."""
    ys, xs = box
    out[: ys.start] = edited[: ys.start]
    out[ys.stop :] = edited[ys.stop :]
    out[ys, : xs.start] = edited[ys, : xs.start]
    out[ys, xs.stop :] = edited[ys, xs.stop :]


def _check_out(out: np.ndarray, edited: np.ndarray) -> None:
    """*out* must be a writeable C-ordered float32 array of *edited*'s shape, and either
    *edited* itself or apart from it."""
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.float32
        or out.shape != edited.shape
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ParameterError(
            f"out must be a writeable C-ordered float32 array of shape {edited.shape}; got {got}."
        )
    same = out.__array_interface__["data"][0] == edited.__array_interface__["data"][0]
    if np.shares_memory(out, edited) and not same:
        raise ParameterError("out must be the edited image itself or not overlap it.")


def _work_box(touched: np.ndarray, factor: int, spec: Material) -> tuple[slice, slice] | None:
    """The changed pixels' bounding box plus enough context to learn the texture around them,
    aligned to the analysis grid so that its cells are the whole image's cells; None when
    nothing changed."""
    rows = np.flatnonzero(touched.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(touched.any(axis=0))
    margin = int(max(48, 16 * spec.radius))
    h, w = touched.shape
    y0 = max(0, rows[0] - margin) // factor * factor
    x0 = max(0, cols[0] - margin) // factor * factor
    y1, x1 = min(h, rows[-1] + 1 + margin), min(w, cols[-1] + 1 + margin)
    return slice(y0, y1), slice(x0, x1)
