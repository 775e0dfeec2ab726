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


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an image array is float32 (H, W, C) with C in 1..4; return it unchanged."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(image).__name__}.")
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ParameterError(f"{name} must have shape (H, W, C) with C in 1..4; got {image.shape}.")
    if image.dtype != np.float32:
        raise ParameterError(
            f"{name} must be float32 in [0, 1] (use regrain.io to convert); got {image.dtype}."
        )
    return image


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
    return np.clip(mask.astype(np.float32, copy=False), 0.0, 1.0)


def check_seed(seed: int) -> int:
    """Return *seed* if it is a whole number in 0 .. 2**31 - 1 (what OpenCV's generator takes)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**31:
        raise ParameterError(f"seed must be a whole number from 0 to {2**31 - 1}; got {seed!r}.")
    return int(seed)
