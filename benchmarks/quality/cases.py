"""The damage family: real tools applied to real photographs, with the ground truth kept.

One case is one kind of damage at one place of one photo, made by one tool at a seeded strength,
optionally delivered as a re-encoded frame:

============ ================================================= =================== ==============
kind         the original / what the tool did                  the right answer    true class
============ ================================================= =================== ==============
retone       a smoothing tool over an area, then a "tone        the original's      restore
             evening" step as beauty filters do (mid scales     texture on the
             flattened toward the local mean, contrast and      edited tones
             colour changed)
glare        the original holds a veil (up to 30-60% of a       the original's      restore
             light colour) that washed the texture out; the     texture at full
             tool gives the scene back without it, smoothed     strength
regeneration an area worked at 1/2-1/4 of the resolution and    the original's      restore
             upsampled (Generative Fill at ~1024 px), tones     texture
             shifted slightly
defect       blemishes, dust specks, thin anti-aliased 1-px     texture without     rebuild
             scratches of moderate contrast; removed by a fill  the defects
replaced     an object (a texture from scikit-image's grass,    the texture behind  rebuild
             rocket, camera or moon, tinted, dark rim) removed  it, no object
             by a fill
smooth       a texture-free area (the photo's own backdrop,     still smooth:       smooth
             or one made by a strong blur) with a defect,       nothing added
             removed by a fill
============ ================================================= =================== ==============

The truth is built the same way for every kind: the tool's output ``a`` with the texture band of
the clean scene ``x`` put back, ``a + B(x - a)`` where ``B`` keeps what is finer than a Gaussian
of sigma :data:`TEXTURE_SIGMA` (4 px, the seed article's frequency-separation radius); coarser
scales are the tool's (the AI's tones). The tone step of ``retone`` is applied on top, since the
retoucher keeps the AI's tones. Outside the changed area ``edited == original`` bit for bit (except
for a delivery variant, which re-encodes the whole frame: then the truth is the delivered frame
plus the same texture). All images are on the 16-bit grid (k / 65535).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from regrain import _quality as rq
from regrain._simulate import DamageCase

from . import photos, tools

TEXTURE_SIGMA = 4.0
"""px: the truth takes the clean scene's detail finer than this Gaussian; coarser is the AI's."""

KINDS: dict[str, dict] = {
    "retone": {"group": "smooth", "figures": "retone", "tuning": "bilateral"},
    "glare": {"group": "smooth", "figures": "glare", "tuning": "gaussian"},
    "regeneration": {"group": "resample", "figures": "retone", "tuning": "area-cubic"},
    "defect": {"group": "fill", "figures": "defect", "tuning": "telea"},
    "replaced": {"group": "fill", "figures": "replaced", "tuning": "telea"},
    "smooth": {"group": "fill", "figures": "smooth", "tuning": "telea"},
}
"""Kind -> the tool group that makes it, the regrain._quality figures that judge it, and its
one tuning tool (validation draws from all the other tools of the group)."""

TRUE_CLASS = {"untouched": 0, "restore": 1, "rebuild": 2, "smooth": 3, "ignore": 255}
"""Per-pixel true classes, as restore's ``classes`` map numbers them; 255 = feathered edge."""

RESTORE_KINDS = ("retone", "glare", "regeneration")
"""Kinds where the original texture is the right answer (compared with frequency separation)."""
REMOVAL_KINDS = ("defect", "replaced", "smooth")
"""Kinds where something was removed (leak compared with the AI output)."""

FLAT_RMS = 0.004
"""A backdrop is the photo's own when its local high-band RMS is below this (0.4%)."""

TONE_FREE_PASSES = 6
"""Passes of :func:`tone_free` (each removes most of what the previous one left)."""

DELIVERY_SHARE = 1 / 3
"""Share of the cases whose whole frame is re-encoded by a delivery tool."""


@dataclass(frozen=True)
class Spec:
    """What to build: one kind at one place of one photo by one tool."""

    set: str
    photo: str
    kind: str
    tool: str
    rep: int = 0
    delivery: str = ""
    seed: int = 0

    @property
    def id(self) -> str:
        tail = f"+{self.delivery}" if self.delivery else ""
        return f"{self.photo}/{self.kind}/{self.tool}{tail}#{self.rep}"

    def rng(self, salt: str = "") -> np.random.Generator:
        key = f"{self.photo}/{self.kind}/{self.tool}/{self.rep}/{self.seed}/{salt}"
        return np.random.default_rng(zlib.crc32(key.encode()))


