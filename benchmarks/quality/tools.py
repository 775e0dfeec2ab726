"""Real third-party image tools that do what AI retouching does, each a different kind of filter.

Four groups, one table. Every tool is a published library function called as its users call it,
at a strength drawn from a seeded generator (so each case is repeatable and no two are alike):

========= ========================================================================================
group     what the tool stands for
========= ========================================================================================
smooth    skin smoothing / glare removal: the texture goes, large shapes and tones stay
resample  an area regenerated at a lower resolution and upsampled (as Generative Fill works at
          about 1024 px on the long side and scales its result up to the frame)
fill      a removal: the hole is filled from its surroundings (no texture of its own)
deliver   the whole frame exported again (every pixel touched a little)
========= ========================================================================================

Each tool belongs to one set: tuning or validation. The sets share no tool, and no two tools are
the same kind of filter (one bilateral, one total variation, one non-local means...), so that a
restore tuned on the tuning tools meets filters it has never seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tool:
    """A third-party function applied as its users apply it, with a seeded strength."""

    name: str
    group: str  # "smooth", "resample", "fill" or "deliver"
    set: str  # "tuning" or "validation"
    library: str  # the call, as a reader would look it up
    kind: str  # what kind of filter it is
    apply: Callable[..., np.ndarray]  # (image, rng[, mask]) -> image, float32 (H, W, 3)
    needs: str = ""  # an optional module it needs (import name)


def _u8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _f32(levels: np.ndarray) -> np.ndarray:
    return levels.astype(np.float32) / np.float32(255.0)


def _pil(image: np.ndarray):
    from PIL import Image

    return Image.fromarray(_u8(image))


def _from_pil(im) -> np.ndarray:
    return _f32(np.asarray(im.convert("RGB")))


# ------------------------------------------------------------------------------------ smooth


def bilateral(image, rng):
    import cv2

    sigma_color = float(rng.uniform(0.15, 0.3))
    sigma_space = float(rng.uniform(4.0, 8.0))
    out = np.ascontiguousarray(image, dtype=np.float32)
    for _ in range(int(rng.integers(1, 3))):  # beauty filters often run it twice
        out = cv2.bilateralFilter(out, d=0, sigmaColor=sigma_color, sigmaSpace=sigma_space)
    return out


def gaussian(image, rng):
    from PIL import ImageFilter

    return _from_pil(_pil(image).filter(ImageFilter.GaussianBlur(float(rng.uniform(1.5, 3.5)))))


def nl_means(image, rng):
    import cv2

    h = float(rng.uniform(14.0, 26.0))
    return _f32(cv2.fastNlMeansDenoisingColored(_u8(image), None, h, h, 7, 21))


def total_variation(image, rng):
    from skimage.restoration import denoise_tv_chambolle

    weight = float(rng.uniform(0.05, 0.14))
    out = denoise_tv_chambolle(image.astype(np.float64), weight=weight, channel_axis=-1)
    return out.astype(np.float32)


def wavelet(image, rng):
    from skimage.restoration import denoise_wavelet

    sigma = float(rng.uniform(0.08, 0.15))
    out = denoise_wavelet(
        image.astype(np.float64),
        sigma=sigma,
        method="BayesShrink",
        mode="soft",
        channel_axis=-1,
        convert2ycbcr=True,
        rescale_sigma=True,
    )
    return np.clip(out, 0, 1).astype(np.float32)


def domain_transform(image, rng):
    import cv2

    sigma_s = float(rng.uniform(20.0, 60.0))
    sigma_r = float(rng.uniform(0.35, 0.7))
    out = cv2.edgePreservingFilter(
        _u8(image), flags=cv2.RECURS_FILTER, sigma_s=sigma_s, sigma_r=sigma_r
    )
    return _f32(out)


def median(image, rng):
    from PIL import ImageFilter

    size = int(rng.choice([5, 7]))
    return _from_pil(_pil(image).filter(ImageFilter.MedianFilter(size)))


def mean_shift(image, rng):
    import cv2

    sp = float(rng.uniform(6.0, 12.0))
    sr = float(rng.uniform(25.0, 45.0))
    return _f32(cv2.pyrMeanShiftFiltering(_u8(image), sp, sr))


# ---------------------------------------------------------------------------------- resample


def _factor(rng) -> float:
    return float(rng.uniform(2.0, 4.0))


def area_cubic(image, rng):
    import cv2

    h, w = image.shape[:2]
    f = _factor(rng)
    small = cv2.resize(image, (max(2, round(w / f)), max(2, round(h / f))), cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def lanczos(image, rng):
    from PIL import Image

    h, w = image.shape[:2]
    f = _factor(rng)
    size = (max(2, round(w / f)), max(2, round(h / f)))
    planes = []
    for c in range(image.shape[2]):  # mode "F": 32-bit float planes, no 8-bit rounding
        plane = Image.fromarray(np.ascontiguousarray(image[..., c], np.float32), mode="F")
        plane = plane.resize(size, Image.Resampling.LANCZOS).resize(
            (w, h), Image.Resampling.LANCZOS
        )
        planes.append(np.asarray(plane, np.float32))
    return np.clip(np.stack(planes, axis=2), 0, 1)


def spline(image, rng):
    from skimage.transform import rescale, resize

    h, w = image.shape[:2]
    small = rescale(
        image.astype(np.float64), 1.0 / _factor(rng), order=3, anti_aliasing=True, channel_axis=-1
    )
    return np.clip(resize(small, (h, w), order=3), 0, 1).astype(np.float32)


def pyramid(image, rng):
    import cv2

    levels = int(rng.integers(1, 3))
    small = np.ascontiguousarray(image, np.float32)
    sizes = []
    for _ in range(levels):
        sizes.append((small.shape[1], small.shape[0]))
        small = cv2.pyrDown(small)
    for size in reversed(sizes):
        small = cv2.pyrUp(small, dstsize=size)
    return np.clip(small, 0, 1)


# -------------------------------------------------------------------------------------- fill


def telea(image, rng, mask):
    return _inpaint_planes(image, mask, float(rng.uniform(3.0, 7.0)), "telea")


def navier_stokes(image, rng, mask):
    return _inpaint_planes(image, mask, float(rng.uniform(3.0, 7.0)), "ns")


def _inpaint_planes(image, mask, radius, method):
    import cv2

    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    hole = (mask > 0).astype(np.uint8)
    # 16-bit planes: OpenCV's fill takes 8-bit colour or 16-bit / float one-channel images, and
    # its TELEA path returns garbage on float32 (std ~1 on a flat 0.5 plane, OpenCV 5.1)
    levels = np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)
    planes = [
        cv2.inpaint(np.ascontiguousarray(levels[..., c]), hole, radius, flag)
        for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=2).astype(np.float32) / np.float32(65535)


def biharmonic(image, rng, mask):
    from skimage.restoration import inpaint_biharmonic

    out = inpaint_biharmonic(image.astype(np.float64), mask > 0, channel_axis=-1)
    return np.clip(out, 0, 1).astype(np.float32)


def low_res_fill(image, rng, mask):
    """Generative-Fill-like: the hole filled at 1/2-1/4 of the resolution, scaled back up."""
    import cv2
    from skimage.restoration import inpaint_biharmonic

    h, w = image.shape[:2]
    f = _factor(rng)
    size = (max(4, round(w / f)), max(4, round(h / f)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    hole = cv2.resize((mask > 0).astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    hole = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    filled = inpaint_biharmonic(small.astype(np.float64), hole, channel_axis=-1)
    up = cv2.resize(filled.astype(np.float32), (w, h), interpolation=cv2.INTER_LANCZOS4)
    return np.where(mask[..., None] > 0, np.clip(up, 0, 1), image).astype(np.float32)


# ----------------------------------------------------------------------------------- deliver


def jpeg_opencv(image, rng):
    import cv2

    quality = int(rng.integers(88, 96))
    _, data = cv2.imencode(".jpg", _u8(image)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return _f32(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def jpeg_pillow(image, rng):
    return _pillow_codec(image, "JPEG", quality=int(rng.integers(80, 93)), subsampling=2)


def webp_pillow(image, rng):
    return _pillow_codec(image, "WEBP", quality=int(rng.integers(80, 93)))


def _pillow_codec(image, fmt, **options):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    _pil(image).save(buffer, format=fmt, **options)
    buffer.seek(0)
    with Image.open(buffer) as im:
        return _from_pil(im)


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        # tuning: one tool per group
        Tool("bilateral", "smooth", "tuning", "cv2.bilateralFilter", "bilateral (edge-aware "
             "Gaussian)", bilateral),
        Tool("gaussian", "smooth", "tuning", "PIL.ImageFilter.GaussianBlur", "linear blur",
             gaussian),
        Tool("area-cubic", "resample", "tuning", "cv2.resize INTER_AREA / INTER_CUBIC",
             "box down, cubic up", area_cubic),
        Tool("telea", "fill", "tuning", "cv2.inpaint INPAINT_TELEA", "fast marching fill", telea),
        Tool("jpeg-opencv", "deliver", "tuning", "cv2.imencode .jpg q88-95", "JPEG (libjpeg)",
             jpeg_opencv),
        # validation: the other kinds of filter
        Tool("nl-means", "smooth", "validation", "cv2.fastNlMeansDenoisingColored",
             "non-local means", nl_means),
        Tool("total-variation", "smooth", "validation",
             "skimage.restoration.denoise_tv_chambolle", "total variation", total_variation),
        Tool("wavelet", "smooth", "validation", "skimage.restoration.denoise_wavelet",
             "wavelet shrinkage (BayesShrink)", wavelet, needs="pywt"),
        Tool("domain-transform", "smooth", "validation", "cv2.edgePreservingFilter RECURS",
             "domain transform", domain_transform),
        Tool("median", "smooth", "validation", "PIL.ImageFilter.MedianFilter", "rank (median)",
             median),
        Tool("mean-shift", "smooth", "validation", "cv2.pyrMeanShiftFiltering", "mean shift",
             mean_shift),
        Tool("lanczos", "resample", "validation", "PIL Image.resize LANCZOS", "Lanczos",
             lanczos),
        Tool("spline", "resample", "validation", "skimage.transform.rescale order 3",
             "anti-aliased cubic spline", spline),
        Tool("pyramid", "resample", "validation", "cv2.pyrDown / cv2.pyrUp", "Gaussian pyramid",
             pyramid),
        Tool("navier-stokes", "fill", "validation", "cv2.inpaint INPAINT_NS",
             "Navier-Stokes fill", navier_stokes),
        Tool("biharmonic", "fill", "validation", "skimage.restoration.inpaint_biharmonic",
             "biharmonic fill", biharmonic),
        Tool("low-res-fill", "fill", "validation", "inpaint_biharmonic at 1/2-1/4 + Lanczos up",
             "generative-fill-like (low resolution)", low_res_fill),
        Tool("jpeg-pillow", "deliver", "validation", "PIL JPEG q80-92 4:2:0", "JPEG (Pillow)",
             jpeg_pillow),
        Tool("webp", "deliver", "validation", "PIL WebP q80-92", "WebP (VP8)", webp_pillow),
    )
}  # fmt: skip
"""Tool name -> :class:`Tool`."""


def tools_for(group: str, set_name: str) -> tuple[str, ...]:
    """The tools of *group* in *set_name*, in table order."""
    return tuple(n for n, t in TOOLS.items() if t.group == group and t.set == set_name)


def available(name: str) -> bool:
    """False when the tool needs a module that is not installed (e.g. PyWavelets)."""
    needs = TOOLS[name].needs
    if not needs:
        return True
    import importlib.util

    return importlib.util.find_spec(needs) is not None
