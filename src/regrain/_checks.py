"""Argument checks shared by every public function: one wording for every error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

from regrain.errors import ParameterError

T = TypeVar("T")


def check_choice(value: str, choices: Mapping[str, Any] | Iterable[str], name: str) -> str:
    """Return *value* if it is one of *choices*, else raise naming the valid ones."""
    valid = sorted(choices)
    if value not in valid:
        raise ParameterError(f"unknown {name} {value!r}; expected one of: {', '.join(valid)}")
    return value


def check_range(
    value: float,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """Return *value* as float if it lies in the interval, else raise ``name must be ...``."""
    value = float(value)
    suffix = f" {unit}" if unit else ""
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number; got {value}.")
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ParameterError(f"{name} must be {op} {low:g}{suffix}; got {value:g}.")
    if high is not None and value > high:
        raise ParameterError(f"{name} must be <= {high:g}{suffix}; got {value:g}.")
    return value


VALUE_SLACK = 0.5 / 255
"""How far outside [0, 1] an image value may lie (half an 8-bit level): float rounding, and High
layers on Photoshop's grid, whose lowest level sits half a level below 0 (see ``_bands``). Values
beyond it are data in another scale (0-255, 0-65535) or signed differences, never a photograph."""


def check_image(image: np.ndarray, name: str = "image", *, clip: bool = False) -> np.ndarray:
    """Check an image array: float32 (H, W, C) with C in 1..4, finite values in [0, 1].

    Returns the array to work on: *image* itself, or a C-ordered copy of a view or a Fortran-ordered
    array (``np.rot90(image)``, ``image[:, ::-1]``, ``np.asfortranarray(image)``), which OpenCV
    cannot take as they are. One cheap min/max pass finds NaN, inf and values out of range. With
    *clip*, values within :data:`VALUE_SLACK` outside [0, 1] come back clipped (in a copy), as a
    layer stored in a file would be.

    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(image).__name__}.")
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ParameterError(f"{name} must have shape (H, W, C) with C in 1..4; got {image.shape}.")
    if image.dtype != np.float32:
        raise ParameterError(
            f"{name} must be float32 in [0, 1] (use regrain.io to convert); got {image.dtype}."
        )
    if image.size == 0:
        raise ParameterError(f"{name} must have at least one pixel; got shape {image.shape}.")
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image)
    low, high = check_values(image, name)
    if clip and (low < 0.0 or high > 1.0):
        image = np.clip(image, 0.0, 1.0)
    return image


def check_values(image: np.ndarray, name: str = "image") -> tuple[float, float]:
    """Refuse NaN, inf and values outside [0, 1] (give or take :data:`VALUE_SLACK`), naming
    how many are not finite or the range received; return the lowest and highest value."""
    low, high = _min_max(image)  # NaN propagates through both
    slack = VALUE_SLACK + 1e-6  # and float32 rounding of it
    if low >= -slack and high <= 1.0 + slack:
        return low, high
    bad = int(np.count_nonzero(~np.isfinite(image)))
    if bad:
        raise ParameterError(
            f"{name} must hold finite values in [0, 1]; got {bad} NaN or infinite "
            f"value{'s' * (bad != 1)}."
        )
    hint = ""
    if 1.0 < high <= 255.0 and low >= 0.0:
        hint = " (0-255 data: divide by 255)"
    elif 255.0 < high <= 65535.0 and low >= 0.0:
        hint = " (0-65535 data: divide by 65535)"
    raise ParameterError(
        f"{name} must hold values in [0, 1]; got values from {low:g} to {high:g}{hint}."
    )


def _min_max(image: np.ndarray) -> tuple[float, float]:
    """Lowest and highest value; on a large image min and max run on two threads (24 MP RGB:
    11 ms instead of 22 ms; numpy releases the GIL in both)."""
    if image.size < 1 << 20:
        return float(image.min()), float(image.max())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda reduce: float(reduce(image)), (np.min, np.max))
    return low, high


def check_same_size(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Raise when two images (or an image and a mask) do not cover the same pixels."""
    if a.shape[:2] != b.shape[:2]:
        raise ParameterError(
            f"{names[0]} and {names[1]} differ in size: "
            f"{a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]} px."
        )


def check_layer(
    base: np.ndarray, layer: np.ndarray, names: tuple[str, str], *, base_phrase: str | None = None
) -> None:
    """A layer over a base: the same pixels, and 1 channel or as many as the base has."""
    check_same_size(base, layer, names)
    if layer.shape[2] not in (1, base.shape[2]):
        raise ParameterError(
            f"{names[1]} must have 1 channel or as many as {base_phrase or names[0]} "
            f"({base.shape[2]}); got {layer.shape[2]}."
        )


def as_mask(mask: np.ndarray | None, image: np.ndarray, name: str = "mask") -> np.ndarray | None:
    """Return *mask* as float32 (H, W, 1) in [0, 1] matching *image*, or None.

    Accepts (H, W), (H, W, 1) or an (H, W, C) image (its first channel is used).
    """
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., :1]
    elif mask.ndim == 2:
        mask = mask[..., None]
    else:
        raise ParameterError(f"{name} must have shape (H, W) or (H, W, 1); got {mask.shape}.")
    check_same_size(image, mask, ("image", name))
    if mask.dtype.kind not in "fiub":
        raise ParameterError(f"{name} must hold numbers in [0, 1]; got dtype {mask.dtype}.")
    mask = mask.astype(np.float32, copy=False)
    if not np.isfinite(mask.min() + mask.max()):  # NaN or inf anywhere reaches min or max
        bad = int(np.count_nonzero(~np.isfinite(mask)))
        raise ParameterError(
            f"{name} must hold finite values in [0, 1]; got {bad} NaN or infinite "
            f"value{'s' * (bad != 1)}."
        )
    return np.clip(mask, 0.0, 1.0)


def check_seed(seed: int) -> int:
    """Return *seed* if it is a whole number in 0 .. 2**31 - 1 (what OpenCV's generator takes)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**31:
        raise ParameterError(f"seed must be a whole number from 0 to {2**31 - 1}; got {seed!r}.")
    return int(seed)
