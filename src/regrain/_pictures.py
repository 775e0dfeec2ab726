"""Pictures that explain themselves: maps with a legend and a scale drawn on them, and photos
shown in sRGB.

Every picture here is float32 (H, W, C) in [0, 1] at the photo's own size, so that it lies pixel
for pixel over the photo (a map can be stacked on the image in Photoshop). The legend is drawn in
a panel in the corner of the picture where the map says least (least texture lost, most untouched
pixels), scaled with the picture so that it stays readable when the whole picture fits a screen;
pictures narrower than :data:`LEGEND_MIN_PX` carry no legend (it would cover them).

The pictures are not photographs: they are written in sRGB (RGB ones) or with no profile (gray
ones). Photographs shown to a person (report thumbnails, review tiles, the demo's before/after)
go through :func:`to_srgb8`, a real colour conversion from the file's ICC profile (LittleCMS, via
Pillow's ImageCms), so a ProPhoto or Adobe RGB file does not look dull.
"""

from __future__ import annotations

import functools
import io as _bytesio
import struct
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CLASS_COLOURS",
    "LEGEND_MIN_PX",
    "before_after_picture",
    "classes_picture",
    "gain_picture",
    "loss_map_picture",
    "loss_overlay",
    "picture_icc",
    "render_loss_map",
    "srgb_icc",
    "to_srgb8",
]

CLASS_COLOURS = {
    "untouched": ((0, 0, 0), "left as the AI edit has it"),
    "restored": ((51, 191, 77), "the original's texture put back"),
    "rebuilt": ((242, 115, 26), "texture rebuilt from the surroundings"),
    "smooth": ((77, 128, 242), "smooth in the original: kept smooth"),
}
"""Class -> (sRGB colour 0-255, what it means), in the order of restore's class numbers."""

LEGEND_MIN_PX = 240
"""Pictures narrower or lower than this (px) get no legend: it would hide most of the map."""

BOX_COLOUR = (26, 230, 255)  # the worst regions' boxes: a cyan no loss colour comes near


# ------------------------------------------------------------------------------------ colour
@functools.lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """The bytes of an sRGB ICC profile (LittleCMS's), embedded in every RGB picture.

    Its creation date is fixed (2024-01-01), so that every run writes the same bytes.
    """
    from PIL import ImageCms

    blob = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    blob[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(blob)


def picture_icc(channels: int) -> bytes | None:
    """The profile a picture of *channels* channels carries: sRGB for RGB, none for gray."""
    return srgb_icc() if channels == 3 else None


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, mode: str):
    """A LittleCMS transform from *icc* to sRGB for PIL *mode* ("RGB" or "L"), or None when the
    profile cannot be read or is not of the image's colour kind (then the numbers are shown as
    they are, as a browser shows an untagged file)."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(_bytesio.BytesIO(icc))
        space = source.profile.xcolor_space.strip()
        if (mode == "RGB") != (space == "RGB") or space not in ("RGB", "GRAY"):
            return None
        return ImageCms.buildTransform(
            source,
            ImageCms.createProfile("sRGB"),
            mode,
            "RGB",
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None


def to_srgb8(image: np.ndarray, icc: bytes | None) -> np.ndarray:
    """A photo in its file's encoding (float32 (H, W, 1|3) in [0, 1]) as 8-bit sRGB (H, W, 3).

    The samples are rounded to 8 bits in the file's own space, then converted from its ICC
    profile *icc* to sRGB (relative colorimetric with black-point compensation, as Photoshop's
    default). No profile, or one that cannot be read, means the numbers are taken as sRGB.

    >>> import numpy as np
    >>> to_srgb8(np.full((1, 1, 1), 0.5, np.float32), None).tolist()
    [[[128, 128, 128]]]
    """
    from PIL import Image, ImageCms

    pixels = np.clip(image, 0.0, 1.0) * np.float32(255)
    pixels = (pixels + np.float32(0.5)).astype(np.uint8)
    mode = "RGB" if pixels.shape[2] >= 3 else "L"
    pixels = pixels[..., :3] if mode == "RGB" else pixels[..., 0]
    transform = _transform(icc, mode) if icc else None
    if transform is None:
        return np.repeat(pixels[..., None], 3, axis=2) if mode == "L" else pixels
    out = ImageCms.applyTransform(Image.fromarray(pixels, mode), transform)
    return np.asarray(out)


# ------------------------------------------------------------------------------------ legends
@functools.lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled TrueType font
    except (AttributeError, OSError, TypeError):  # Pillow without FreeType: a bitmap font
        return ImageFont.load_default()


def _unit(width: int, height: int) -> int:
    """The legend's text size in px: readable when the whole picture fits a screen."""
    return int(max(11, min(width / 48, height / 9)))


