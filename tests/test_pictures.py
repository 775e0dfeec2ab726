"""Pictures that explain themselves: colour conversion to sRGB, legends that leave the map alone.

The colour conversion is checked against the published ProPhoto -> XYZ -> sRGB path computed by
hand (a ProPhoto TIFF must not look dull); every map picture keeps the map's pixels exactly
outside its legend panel, puts the panel where the map says least, and names what it shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icc_profiles import prophoto_icc, prophoto_to_srgb
from regrain import _pictures, io
from regrain._pictures import (
    BOX_COLOUR,
    CLASS_COLOURS,
    LEGEND_MIN_PX,
    classes_picture,
    crop_box,
    gain_picture,
    loss_map_picture,
    loss_overlay,
    to_srgb8,
)


def changed_area(picture: np.ndarray, plain: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of the pixels where *picture* differs from *plain*, or None."""
    diff = np.any(np.abs(picture - plain) > 1e-6, axis=2)
    if not diff.any():
        return None
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def outside(box: tuple[slice, slice], shape: tuple[int, ...]) -> np.ndarray:
    keep = np.ones(shape[:2], bool)
    keep[box] = False
    return keep


# ------------------------------------------------------------------------------------ colour
def test_prophoto_pixels_convert_to_srgb_as_the_published_formulas_say() -> None:
    values = np.array(
        [[0.6, 0.4, 0.3], [0.5, 0.5, 0.5], [0.3, 0.5, 0.2], [0.2, 0.25, 0.6], [0.9, 0.8, 0.7]],
        np.float32,
    )
    got = to_srgb8(values[None], prophoto_icc())[0].astype(int)
    expected = np.round(prophoto_to_srgb(values.T.astype(np.float64)).T * 255).astype(int)
    assert np.abs(got - expected).max() <= 2  # 8-bit rounding before the conversion
    # the point of it: a ProPhoto file shown as its raw numbers looks dull
    raw = np.round(values * 255).astype(int)
    assert np.ptp(got[0]) > 1.3 * np.ptp(raw[0])


def test_srgb_and_untagged_files_are_shown_as_they_are(icc_profile: bytes) -> None:
    rng = np.random.default_rng(3)
    image = rng.random((8, 9, 3), dtype=np.float32)
    plain = np.round(image * 255).astype(np.uint8)
    assert np.array_equal(to_srgb8(image, None), plain)
    assert np.abs(to_srgb8(image, icc_profile).astype(int) - plain).max() <= 1
    assert np.array_equal(to_srgb8(image, b"not an ICC profile"), plain)
    gray = image[..., :1]
    assert np.array_equal(to_srgb8(gray, None), np.repeat(plain[..., :1], 3, axis=2))
    # an RGB profile on a gray image is ignored, not misapplied
    assert np.array_equal(to_srgb8(gray, prophoto_icc()), np.repeat(plain[..., :1], 3, axis=2))


# ------------------------------------------------------------------------------------ legends
def blob_map(h: int = 300, w: int = 400) -> np.ndarray:
    """A loss map with one lost area in the bottom-left corner (where a legend would go first)."""
    loss = np.zeros((h, w), np.float32)
    loss[h - 90 : h - 10, 10:150] = np.linspace(0.2, 1.0, 140, dtype=np.float32)
    return loss


def test_loss_picture_keeps_the_map_outside_its_legend_and_avoids_the_lost_area() -> None:
    loss = blob_map()
    picture = loss_map_picture(loss)
    assert picture.shape == (300, 400, 1) and picture.dtype == np.float32
    plain = np.round(loss * 255)[..., None] / 255
    box = changed_area(picture, plain)
    assert box is not None, "no legend was drawn"
    np.testing.assert_allclose(
        picture[outside(box, picture.shape)], plain[outside(box, plain.shape)], atol=1e-6
    )
    # the panel sits away from the lost area, so it hides none of it
    assert loss[box].sum() == 0
    panel = picture[box][..., 0]
    assert (panel > 0.8).mean() > 0.4 and (panel < 0.2).mean() > 0.01  # light panel, dark ink


def test_gain_and_classes_pictures_name_what_they_show() -> None:
    gain = np.ones((260, 320), np.float32)
    gain[:100, :100] = 4.0
    pic = gain_picture(gain, top=4.0)
    assert pic[50, 50, 0] == 1.0 and pic[130, 200, 0] == 0.0  # 4x is white, 1x black
    box = changed_area(pic, np.where(gain > 1, 1.0, 0.0)[..., None].astype(np.float32))
    assert box is not None and gain[box].max() == 1.0  # a legend, away from the gain
    classes = np.zeros((260, 320), np.int32)
    classes[20:120, 180:300] = 1
    classes[150:250, 20:120] = 2
    pic = classes_picture(classes)
    assert pic.shape == (260, 320, 3)
    colours = {name: np.array(c[0]) / 255 for name, c in CLASS_COLOURS.items()}
    np.testing.assert_allclose(pic[60, 240], colours["restored"], atol=1e-6)
    np.testing.assert_allclose(pic[200, 60], colours["rebuilt"], atol=1e-6)
    plain = np.array([c[0] for c in CLASS_COLOURS.values()], np.float32)[classes] / 255
    box = changed_area(pic, plain)
    assert box is not None
    # every class is named with its colour in the panel, even one the map does not contain
    panel = np.round(pic[box] * 255).astype(int).reshape(-1, 3)
    for name in ("restored", "rebuilt", "smooth"):
        assert (np.abs(panel - np.array(CLASS_COLOURS[name][0])).max(axis=1) == 0).sum() > 20, name


