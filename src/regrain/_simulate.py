"""Simulated AI damage with the ground truth kept: the test bench of :func:`regrain.restore`.

A real AI edit never tells us what the perfect result would have been. Here we start from a real
photograph, damage it the way retouching tools do, and keep what an ideal restore must return. Each
case builds an (original, edited) pair plus that target:

========== ================================================================ =====================
case       what the AI did                                                  ideal result
========== ================================================================ =====================
retone     skin-smoothing filter: tones shifted, fine detail cut to 15%     edited's tones with
           (bilateral/Gaussian mix: large shapes and tones kept)            the photo's texture
glare      the original has glare that washed texture out; the AI removed  the photo's texture
           the glare and smoothed what it painted                           at full strength
defect     the original has blemishes, a scratch, dust, a specular spot;    texture without the
           the AI healed them (OpenCV's inpainting over their mask)         defects
replaced   an object sits in the original; the AI removed it and filled     the photo behind the
           the hole from its border (OpenCV's inpainting)                   object, textured
smooth     a texture-free area (bokeh) with a defect the AI healed          still smooth: no grain
========== ================================================================ =====================

Outside the changed region the edited image equals the original bit for bit, as Generative Fill
leaves it. All values are on the 16-bit grid (k / 65535), so the pair survives a 16-bit TIFF round
trip unchanged. Everything is seeded and deterministic.

The photographs come from scikit-image's bundled data (a test extra, ``pip install regrain[test]``):

============ ========= ============================================================================
photo        material  source and licence (scikit-image ``skimage/data/_fetchers.py``)
============ ========= ============================================================================
astronaut    skin      Eileen Collins, NASA; public domain ("no known copyright restrictions")
chelsea      fur       Stefan van der Walt's cat; CC0
coins        metal     Greek coins, Brooklyn Museum collection; no known copyright restrictions
motorcycle   metal     Middlebury 2014 stereo dataset (left view, downsampled 4x); no licence stated
                       by scikit-image: used at run time only, never copied into this repository
gravel       (object)  CC0Textures "Gravel04"; CC0 (texture of the pasted object in ``replaced``)
============ ========= ============================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from regrain._filters import gaussian_blur

__all__ = [
    "CASES",
    "PHOTOS",
    "DamageCase",
    "Photo",
    "all_cases",
    "composite",
    "defect",
    "defect_band",
    "glare",
    "inpaint",
    "load_photo",
    "reencoded",
    "replaced",
    "retone",
    "smooth",
]

TONE_KEEP_SIGMA = 4.0
"""The simulated AI removes detail finer than this (px) and keeps coarser tones intact."""

Ellipse = tuple[int, int, int, int]
"""(centre y, centre x, radius y, radius x) in px of the photo as loaded."""


@dataclass(frozen=True)
class Photo:
    """A bundled photograph, how it is cropped, and where each kind of damage goes on it."""

    loader: str
    material: str
    anchors: dict[str, Ellipse]
    crop: tuple[int, int, int, int] | None = None  # (y0, x0, height, width)
    note: str = ""


PHOTOS: dict[str, Photo] = {
    "astronaut": Photo(
        "astronaut",
        "skin",
        {
            "retone": (112, 234, 44, 52),  # the face
            "glare": (300, 70, 40, 40),  # suit, left shoulder
            "defect": (318, 205, 34, 48),  # suit, chest
            "replaced": (440, 92, 32, 32),  # suit, lower left
            "smooth": (85, 338, 58, 40),  # wall between the face and the shuttle model
        },
        note="public domain (NASA)",
    ),
    "coins": Photo(
        "coins",
        "metal",
        {
            "retone": (196, 214, 26, 26),
            "glare": (122, 270, 30, 30),
            "defect": (50, 155, 26, 26),
            "replaced": (262, 172, 24, 24),
            "smooth": (200, 100, 52, 52),  # a bokeh blob over four coins
        },
        note="no known copyright restrictions (Brooklyn Museum)",
    ),
    "chelsea": Photo(
        "chelsea",
        "fur",
        {
            "retone": (42, 230, 30, 52),
            "glare": (195, 110, 40, 45),
            "defect": (200, 345, 36, 40),
            "replaced": (120, 262, 24, 24),
            "smooth": (240, 62, 52, 56),
        },
        note="CC0 (Stefan van der Walt)",
    ),
    "motorcycle": Photo(
        "stereo_motorcycle",
        "metal",
        {
            "retone": (455, 100, 30, 60),  # concrete floor
            "glare": (300, 285, 45, 50),  # engine
            "defect": (322, 82, 36, 36),  # rear wheel hub and spokes
            "replaced": (455, 290, 30, 40),  # floor
            "smooth": (62, 112, 52, 64),  # wall
        },
        crop=(0, 120, 500, 512),
        note="Middlebury 2014, no licence stated; not redistributed",
    ),
}
"""The benchmark's photographs: material (for grain baselines) and where each case is placed."""


