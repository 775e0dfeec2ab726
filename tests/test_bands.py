"""Frequency separation: the Apply Image / Linear Light formulas and exact round trips."""

from __future__ import annotations

import numpy as np
import pytest

from regrain._bands import (
    high_from_file,
    high_to_file,
    merge,
    merge_scales,
    quantize,
    split,
    split_scales,
)
from regrain._filters import gaussian_blur
from regrain.errors import ParameterError


def _photo(shape=(96, 128, 3), seed=0) -> np.ndarray:
    """A smooth gradient with fine grain on it: tone plus texture, like a product shot."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    tone = 0.5 + 0.35 * np.sin(x / 17.0) * np.cos(y / 23.0)
    image = tone[..., None] * np.linspace(1.0, 0.7, shape[2]) + rng.normal(0, 0.06, shape)
    return np.clip(image, 0, 1).astype(np.float32)


def _on_grid(image: np.ndarray, bits: int) -> np.ndarray:
    top = 2**bits - 1
    return (np.rint(image * top) / top).astype(np.float32)


# --- the formulas on hand-computed values ---------------------------------------------------


def test_flat_image_has_no_texture():
    image = np.full((20, 30, 3), 0.3, np.float32)
    low, high = split(image, 4.0)
    assert np.allclose(low, 0.3, atol=1e-6)
    assert np.allclose(high, 0.5, atol=1e-6)


def test_high_is_apply_image_subtract_scale_2_offset_half():
    image = _photo()
    low, high = split(image, 3.0)
    blurred = gaussian_blur(image, 3.0)
    assert np.array_equal(low, blurred)
    assert np.allclose(high, (image - blurred) / 2 + 0.5, atol=1e-7)


def test_merge_is_linear_light_clipped():
    low = np.array([[[0.25], [0.25], [0.9], [0.1]]], np.float32)
    high = np.array([[[0.5], [0.6], [0.9], [0.0]]], np.float32)
    # 0.25 + 2*0.5 - 1 = 0.25; 0.25 + 1.2 - 1 = 0.45; 0.9 + 1.8 - 1 = 1.7 -> 1; 0.1 - 1 -> 0
    assert merge(low, high).ravel() == pytest.approx([0.25, 0.45, 1.0, 0.0], abs=1e-7)


def test_gray_texture_over_rgb_low():
    low = np.full((2, 2, 3), [0.2, 0.4, 0.6], np.float32)
    high = np.full((2, 2, 1), 0.55, np.float32)
    assert merge(low, high)[0, 0] == pytest.approx([0.3, 0.5, 0.7], abs=1e-6)


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("radius", [0.8, 4.0, 15.0])
def test_float_round_trip_is_exact(channels, radius):
    image = _photo((80, 90, channels))
    low, high = split(image, radius)
    assert low.dtype == high.dtype == np.float32
    assert np.abs(merge(low, high) - image).max() < 1e-6


def test_8bit_layers_are_photoshops_integers_and_merge_within_one_level():
    image = _on_grid(_photo(), 8)
    low, high = split(image, 4.0, bits=8)
    i8 = np.rint(image * 255).astype(int)
    l8 = low * 255
    h8 = high * 255 + 0.5  # Photoshop's grid: neutral grey is level 128
    assert np.abs(l8 - np.rint(l8)).max() < 1e-3
    assert np.abs(h8 - np.rint(h8)).max() < 1e-3
    l8, h8 = np.rint(l8).astype(int), np.rint(h8).astype(int)
    # Apply Image, Subtract, Scale 2, Offset 128: (I - L) / 2 + 128, a half level rounded
    exact = (i8 - l8) / 2 + 128
    assert np.all(np.abs(h8 - exact) <= 0.5)
    # Linear Light at 8 bits in Photoshop: L + 2H - 256
    merged = np.rint(merge(low, high) * 255).astype(int)
    assert np.array_equal(merged, np.clip(l8 + 2 * h8 - 256, 0, 255))
    error = merged - i8
    assert np.abs(error).max() == 1  # the half level Apply Image had to round
    assert np.mean(error != 0) == pytest.approx(0.5, abs=0.1)  # pixels with odd I - L
    assert abs(error.mean()) < 0.05  # ties go both ways: no brightening or darkening


def test_16bit_round_trip_within_one_level():
    image = _on_grid(_photo(), 16)
    low, high = split(image, 4.0, bits=16)
    i16 = np.rint(image * 65535)
    h16 = high * 65535 + 0.5
    assert np.abs(h16 - np.rint(h16)).max() < 0.01
    error = np.rint(merge(low, high) * 65535) - i16
    assert np.abs(error).max() <= 1  # brief: within 2/65535
    assert abs(error.mean()) < 0.05


def test_flat_grey_stores_photoshops_neutral_level():
    image = np.full((8, 8, 1), 0.5, np.float32)
    for bits, neutral in [(8, 128), (16, 32768)]:
        _, high = split(image, 2.0, bits=bits)
        stored = high_to_file(high, bits) * (2**bits - 1)
        assert np.allclose(stored, neutral, atol=1e-2)
        assert np.allclose(high_from_file(high_to_file(high, bits), bits), 0.5, atol=1e-7)


def test_edited_low_keeps_the_texture_exactly():
    image = _photo()
    low, high = split(image, 4.0)
    edited = np.clip(gaussian_blur(low, 6.0) * 0.9 + 0.04, 0, 1)  # "Generative Fill" + tone
    out = merge(edited, high)
    texture = 2 * high - 1
    unclipped = (edited + texture > 0) & (edited + texture < 1)
    assert unclipped.mean() > 0.95
    assert np.abs((out - edited - texture)[unclipped]).max() < 1e-6


def test_quantize_matches_file_rounding():
    values = np.array([[[0.0], [0.5], [1.0], [0.1234], [1.2]]], np.float32)
    assert (quantize(values, 8) * 255).ravel() == pytest.approx([0, 128, 255, 31, 255], abs=1e-4)
    assert np.array_equal(quantize(values, None), np.clip(values, 0, 1))


# --- multi-scale -----------------------------------------------------------------------------


def test_scales_are_differences_of_doubling_blurs():
    image = _photo((64, 64, 1))
    details, residual = split_scales(image, 3, radius=1.5)
    blurs = [image] + [gaussian_blur(image, r) for r in (1.5, 3.0, 6.0)]
    for k, detail in enumerate(details):
        assert np.allclose(detail, (blurs[k] - blurs[k + 1]) / 2 + 0.5, atol=1e-6)
    assert np.allclose(residual, blurs[3], atol=1e-7)


@pytest.mark.parametrize("scales", [1, 4, 6])
def test_scales_float_round_trip_is_exact(scales):
    image = _photo((70, 80, 3))
    details, residual = split_scales(image, scales)
    assert len(details) == scales
    assert np.abs(merge_scales(details, residual) - image).max() < 1e-6


@pytest.mark.parametrize("bits", [8, 16])
def test_scales_stored_stack_stays_within_one_level(bits):
    # six rounded layers would drift by several levels; each detail absorbs the rounding below
    top = 2**bits - 1
    image = _on_grid(_photo(), bits)
    details, residual = split_scales(image, 6, radius=1.0, bits=bits)
    for detail in details:
        stored = high_to_file(detail, bits) * top
        assert np.abs(stored - np.rint(stored)).max() < 0.02
    error = np.rint(merge_scales(details, residual) * top) - np.rint(image * top)
    assert np.abs(error).max() <= 1
    assert abs(error.mean()) < 0.05


def test_sequential_linear_light_equals_the_sum():
    image = _photo((50, 60, 3))
    details, residual = split_scales(image, 3)
    sequential = residual
    for detail in reversed(details):  # coarsest first, as the stack is built
        sequential = merge(sequential, detail)
    assert np.abs(sequential - merge_scales(details, residual)).max() < 1e-6


# --- errors ----------------------------------------------------------------------------------


def test_bad_options_name_the_parameter():
    image = _photo((16, 16, 3))
    with pytest.raises(ParameterError, match=r"radius must be > 0 px; got -2"):
        split(image, -2)
    with pytest.raises(ParameterError, match=r"scales must be a whole number from 1 to 12; got 0"):
        split_scales(image, 0)
    with pytest.raises(ParameterError, match=r"bits must be one of 8, 16, 32; got 12"):
        split(image, 2.0, bits=12)
    with pytest.raises(ParameterError, match=r"must be float32"):
        split(image.astype(np.float64), 2.0)


def test_merge_refuses_mismatched_layers():
    low = np.zeros((10, 12, 3), np.float32)
    with pytest.raises(ParameterError, match=r"low and high differ in size: 12x10 vs 12x9 px"):
        merge(low, np.zeros((9, 12, 3), np.float32))
    with pytest.raises(
        ParameterError, match=r"high must have 1 channel or as many as low \(1\); got 3"
    ):
        merge(np.zeros((10, 12, 1), np.float32), np.zeros((10, 12, 3), np.float32))
    with pytest.raises(ParameterError, match=r"at least one detail layer"):
        merge_scales([], low)