def test_small_pictures_carry_no_legend() -> None:
    loss = blob_map(LEGEND_MIN_PX - 1, 300)
    picture = loss_map_picture(loss)
    np.testing.assert_allclose(picture[..., 0], np.round(loss * 255) / 255, atol=1e-6)


def test_loss_overlay_shows_loss_in_red_and_keeps_numbered_boxes_visible() -> None:
    rng = np.random.default_rng(0)
    edited = (0.5 + 0.1 * rng.standard_normal((300, 400, 3))).clip(0, 1).astype(np.float32)
    loss = np.zeros((300, 400), np.float32)
    loss[200:280, 20:120] = 1.0
    regions = [{"box": [20, 200, 100, 80], "area_px": 8000, "mean_loss": 1.0}]
    picture = loss_overlay(edited, loss, regions)
    assert picture.shape == (300, 400, 3)
    r, g, b = picture[240, 70]
    assert r > 0.8 and g < 0.3 and b < 0.2  # total loss: red
    edge = np.round(picture[200, 60] * 255).astype(int)
    assert tuple(edge) == BOX_COLOUR  # the box's top edge
    # the legend goes elsewhere than the box: the box's whole outline is still there
    outline = np.round(picture[200, 20:120] * 255).astype(int)
    assert (outline == np.array(BOX_COLOUR)).all(axis=1).mean() > 0.6  # the number overlaps a bit


def test_crop_box_stays_inside_the_image() -> None:
    assert crop_box([0, 0, 10, 10], (500, 600)) == (0, 0, 160, 160)
    assert crop_box([590, 490, 10, 10], (500, 600)) == (440, 340, 160, 160)
    assert crop_box([0, 0, 500, 50], (500, 600)) == (58, 0, 384, 160)  # centred, capped
    assert crop_box(None, (100, 120)) == (0, 0, 120, 100)  # a small image: all of it


# ------------------------------------------------------------------------------ write_maps
def test_restore_maps_are_pictures_with_srgb_or_no_profile(tmp_path: Path) -> None:
    from regrain._restore_file import restore_file

    rng = np.random.default_rng(1)
    photo = (0.5 + 0.06 * rng.standard_normal((260, 300, 3))).clip(0, 1).astype(np.float32)
    edited = photo.copy()
    edited[60:200, 80:220] = 0.5
    info = io.ImageInfo(format="tiff", bits=16, icc=prophoto_icc())
    io.write_image(tmp_path / "o.tif", photo, info)
    io.write_image(tmp_path / "e.tif", edited, info)
    restore_file(
        tmp_path / "o.tif", tmp_path / "e.tif", tmp_path / "r.tif", maps_dir=tmp_path / "m"
    )
    for name, channels in (
        ("changed", 1),
        ("rebuild", 1),
        ("loss", 1),
        ("gain", 1),
        ("classes", 3),
    ):
        image, meta = io.read_image(tmp_path / "m" / f"{name}.png")
        assert image.shape == (260, 300, channels) and meta.bits == 8, name
        assert meta.icc == (_pictures.srgb_icc() if channels == 3 else None), name
    changed, _ = io.read_image(tmp_path / "m" / "changed.png")
    assert changed[100, 150, 0] == 1.0 and changed[10, 10, 0] == 0.0  # a plain mask
    loss, _ = io.read_image(tmp_path / "m" / "loss.png")
    assert loss[130, 150, 0] > 0.5  # the flattened square lost its texture


@pytest.mark.parametrize("size", [(200, 300), (300, 200)])
def test_before_after_picture_holds_both_thumbnails_and_three_100_percent_crops(size) -> None:
    from regrain._pictures import before_after_picture

    h, w = size
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(3)]
    box = crop_box([50, 50, 40, 40], (h, w))
    picture = before_after_picture(*images, box, width=900)
    x, y, cw, ch = box
    crop = images[2][y : y + ch, x : x + cw]
    # the original's crop is in the picture at 100%, pixel for pixel
    found = False
    for top in range(picture.shape[0] - ch + 1):
        row = picture[top, :, :]
        for left in np.flatnonzero((row == crop[0, 0]).all(axis=1)):
            if left + cw <= picture.shape[1] and np.array_equal(
                picture[top : top + ch, left : left + cw], crop
            ):
                found = True
                break
        if found:
            break
    assert found
