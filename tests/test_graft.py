"""High Pass grafting: texture strength carried over, no seams, masks, midtones, seeds, errors."""

from __future__ import annotations

import numpy as np
import pytest

from regrain import ParameterError, graft
from regrain._filters import gaussian_blur, high_pass
from regrain._graft import desaturate, midtone_weight, tile_grid, tile_texture, tile_window

H, W = 192, 288
SOURCE = (16, 16, 96, 96)


def textured_scene(channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Left: real texture on a tinted ramp; right: the same ramp, AI-smooth, under the mask."""
    rng = np.random.default_rng(1)
    texture = gaussian_blur(rng.normal(0, 0.03, (H, W)).astype(np.float32), 0.7)
    ramp = np.tile(np.linspace(0.35, 0.65, W, dtype=np.float32), (H, 1))
    tint = (1.0, 0.85, 0.7)[:channels]
    image = np.stack([ramp * k + 0.1 for k in tint], axis=2)
    image[:, :128] += texture[:, :128, None]
    mask = np.zeros((H, W), np.float32)
    mask[:, 150:] = 1.0
    return image, mask


def test_desaturate_is_photoshops_max_plus_min_over_two() -> None:
    pixel = np.array([[[0.2, 0.9, 0.5]]], np.float32)
    assert float(desaturate(pixel)[0, 0, 0]) == pytest.approx(0.55)  # (0.9 + 0.2) / 2


def test_grafted_area_gets_the_source_texture_strength() -> None:
    image, mask = textured_scene()
    out = graft(image, SOURCE, mask, radius=2.0, seed=0)
    source_hp = high_pass(desaturate(image), 2.0)[20:172, 20:108]
    grafted_hp = high_pass(desaturate(out), 2.0)[20:172, 170:268]
    before_hp = high_pass(desaturate(image), 2.0)[20:172, 170:268]
    assert before_hp.std() < 0.1 * source_hp.std()  # the area really was plastic
    assert grafted_hp.std() == pytest.approx(source_hp.std(), rel=0.1)
    # the graft is neutral (desaturated): every channel moves by the same amount
    delta = out - image
    np.testing.assert_allclose(delta[..., 0], delta[..., 2], atol=1e-6)
    # and it keeps the tones: the local mean is unchanged
    assert abs(float((out - image)[:, 150:].mean())) < 1e-3


def test_outside_the_mask_is_bit_identical() -> None:
    image, _ = textured_scene()
    mask = np.zeros((H, W), np.float32)
    mask[40:150, 160:260] = np.random.default_rng(2).random((110, 100), dtype=np.float32)
    mask[80:100, 190:220] = 0.0  # a hole inside the masked box
    out = graft(image, SOURCE, mask, seed=3)
    zero = mask == 0
    assert np.array_equal(out[zero].view(np.uint32), image[zero].view(np.uint32))
    assert not np.array_equal(out[mask > 0.5], image[mask > 0.5])
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(graft(image, SOURCE, np.zeros((H, W), np.float32)), image)


def test_seams_keep_the_texture_strength() -> None:
    # overlap-add with sine windows: std where four tiles meet equals std at tile centres
    rng = np.random.default_rng(4)
    band = gaussian_blur(rng.normal(0, 0.02, (64, 64)).astype(np.float32), 0.8)
    band -= band.mean()
    shape = (768, 768)
    grid = tile_grid(band.shape, shape, np.random.default_rng(5))
    field = tile_texture(band, grid, shape)

    def own_weight(starts: np.ndarray, side: int, n: int) -> np.ndarray:
        pos = np.arange(n)
        local = (pos - starts[0]) % (side // 2)  # position in the later of the two tiles
        return tile_window(side)[local] ** 2

    wy = own_weight(grid.rows, grid.tile[0], shape[0])
    wx = own_weight(grid.cols, grid.tile[1], shape[1])
    centre_y, centre_x = np.maximum(wy, 1 - wy) > 0.95, np.maximum(wx, 1 - wx) > 0.95
    seam_y, seam_x = np.abs(wy - 0.5) < 0.1, np.abs(wx - 0.5) < 0.1
    centres = field[np.ix_(centre_y, centre_x)]
    seams = field[np.ix_(seam_y, seam_x)]  # four tiles at ~equal weight
    assert seams.size > 5000 and centres.size > 5000
    assert seams.std() == pytest.approx(centres.std(), rel=0.1)
    assert field.std() == pytest.approx(band.std(), rel=0.1)


def test_window_is_energy_preserving() -> None:
    w = tile_window(32)
    np.testing.assert_allclose(w[:16] ** 2 + w[16:] ** 2, 1.0, atol=1e-6)


def test_midtone_weight_is_zero_at_black_and_white() -> None:
    levels = np.array([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0], np.float32).reshape(1, -1, 1)
    weight = midtone_weight(levels)[0, :, 0]
    np.testing.assert_allclose(weight, [0, 0.0361, 0.5625, 1, 0.5625, 0.0361, 0], atol=1e-4)


def test_midtones_keep_shadows_and_highlights_smooth() -> None:
    image, mask = textured_scene(1)
    image[:, 150:200] = 0.02  # deep shadow
    image[:, 240:] = 0.98  # highlight
    out = graft(image, SOURCE, mask, midtones=True)
    plain = graft(image, SOURCE, mask)
    assert np.abs(out - image)[:, 150:200].max() < 0.1 * np.abs(plain - image)[:, 150:200].max()
    assert np.abs(out - image)[:, 245:].max() < 0.1 * np.abs(plain - image)[:, 245:].max()
    mid = np.abs(out - image)[:, 205:235]
    assert mid.max() > 0.5 * np.abs(plain - image)[:, 205:235].max()


def test_seed_decides_the_tiling() -> None:
    image, mask = textured_scene()
    first = graft(image, SOURCE, mask, seed=7)
    assert np.array_equal(first, graft(image, SOURCE, mask, seed=7))
    assert not np.array_equal(first, graft(image, SOURCE, mask, seed=8))


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ((200, 10, 100, 50), {}, r"source box x=200, y=10, 100x50 px reaches outside the 288x192"),
        ((-1, 0, 20, 20), {}, r"reaches outside"),
        ((0, 0, 7, 40), {}, r"source must be at least 8x8 px; got 7x40"),
        ((0, 0, 20), {}, r"source must be 4 whole numbers x, y, w, h"),
        ((0, 0, 20.5, 20), {}, r"source must be 4 whole numbers"),
        ((0, 0, 20, 20), {"radius": 6}, r"radius must be <= a quarter of the source's smaller"),
        ((0, 0, 20, 20), {"radius": -1}, r"radius must be > 0 px; got -1"),
        ((0, 0, 20, 20), {"seed": -3}, r"seed must be a whole number"),
    ],
)
def test_bad_source_or_options_name_the_rule(source: tuple, kwargs: dict, message: str) -> None:
    image, mask = textured_scene()
    with pytest.raises(ParameterError, match=message):
        graft(image, source, mask, **kwargs)


def test_mask_is_required_and_sized() -> None:
    image, _ = textured_scene()
    with pytest.raises(ParameterError, match="graft needs a mask"):
        graft(image, SOURCE, None)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="differ in size"):
        graft(image, SOURCE, np.ones((10, 10), np.float32))
