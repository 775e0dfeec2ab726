"""Rebuild the demo pair in this folder from scikit-image's astronaut photograph (public domain).

    .venv/bin/python samples/demo/regenerate.py

Writes original.tif and edited.tif (16-bit RGB, sRGB ICC profile, deflate) and the kept ground
truth in truth/: truth.tif (what an ideal restore returns), one 8-bit mask per kind of damage
(region-<kind>.png, where the AI changed things) and defects.png (the removed defects/objects).
Deterministic: running it again gives the same pixels. Needs scikit-image (``regrain[test]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regrain import io
from regrain._simulate import composite

HERE = Path(__file__).resolve().parent


def srgb_profile() -> bytes:
    """The sRGB ICC profile as bytes (Little CMS's built-in, through Pillow).

    Little CMS stamps the creation time into the header (bytes 24-35); a fixed date keeps the
    files identical from one regeneration to the next. The profile ID is left unset (zero), so
    no checksum needs recomputing.
    """
    import struct

    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(icc)


def main() -> None:
    case = composite("astronaut", seed=0)
    rgb = io.ImageInfo(format="tiff", bits=16, icc=srgb_profile(), compression="deflate")
    gray = io.ImageInfo(format="png", bits=8)
    (HERE / "truth").mkdir(exist_ok=True)
    io.write_image(HERE / "original.tif", case.original, rgb)
    io.write_image(HERE / "edited.tif", case.edited, rgb)
    io.write_image(HERE / "truth" / "truth.tif", case.truth, rgb)
    for kind, region in case.parts.items():
        io.write_image(HERE / "truth" / f"region-{kind}.png", region[..., None], gray)
    io.write_image(HERE / "truth" / "defects.png", case.defect[..., None], gray)
    for path in sorted(HERE.rglob("*.*")):
        if path.suffix in (".tif", ".png"):
            print(f"{path.relative_to(HERE)}: {path.stat().st_size / 1e6:.2f} MB")
    assert np.array_equal(io.read_image(HERE / "edited.tif")[0], case.edited), (
        "edited.tif does not read back bit for bit"
    )


if __name__ == "__main__":
    main()
