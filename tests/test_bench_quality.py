"""The quality benchmark's own parts: the damage family, its ground truth, the new metrics.

Only scikit-image's bundled photos are used (no registry fetch), so these run anywhere the test
extra is installed. Each case is a 512 px crop or smaller; the whole file runs in seconds.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skimage")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from quality import cases, metrics, photos, sheets, tools
from regrain import _quality as rq

# a bundled photo per set, for the tools of that set
BUNDLED = {"tuning": "coins", "validation": "gravel"}


def _tool_cases() -> list[cases.Spec]:
    """One case per tool: its group's kinds, on a bundled photo of the tool's set."""
    kinds = {"smooth": ("retone", "glare"), "resample": ("regeneration",)}
    kinds |= {"fill": ("defect", "replaced", "smooth"), "deliver": ("retone",)}
    out = []
    for name, tool in tools.TOOLS.items():
        if not tools.available(name):
            continue
        photo = BUNDLED[tool.set]
        for i, kind in enumerate(kinds[tool.group]):
            if tool.group == "deliver":
                base = cases.KINDS[kind]["tuning"]
                out.append(cases.Spec(tool.set, photo, kind, base, i, delivery=name))
            else:
                out.append(cases.Spec(tool.set, photo, kind, name, i))
    return out


@pytest.fixture(scope="module")
def built() -> dict[str, cases.BenchCase]:
    return {spec.id: cases.build(spec) for spec in _tool_cases()}


@pytest.mark.parametrize("spec", _tool_cases(), ids=lambda s: s.id)
def test_every_tool_makes_a_case_whose_truth_meets_every_goal(built, spec) -> None:
    case = built[spec.id]
    figures = rq.measure(case.damage, case.damage.truth)
    failed = {k: v for k, v in figures.items() if rq.GOALS[k].met(v) is False}
    assert not failed, f"{spec.id}: the ground truth fails {failed}"


@pytest.mark.parametrize("spec", _tool_cases(), ids=lambda s: s.id)
def test_edited_equals_original_outside_the_change_unless_delivered(built, spec) -> None:
    case = built[spec.id]
    d = case.damage
    outside = d.region == 0
    assert outside.mean() > 0.5
    inside = d.region >= 0.5
    assert np.abs(d.edited - d.original)[inside].mean() > 1e-3  # the tool did change the area
    if spec.delivery:  # a re-encoded frame touches every pixel a little, never much
        changed = np.abs(d.edited - d.original)[outside]
        assert changed.max() > 0 and changed.mean() < 0.02
    else:
        assert np.array_equal(d.edited[outside], d.original[outside])
        assert np.array_equal(d.truth[outside], d.original[outside])


def test_the_smoothing_tools_remove_texture_the_truth_keeps(built) -> None:
    for spec_id, case in built.items():
        if case.spec.kind in ("retone", "glare") and not case.spec.delivery:
            energy = rq.measure(case.damage, case.damage.edited)["energy"]
            assert energy < 0.99, spec_id


@pytest.mark.parametrize("kind", ["defect", "smooth"])
def test_defects_are_in_the_original_and_gone_from_the_edit(kind) -> None:
    for tool in ("telea", "navier-stokes", "biharmonic", "low-res-fill"):
        case = cases.build(cases.Spec("tuning", "astronaut", kind, tool, 0))
        d = case.damage
        assert rq.measure(d, d.original)["leak"] == pytest.approx(1.0, abs=1e-6)
        # a fill leaves at most a faint ghost (the low-resolution fill a slightly inverted one)
        assert abs(rq.measure(d, d.edited)["leak"]) < 0.1, tool
        assert abs(rq.measure(d, d.truth)["leak"]) < 1e-6


def test_scratches_are_thin_anti_aliased_and_of_moderate_contrast() -> None:
    flat = np.full((96, 96, 3), 0.5, np.float32)
    rng = np.random.default_rng(4)
    out, alpha = cases._paint_defects(flat, rng, 48, 48, 30, 30, blemishes=0, scratches=1, dust=0)
    assert 0.0 < alpha.max() <= 1.0
    assert np.any((alpha > 0.05) & (alpha < 0.95))  # anti-aliased: partial coverage
    # 1 px wide: total coverage over the line's length (its box diagonal, the line is
    # nearly straight) is about one pixel
    ys, xs = np.nonzero(alpha > 0.05)
    length = np.hypot(np.ptp(ys) + 1, np.ptp(xs) + 1)
    assert length > 20
    assert 0.7 < alpha.sum() / length < 1.6
    contrast = np.abs(out - flat).max()
    assert 0.05 < contrast < 0.16


def test_same_spec_same_case_and_another_seed_another_place() -> None:
    spec = cases.Spec("tuning", "chelsea", "defect", "telea", 0)
    a, b = cases.build(spec), cases.build(spec)
    for field in ("original", "edited", "truth", "region", "defect", "defect_high"):
        assert np.array_equal(getattr(a.damage, field), getattr(b.damage, field)), field
    c = cases.build(replace(spec, seed=1))
    assert not np.array_equal(a.damage.defect, c.damage.defect)


def test_true_classes_follow_the_kind() -> None:
    retone = cases.build(cases.Spec("tuning", "brick", "retone", "bilateral", 0))
    assert set(np.unique(retone.classes)) <= {0, 1, 255}
    assert np.all(retone.classes[retone.damage.region >= 0.5] == 1)
    replaced = cases.build(cases.Spec("tuning", "brick", "replaced", "telea", 0))
    assert set(np.unique(replaced.classes)) == {0, 2}
    smooth = cases.build(cases.Spec("tuning", "brick", "smooth", "telea", 0))
    assert set(np.unique(smooth.classes)) == {0, 3}
    assert smooth.backdrop == "made"  # brick has no texture-free area of its own


def test_sets_share_no_photo_no_tool_and_skip_the_unseen_sources() -> None:
    for group in ("smooth", "resample", "fill", "deliver"):
        tuning, validation = tools.tools_for(group, "tuning"), tools.tools_for(group, "validation")
        assert tuning and validation and not set(tuning) & set(validation)
    kinds_of_filter = [t.kind for t in tools.TOOLS.values()]
    assert len(kinds_of_filter) == len(set(kinds_of_filter))  # each a different kind of filter
    assert len(photos.photo_names("tuning")) >= 6 and len(photos.photo_names("validation")) >= 6
    assert not set(photos.photo_names("tuning")) & set(photos.photo_names("validation"))
    banned = ("lomiri", "mate-", "plasma", "krita", "matplotlib", "plenoptic", "robosuite")
    for photo in photos.PHOTOS.values():
        assert not any(b in photo.package.lower() for b in banned), photo.name
    for spec in cases.specs("tuning"):
        assert tools.TOOLS[spec.tool].set == "tuning" and photos.PHOTOS[spec.photo].set == "tuning"


def test_validation_cycles_through_every_tool_of_a_group() -> None:
    specs = cases.specs("validation", photo_names=("gravel",), reps=6)
    used = {s.tool for s in specs if s.kind in ("retone", "glare")}
    wanted = {t for t in tools.tools_for("smooth", "validation") if tools.available(t)}
    assert used == wanted


# ------------------------------------------------------------------------------- metrics


def test_kurtosis_of_a_gaussian_is_three_and_of_a_laplacian_six() -> None:
    rng = np.random.default_rng(0)
    assert metrics.kurtosis(rng.standard_normal(200_000)) == pytest.approx(3.0, abs=0.05)
    assert metrics.kurtosis(rng.laplace(size=200_000)) == pytest.approx(6.0, abs=0.3)


def test_sliced_wasserstein_tells_one_distribution_from_another() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((400, 49)), rng.standard_normal((400, 49))
    weaker = 0.5 * rng.standard_normal((400, 49))
    sparse = rng.laplace(size=(400, 49)) / np.sqrt(2.0)  # same variance, other shape
    floor = metrics.sliced_wasserstein(a, b)
    assert metrics.sliced_wasserstein(a, a) == 0.0
    assert metrics.sliced_wasserstein(a, weaker) > 3 * floor
    assert metrics.sliced_wasserstein(a, sparse) > floor
    assert metrics.sliced_wasserstein(a, b) == metrics.sliced_wasserstein(a, b)  # seeded


def _stationary(seed: int, size: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + 0.05 * rng.standard_normal((size, size, 3)), 0, 1).astype(np.float32)


def test_texture_statistics_near_the_floor_for_the_same_texture_and_far_for_a_flat_fill() -> None:
    image = _stationary(2)
    zone = np.zeros(image.shape[:2], bool)
    zone[70:90, 60:100] = True
    clean = ~cases._dilate(zone, metrics.RING[0])
    ring = cases._dilate(zone, metrics.RING[1]) & clean
    same = metrics.texture_statistics(image, zone, ring, clean)
    assert same["swd_ratio"] < metrics.TEXTURE_GOAL and same["met"]
    flat = image.copy()
    flat[zone] = 0.5
    fill = metrics.texture_statistics(flat, zone, ring, clean)
    assert fill["swd_ratio"] > 3 and not fill["met"]
    with_truth = metrics.texture_statistics(image, zone, ring, clean, truth=image)
    assert with_truth["swd_ratio"] <= 1.0  # the truth never exceeds its own floor


def test_confusion_counts_pixels_by_true_and_restored_class() -> None:
    true = np.array([[1, 1, 2, 2], [0, 3, 255, 0]], np.uint8)
    predicted = np.array([[1, 0, 2, 1], [0, 3, 2, 1]], np.float32)
    table = metrics.confusion(true, predicted)
    # rows: true restore, rebuild, smooth, untouched; columns: restored, rebuilt, left
    assert table.tolist() == [[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 1]]


def test_comparisons_with_frequency_separation_and_the_ai_output() -> None:
    fs = {"energy": 0.95, "fidelity": 0.97}
    good = {
        "AI output": {},
        "freq. sep. r4": fs,
        "regrain restore": {"energy": 1.02, "fidelity": 0.96},
    }
    bad = {"freq. sep. r4": fs, "regrain restore": {"energy": 1.02, "fidelity": 0.90}}
    assert metrics.compare("retone", good)["vs freq. sep."] is True
    assert metrics.compare("glare", bad)["vs freq. sep."] is False
    leak = {"AI output": {"leak": 0.0}, "regrain restore": {"leak": 0.08}}
    assert metrics.compare("defect", leak)["vs AI leak"] is False
    assert metrics.compare("defect", leak)["vs freq. sep."] is None


def test_contact_sheet_is_written_and_zooms_where_restore_is_worst(tmp_path) -> None:
    case = cases.build(cases.Spec("tuning", "coins", "defect", "telea", 0))
    d = case.damage
    restored = d.edited.copy()
    y, x = np.argwhere(case.classes == 2)[0]
    restored[y, x] = 1.0 - d.truth[y, x]  # one wrong pixel: the zoom must find it
    y0, x0, size = sheets.worst_window(restored, d.truth, d.region)
    assert y0 <= y < y0 + size and x0 <= x < x0 + size
    path = sheets.write(
        tmp_path / "sheet.png", "title", {"original": d.original, "restored": restored},
        {"true classes": case.classes}, d.region, restored, d.truth,
    )  # fmt: skip
    from PIL import Image

    with Image.open(path) as im:
        assert im.size[0] > 4 * sheets.WINDOW * sheets.ZOOM // 2