@dataclass(frozen=True)
class BenchCase:
    """A built case: a regrain._simulate.DamageCase plus what the benchmark needs beyond it."""

    spec: Spec
    damage: DamageCase  # name = the regrain._quality figure set
    classes: np.ndarray  # uint8 (H, W), TRUE_CLASS values
    clean: np.ndarray  # the scene without defect / object / veil (float32 (H, W, 3))
    grain: str  # material for the grain-overlay baseline
    backdrop: str = ""  # smooth kind: "photo" (its own) or "made" (blurred by the benchmark)


# ----------------------------------------------------------------------------------- helpers


def q16(image: np.ndarray) -> np.ndarray:
    """Round to the 16-bit grid in [0, 1], float32 exactly as regrain.io reads a 16-bit file."""
    levels = np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return np.multiply(levels, np.float32(1 / 65535), dtype=np.float32)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (OpenCV, reflected border, kernel 8 sigma wide): the benchmark's own."""
    import cv2

    k = 2 * int(np.ceil(4.0 * sigma)) + 1
    return cv2.GaussianBlur(
        np.ascontiguousarray(image, np.float32),
        (k, k),
        sigma,
        borderType=cv2.BORDER_REFLECT,
    ).reshape(image.shape)


def texture(v: np.ndarray) -> np.ndarray:
    """B: the detail of *v* finer than :data:`TEXTURE_SIGMA`."""
    return v - blur(v, TEXTURE_SIGMA)


