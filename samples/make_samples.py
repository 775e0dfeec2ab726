"""Regenerate the bundled sample photographs from scikit-image's installed data folder.

    .venv/bin/python samples/make_samples.py

Needs scikit-image (a test extra: ``pip install -e ".[test]"``); nothing is downloaded. Writes:

- ``astronaut-16bit.tif``: NASA's portrait of Eileen Collins (public domain) as a 16-bit RGB TIFF
  (deflate + predictor) with an embedded sRGB ICC profile, EXIF (artist, copyright, description)
  and XMP (source, rights). The source is 8-bit, so its 16-bit values are v * 257: the file
  exercises the 16-bit + ICC + metadata path exactly as a Photoshop 16-bit TIFF would.
- ``chelsea.png``: Chelsea the cat (CC0, Stefan van der Walt): fur. A byte copy of the original.
- ``coffee.jpg``: a coffee cup on wood (CC0, Rachel Michetti): porcelain, wood grain, a metal
  spoon. JPEG quality 95, 4:4:4, with the sRGB ICC profile and EXIF.

The output is deterministic: running it again gives the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def skimage_data() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def srgb_icc() -> bytes:
    """LittleCMS's built-in sRGB profile, its creation date pinned so the files do not change."""
    import struct

    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)  # header date; the profile ID is unset
    return bytes(icc)


def exif_block(description: str, artist: str, copyright_: str) -> bytes:
    """A TIFF-structured EXIF block (IFD0 + an Exif IFD) as regrain.io.ImageInfo.exif holds it."""
    from PIL import Image

    exif = Image.Exif()
    exif[270] = description  # ImageDescription
    exif[274] = 1  # Orientation: as stored
    exif[315] = artist  # Artist
    exif[33432] = copyright_  # Copyright
    exif.get_ifd(0x8769)[0xA001] = 1  # ColorSpace: sRGB
    return exif.tobytes()[6:]  # drop JPEG's "Exif\0\0"


def xmp_packet(source: str, rights: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:source>{source}</dc:source>"
        f'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{rights}</rdf:li></rdf:Alt></dc:rights>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def load_png(name: str) -> np.ndarray:
    import imagecodecs

    return imagecodecs.png_decode((skimage_data() / name).read_bytes())


def main() -> None:
    from regrain.io import ImageInfo, write_image

    icc = srgb_icc()

    astronaut = load_png("astronaut.png").astype(np.uint16) * 257  # exact 8 -> 16 bit levels
    write_image(
        HERE / "astronaut-16bit.tif",
        (astronaut / 65535).astype(np.float32),
        ImageInfo(
            format="tiff",
            bits=16,
            icc=icc,
            exif=exif_block(
                "Astronaut Eileen Collins (scikit-image data: astronaut)",
                "NASA",
                "Public domain (NASA Great Images database)",
            ),
            xmp=xmp_packet("https://flic.kr/p/r9qvLn", "Public domain (NASA)"),
            compression="deflate",
            dpi=(300.0, 300.0),
        ),
    )

    shutil.copyfile(skimage_data() / "chelsea.png", HERE / "chelsea.png")

    coffee = load_png("coffee.png")
    write_image(
        HERE / "coffee.jpg",
        (coffee / 255).astype(np.float32),
        ImageInfo(
            format="jpeg",
            bits=8,
            icc=icc,
            exif=exif_block(
                "Coffee cup, courtesy of Pikolo Espresso Bar (scikit-image data: coffee)",
                "Rachel Michetti",
                "CC0 1.0 (Rachel Michetti)",
            ),
            xmp=xmp_packet("scikit-image data: coffee", "CC0 1.0"),
            dpi=(300.0, 300.0),
        ),
        quality=95,
    )
    for name in ("astronaut-16bit.tif", "chelsea.png", "coffee.jpg"):
        print(f"{name}: {(HERE / name).stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