@dataclass(frozen=True)
class DamageCase:
    """One simulated AI edit with its ground truth.

    Images are float32 (H, W, 3) in [0, 1] on the 16-bit grid; maps are float32 (H, W).

    - ``original``: the photo before the AI (may hold glare, defects, an object).
    - ``edited``: the AI's output; equal to ``original`` wherever ``region`` is 0.
    - ``truth``: what an ideal restore returns: the edited image's tones with the texture the photo
      really has (and no defect, no object, no glare).
    - ``region``: where the AI changed things, 0..1 with a feathered edge.
    - ``defect``: 1 over the area of the removed defects/object (0 when there is none).
    - ``defect_high``: the high band the defects/object put there, luma(original) minus
      luma(truth) high bands, zero outside ``defect``; a restore must not bring it back.
    - ``parts``: kind of damage -> its own region (one entry, unless :func:`composite`).
    """

    name: str
    photo: str
    material: str
    original: np.ndarray
    edited: np.ndarray
    truth: np.ndarray
    region: np.ndarray
    defect: np.ndarray
    defect_high: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def part(self, kind: str) -> DamageCase:
        """The same pair, scored as one kind of damage: its region and its defects only."""
        region = self.parts[kind]
        own = region > 0
        return replace(
            self,
            name=kind,
            region=region,
            defect=np.where(own, self.defect, 0.0).astype(np.float32),
            defect_high=np.where(own, self.defect_high, 0.0).astype(np.float32),
            parts={kind: region},
        )


# ---------------------------------------------------------------------------------------------
# photographs and shapes


def load_photo(name: str, *, size: int = 512) -> np.ndarray:
    """A bundled photograph as float32 (H, W, 3) in [0, 1], at most *size* px on each side.

    Grayscale photos are repeated into three channels. Larger photos are centre-cropped (never
    resampled: resampling would soften the very texture under test).
    """
    from regrain._checks import check_choice

    photo = PHOTOS[check_choice(name, PHOTOS, "photo")]
    data = _skimage_data()
    image = getattr(data, photo.loader)()
    if isinstance(image, tuple):  # stereo_motorcycle returns (left, right, disparity)
        image = image[0]
    if photo.crop is not None:
        y0, x0, h, w = photo.crop
        image = image[y0 : y0 + h, x0 : x0 + w]
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    h, w = image.shape[:2]
    y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    image = image[y0 : y0 + size, x0 : x0 + size, :3]
    return np.ascontiguousarray(image, dtype=np.float32) / np.float32(255.0)


def _skimage_data():
    try:
        import skimage.data
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the simulated benchmark needs scikit-image's sample photos: "
            "pip install 'regrain[test]'"
        ) from None
    return skimage.data


def _q16(image: np.ndarray) -> np.ndarray:
    """Round to the 16-bit grid, clipped to [0, 1], float32 exactly as regrain.io reads 16-bit."""
    levels = np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return np.multiply(levels, np.float32(1 / 65535), dtype=np.float32)


def _ellipse_distance(shape: tuple[int, int], ellipse: Ellipse, angle: float = 0.0) -> np.ndarray:
    """Normalised elliptic distance: 1 on the ellipse, 0 at its centre."""
    cy, cx, ry, rx = ellipse
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return np.sqrt((u / rx) ** 2 + (v / ry) ** 2)