def tone_free(detail: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """*detail* on *mask* with its own local mean at the tone scale taken out.

    A fill's hole is small: the clean texture cut out by it has a mean of its own over the hole
    that regrain._quality's tones (blur sigma 8 px) see as a tone change. The texture a rebuild
    should bring carries no tone, so that mean goes (normalised convolution,
    :data:`TONE_FREE_PASSES` passes).
    """
    m = (mask > 0).astype(np.float32)[..., None]
    out = detail * m
    weight = np.maximum(blur(m, rq.TONE_SIGMA), 1e-4)
    for _ in range(TONE_FREE_PASSES):
        out = (out - blur(out, rq.TONE_SIGMA) / weight * m) * m
    return out.astype(np.float32)


def local_rms(image: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """Local RMS (H, W) of regrain._quality's high band: where the texture is."""
    h = rq.high_band(image)
    return np.sqrt(np.maximum(blur(h * h, sigma), 0.0))


def _feather(hard: np.ndarray, width: float) -> np.ndarray:
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
    return cv2.dilate((mask > 0).astype(np.uint8), kernel) > 0


def _blob(shape, cy, cx, ry, rx, rng, wobble: float = 0.18) -> np.ndarray:
    """An irregular blob (bool (H, W)): a rotated ellipse whose edge wanders by smooth noise."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    a = float(rng.uniform(0, np.pi))
    dy, dx = yy - cy, xx - cx
    u, v = np.cos(a) * dx + np.sin(a) * dy, -np.sin(a) * dx + np.cos(a) * dy
    d = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    noise = blur(rng.standard_normal(shape).astype(np.float32), 0.35 * min(ry, rx))
    noise /= max(float(noise.std()), 1e-6)
    return d + wobble * noise <= 1.0


def _place(x: np.ndarray, rng, radius: float, *, flat: bool = False) -> tuple[int, int]:
    """A centre for a region of *radius*: among the most textured places (or the flattest)."""
    h, w = x.shape[:2]
    m = int(radius) + 6
    rms = local_rms(x, 0.5 * radius)
    lum = blur(x.mean(axis=2), 0.5 * radius)
    # texture under a clipped channel cannot be put back: keep away from saturated colours
    clipped = blur(((x < 0.03) | (x > 0.97)).any(axis=2).astype(np.float32), 0.5 * radius)
    ys, xs = np.mgrid[m : max(m + 1, h - m) : 6, m : max(m + 1, w - m) : 6]
    ys, xs = ys.ravel(), xs.ravel()
    score = rms[ys, xs]
    usable = (lum[ys, xs] > 0.04) & (lum[ys, xs] < 0.93) & (clipped[ys, xs] < 0.02)
    if usable.sum() >= 4:
        ys, xs, score = ys[usable], xs[usable], score[usable]
    if flat:
        pick = np.argsort(score)[: max(1, len(score) // 20)]
    else:
        # textured, but not the strongest edges of the photo (they dominate any band's energy
        # and edge-aware tools keep them): between the 40th and 90th percentile
        lo, hi = np.quantile(score, [0.4, 0.9])
        pick = np.flatnonzero((score >= lo) & (score <= hi))
    k = int(rng.choice(pick))
    return int(ys[k]), int(xs[k])


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (
        slice(max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin)),
        slice(max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin)),
    )


def _radius(x: np.ndarray, rng, low: float, high: float) -> tuple[float, float]:
    scale = min(x.shape[:2]) / 512.0
    ry = float(rng.uniform(low, high)) * max(scale, 0.6)
    return ry, ry * float(rng.uniform(0.7, 1.4))


# ---------------------------------------------------------------------------------- tone step


def tone_step(a: np.ndarray, rng) -> callable:
    """The tone evening of a beauty filter, as a fixed linear map: mid scales (between sigma
    s1 = 5-8 px and s2 = 20-40 px) pulled toward the local mean by 20-60%, coarse contrast
    changed by -10..+10%, a colour shift of up to 2% per channel. Leaves the texture finer
    than s1 nearly alone, as the tools it imitates do."""
    s1, s2 = float(rng.uniform(5, 8)), float(rng.uniform(20, 40))
    amount = float(rng.uniform(0.2, 0.6))
    contrast = float(rng.uniform(0.9, 1.1))
    shift = rng.uniform(-0.02, 0.02, size=3).astype(np.float32)
    mean = a.reshape(-1, 3).mean(axis=0).astype(np.float32)

    def apply(y: np.ndarray) -> np.ndarray:
        low2 = blur(y, s2)
        out = y - amount * (blur(y, s1) - low2) + (contrast - 1.0) * (low2 - mean) + shift
        return out.astype(np.float32)

    return apply


# -------------------------------------------------------------------------------- defects


def _paint_defects(o, rng, cy, cx, ry, rx, *, blemishes, scratches, dust, within=None):
    """Paint defects into *o* around (cy, cx); return (image, alpha of all defects)."""
    import cv2

    h, w = o.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    total = np.zeros((h, w), np.float32)
    out = o.copy()

    def spot(y, x, r, edge):
        d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
        t = np.clip((r - d) / max(edge, 1e-3) + 0.5, 0.0, 1.0)
        return (t * t * (3.0 - 2.0 * t)).astype(np.float32)

    def where(margin):
        for _ in range(50):
            a, r = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 1))
            y = cy + max(ry - margin, 1) * r * np.sin(a)
            x = cx + max(rx - margin, 1) * r * np.cos(a)
            if within is None or within[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]:
                return y, x
        return float(cy), float(cx)

    for k in range(blemishes):  # soft blemishes: darker, reddish or lighter
        r = float(rng.uniform(2.5, 7.0))
        y, x = where(r + 2)
        alpha = spot(y, x, r, float(rng.uniform(2.0, 5.0)))
        tint = [(0.82, 0.74, 0.74), (0.75, 0.75, 0.77), (1.12, 1.10, 1.08)][k % 3]
        out = out * (1.0 - alpha[..., None] * (1.0 - np.array(tint, np.float32)))
        total = np.maximum(total, alpha)
    for _ in range(scratches):  # thin anti-aliased 1-px lines, moderate contrast, slightly bent
        canvas = np.zeros((h, w), np.uint8)
        y0, x0 = where(4)
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.6, 1.6) * min(ry, rx)
        bend = rng.uniform(-0.15, 0.15) * length
        t = np.linspace(-0.5, 0.5, 24)
        py = y0 + t * length * np.sin(angle) + bend * (1 - 4 * t * t) * np.cos(angle)
        px = x0 + t * length * np.cos(angle) - bend * (1 - 4 * t * t) * np.sin(angle)
        pts = np.round(np.stack([px, py], axis=1) * 16).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, thickness=1, lineType=cv2.LINE_AA, shift=4)
        alpha = canvas.astype(np.float32) / 255.0
        contrast = float(rng.uniform(0.06, 0.15)) * (1 if rng.uniform() < 0.6 else -1)
        out = out + alpha[..., None] * contrast
        total = np.maximum(total, alpha)
    for k in range(dust):  # dust specks, 1-3 px, dark or light
        y, x = where(3)
        alpha = spot(y, x, float(rng.uniform(0.7, 1.6)), 1.0) * float(rng.uniform(0.6, 0.85))
        level = np.float32(0.06 if k % 3 == 0 else 0.95)
        out = out * (1.0 - alpha[..., None]) + alpha[..., None] * level
        total = np.maximum(total, alpha)
    return np.clip(out, 0.0, 1.0).astype(np.float32), total


def _object(x, rng, cy, cx, ry, rx, donor: np.ndarray):
    """Paste an object (a tinted patch of another photo, dark rim); return (image, alpha)."""
    h, w = x.shape[:2]
    shape = _blob((h, w), cy, cx, ry, rx, rng, wobble=0.08)
    alpha = _feather(shape, 1.5)
    dh, dw = donor.shape[:2]
    py = int(rng.integers(0, max(1, dh - h))) if dh > h else 0
    px = int(rng.integers(0, max(1, dw - w))) if dw > w else 0
    patch = np.zeros_like(x)
    src = donor[py : py + h, px : px + w]
    patch[: src.shape[0], : src.shape[1]] = src
    patch = np.roll(patch, (int(cy - h // 2), int(cx - w // 2)), axis=(0, 1))
    tint = rng.uniform(0.5, 1.2, size=3).astype(np.float32)
    obj = np.clip(patch.mean(axis=2, keepdims=True) * tint * 0.9 + 0.05, 0, 1)
    import cv2

    inside = cv2.distanceTransform(shape.astype(np.uint8), cv2.DIST_L2, 3)
    rim = np.clip(1.0 - inside / 4.0, 0.0, 1.0)[..., None]
    obj = obj * (1.0 - 0.6 * rim)
    a = alpha[..., None]
    return (x * (1.0 - a) + obj * a).astype(np.float32), alpha


# ----------------------------------------------------------------------------------- builder


def build(spec: Spec) -> BenchCase:
    """Build the case *spec* describes (deterministic: same spec, same case bit for bit)."""
    rng = spec.rng()
    photo = photos.PHOTOS[spec.photo]
    x = photos.load(spec.photo)
    h, w = x.shape[:2]
    tool = tools.TOOLS[spec.tool]
    kind = spec.kind
    classes = np.zeros((h, w), np.uint8)
    backdrop = ""

    if kind in RESTORE_KINDS:
        ry, rx = _radius(x, rng, 28, 56)
        cy, cx = _place(x, rng, max(ry, rx))
        hard = _blob((h, w), cy, cx, ry, rx, rng)
        if kind == "glare":
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
            g = float(rng.uniform(0.3, 0.6)) * np.exp(-1.5 * d * d).astype(np.float32)
            veil = np.array(rng.uniform(0.92, 1.0, size=3), np.float32)
            o = (x * (1.0 - g[..., None]) + g[..., None] * veil).astype(np.float32)
            hard = g > 0.03
        else:
            o = x
        region = _feather(hard, float(rng.uniform(4.0, 10.0)))
        sy, sx = _box(region > 0, 24)
        box = x[sy, sx]
        a = np.clip(tool.apply(box, rng), 0, 1).astype(np.float32)
        ideal = a + texture(box - a)
        if kind == "retone":
            step = tone_step(a, rng)
            a, ideal = step(a), step(ideal)
        elif kind == "regeneration":
            shift = rng.uniform(-0.01, 0.01, size=3).astype(np.float32)
            a, ideal = a + shift, ideal + shift
        e_full, t_full = o.copy(), o.copy()
        e_full[sy, sx], t_full[sy, sx] = a, ideal
        r = region[..., None]
        original = q16(o)
        inside = region > 0
        edited = np.where(inside[..., None], q16(original * (1 - r) + e_full * r), original)
        truth = np.where(inside[..., None], q16(original * (1 - r) + t_full * r), original)
        classes[region >= 0.5] = TRUE_CLASS["restore"]
        classes[(region > 0) & (region < 0.5)] = TRUE_CLASS["ignore"]
        defect = np.zeros((h, w), np.float32)
        clean = q16(x)
    else:
        if kind == "smooth":
            x, backdrop, (cy, cx, ry, rx) = _backdrop(x, rng)
            o, alpha = _paint_defects(
                x, rng, cy, cx, ry, rx, blemishes=1, scratches=int(rng.integers(0, 2)), dust=4
            )
        elif kind == "defect":
            ry, rx = _radius(x, rng, 30, 56)
            cy, cx = _place(x, rng, max(ry, rx))
            o, alpha = _paint_defects(
                x, rng, cy, cx, ry, rx,
                blemishes=int(rng.integers(2, 5)),
                scratches=int(rng.integers(1, 4)),
                dust=int(rng.integers(4, 11)),
            )  # fmt: skip
        else:  # replaced
            ry, rx = _radius(x, rng, 20, 40)
            cy, cx = _place(x, rng, max(ry, rx) + 4)
            donor = _donor(str(rng.choice(DONORS)))
            o, alpha = _object(x, rng, cy, cx, ry, rx, donor)
        mask = _dilate(alpha > 0.02, 3)
        sy, sx = _box(mask, 32)
        a = np.clip(tool.apply(o[sy, sx], rng, mask[sy, sx].astype(np.float32)), 0, 1)
        a = a.astype(np.float32)
        ideal = a + tone_free(texture(x[sy, sx] - a), mask[sy, sx])
        e_full, t_full = o.copy(), o.copy()
        e_full[sy, sx], t_full[sy, sx] = a, ideal
        original = q16(o)
        m3 = mask[..., None]
        edited = np.where(m3, q16(e_full), original)
        truth = np.where(m3, q16(t_full), original)
        region = mask.astype(np.float32)
        defect = mask.astype(np.float32)
        classes[mask] = TRUE_CLASS["smooth" if kind == "smooth" else "rebuild"]
        clean = q16(x)

    if spec.delivery:
        deliver = tools.TOOLS[spec.delivery].apply
        delivered = q16(deliver(edited, spec.rng("delivery")))
        truth = q16(delivered + (truth - edited))
        edited = delivered

    damage = DamageCase(
        name=KINDS[kind]["figures"],
        photo=spec.photo,
        material=photo.material,
        original=original,
        edited=edited.astype(np.float32),
        truth=truth.astype(np.float32),
        region=region.astype(np.float32),
        defect=defect,
        defect_high=_defect_band(original, truth, defect),
        parts={kind: region.astype(np.float32)},
    )
    return BenchCase(spec, damage, classes, clean, photo.grain, backdrop)


DONORS = ("grass", "rocket", "camera", "moon")
"""Object textures for ``replaced``: scikit-image photos in neither set (bundled, offline)."""


def _donor(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)(), np.float32) / 255.0
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def _defect_band(original, truth, defect):
    band = np.where(defect > 0, rq.high_band(original) - rq.high_band(truth), 0.0)
    return band.astype(np.float32)


def _backdrop(x, rng):
    """A texture-free area: the photo's own when it has one, else made by a strong blur."""
    h, w = x.shape[:2]
    ry, rx = _radius(x, rng, 40, 56)
    cy, cx = _place(x, rng, max(ry, rx), flat=True)
    rms = local_rms(x, 12.0)
    zone = _blob((h, w), cy, cx, ry, rx, rng, wobble=0.05)
    if float(np.quantile(rms[zone], 0.9)) < FLAT_RMS:
        return x, "photo", (cy, cx, 0.45 * ry, 0.45 * rx)
    soft = _feather(zone, 10.0)[..., None]
    made = (x * (1.0 - soft) + blur(x, 10.0) * soft).astype(np.float32)
    return made, "made", (cy, cx, 0.45 * ry, 0.45 * rx)


# ------------------------------------------------------------------------------------ specs


def specs(
    set_name: str,
    *,
    kinds: tuple[str, ...] = tuple(KINDS),
    photo_names: tuple[str, ...] | None = None,
    tool_names: tuple[str, ...] | None = None,
    reps: int = 2,
    seed: int = 0,
) -> list[Spec]:
    """Every case of one set: each (photo x kind) *reps* times. Tuning uses the kind's one
    tuning tool; validation cycles through the group's validation tools so each is used about
    equally. About :data:`DELIVERY_SHARE` of the cases are delivered re-encoded."""
    names = photo_names or photos.photo_names(set_name)
    out: list[Spec] = []
    deliveries = tools.tools_for("deliver", set_name)
    counter: dict[str, int] = {}
    for photo in names:
        if photos.PHOTOS[photo].set != set_name:
            continue
        for kind in kinds:
            group = KINDS[kind]["group"]
            if set_name == "tuning":
                pool = (KINDS[kind]["tuning"],)
            else:
                pool = tools.tools_for(group, set_name)
            pool = tuple(t for t in pool if tools.available(t))
            if tool_names:
                pool = tuple(t for t in pool if t in tool_names)
            for rep in range(reps if pool else 0):
                n = counter.get(kind, list(KINDS).index(kind))
                counter[kind] = n + 1
                tool = pool[n % len(pool)]
                base = Spec(set_name, photo, kind, tool, rep, "", seed)
                delivery = ""
                if deliveries and base.rng("deliver?").uniform() < DELIVERY_SHARE:
                    delivery = deliveries[int(base.rng("which").integers(len(deliveries)))]
                out.append(replace(base, delivery=delivery))
    return out
