"""The materials regrain knows: one table for ``restore`` and ``grain``.

A row says how a material's texture is measured and imitated by ``restore`` (the texture band's
radius, whether rebuilt texture may have a direction) and, for the materials a synthetic grain
recipe exists for, how ``grain`` draws it (Photoshop's Add Noise, then a filter). ``auto`` and
``fabric`` have no grain recipe: ``grain`` refuses them by name.

Plain Python (no numpy): the command line lists the names in ``--help`` without loading the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from regrain.errors import ParameterError

__all__ = ["GRAIN_FILTERS", "MATERIALS", "GrainRecipe", "Material", "check_material", "names"]

GRAIN_FILTERS = ("pores", "scratches")
"""How a grain recipe shapes its noise: a Gaussian Blur into pores, or a directional smear and an
Unsharp Mask into micro-scratches (see :mod:`regrain._grain`)."""


@dataclass(frozen=True)
class GrainRecipe:
    """Photoshop's synthetic-texture recipe (Add Noise, Monochromatic, then a filter).

    noise: ``"gaussian"`` (amount = standard deviation) or ``"uniform"`` (amount = half range).
    amount: the default, in % of full scale; recipe: the range the recipe recommends (%).
    radius: the filter's default radius in px. filter: one of :data:`GRAIN_FILTERS`.
    directional: whether the texture has a direction (``--angle``).
    """

    noise: str
    amount: float
    recipe: tuple[float, float]
    radius: float
    filter: str
    directional: bool = False


@dataclass(frozen=True)
class Material:
    """One material: what it is, how ``restore`` treats it, and its grain recipe if any."""

    description: str
    """In a retoucher's words, for ``--help``."""
    radius: float
    """restore's texture band: image minus its Gaussian blur at this radius (px)."""
    isotropic: bool
    """restore synthesises direction-free texture (pores) rather than the surroundings' own."""
    grain: GrainRecipe | None = None
    """How ``grain`` draws it; None: no synthetic recipe (``grain`` refuses the material)."""


MATERIALS: dict[str, Material] = {
    "auto": Material("measured from the pair", radius=3.0, isotropic=False),
    "fabric": Material("weave and knit", radius=3.0, isotropic=False),
    "metal": Material(
        "brushed or polished metal: keeps the grain's direction",
        radius=2.0,
        isotropic=False,
        grain=GrainRecipe("gaussian", 2.0, (1.0, 3.0), 1.0, "scratches", directional=True),
    ),
    "skin": Material(
        "pores: no direction",
        radius=3.0,
        isotropic=True,
        grain=GrainRecipe("uniform", 3.0, (2.0, 5.0), 0.4, "pores"),
    ),
}
"""Material name -> :class:`Material`; ``restore`` takes every name, ``grain`` those with a
recipe."""

USES = ("restore", "grain")


def check_material(name: str, use: str = "restore") -> Material:
    """The :class:`Material` called *name*, for *use* (``"restore"`` or ``"grain"``).

    Raises :class:`ParameterError` listing the valid names; a material that exists but has no grain
    recipe is refused by ``grain`` with a message saying so.

    >>> check_material("metal", "grain").grain.noise
    'gaussian'
    """
    if use not in USES:
        raise ParameterError(f"unknown use {use!r}; expected one of: {', '.join(USES)}")
    valid = names(use)
    material = MATERIALS.get(name) if isinstance(name, str) else None
    if material is None:
        raise ParameterError(f"unknown material {name!r}; expected one of: {', '.join(valid)}")
    if use == "grain" and material.grain is None:
        raise ParameterError(
            f"material {name!r} has no synthetic grain recipe; grain offers: {', '.join(valid)} "
            f"(restore takes {name!r}: it measures the texture from the pair)"
        )
    return material


def names(use: str = "restore") -> list[str]:
    """The material names *use* accepts, sorted."""
    return sorted(k for k, m in MATERIALS.items() if use == "restore" or m.grain is not None)
