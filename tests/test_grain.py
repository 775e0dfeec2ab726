"""Synthetic grain: the asked strength, measured; seeds; masks; the metal scratches' direction."""

from __future__ import annotations

import numpy as np
import pytest

from regrain import GRAIN_MATERIALS, ParameterError, add_grain
from regrain._filters import gaussian_blur
from regrain._grain import grain_layer, grain_noise

SIZE = (256, 256)


def mid_gray(channels: int = 3) -> np.ndarray:
    return np.full((*SIZE, channels), 0.5, np.float32)


def impulse_energy(material: str) -> float:
    """L2 norm of the material's shaping filter (linear), measured on an impulse."""
    spec = GRAIN_MATERIALS[material]
    impulse = np.zeros((41, 41), np.float32)
    impulse[20, 20] = 1.0
    return float(np.sqrt(np.sum(spec.shape(impulse, spec.radius, 0.0) ** 2)))


@pytest.mark.parametrize("amount", [1.0, 2.0, 3.0])
def test_gaussian_noise_std_is_the_amount(amount: float) -> None:
    noise = grain_noise(SIZE, "gaussian", amount, seed=4)
    assert noise.std() == pytest.approx(amount / 100, rel=0.02)
    assert abs(noise.mean()) < amount / 100 * 0.02


@pytest.mark.parametrize("amount", [2.0, 5.0])
def test_uniform_noise_spans_plus_minus_the_amount(amount: float) -> None:
    noise = grain_noise(SIZE, "uniform", amount, seed=4)
    a = amount / 100
    assert noise.min() >= -a and noise.max() <= a
    assert noise.min() < -0.99 * a and noise.max() > 0.99 * a
    assert noise.std() == pytest.approx(a / np.sqrt(3), rel=0.02)


@pytest.mark.parametrize("material", ["metal", "skin"])
def test_grain_on_mid_gray_has_the_documented_strength(material: str) -> None:
    # Overlay on 50 % gray adds the texture unchanged, so the result's std is the texture's:
    # noise std (amount, or amount/sqrt(3) for uniform) times the shaping filter's L2 norm
    spec = GRAIN_MATERIALS[material]
    out = add_grain(mid_gray(), material, seed=2)
    raw = spec.amount / 100 / (np.sqrt(3) if spec.noise == "uniform" else 1)
    assert out.std() == pytest.approx(raw * impulse_energy(material), rel=0.04)
    assert abs(out.mean() - 0.5) < 0.001
    # monochromatic: every channel carries the same grain
    assert np.array_equal(out[..., 0], out[..., 2])
    # the default amount is the recipe's
    assert np.array_equal(out, add_grain(mid_gray(), material, amount=spec.amount, seed=2))


def test_documented_filter_gains() -> None:
    # the figures docs/recipes.md quotes: metal's USM raises the std ~1.5x, skin's blur lowers it
    assert impulse_energy("metal") == pytest.approx(1.54, abs=0.02)
    assert impulse_energy("skin") == pytest.approx(0.85, abs=0.02)


def test_skin_blur_softens_the_noise() -> None:
    blurred = grain_layer(SIZE, "skin", amount=3, seed=1)[..., 0] - 0.5
    raw = grain_noise(SIZE, "uniform", 3, seed=1)
    np.testing.assert_allclose(blurred, gaussian_blur(raw, 0.4), atol=1e-7)
    neighbours = np.corrcoef(blurred[:, :-1].ravel(), blurred[:, 1:].ravel())[0, 1]
    assert neighbours > 0.05  # a 0.4 px blur is slight; raw noise gives 0 +/- 0.004 here


@pytest.mark.parametrize(("angle", "along"), [(0.0, (0, 1)), (90.0, (1, 0))])
def test_metal_scratches_run_along_the_angle(angle: float, along: tuple[int, int]) -> None:
    t = grain_layer(SIZE, "metal", angle=angle, seed=3)[..., 0] - 0.5
    dy, dx = along
    corr_along = np.corrcoef(t[: -1 - dy or None, : -1 - dx or None].ravel(),
                             t[dy:-1 or None, dx:-1 or None].ravel())[0, 1]  # fmt: skip
    corr_across = np.corrcoef(t[: -1 - dx or None, : -1 - dy or None].ravel(),
                              t[dx:-1 or None, dy:-1 or None].ravel())[0, 1]  # fmt: skip
    assert corr_along > 0.5 > corr_across


