"""Luminosity: the one definition of luma every part of regrain uses.

Photoshop's Luminosity blend mode, the W3C compositing spec's Lum() and regrain's texture bands all
weigh red, green and blue 0.3, 0.59, 0.11 (the weights of the Luminosity mode, not Rec. 709's).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LUMA_WEIGHTS", "luma"]

LUMA_WEIGHTS = (0.3, 0.59, 0.11)
"""Photoshop's luminosity weights (the W3C Lum() of the Luminosity blend mode)."""


def luma(image: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Luminosity (H, W) float32 of an (H, W, C) image with weights 0.3, 0.59, 0.11.

    *out*, an (H, W) float32 buffer, receives it when given (no new full-size array).
    """
    if image.shape[2] == 1:
        if out is None:
            return np.ascontiguousarray(image[..., 0])
        np.copyto(out, image[..., 0])
        return out
    import cv2

    weights = np.array([LUMA_WEIGHTS], dtype=np.float32)
    # OpenCV takes a crop's strided rows as they are: no copy of a 24 MP frame
    pixels = image if image.shape[2] == 3 else np.ascontiguousarray(image[..., :3])
    return cv2.transform(pixels, weights, dst=out)
