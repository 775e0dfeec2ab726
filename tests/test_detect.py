"""regrain.inspect: where texture was lost and how much."""

from __future__ import annotations

import numpy as np
import pytest

import regrain
from regrain._detect import render_loss_map
from regrain._filters import gaussian_blur


def _photo(size: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grain = gaussian_blur(rng.standard_normal((size, size, 3)).astype(np.float32), 0.6)
    return np.clip(0.5 + 0.05 * grain / grain.std(), 0, 1).astype(np.float32)


def test_a_smoothed_square_is_found_with_its_box() -> None:
    photo = _photo()
    edited = photo.copy()
    edited[40:100, 60:140] = gaussian_blur(photo, 4.0)[40:100, 60:140]
    report = regrain.inspect(photo, edited)
    area = 60 * 80 / 160**2
    assert report.changed_share == pytest.approx(area, rel=0.05)
    assert 0.7 * area < report.plastic_share <= report.changed_share
    fine, middle, coarse = report.energy_ratio.values()
    assert fine < 0.2 and middle < 0.4 and coarse < 0.8  # a 4 px blur keeps some coarse detail
    x, y, w, h = report.regions[0]["box"]
    assert abs(x - 60) <= 4 and abs(y - 40) <= 4 and abs(w - 80) <= 8 and abs(h - 60) <= 8


def test_tone_change_with_texture_kept_is_not_plastic() -> None:
    photo = _photo()
    brighter = np.clip(photo + 0.05, 0, 1)
    report = regrain.inspect(photo, brighter)
    assert report.changed_share > 0.99
    assert report.plastic_share == 0.0
    assert all(ratio > 0.95 for ratio in report.energy_ratio.values())


def test_mask_limits_the_figures() -> None:
    photo = _photo()
    edited = gaussian_blur(photo, 4.0)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :80] = 1
    report = regrain.inspect(photo, edited, mask=mask)
    assert report.plastic_share > 0.9  # of the masked half, not of the whole image


def test_loss_picture_is_an_rgb_image_in_range() -> None:
    photo = _photo()
    edited = photo.copy()
    edited[40:100, 60:140] = 0.5
    picture = render_loss_map(edited, regrain.inspect(photo, edited))
    assert picture.shape == (160, 160, 3) and picture.dtype == np.float32
    assert 0.0 <= picture.min() and picture.max() <= 1.0
    assert picture[70, 100, 0] > picture[70, 100, 2] + 0.3  # red where the texture went
