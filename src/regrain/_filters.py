"""Filters every recipe shares: Gaussian blur at Photoshop's radius, and the high band.

One place decides what "radius" means, so split, graft, grain and restore all blur alike.
"""

from __future__ import annotations

import numpy as np

from regrain._checks import check_range

__all__ = ["gaussian_blur", "high_pass", "radius_to_sigma"]


def radius_to_sigma(radius: float) -> float:
    """Photoshop's Gaussian Blur / High Pass radius (px) as a Gaussian standard deviation (px).

    Photoshop's radius is the kernel's standard deviation, so the mapping is the identity; it lives
    in one function so that every filter agrees and the docs have one place to point to.
    """
    return check_range(radius, "radius", low=0.0, low_open=True, unit="px")


def gaussian_blur(image: np.ndarray, radius: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """Blur float32 (H, W, C) or (H, W) like Photoshop's Gaussian Blur at *radius* px.

    The kernel spans +/- 4 sigma (no visible truncation at 16-bit) and edges are mirrored, so a flat
    image stays flat (within float rounding, far below a 16-bit level). OpenCV does the work
    (multi-threaded, ~10x scipy.ndimage).
    """
    import cv2

    sigma = radius_to_sigma(radius)
    if out is not None:
        _check_out(out, image)
        if not out.flags.c_contiguous:  # a view OpenCV cannot write into: blur, then copy
            out[...] = gaussian_blur(image, radius).reshape(out.shape)
            return out
    ksize = 2 * int(np.ceil(4.0 * sigma)) + 1
    src = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    dst = None if out is None else (out[..., 0] if out.ndim == 3 and out.shape[2] == 1 else out)
    blurred = cv2.GaussianBlur(
        src, (ksize, ksize), sigmaX=sigma, sigmaY=sigma, dst=dst, borderType=cv2.BORDER_REFLECT
    )
    if out is not None:
        return out
    return blurred.reshape(image.shape)


def _check_out(out: np.ndarray, image: np.ndarray) -> None:
    """An ``out=`` array must be a writeable float32 array of the image's shape (any layout)."""
    from regrain.errors import ParameterError

    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != image.shape:
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ParameterError(f"out must be float32 of shape {image.shape}; got {got}.")
    if not out.flags.writeable:
        raise ParameterError("out must be a writeable array; got a read-only one.")


def high_pass(image: np.ndarray, radius: float) -> np.ndarray:
    """Photoshop's High Pass: ``image - blur(image, radius) + 0.5``, float32, not clipped."""
    low = gaussian_blur(image, radius)
    np.subtract(image, low, out=low)
    low += np.float32(0.5)
    return low
