"""The quality figures on constructed inputs whose right answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from regrain import _quality as quality
from regrain._filters import gaussian_blur
from regrain._simulate import DamageCase

SIZE = 128
KEEP = 0.3  # share of the texture the constructed "AI" keeps


def _disc(radius: float, cy: float = 64, cx: float = 64, soft: float = 4.0) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.clip((radius - d) / soft + 0.5, 0.0, 1.0).astype(np.float32)


def _texture(seed: int, amplitude: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = gaussian_blur(rng.standard_normal((SIZE, SIZE, 1)).astype(np.float32), 0.7)
    return np.repeat(noise / noise.std() * amplitude, 3, axis=2)


def _case(name: str, *, defect: bool = False, textured: bool = True) -> DamageCase:
    """A gray ramp with fine texture; inside a disc the 'AI' keeps KEEP of the texture."""
    ramp = np.linspace(0.35, 0.65, SIZE, dtype=np.float32)[None, :, None]
    truth = np.broadcast_to(ramp, (SIZE, SIZE, 3)) + (_texture(0) if textured else 0.0)
    truth = np.clip(truth, 0, 1).astype(np.float32)
    region = _disc(36, soft=6.0)
    original = truth.copy()
    spot = np.zeros((SIZE, SIZE), np.float32)
    if defect:
        spot = _disc(6, 60, 70, soft=3.0)
        original = (truth * (1.0 - 0.3 * spot[..., None])).astype(np.float32)
    low = gaussian_blur(truth, 4.0)
    ai = low + KEEP * (truth - low)
    r = region[..., None]
    edited = np.where(r > 0, original * (1 - r) + ai * r, original).astype(np.float32)
    area = (gaussian_blur(spot, 2.0) > 0.01).astype(np.float32)
    d = quality.high_band(original) - quality.high_band(truth)
    return DamageCase(
        name=name,
        photo="synthetic",
        material="metal",
        original=original,
        edited=edited,
        truth=truth,
        region=region,
        defect=area,
        defect_high=np.where(area > 0, d, 0.0).astype(np.float32),
    )


def test_output_equal_to_truth_meets_every_goal() -> None:
    case = _case("retone")
    figures = quality.measure(case, case.truth)
    assert figures["energy"] == pytest.approx(1.0)
    assert figures["fidelity"] == pytest.approx(1.0)
    assert figures["seam"] == pytest.approx(1.0)
    assert figures["far"] == 0.0
    assert figures["leak"] is None and figures["grain+"] is None  # do not apply to retone
    assert all(mark is not False for mark in quality.judge(figures).values())


def test_ai_output_energy_is_the_share_of_texture_it_kept() -> None:
    case = _case("retone")
    figures = quality.measure(case, case.edited)
    assert figures["energy"] == pytest.approx(KEEP, abs=0.04)
    assert figures["fidelity"] == 0.0  # nothing was put back
    assert quality.judge(figures)["energy"] is False


def test_fidelity_tells_the_true_texture_from_invented_grain() -> None:
    case = _case("glare")
    half_way = case.edited + 0.5 * (case.truth - case.edited)
    assert quality.measure(case, half_way)["fidelity"] == pytest.approx(1.0, abs=1e-6)
    invented = case.edited + np.where(case.region[..., None] > 0, _texture(7, 0.04), 0.0)
    assert abs(quality.measure(case, invented.astype(np.float32))["fidelity"]) < 0.1


def test_leak_is_zero_for_the_truth_and_one_for_the_original() -> None:
    case = _case("defect", defect=True)
    assert np.any(case.defect_high != 0)
    assert quality.measure(case, case.truth)["leak"] == pytest.approx(0.0, abs=1e-9)
    assert quality.measure(case, case.original)["leak"] == pytest.approx(1.0, abs=1e-6)
    assert quality.judge(quality.measure(case, case.original))["leak"] is False


def test_leak_ignores_the_texture_the_defect_was_hiding() -> None:
    # the AI output has no defect at all, only less texture: that is no leak
    case = _case("defect", defect=True)
    assert abs(quality.measure(case, case.edited)["leak"]) < 0.05


def test_far_counts_changes_away_from_the_edit() -> None:
    case = _case("retone")
    shifted = np.clip(case.edited + 0.01, 0, 1).astype(np.float32)
    figures = quality.measure(case, shifted)
    assert figures["far"] == pytest.approx(1.0, abs=1e-3)  # 1% of full scale
    assert quality.judge(figures)["far"] is False


def test_tone_shift_inside_the_region_is_measured_in_percent() -> None:
    case = _case("retone")
    brighter = np.clip(case.truth + 0.02 * case.region[..., None], 0, 1).astype(np.float32)
    tone = quality.measure(case, brighter)["tone"]
    assert 1.0 < tone < 2.2  # about 2%, a little less where the blurred edge of the shift lies


def test_grain_added_to_a_smooth_area_fails() -> None:
    case = _case("smooth", textured=False)
    assert quality.measure(case, case.truth)["grain+"] == pytest.approx(0.0, abs=1e-9)
    grainy = case.truth + np.where(case.region[..., None] > 0, _texture(3, 0.01), 0.0)
    figures = quality.measure(case, grainy.astype(np.float32))
    assert figures["grain+"] > 0.5  # % of full scale
    assert figures["energy"] is None and figures["seam"] is None
    assert quality.judge(figures)["grain+"] is False


def test_goal_intervals_and_absolute_leak() -> None:
    assert quality.GOALS["energy"].met(0.85) and quality.GOALS["energy"].met(1.15)
    assert not quality.GOALS["energy"].met(0.84)
    assert quality.GOALS["leak"].met(-0.04) and not quality.GOALS["leak"].met(-0.06)
    assert quality.GOALS["fidelity"].met(None) is None
    assert quality.passed({"energy": 1.0, "leak": 0.2, "tone": None}) == (1, 2)


def test_regeneration_is_judged_as_a_retone() -> None:
    assert quality.figures_for("regeneration") == quality.figures_for("retone")
    assert "leak" not in quality.figures_for("regeneration")
