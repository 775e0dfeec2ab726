"""Simulated AI damage: the pair looks like a real AI edit and the ground truth is consistent."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skimage")

from regrain import _simulate as simulate


@pytest.fixture(scope="module")
def cases() -> dict[str, simulate.DamageCase]:
    return {name: fn("astronaut", seed=3) for name, fn in simulate.CASES.items()}


@pytest.mark.parametrize("name", list(simulate.CASES))
def test_edited_equals_original_outside_the_region_bit_for_bit(cases, name) -> None:
    case = cases[name]
    outside = case.region == 0
    assert outside.mean() > 0.5
    assert np.array_equal(case.edited[outside], case.original[outside])
    assert np.array_equal(case.truth[outside], case.original[outside])
    # and the AI did change the region
    assert np.abs(case.edited - case.original)[case.region >= 0.5].mean() > 1e-3


@pytest.mark.parametrize("name", list(simulate.CASES))
def test_images_survive_a_16_bit_file_unchanged(cases, name) -> None:
    for image in (cases[name].original, cases[name].edited, cases[name].truth):
        assert image.dtype == np.float32 and image.shape == (512, 512, 3)
        levels = np.round(image * 65535.0).astype(np.uint16)
        # exactly what regrain.io reads back from a 16-bit file
        assert np.array_equal(np.multiply(levels, np.float32(1 / 65535), dtype=np.float32), image)


def test_same_seed_same_pair_other_seed_other_defects() -> None:
    a, b = simulate.defect("coins", seed=5), simulate.defect("coins", seed=5)
    for field in ("original", "edited", "truth", "region", "defect", "defect_high"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    c = simulate.defect("coins", seed=6)
    assert not np.array_equal(a.defect, c.defect)


@pytest.mark.parametrize("name", ["defect", "replaced", "smooth"])
def test_defect_high_band_is_there_and_only_on_the_defect(cases, name) -> None:
    case = cases[name]
    on = case.defect > 0
    assert on.any()
    assert np.sqrt(np.mean(case.defect_high[on] ** 2)) > 0.01  # > 1% of full scale RMS
    assert not np.any(case.defect_high[~on])
    assert np.all(case.region[on] > 0)  # the AI edited every defect


def test_ai_output_lost_texture_and_kept_tones(cases) -> None:
    from regrain._quality import measure

    for name in ("retone", "glare", "defect", "replaced"):
        figures = measure(cases[name], cases[name].edited)
        assert 0.1 < figures["energy"] < 0.6, name
        # the ideal result keeps the AI's tones, so the ground truth passes the tone goal
        assert measure(cases[name], cases[name].truth)["tone"] < 0.3, name


def test_retone_truth_carries_the_edited_tones() -> None:
    case = simulate.retone("chelsea")
    inside = case.region >= 1.0
    gain = case.truth[inside].mean() / case.original[inside].mean()
    assert 1.02 < gain < 1.05  # +4% brightness (a little less where it clips)


def test_composite_places_every_kind_once_without_overlap() -> None:
    case = simulate.composite("astronaut")
    assert set(case.parts) == set(simulate.CASES)
    stacked = np.stack([r > 0 for r in case.parts.values()])
    assert stacked.sum(axis=0).max() == 1
    part = case.part("defect")
    assert part.defect.any() and not np.any(part.defect[case.parts["defect"] == 0])
