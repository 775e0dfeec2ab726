"""Full-resolution images of the pairs as 8-bit sRGB, cut into the tiles the page shows.

Each file is read once at full resolution (any depth), converted from its ICC profile to sRGB with
:func:`regrain._pictures.to_srgb8` (the report's conversion) and kept while it is among the last
few used; a tile is a slice of it, a fit view a reduction of it. A file changed on disk (a redo)
is read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["MAX_TILE", "ImageCache"]

MAX_TILE = 2048  # px a side: a request for more is refused (a tile, not the whole file)
KEEP = 6  # images kept: the three of the pair on screen and of the one before (72 MB each at 24 MP)


class ImageCache:
    """The last :data:`KEEP` images used, as uint8 sRGB (H, W, 3), by (path, size, mtime)."""

    def __init__(self, max_pixels: int | None = None) -> None:
        self.images: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()
        self.loading: dict[tuple, threading.Lock] = {}
        self.max_pixels = max_pixels

    def get(self, path: Path) -> np.ndarray:
        from regrain import io
        from regrain._pictures import to_srgb8

        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self.lock:
            if key in self.images:
                self.images.move_to_end(key)
                return self.images[key]
            gate = self.loading.setdefault(key, threading.Lock())
        with gate:  # one reader per file; the others wait for it
            with self.lock:
                if key in self.images:
                    return self.images[key]
            limits = {} if self.max_pixels is None else {"max_pixels": self.max_pixels}
            image, info = io.read_image(path, **limits)
            pixels = to_srgb8(image, info.icc)
            del image
            with self.lock:
                self.images[key] = pixels
                while len(self.images) > KEEP:
                    self.images.popitem(last=False)
                self.loading.pop(key, None)
        return pixels

    def tile(self, path: Path, x: int, y: int, w: int, h: int) -> bytes:
        """PNG of the region (x, y, w, h) px at 100%, cut to the image."""
        import cv2

        pixels = self.get(path)
        crop = pixels[max(0, y) : max(0, y) + h, max(0, x) : max(0, x) + w]
        if crop.size == 0:
            crop = np.zeros((1, 1, 3), np.uint8)
        _, data = cv2.imencode(".png", crop[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
        return data.tobytes()

    def view(self, path: Path, width: int) -> bytes:
        """JPEG of the whole image *width* px wide (never wider than the image)."""
        import cv2

        pixels = self.get(path)
        h, w = pixels.shape[:2]
        width = max(1, min(width, w))
        height = max(1, round(h * width / w))
        small = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
        _, data = cv2.imencode(".jpg", small[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        return data.tobytes()
