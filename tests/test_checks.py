"""The shared checks, through every public core function: dtypes, channels, NaN, range, views.

One rule in one place (``regrain._checks``): a float32 (H, W, C) image in [0, 1] is accepted
whatever its memory layout; anything else is a ``ParameterError`` naming the parameter, the rule
and what was received, never a raw ``cv2.error`` or a silently wrong result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import regrain
from regrain import ParameterError
from regrain._checks import VALUE_SLACK, as_mask, check_image, check_seed

SIZE = (40, 56)


def _image(channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((*SIZE, channels), dtype=np.float32)


def _mask(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.float32)
    mask[5:-5, 8:-8] = 1.0
    return mask


# public core function -> a call on one image (the image is every image argument it takes)
CORE: dict[str, Callable[[np.ndarray], object]] = {
    "blend": lambda im: regrain.blend(im, im, "soft-light"),
    "blend-layer": lambda im: regrain.blend(np.ascontiguousarray(im), im, "luminosity"),
    "luminosity_blend": lambda im: regrain.luminosity_blend(im, im),
    "add_grain": lambda im: regrain.add_grain(im, "skin", seed=1),
    "graft": lambda im: regrain.graft(im, (2, 2, 16, 16), _mask(im.shape)),
    "split": lambda im: regrain.split(im, 2.0),
    "merge": lambda im: regrain.merge(im, im),
    "split_scales": lambda im: regrain.split_scales(im, 2),
    "merge_scales": lambda im: regrain.merge_scales([im], im),
    "gaussian_blur": lambda im: regrain.gaussian_blur(im, 2.0),
    "high_pass": lambda im: regrain.high_pass(im, 2.0),
    "inspect": lambda im: regrain.inspect(im, im * np.float32(0.9)),
    "restore-original": lambda im: regrain.restore(im, np.ascontiguousarray(im) * 0.9),
    "restore-edited": lambda im: regrain.restore(np.ascontiguousarray(im), im * 0.9),
}
# functions that check their input with check_image (gaussian_blur and high_pass are filters
# that take any float32 array)
CHECKED = sorted(set(CORE) - {"gaussian_blur", "high_pass"})


def _views(image: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "rot90": np.rot90(image),
        "fortran": np.asfortranarray(image),
        "flipped": image[:, ::-1],
        "strided": image[::2, ::2],
        "transposed": image.transpose(1, 0, 2),
    }


VIEWS = ["rot90", "fortran", "flipped", "strided", "transposed"]


def _view_cases() -> list:
    return [pytest.param(function, view) for function in sorted(CORE) for view in VIEWS]


@pytest.mark.parametrize(("function", "view"), _view_cases())
def test_views_and_fortran_arrays_are_accepted(function: str, view: str) -> None:
    image = _views(_image())[view]
    got = CORE[function](image)
    # the same result as on a C-ordered copy of the same pixels
    expected = CORE[function](np.ascontiguousarray(image))
    for a, b in zip(_arrays(got), _arrays(expected), strict=True):
        np.testing.assert_array_equal(a, b)


def _arrays(result: object) -> list[np.ndarray]:
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, tuple | list):
        return [a for part in result for a in _arrays(part)]
    for attr in ("image", "loss"):
        if hasattr(result, attr):
            return [getattr(result, attr)]
    return []


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64, np.float16])
@pytest.mark.parametrize("function", CHECKED)
def test_other_dtypes_are_refused_naming_the_dtype(function: str, dtype: type) -> None:
    image = _image()
    scaled = (image * (np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else 1)).astype(dtype)
    with pytest.raises(
        ParameterError, match=rf"must be float32 in \[0, 1\].*got {np.dtype(dtype)}"
    ):
        CORE[function](scaled)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("function", CHECKED)
def test_float32_keeps_its_shape(function: str, channels: int) -> None:
    image = _image(channels)
    for out in _arrays(CORE[function](image)):
        assert out.dtype == np.float32 and out.shape[:2] == image.shape[:2]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("function", CHECKED)
def test_nan_and_inf_are_refused(function: str, bad: float) -> None:
    image = _image()
    image[3, 4, 1] = bad
    image[7, 9, 0] = bad
    with pytest.raises(ParameterError, match=r"must hold finite values in \[0, 1\]; got 2 NaN"):
        CORE[function](image)


@pytest.mark.parametrize(
    ("scale", "offset", "message"),
    [
        (255.0, 0.0, r"got values from 0\.\d+ to 254\.\d+ \(0-255 data: divide by 255\)"),
        (65535.0, 0.0, r"got values from [\d.]+ to 6\d+\.?\d* \(0-65535 data: divide by 65535\)"),
        (1.0, -0.5, r"got values from -0\.49\d* to 0\.49\d*\.$"),
    ],
)
@pytest.mark.parametrize("function", CHECKED)
def test_values_outside_0_1_are_refused(
    function: str, scale: float, offset: float, message: str
) -> None:
    image = _image() * np.float32(scale) + np.float32(offset)
    with pytest.raises(ParameterError, match=r"must hold values in \[0, 1\]; " + message):
        CORE[function](image)


def test_the_parameter_is_named() -> None:
    good = _image()
    bad = good * 255
    with pytest.raises(ParameterError, match=r"^layer must hold values"):
        regrain.blend(good, bad)
    with pytest.raises(ParameterError, match=r"^edited must hold values"):
        regrain.inspect(good, bad)
    with pytest.raises(ParameterError, match=r"^high must hold values"):
        regrain.merge(good, bad)


def test_half_a_level_of_slack_is_kept_and_clipped_for_layers() -> None:
    # a High layer on Photoshop's grid reaches half a level below 0; float rounding a hair past 1
    image = _image()
    image[0, 0] = -VALUE_SLACK
    image[0, 1] = 1 + VALUE_SLACK
    assert check_image(image) is image
    clipped = check_image(image, clip=True)
    assert clipped.min() == 0.0 and clipped.max() == 1.0 and image.min() < 0.0
    with pytest.raises(ParameterError):
        check_image(image - np.float32(2 * VALUE_SLACK))


def test_check_image_copies_only_when_it_must() -> None:
    image = _image()
    assert check_image(image) is image
    view = np.rot90(image)
    copy = check_image(view)
    assert copy.flags.c_contiguous and np.array_equal(copy, view)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4), np.float32), r"shape \(H, W, C\) with C in 1\.\.4; got \(4, 4\)"),
        (np.zeros((4, 4, 5), np.float32), r"with C in 1\.\.4; got \(4, 4, 5\)"),
        (np.zeros((0, 4, 3), np.float32), r"at least one pixel"),
    ],
)
def test_shapes_are_named(image: np.ndarray, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        check_image(image)
    with pytest.raises(TypeError, match="must be a numpy array; got list"):
        check_image([[0.5]])  # type: ignore[arg-type]


def test_masks_refuse_nan_and_are_clipped() -> None:
    image = _image()
    mask = np.full(SIZE, 1.5, np.float32)
    assert as_mask(mask, image).max() == 1.0
    mask[2, 2] = np.nan
    with pytest.raises(
        ParameterError, match=r"mask must hold finite values in \[0, 1\]; got 1 NaN"
    ):
        as_mask(mask, image)
    with pytest.raises(ParameterError, match="mask must hold finite values"):
        regrain.blend(image, image, mask=mask)


@pytest.mark.parametrize("seed", [-1, 2**31, 2**40, "3", None, 1.5, True])
def test_seed_rule(seed: object) -> None:
    with pytest.raises(ParameterError, match=r"seed must be a whole number from 0 to 2147483647"):
        check_seed(seed)  # type: ignore[arg-type]
    assert check_seed(np.int64(7)) == 7


@pytest.mark.parametrize("seed", [-1, 2**40, "3", None])
def test_the_api_refuses_bad_seeds_before_any_work(seed: object) -> None:
    image = _image()
    for call in (
        lambda: regrain.add_grain(image, seed=seed),
        lambda: regrain.graft(image, (2, 2, 16, 16), _mask(image.shape), seed=seed),
    ):
        with pytest.raises(ParameterError, match="seed must be a whole number"):
            call()


@pytest.mark.parametrize("seed", [-1, 2**40, "3", None])
def test_restore_refuses_bad_seeds_before_any_work(seed: object) -> None:
    image = _image()
    with pytest.raises(ParameterError, match="seed must be a whole number"):
        regrain.restore(image, image * np.float32(0.9), seed=seed)  # type: ignore[arg-type]