def _feather(hard: np.ndarray, width: float) -> np.ndarray:
    """A 0/1 mask with a smoothstep edge *width* px wide centred on its border; compact support."""
    import cv2

    hard = (hard > 0).astype(np.uint8)
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform(1 - hard, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    signed = np.where(hard > 0, inside - 0.5, 0.5 - outside)
    t = np.clip(signed / width + 0.5, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate((mask > 0).astype(np.uint8), kernel).astype(np.float32)


def _soft_disc(shape: tuple[int, int], cy: float, cx: float, radius: float, edge: float):
    """Alpha of a disc with a soft edge *edge* px wide (float32 (H, W))."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    t = np.clip((radius - d) / max(edge, 1e-3) + 0.5, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def ai_smooth(image: np.ndarray, *, keep: float = 0.15) -> np.ndarray:
    """What a skin-smoothing filter or a generative fill does to fine detail.

    The smooth layer mixes an edge-preserving bilateral filter (30%; colour sigma 0.3, space
    sigma 4 px) with a Gaussian blur (70%, sigma 3 px); then *keep* of the removed detail is put
    back. The 2 px high band drops to 20-45% of its energy (less on pure texture, more where
    strong edges dominate); tones stay. The mix is deliberately none of the Gaussians a restore
    may use, so it cannot simply be inverted.
    """
    import cv2

    img = np.ascontiguousarray(image, dtype=np.float32)
    low = cv2.bilateralFilter(img, d=17, sigmaColor=0.3, sigmaSpace=4.0)
    low = 0.3 * low + 0.7 * gaussian_blur(img, 3.0)
    detail = img - low
    # the AI keeps tones: only the fine part of the removed detail goes
    detail -= gaussian_blur(detail, TONE_KEEP_SIGMA)
    return (img - np.float32(1.0 - keep) * detail).astype(np.float32)


def inpaint(image: np.ndarray, mask: np.ndarray, radius: float = 3.0) -> np.ndarray:
    """What a healing brush or an inpainting fill does to a selection: OpenCV's Telea fill of
    *mask* (H, W) from its border, channel by channel on the 16-bit grid (OpenCV's float path
    does not fill correctly: measured)."""
    import cv2

    hole = (mask > 0).astype(np.uint8)
    levels = np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    planes = [
        cv2.inpaint(np.ascontiguousarray(levels[..., c]), hole, radius, cv2.INPAINT_TELEA)
        for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=2).astype(np.float32) * np.float32(1 / 65535)


def _healed_ideal(fill: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """What a perfect restore makes of a healed area: the fill's tones (the AI's, kept) with the
    scene's own texture (the detail of clean - fill finer than the benchmark's texture scale,
    :data:`regrain._quality.HIGH_SIGMA`: a fill from a small mask's border has no coarser
    structure to give back, and the scene's would move the fill's tones)."""
    from regrain._quality import HIGH_SIGMA

    detail = clean - fill
    return (fill + detail - gaussian_blur(detail, HIGH_SIGMA)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the scene builder: damage kinds applied at places of one photo


class _Scene:
    """A photo being damaged: kinds of damage are applied at disjoint places, then finished."""

    def __init__(self, photo: np.ndarray, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.clean = photo.astype(np.float32).copy()  # the scene as it really is
        self.original = self.clean.copy()
        self.ideal = self.clean.copy()  # what a perfect restore returns where the AI edited
        self.ai = self.clean.copy()  # what the AI painted where it edited
        self.region = np.zeros(photo.shape[:2], np.float32)
        self.parts: dict[str, np.ndarray] = {}
        self.defect = np.zeros(photo.shape[:2], np.float32)
        self.shape = photo.shape[:2]

    def _claim(self, kind: str, region: np.ndarray, ai: np.ndarray, ideal: np.ndarray) -> None:
        if np.any((region > 0) & (self.region > 0)):
            raise ValueError("simulated damage regions overlap; choose disjoint anchors")
        self.parts[kind] = region
        inside = region > 0
        self.ai[inside] = ai[inside]
        self.ideal[inside] = ideal[inside]
        self.region = np.maximum(self.region, region)

    def retone(self, where: Ellipse) -> None:
        region = _feather(_ellipse_distance(self.shape, where) <= 1.0, 10.0)
        gain = np.array([1.04, 1.035, 1.03], np.float32)
        shift = np.array([0.008, 0.0, -0.006], np.float32)
        toned = np.clip(self.clean * gain + shift, 0.0, 1.0)
        self._claim("retone", region, ai_smooth(toned), toned)

    def glare(self, where: Ellipse) -> None:
        d = _ellipse_distance(self.shape, where)
        g = (0.5 * np.exp(-2.0 * d * d)).astype(np.float32)[..., None]
        region = _feather(d <= 1.35, 8.0)
        self.original = self.original * (1.0 - g) + g
        self._claim("glare", region, ai_smooth(self.clean), self.clean)

    def _defects(self, where: Ellipse, *, spots: int, scratch: bool, dust: int) -> np.ndarray:
        """Paint defects into the original inside *where*; return their alpha (H, W)."""
        import cv2

        cy, cx, ry, rx = where
        rng = self.rng
        total = np.zeros(self.shape, np.float32)
        out = self.original

        def place(margin: float) -> tuple[float, float]:
            a, r = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 1))
            return cy + (ry - margin) * r * np.sin(a), cx + (rx - margin) * r * np.cos(a)

        for k in range(spots):  # blemishes: dark or reddish, soft edges
            radius = rng.uniform(3.0, 8.0)
            y, x = place(radius + 2)
            alpha = _soft_disc(self.shape, y, x, radius, edge=rng.uniform(3.0, 6.0))
            tint = (0.80, 0.74, 0.74) if k % 2 == 0 else (0.72, 0.72, 0.73)
            out = out * (1.0 - alpha[..., None] * (1.0 - np.array(tint, np.float32)))
            total = np.maximum(total, alpha)
        if scratch:  # a thin light line, as on brushed metal
            line = np.zeros(self.shape, np.float32)
            a = rng.uniform(0, np.pi)
            dy, dx = 0.8 * ry * np.sin(a), 0.8 * rx * np.cos(a)
            p0 = (round(cx - dx), round(cy - dy))
            p1 = (round(cx + dx), round(cy + dy))
            cv2.line(line, p0, p1, 1.0, thickness=1, lineType=cv2.LINE_AA)
            line = np.clip(gaussian_blur(line, 0.5) * 1.6, 0.0, 1.0)
            out = out + line[..., None] * np.float32(0.22)
            total = np.maximum(total, line)
        for k in range(dust):  # dust specks, 1-2 px, dark and light
            y, x = place(3.0)
            alpha = _soft_disc(self.shape, y, x, rng.uniform(0.8, 1.6), edge=1.0)
            level = np.float32(0.08 if k % 3 == 0 else 0.95)
            out = out * (1.0 - alpha[..., None] * 0.7) + alpha[..., None] * 0.7 * level
            total = np.maximum(total, alpha)
        self.original = np.clip(out, 0.0, 1.0).astype(np.float32)
        return total

    def defect_kind(self, where: Ellipse) -> None:
        alpha = self._defects(where, spots=4, scratch=True, dust=8)
        # one small, sharp specular highlight
        cy, cx, ry, rx = where
        y, x = cy + 0.3 * ry, cx - 0.35 * rx
        spec = _soft_disc(self.shape, y, x, 2.5, edge=1.5)
        self.original = (self.original * (1.0 - spec[..., None]) + spec[..., None]).astype(
            np.float32
        )
        alpha = np.maximum(alpha, spec)
        area = _dilate(alpha > 0.02, 3)
        self.defect = np.maximum(self.defect, area)
        fill = inpaint(self.original, area)
        self._claim("defect", area, fill, _healed_ideal(fill, self.clean))

    def replaced(self, where: Ellipse) -> None:
        """Paste an object (gravel-textured, tinted, dark rim) and let the AI remove it."""
        rng = self.rng
        cy, cx, ry, rx = where
        angle = float(rng.uniform(0, np.pi))
        d = _ellipse_distance(self.shape, (cy, cx, int(ry * 0.8), rx), angle)
        alpha = _feather(d <= 1.0, 2.0)[..., None]
        gravel = _skimage_data().gravel().astype(np.float32) / 255.0
        gy, gx = (int(v) for v in rng.integers(0, 512 - 128, size=2))
        patch = np.zeros(self.shape, np.float32)
        h, w = self.shape
        tile = gravel[gy : gy + 128, gx : gx + 128]
        y0, x0 = max(0, cy - 64), max(0, cx - 64)
        y1, x1 = min(h, y0 + 128), min(w, x0 + 128)
        patch[y0:y1, x0:x1] = tile[: y1 - y0, : x1 - x0]
        tint = np.array(rng.uniform(0.35, 0.85, size=3), np.float32)
        obj = (0.35 + 0.9 * (patch[..., None] - 0.5)) * tint + 0.25 * tint
        rim = np.clip(1.0 - np.abs(d - 0.93) / 0.07, 0.0, 1.0)[..., None]
        obj = obj * (1.0 - 0.8 * rim)
        self.original = (self.original * (1.0 - alpha) + np.clip(obj, 0, 1) * alpha).astype(
            np.float32
        )
        area = _dilate(alpha[..., 0] > 0.02, 3)
        self.defect = np.maximum(self.defect, area)
        fill = inpaint(self.original, area)
        self._claim("replaced", area, fill, _healed_ideal(fill, self.clean))

    def smooth(self, where: Ellipse) -> None:
        """Make *where* texture-free (bokeh) in the scene; put a defect there the AI removed."""
        cy, cx, ry, rx = where
        zone = _feather(_ellipse_distance(self.shape, where) <= 1.0, 10.0)[..., None]
        blurred = gaussian_blur(self.clean, 10.0)
        self.clean = (self.clean * (1.0 - zone) + blurred * zone).astype(np.float32)
        self.original = (self.original * (1.0 - zone) + blurred * zone).astype(np.float32)
        inner = (cy, cx, max(4, ry // 4), max(4, rx // 4))
        alpha = self._defects(inner, spots=1, scratch=False, dust=4)
        area = _dilate(alpha > 0.02, 3)
        self.defect = np.maximum(self.defect, area)
        fill = inpaint(self.original, area)
        self._claim("smooth", area, fill, _healed_ideal(fill, self.clean))

    def finish(self, name: str, photo: str, material: str) -> DamageCase:
        r = self.region[..., None]
        original = _q16(self.original)
        inside = r > 0
        edited = np.where(inside, _q16(original * (1.0 - r) + self.ai * r), original)
        truth = np.where(inside, _q16(original * (1.0 - r) + self.ideal * r), original)
        return DamageCase(
            name=name,
            photo=photo,
            material=material,
            original=original,
            edited=edited.astype(np.float32),
            truth=truth.astype(np.float32),
            region=self.region,
            defect=self.defect,
            defect_high=defect_band(original, truth, self.defect),
            parts=dict(self.parts),
        )


def defect_band(original: np.ndarray, truth: np.ndarray, defect: np.ndarray) -> np.ndarray:
    """The high band a defect/object adds (H, W): high(original) - high(truth) on *defect*, else 0.

    High bands as :func:`regrain._quality.high_band` defines them.
    """
    from regrain._quality import high_band

    band = np.where(defect > 0, high_band(original) - high_band(truth), 0.0)
    return band.astype(np.float32)


_KINDS: dict[str, Callable[[_Scene, Ellipse], None]] = {
    "retone": _Scene.retone,
    "glare": _Scene.glare,
    "defect": _Scene.defect_kind,
    "replaced": _Scene.replaced,
    "smooth": _Scene.smooth,
}


def _case(kind: str, photo: str, size: int, seed: int) -> DamageCase:
    from regrain._checks import check_choice

    spec = PHOTOS[check_choice(photo, PHOTOS, "photo")]
    scene = _Scene(load_photo(photo, size=size), seed)
    _KINDS[kind](scene, spec.anchors[kind])
    return scene.finish(kind, photo, spec.material)


def retone(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """Skin smoothing on the photo's ``retone`` place: +4% brightness, a slight warm shift, fine
    detail cut to 15% (see :func:`ai_smooth`); geometry and tones kept."""
    return _case("retone", photo, size, seed)


def glare(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """Glare (up to 50% white) washed the original's texture out; the AI removed it, smoothly."""
    return _case("glare", photo, size, seed)


