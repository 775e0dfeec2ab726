"""Small real batches for the report and review tests: 16-bit TIFF pairs with ICC profiles,
restored by the real ``restore_file`` on one local worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regrain import io


def photo(seed: int, h: int, w: int, tint: tuple[float, float, float]) -> np.ndarray:
    """A seeded photo stand-in, float32 (h, w, 3): a tinted gradient plus fine grain."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.25, 0.75, w, dtype=np.float32)[None, :, None]
    base = ramp * np.array(tint, np.float32)[None, None, :]
    grain = rng.normal(0.0, 0.05, (h, w, 3)).astype(np.float32)
    return np.clip(base + grain, 0, 1).astype(np.float32)


def plastic(image: np.ndarray) -> np.ndarray:
    """The 'AI edit': the lower-right quarter flattened to its local mean (texture gone)."""
    import cv2

    out = image.copy()
    h, w = image.shape[:2]
    region = (slice(h // 2, h - 8), slice(w // 2, w - 8))
    out[region] = cv2.blur(image, (15, 15))[region]
    return out


def make_catalog(
    root: Path, stems: list[str], *, size: tuple[int, int], icc: dict[str, bytes]
) -> tuple[Path, Path]:
    """originals/<stem>.tif and edited/<stem>_ai.tif, 16-bit, each with its ICC profile."""
    originals, edited = root / "originals", root / "edited"
    originals.mkdir(parents=True, exist_ok=True)
    edited.mkdir(exist_ok=True)
    for k, stem in enumerate(stems):
        image = photo(k, *size, tint=(1.0, 0.8 - 0.1 * k, 0.6))
        info = io.ImageInfo(format="tiff", bits=16, icc=icc.get(stem))
        io.write_image(originals / f"{stem}.tif", image, info)
        io.write_image(edited / f"{stem}_ai.tif", plastic(image), info)
    return originals, edited


def run(originals: Path, edited: Path, out: Path, **options):
    from regrain._batch import pair_folders, run_batch

    return run_batch(pair_folders(originals, edited, out), out, workers=1, **options)
