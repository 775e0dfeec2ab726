"""Synthetic texture: a 50% gray layer carrying monochromatic noise, in Overlay or Soft Light.

The Photoshop recipe, one material per row of :data:`GRAIN_MATERIALS` (the materials of
:mod:`regrain._materials` that have a grain recipe; ``restore`` shares that table):

* **metal** - Add Noise, Gaussian, Monochromatic, *amount* 1-3 % (default 2) = the noise's standard
  deviation in % of full scale; then a short directional smear along *angle* and an Unsharp Mask
  (100 %, *radius* 1.0 px) that cluster it into micro-scratches, as on polished gold or silver.
* **skin** - Add Noise, Uniform, Monochromatic, *amount* 2-5 % (default 3) = the noise spans
  +/- *amount* % of full scale; then a Gaussian Blur of *radius* 0.3-0.5 px (default 0.4) that
  softens the static into pores.

The layer is ``0.5 + texture`` (clipped to [0, 1] as a stored layer is), so on mid-gray it adds
exactly the texture in Overlay; it fades to nothing toward black and white, as in Photoshop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from regrain._blend import blend, check_mode
from regrain._checks import as_mask, check_image, check_range, check_seed
from regrain._filters import gaussian_blur
from regrain._materials import MATERIALS, check_material
from regrain.errors import ParameterError

__all__ = ["GRAIN_MATERIALS", "GRAIN_MODES", "GrainMaterial", "add_grain"]

SCRATCH_LENGTH = 2.0
"""Std (px) of the metal smear along *angle*: streaks ~8 px long, short like hairline scratches."""
SCRATCH_WIDTH = 0.5
"""Std (px) of the smear across *angle*: just enough to draw a slanted line without aliasing."""
SCRATCH_USM_AMOUNT = 1.0
"""Unsharp Mask amount for metal (1.0 = Photoshop's 100 %)."""

GRAIN_MODES = ("overlay", "soft-light")
"""Blend modes of the texture layer: Overlay, or the subtler Soft Light."""


@dataclass(frozen=True)
class GrainMaterial:
    """How one material's texture is drawn.

    noise: ``"gaussian"`` (amount = standard deviation) or ``"uniform"`` (amount = half range), in %
    of full scale. amount: the default; recipe: the range the recipe recommends. radius: the default
    filter radius in px. shape: ``shape(noise, radius, angle) -> texture`` on float32 (H, W).
    directional: whether *angle* means anything.
    """

    noise: str
    amount: float
    recipe: tuple[float, float]
    radius: float
    shape: Callable[[np.ndarray, float, float], np.ndarray]
    directional: bool = False


def scratch_kernel(angle: float) -> np.ndarray:
    """The metal smear: an anisotropic Gaussian along *angle* (degrees, counter-clockwise from the
    x axis, as Photoshop's Motion Blur), normalised to unit energy (sum of squares = 1) so that it
    turns white noise into streaks without changing its standard deviation."""
    # +/- 2 std holds 99.97 % of the energy; a 9x9 kernel filters ~2x faster than 13x13
    reach = int(np.ceil(2.0 * SCRATCH_LENGTH))
    y, x = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    theta = np.deg2rad(angle)
    along = x * np.cos(theta) - y * np.sin(theta)  # image rows grow downward
    across = x * np.sin(theta) + y * np.cos(theta)
    kernel = np.exp(-0.5 * ((along / SCRATCH_LENGTH) ** 2 + (across / SCRATCH_WIDTH) ** 2))
    kernel /= np.sqrt(np.sum(kernel**2))
    return kernel.astype(np.float32)


def _scratches(noise: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Smear Gaussian noise along *angle*, then Unsharp Mask it (amount 100 %, *radius* px)."""
    import cv2

    streaks = cv2.filter2D(noise, -1, scratch_kernel(angle), borderType=cv2.BORDER_REFLECT)
    # USM: x + amount * (x - blur(x)); with the radius near the streak width it gives every
    # streak dark flanks, which reads as a fine scratch catching the light
    halo = gaussian_blur(streaks, radius, out=noise)
    halo *= np.float32(-SCRATCH_USM_AMOUNT)
    streaks *= np.float32(1.0 + SCRATCH_USM_AMOUNT)
    streaks += halo
    return streaks


def _pores(noise: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Soften uniform noise into pores with a Gaussian Blur of *radius* px."""
    return gaussian_blur(noise, radius, out=noise)


_FILTERS = {"scratches": _scratches, "pores": _pores}

GRAIN_MATERIALS: dict[str, GrainMaterial] = {
    name: GrainMaterial(
        r.noise, r.amount, r.recipe, r.radius, _FILTERS[r.filter], directional=r.directional
    )
    for name, material in MATERIALS.items()
    if (r := material.grain) is not None
}
"""Material name -> :class:`GrainMaterial` (noise type, default amount and radius, shaping), built
from the grain recipes of :data:`regrain._materials.MATERIALS`."""


def grain_noise(shape: tuple[int, int], kind: str, amount: float, seed: int) -> np.ndarray:
    """The raw monochromatic noise, float32 (H, W) and zero-mean, before a material shapes it.

    kind ``"gaussian"``: standard deviation *amount* % of full scale (Photoshop: Gaussian);
    ``"uniform"``: values spread evenly over +/- *amount* % (Photoshop: Uniform). The same *seed*
    gives the same noise on any thread.
    """
    import cv2  # its generator is ~3x faster than numpy's for Gaussian samples

    scale = amount / 100.0
    noise = np.empty(shape, np.float32)
    cv2.setRNGSeed(check_seed(seed))  # seeds this thread's generator only
    if kind == "gaussian":
        cv2.randn(noise, 0.0, scale)
    else:
        cv2.randu(noise, -scale, scale)
    return noise


def grain_options(
    material: str = "metal",
    *,
    amount: float | None = None,
    radius: float | None = None,
    angle: float = 0.0,
    names: tuple[str, str, str] = ("amount", "radius", "angle"),
) -> tuple[GrainMaterial, float, float, float]:
    """Check grain's options, before any work: ``(spec, amount %, radius px, angle degrees)``
    with the material's defaults filled in. *names* are the options' names in messages."""
    check_material(material, "grain")
    spec = GRAIN_MATERIALS[material]
    amount = spec.amount if amount is None else amount
    amount = check_range(amount, names[0], low=0.0, low_open=True, high=50.0, unit="%")
    radius = spec.radius if radius is None else radius
    radius = check_range(radius, names[1], low=0.0, low_open=True, high=10.0, unit="px")
    angle = check_range(angle, names[2], unit="degrees")
    if angle != 0.0 and not spec.directional:
        raise ParameterError(
            f"{names[2]} applies to directional materials only; {material!r} has none."
        )
    return spec, amount, radius, angle


def grain_layer(
    shape: tuple[int, int],
    material: str = "metal",
    *,
    amount: float | None = None,
    radius: float | None = None,
    angle: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """The texture layer alone: float32 (H, W, 1), 50 % gray plus the shaped noise, in [0, 1]."""
    spec, amount, radius, angle = grain_options(material, amount=amount, radius=radius, angle=angle)
    layer = spec.shape(grain_noise(shape, spec.noise, amount, seed), radius, angle)
    layer += np.float32(0.5)
    np.clip(layer, 0.0, 1.0, out=layer)
    return layer[..., None]


def add_grain(
    image: np.ndarray,
    material: str = "metal",
    *,
    amount: float | None = None,
    mask: np.ndarray | None = None,
    seed: int = 0,
    mode: str = "overlay",
    radius: float | None = None,
    angle: float = 0.0,
) -> np.ndarray:
    """Give an AI-smoothed *image* synthetic *material* texture (metal scratches or skin pores).

    image: float32 (H, W, C) in [0, 1]. amount: noise strength in % of full scale (metal: Gaussian
    standard deviation, recipe 1-3, default 2; skin: uniform +/- range, recipe 2-5, default 3).
    mask: (H, W) in [0, 1], white = texture; the AI-changed area. Outside it the image is returned
    bit for bit. seed: the same seed gives the same grain. mode: the texture layer's blend mode,
    ``"overlay"`` or the subtler ``"soft-light"`` (Photoshop's spellings too). radius (px): metal's
    Unsharp Mask radius (default 1.0) or skin's pore blur (default 0.4). angle (degrees): direction
    of metal's scratches. Returns a new float32 image.

    >>> import numpy as np
    >>> gray = np.full((64, 64, 1), 0.5, np.float32)
    >>> out = add_grain(gray, "skin", amount=3, seed=1)
    >>> bool(0.0 < out.std() < 0.03), bool(abs(out.mean() - 0.5) < 0.005)
    (True, True)
    """
    image = check_image(image)
    mode = check_mode(mode, GRAIN_MODES)
    check_seed(seed)
    weight = as_mask(mask, image)  # before the noise is drawn
    layer = grain_layer(
        image.shape[:2], material, amount=amount, radius=radius, angle=angle, seed=seed
    )
    return blend(image, layer, mode, mask=weight)