def defect(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """Blemishes, a scratch, dust and a specular spot, painted out smoothly by the AI."""
    return _case("defect", photo, size, seed)


def replaced(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """A textured object with a dark rim, removed by the AI with a smooth fill."""
    return _case("replaced", photo, size, seed)


def smooth(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """A texture-free (bokeh) area with a defect the AI removed: restore must add no grain."""
    return _case("smooth", photo, size, seed)


CASES: dict[str, Callable[..., DamageCase]] = {
    "retone": retone,
    "glare": glare,
    "defect": defect,
    "replaced": replaced,
    "smooth": smooth,
}
"""Case name -> function(photo, *, size, seed) -> :class:`DamageCase`."""


def all_cases(
    photos: tuple[str, ...] = tuple(PHOTOS), *, size: int = 512, seed: int = 0
) -> Iterator[DamageCase]:
    """Every (photo x case) pair, photo by photo."""
    for photo in photos:
        for fn in CASES.values():
            yield fn(photo, size=size, seed=seed)


def composite(photo: str = "astronaut", *, size: int = 512, seed: int = 0) -> DamageCase:
    """All five kinds of damage at once, each at its own place of *photo* (the demo's pair).

    ``smooth`` is applied first because it changes the scene itself.
    """
    spec = PHOTOS[photo]
    scene = _Scene(load_photo(photo, size=size), seed)
    for kind in ("smooth", "retone", "glare", "defect", "replaced"):
        _KINDS[kind](scene, spec.anchors[kind])
    return scene.finish("all", photo, spec.material)


def reencoded(case: DamageCase, *, quality: int = 95) -> DamageCase:
    """*case* as a tool delivers it when it exports the whole frame as JPEG (*quality*, 4:2:0):
    every pixel of the edited image is touched a little, the edit itself is unchanged."""
    import dataclasses

    import cv2

    rgb = case.edited if case.edited.shape[2] == 3 else np.repeat(case.edited, 3, axis=2)
    levels = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)[..., ::-1]
    _, data = cv2.imencode(".jpg", levels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255
    edited = decoded[..., : case.edited.shape[2]].copy()
    return dataclasses.replace(case, edited=edited)