def test_seed_decides_the_grain() -> None:
    image = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    first = add_grain(image, "metal", seed=5)
    assert np.array_equal(first, add_grain(image, "metal", seed=5))
    assert not np.array_equal(first, add_grain(image, "metal", seed=6))


@pytest.mark.parametrize("material", ["metal", "skin"])
def test_mask_limits_the_texture(material: str) -> None:
    image = np.random.default_rng(1).random((64, 96, 3), dtype=np.float32)
    mask = np.zeros((64, 96), np.float32)
    mask[16:48, 40:80] = 1.0
    mask[20:30, 10:20] = 0.5
    out = add_grain(image, material, mask=mask, seed=1)
    outside = mask == 0
    assert np.array_equal(out[outside].view(np.uint32), image[outside].view(np.uint32))
    assert not np.array_equal(out[mask == 1], image[mask == 1])
    # a half-white mask gives half the texture: on mid-gray, result - 0.5 = mask * (layer - 0.5)
    full = add_grain(mid_gray(), material, seed=1)
    half = add_grain(mid_gray(), material, seed=1, mask=np.full(SIZE, 0.5, np.float32))
    np.testing.assert_allclose(half - 0.5, (full - 0.5) * 0.5, atol=1e-6)


def test_result_stays_in_range_and_soft_light_is_subtler() -> None:
    ramp = np.linspace(0, 1, 256, dtype=np.float32)
    image = np.repeat(np.tile(ramp, (64, 1))[..., None], 3, axis=2)
    out = add_grain(image, "metal", amount=50, seed=0)  # far beyond the recipe, still in range
    assert out.min() >= 0.0 and out.max() <= 1.0
    overlay = add_grain(mid_gray(1), "skin", seed=0)
    soft = add_grain(mid_gray(1), "skin", seed=0, mode="soft-light")
    assert np.array_equal(soft, add_grain(mid_gray(1), "skin", seed=0, mode="Soft Light"))
    assert 0.4 * overlay.std() < soft.std() < 0.8 * overlay.std()
    # Overlay's effect fades to nothing at black and white
    assert np.array_equal(add_grain(image, "skin")[:, [0, -1]], image[:, [0, -1]])


def test_gray_image_keeps_one_channel() -> None:
    out = add_grain(np.full((32, 32, 1), 0.4, np.float32), "skin")
    assert out.shape == (32, 32, 1) and out.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"material": "wood"}, r"unknown material 'wood'; expected one of: metal, skin"),
        ({"amount": 0}, r"amount must be > 0 %; got 0"),
        ({"amount": 80}, r"amount must be <= 50 %; got 80"),
        ({"mode": "multiply"}, r"unknown mode 'multiply'; expected one of: overlay, soft-light"),
        (
            {"material": "fabric"},
            r"material 'fabric' has no synthetic grain recipe; grain offers: "
            r"metal, skin \(restore takes 'fabric'",
        ),
        ({"material": "auto"}, r"material 'auto' has no synthetic grain recipe"),
        ({"seed": 2**40}, r"seed must be a whole number from 0 to 2147483647; got 1099511627776"),
        ({"seed": "3"}, r"seed must be a whole number from 0 to 2147483647; got '3'"),
        ({"seed": None}, r"seed must be a whole number from 0 to 2147483647; got None"),
        ({"mask": np.full(SIZE, np.nan, np.float32)}, r"mask must hold finite values"),
        ({"material": "skin", "angle": 30}, r"angle applies to directional materials only"),
        ({"seed": -1}, r"seed must be a whole number from 0 to"),
        ({"radius": 0}, r"radius must be > 0 px"),
    ],
)
def test_bad_options_name_the_rule(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        add_grain(mid_gray(), **kwargs)


def test_grain_and_restore_share_one_materials_table() -> None:
    from regrain._materials import MATERIALS
    from regrain._restore import MATERIALS as RESTORE_MATERIALS

    assert RESTORE_MATERIALS is MATERIALS
    assert sorted(GRAIN_MATERIALS) == sorted(k for k, m in MATERIALS.items() if m.grain)
    for name, spec in GRAIN_MATERIALS.items():
        recipe = MATERIALS[name].grain
        assert (spec.noise, spec.amount, spec.radius) == (
            recipe.noise,
            recipe.amount,
            recipe.radius,
        )