def _text_width(draw, text: str, font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


class _Panel:
    """A legend panel: lines of text, colour ramps and swatches, laid out from the top."""

    def __init__(self, unit: int) -> None:
        self.unit = unit
        self.items: list[tuple] = []

    def text(self, text: str, *, bold: bool = False) -> _Panel:
        self.items.append(("text", text, bold))
        return self

    def ramp(self, colours: np.ndarray, ticks: Sequence[tuple[float, str]]) -> _Panel:
        self.items.append(("ramp", colours, ticks))
        return self

    def swatch(self, colour: tuple[int, int, int], name: str, meaning: str) -> _Panel:
        self.items.append(("swatch", colour, name, meaning))
        return self

    def size(self, draw) -> tuple[int, int]:
        u = self.unit
        font, small = _font(u), _font(max(9, int(u * 0.8)))
        width, height = 0, u // 2
        for item in self.items:
            if item[0] == "text":
                width = max(width, _text_width(draw, item[1], font))
                height += int(1.35 * u)
            elif item[0] == "ramp":
                width = max(width, 14 * u)
                height += int(2.6 * u)
            else:
                label = f"{item[2]}: {item[3]}"
                width = max(width, int(1.6 * u) + _text_width(draw, label, small))
                height += int(1.35 * u)
        return width + u, height + u // 2

    def draw(self, canvas, x: int, y: int) -> None:
        """Draw the panel with its top-left corner at (x, y) of the PIL image *canvas*."""
        from PIL import Image, ImageDraw

        u = self.unit
        font, small = _font(u), _font(max(9, int(u * 0.8)))
        w, h = self.size(ImageDraw.Draw(canvas))
        region = canvas.crop((x, y, x + w + 1, y + h + 1)).convert("RGB")
        backing = Image.new("RGB", region.size, (245, 245, 245))
        region = Image.blend(region, backing, 0.88)  # the map shows faintly through
        draw = ImageDraw.Draw(region)
        draw.rounded_rectangle((0, 0, w, h), radius=u // 3, outline=(40, 40, 40))
        ink = (20, 20, 20)
        cx, cy = u // 2, u // 2
        for item in self.items:
            if item[0] == "text":
                draw.text((cx, cy), item[1], font=font, fill=ink)
                cy += int(1.35 * u)
            elif item[0] == "ramp":
                colours, ticks = item[1], item[2]
                bar_w, bar_h = 13 * u, int(0.9 * u)
                strip = np.repeat(_resample_colours(colours, bar_w)[None], bar_h, axis=0)
                region.paste(Image.fromarray(strip.astype(np.uint8), "RGB"), (cx, cy))
                draw.rectangle((cx, cy, cx + bar_w, cy + bar_h), outline=ink)
                for position, label in ticks:
                    tx = cx + round(position * bar_w)
                    draw.line((tx, cy + bar_h, tx, cy + bar_h + u // 4), fill=ink, width=1)
                    lw = _text_width(draw, label, small)
                    left = min(max(tx - lw // 2, 2), w - lw - 2)
                    draw.text((left, cy + bar_h + u // 4), label, font=small, fill=ink)
                cy += int(2.6 * u)
            else:
                colour, name, meaning = item[1], item[2], item[3]
                side = int(0.9 * u)
                draw.rectangle((cx, cy, cx + side, cy + side), fill=tuple(colour), outline=ink)
                draw.text((cx + int(1.6 * u), cy), f"{name}: {meaning}", font=small, fill=ink)
                cy += int(1.35 * u)
        canvas.paste(region.convert(canvas.mode), (x, y))


def _resample_colours(colours: np.ndarray, width: int) -> np.ndarray:
    """Stretch an (N, 3) colour ramp to *width* px by linear interpolation."""
    positions = np.linspace(0, len(colours) - 1, width)
    out = np.empty((width, 3), np.float32)
    for c in range(3):
        out[:, c] = np.interp(positions, np.arange(len(colours)), colours[:, c])
    return out


def _quietest_corner(signal: np.ndarray, size: tuple[int, int], margin: int) -> tuple[int, int]:
    """Top-left corner (x, y) of the panel: the corner where *signal* (H, W) sums least.

    Ties (an empty map) go to the bottom-left corner, where viewers rarely put their own tools.
    """
    h, w = signal.shape
    pw, ph = size
    spots = [
        (margin, h - ph - margin),  # bottom left
        (w - pw - margin, h - ph - margin),  # bottom right
        (margin, margin),  # top left
        (w - pw - margin, margin),  # top right
    ]
    scores = []
    for x, y in spots:
        x0, y0 = max(0, x), max(0, y)
        scores.append(float(signal[y0 : y0 + ph, x0 : x0 + pw].sum()))
    best = min(range(4), key=lambda k: (scores[k], k))
    return max(0, spots[best][0]), max(0, spots[best][1])


def _with_legend(picture: np.ndarray, panel: _Panel, signal: np.ndarray) -> np.ndarray:
    """Draw *panel* on *picture* (uint8 (H, W, 1|3)) in its quietest corner; float32 back.

    Only the panel's own pixels go through Pillow: the rest of a 24 MP map is never copied."""
    from PIL import Image, ImageDraw

    h, w = picture.shape[:2]
    gray = picture.shape[2] == 1
    if min(h, w) >= LEGEND_MIN_PX:
        pw, ph = panel.size(ImageDraw.Draw(Image.new("L", (1, 1))))
        if pw < w - 4 and ph < h - 4:
            if not picture.flags.writeable:
                picture = picture.copy()
            x, y = _quietest_corner(signal, (pw, ph), max(2, panel.unit // 2))
            part = picture[y : y + ph + 1, x : x + pw + 1]
            canvas = Image.fromarray(
                np.ascontiguousarray(part[..., 0] if gray else part), "L" if gray else "RGB"
            )
            panel.draw(canvas, 0, 0)
            part[...] = np.asarray(canvas).reshape(part.shape)
    return np.multiply(picture, np.float32(1 / 255), dtype=np.float32)


def _to8(plane: np.ndarray) -> np.ndarray:
    return (np.clip(plane, 0.0, 1.0) * np.float32(255) + np.float32(0.5)).astype(np.uint8)


# ------------------------------------------------------------------------------------ maps
def loss_map_picture(loss: np.ndarray) -> np.ndarray:
    """``loss.png``: the share of the original's fine texture the AI removed, gray (H, W, 1).

    Black = texture intact, white = all of it gone; the legend reads 0% to 100%.
    *loss* is float32 (H, W) in [0, 1] at full resolution.
    """
    ramp = np.linspace(0, 255, 5)[:, None].repeat(3, axis=1)
    panel = (
        _Panel(_unit(loss.shape[1], loss.shape[0]))
        .text("texture lost (share of the original's)")
        .ramp(ramp, [(k / 4, f"{25 * k}%") for k in range(5)])
    )
    return _with_legend(_to8(loss)[..., None], panel, loss)


def gain_picture(gain: np.ndarray, *, top: float = 4.0) -> np.ndarray:
    """``gain.png``: glare compensation applied to the original's texture, gray (H, W, 1).

    Black = 1x (none), white = *top* x (restore's cap); the legend reads 1x to *top* x.
    *gain* is float32 (H, W), 1 or more, at full resolution.
    """
    scaled = (np.asarray(gain, np.float32) - 1.0) / (top - 1.0)
    ramp = np.linspace(0, 255, 5)[:, None].repeat(3, axis=1)
    steps = round(top - 1)
    ticks = [(k / steps, f"{1 + k:g}x") for k in range(steps + 1)] if steps >= 1 else []
    panel = (
        _Panel(_unit(gain.shape[1], gain.shape[0]))
        .text("glare compensation (texture gain)")
        .ramp(ramp, ticks)
    )
    return _with_legend(_to8(scaled)[..., None], panel, np.clip(scaled, 0, 1))


def classes_picture(classes: np.ndarray, names: Sequence[str] = tuple(CLASS_COLOURS)) -> np.ndarray:
    """``classes.png``: what restore did where, one colour per class, named in the legend.

    *classes* is (H, W) of class numbers (0 untouched, 1 restored, 2 rebuilt, 3 smooth; *names*
    gives each number's name, restore's ``CLASS_NAMES``). Returns float32 (H, W, 3).
    """
    table = np.array([CLASS_COLOURS[n][0] for n in names], np.uint8)
    index = np.minimum(np.asarray(classes).astype(np.uint8), len(names) - 1)
    picture = table[index]
    panel = _Panel(_unit(classes.shape[1], classes.shape[0])).text("what regrain did here")
    for name in names:
        colour, meaning = CLASS_COLOURS[name]
        panel.swatch(colour, name, meaning)
    return _with_legend(picture, panel, (index > 0).astype(np.float32))


def _overlay_colours(loss: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Lost texture in yellow (light loss) to red (total loss) over a dim gray *base*."""
    alpha = np.clip(loss * 1.25, 0.0, 0.85)
    picture = np.empty((*loss.shape, 3), np.float32)
    picture[..., 0] = base * (1 - alpha) + alpha
    picture[..., 1] = base * (1 - alpha) + alpha * np.clip(1.6 - 1.6 * loss, 0.0, 1.0)
    picture[..., 2] = base * (1 - alpha)
    return picture


def loss_overlay(edited: np.ndarray, loss: np.ndarray, regions: Sequence[dict] = ()) -> np.ndarray:
    """``inspect.png``: the edited image in dim gray, lost texture in yellow to red, the worst
    regions boxed and numbered (1 = worst), with the colour scale and the key drawn on it.

    *edited* is float32 (H, W, C), *loss* float32 (H, W) in [0, 1] at the same size, *regions*
    inspect's ``regions`` (``box`` = [x, y, w, h] px). Returns float32 (H, W, 3).
    """
    from PIL import Image, ImageDraw

    from regrain._luma import luma

    base = 0.25 + 0.5 * luma(edited)
    canvas8 = _to8(_overlay_colours(loss, base))
    h, w = loss.shape
    thickness = max(1, w // 400)
    canvas = Image.fromarray(canvas8, "RGB")
    draw = ImageDraw.Draw(canvas)
    font = _font(max(10, 12 * thickness))
    for number, region in enumerate(regions, start=1):
        x, y, bw, bh = (int(v) for v in region["box"])
        draw.rectangle((x, y, x + bw - 1, y + bh - 1), outline=BOX_COLOUR, width=thickness)
        draw.text(
            (x + 2 * thickness, y + thickness),
            str(number),
            font=font,
            fill=BOX_COLOUR,
            stroke_width=max(1, thickness // 2),
            stroke_fill=(0, 0, 0),
        )
    levels = np.linspace(0.0, 1.0, 33, dtype=np.float32)
    ramp = _to8(_overlay_colours(levels[None, :], np.full((1, 33), 0.5, np.float32))[0])
    panel = (
        _Panel(_unit(w, h))
        .text("texture lost (share of the original's)")
        .ramp(ramp.astype(np.float32), [(k / 4, f"{25 * k}%") for k in range(5)])
    )
    if regions:
        panel.swatch(BOX_COLOUR, "1, 2, ...", "the worst regions, worst first")
    signal = loss.copy()
    for region in regions:  # the panel must not hide a numbered box
        x, y, bw, bh = (int(v) for v in region["box"])
        signal[y : y + bh, x : x + bw] += 1.0
    return _with_legend(np.asarray(canvas), panel, signal)


def render_loss_map(edited: np.ndarray, report) -> np.ndarray:
    """inspect's picture of a :class:`regrain.TextureReport` (see :func:`loss_overlay`)."""
    from regrain._grid import upsample

    loss = upsample(report.loss, edited.shape)
    return loss_overlay(edited, loss, report.regions)


# ------------------------------------------------------------------------------ before/after
def crop_box(
    box: Sequence[int] | None, shape: tuple[int, ...], *, low: int = 160, high: int = 384
) -> tuple[int, int, int, int]:
    """The 100% crop (x, y, w, h) shown for a region *box* [x, y, w, h] of an image of *shape*:
    centred on the box, between *low* and *high* px a side, inside the image. No box: the centre.

    >>> crop_box([100, 100, 10, 10], (1000, 1000))
    (25, 25, 160, 160)
    """
    h, w = shape[:2]
    if box is None:
        box = (w // 2, h // 2, 0, 0)
    x, y, bw, bh = (int(v) for v in box)
    cw, ch = min(w, max(low, min(high, bw))), min(h, max(low, min(high, bh)))
    cx, cy = x + bw // 2, y + bh // 2
    x0 = min(max(0, cx - cw // 2), w - cw)
    y0 = min(max(0, cy - ch // 2), h - ch)
    return x0, y0, cw, ch


def before_after_picture(
    edited: np.ndarray,
    restored: np.ndarray,
    original: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    width: int = 1600,
) -> np.ndarray:
    """AI edit | restored side by side, and below them the 100% crop *box* (x, y, w, h) as AI
    edit / restored / original, each labelled. Inputs are 8-bit sRGB (H, W, 3) (see
    :func:`to_srgb8`); returns uint8 sRGB, *width* px wide (or less for a small photo)."""
    import cv2
    from PIL import Image, ImageDraw

    h, w = edited.shape[:2]
    gap = 12
    half = min(w, (width - 3 * gap) // 2)
    th = max(1, round(h * half / w))

    def small(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (half, th), interpolation=cv2.INTER_AREA)

    x, y, cw, ch = box
    crops = [image[y : y + ch, x : x + cw] for image in (edited, restored, original)]
    label_h = 34
    total_w = 2 * half + 3 * gap
    crop_row_w = 3 * cw + 4 * gap
    total_w = max(total_w, crop_row_w)
    total_h = label_h + th + gap + label_h + ch + gap
    canvas = Image.new("RGB", (total_w, total_h), (32, 32, 32))
    draw = ImageDraw.Draw(canvas)
    font = _font(20)
    mark = (
        round(x * half / w),
        round(y * th / h),
        round((x + cw) * half / w),
        round((y + ch) * th / h),
    )
    for k, (image, label) in enumerate(((edited, "AI edit"), (restored, "restored by regrain"))):
        left = gap + k * (half + gap)
        draw.text((left, 6), label, font=font, fill=(240, 240, 240))
        canvas.paste(Image.fromarray(small(image)), (left, label_h))
        draw.rectangle(
            (left + mark[0], label_h + mark[1], left + mark[2], label_h + mark[3]),
            outline=BOX_COLOUR,
            width=2,
        )
    top = label_h + th + gap
    names = ("AI edit, 100%", "restored, 100%", "original, 100%")
    for k, (crop, label) in enumerate(zip(crops, names, strict=True)):
        left = gap + k * (cw + gap)
        draw.text((left, top + 6), label, font=font, fill=(240, 240, 240))
        canvas.paste(Image.fromarray(np.ascontiguousarray(crop)), (left, top + label_h))
    return np.asarray(canvas)
