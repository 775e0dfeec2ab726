"""How good is a restore? Figures measured against the ground truth of a simulated AI edit.

Texture is measured on one **high band**, defined here once: the luminosity (Photoshop weights,
:func:`regrain._detect.luma`) minus its Gaussian blur at sigma :data:`HIGH_SIGMA` = 2 px. **Tones**
are what survives a Gaussian blur of sigma :data:`TONE_SIGMA` = 8 px, per channel. Inside the
changed region (``region >= 0.5``) of a :class:`regrain._simulate.DamageCase`:

========= =========================================================================== ============
figure    meaning                                                                     goal
========= =========================================================================== ============
energy    RMS of the output's high band / RMS of the truth's (AI output: ~0.2-0.5)    0.85-1.15
fidelity  is the texture put back the true one? Pearson correlation of what the output  >= 0.90
          added (h_out - h_edited) with what the AI took (h_truth - h_edited); 0 when
          nothing was added (cases retone, glare, where the original still holds it)
leak      share of a removed defect/object's high band d that came back:              |x| <= 0.05
          <h_out - h_truth, d'> / <d, d'> over its area, d' = d without its component
          along h_truth (d also holds "minus the hidden texture", which is not a leak);
          1 = the original's defect fully back, negative = an inverted ghost
tone      mean |tones(out) - tones(edited)|, % of full scale                          <= 0.5 %
far       mean |out - edited| over pixels more than 16 px from any change, %          <= 0.1 %
seam      high-band RMS ratio out/truth in a 6 px band across the region's border     0.8-1.25
grain+    (case smooth, no texture in the truth) high-band RMS the output added over  <= 0.1 %
          the truth's, % of full scale
========= =========================================================================== ============

A figure that does not apply to a case is ``None`` (shown "n/a").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regrain._detect import luma
from regrain._filters import gaussian_blur

if TYPE_CHECKING:
    from regrain._simulate import DamageCase

__all__ = [
    "FIGURES",
    "GOALS",
    "Goal",
    "figures_for",
    "high_band",
    "judge",
    "measure",
    "passed",
    "tones",
]

HIGH_SIGMA = 2.0
"""Texture scale, px: the high band is ``luma - GaussianBlur(luma, sigma=2)``."""

TONE_SIGMA = 8.0
"""Tone scale, px: tones are ``GaussianBlur(image, sigma=8)`` (four times the texture scale)."""

FAR_PX = 16.0
"""Pixels farther than this from any change must come out as the edited image."""

SEAM_HALF_WIDTH = 3.0
"""Half width (px) of the band across the region's border where seams are measured."""

# which figures apply to which case
_APPLIES: dict[str, tuple[str, ...]] = {
    "retone": ("energy", "fidelity", "tone", "far", "seam"),
    "glare": ("energy", "fidelity", "tone", "far", "seam"),
    # an area worked at a lower resolution and upsampled: the original texture is right, as in
    # retone (the benchmark in benchmarks/quality/ names it so)
    "regeneration": ("energy", "fidelity", "tone", "far", "seam"),
    "defect": ("energy", "leak", "tone", "far", "seam"),
    "replaced": ("energy", "leak", "tone", "far", "seam"),
    "smooth": ("leak", "tone", "far", "grain+"),
}


@dataclass(frozen=True)
class Goal:
    """The accepted interval of a figure (``None`` = unbounded); ``absolute`` judges ``|x|``."""

    low: float | None
    high: float | None
    text: str
    absolute: bool = False

    def met(self, value: float | None) -> bool | None:
        """True/False, or None when the figure does not apply."""
        if value is None or not np.isfinite(value):
            return None
        v = abs(value) if self.absolute else value
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g}"
        bound = f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"
        return f"|x| {bound}" if self.absolute else bound


GOALS: dict[str, Goal] = {
    "energy": Goal(0.85, 1.15, "texture energy vs truth (RMS ratio)"),
    "fidelity": Goal(0.90, None, "correlation of the texture put back with the one lost"),
    "leak": Goal(None, 0.05, "share of the removed defect/object back", absolute=True),
    "tone": Goal(None, 0.5, "tone change vs edited, % of full scale"),
    "far": Goal(None, 0.1, "change far (>16 px) from any edit, %"),
    "seam": Goal(0.8, 1.25, "texture energy across the region border vs truth"),
    "grain+": Goal(None, 0.1, "grain added to a texture-free area, % RMS"),
}
"""Figure name -> accepted interval. The order is the order of the benchmark's columns."""

FIGURES: tuple[str, ...] = tuple(GOALS)


def figures_for(case_name: str) -> tuple[str, ...]:
    """The figures that apply to a case (all of them for an unknown name)."""
    return _APPLIES.get(case_name, FIGURES)


def high_band(image: np.ndarray) -> np.ndarray:
    """The texture band (H, W) float32: luminosity minus its Gaussian blur at sigma 2 px."""
    y = luma(image)
    return y - gaussian_blur(y, HIGH_SIGMA)


def tones(image: np.ndarray) -> np.ndarray:
    """The tone layer (H, W, C) float32: the image blurred at sigma 8 px."""
    return gaussian_blur(image, TONE_SIGMA)


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values, dtype=np.float64)))) if values.size else 0.0


def _ratio(a: np.ndarray, b: np.ndarray) -> float | None:
    rb = _rms(b)
    return _rms(a) / rb if rb > 0 else None


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation; 0 when *a* is flat (nothing was restored), None when *b* is."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    na, nb = float((a * a).sum()), float((b * b).sum())
    if nb == 0:
        return None
    return float((a * b).sum() / np.sqrt(na * nb)) if na > 0 else 0.0


def _leak(h_out: np.ndarray, h_truth: np.ndarray, d: np.ndarray) -> float | None:
    """Share of the defect band *d* in ``h_out - h_truth``, ignoring the truth's own texture.

    *d* (original minus truth) also holds minus the texture the defect covered; that part is
    projected out, so an output without any texture does not count as a leak.
    """
    d, h_truth = d.astype(np.float64), h_truth.astype(np.float64)
    tt = float((h_truth * h_truth).sum())
    own = d - (float((d * h_truth).sum()) / tt) * h_truth if tt > 0 else d
    norm = float((d * own).sum())
    if norm <= 0:
        return None
    return float(((h_out - h_truth) * own).sum() / norm)


def _distance_outside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) of every pixel to the nearest pixel of *mask* (0 on the mask)."""
    import cv2

    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def measure(case: DamageCase, output: np.ndarray) -> dict[str, float | None]:
    """Every figure of *output* (float32 (H, W, 3)) against *case*'s ground truth.

    Returns ``{figure: value or None}`` in the order of :data:`GOALS`; ``None`` where a figure does
    not apply to the case (see the module table). The case's name picks the figures.
    """
    applies = figures_for(case.name)
    inside = case.region >= 0.5
    h_out = high_band(output)
    h_truth = high_band(case.truth)
    figures: dict[str, float | None] = dict.fromkeys(GOALS)

    if "energy" in applies:
        figures["energy"] = _ratio(h_out[inside], h_truth[inside])
    if "fidelity" in applies and inside.any():
        h_edit = high_band(case.edited)[inside]
        figures["fidelity"] = _correlation(h_out[inside] - h_edit, h_truth[inside] - h_edit)
    if "leak" in applies:
        area = (case.defect > 0) & (case.region > 0)
        figures["leak"] = _leak(h_out[area], h_truth[area], case.defect_high[area])
    if "tone" in applies and inside.any():
        diff = np.abs(tones(output) - tones(case.edited)).mean(axis=2)
        figures["tone"] = 100.0 * float(diff[inside].mean())
    if "far" in applies:
        changed = np.not_equal(case.original, case.edited).any(axis=2) | (case.region > 0)
        far = _distance_outside(changed) > FAR_PX
        if far.any():
            diff = np.abs(output - case.edited).mean(axis=2)
            figures["far"] = 100.0 * float(diff[far].mean())
    if "seam" in applies and inside.any():
        border = np.where(inside, _distance_outside(~inside), _distance_outside(inside))
        band = border <= SEAM_HALF_WIDTH
        figures["seam"] = _ratio(h_out[band], h_truth[band])
    if "grain+" in applies and inside.any():
        figures["grain+"] = 100.0 * (_rms(h_out[inside]) - _rms(h_truth[inside]))
    return figures


def judge(figures: dict[str, float | None]) -> dict[str, bool | None]:
    """Pass (True), fail (False) or not applicable (None) per figure, against :data:`GOALS`."""
    return {name: GOALS[name].met(value) for name, value in figures.items()}


def passed(figures: dict[str, float | None]) -> tuple[int, int]:
    """(goals met, goals that apply) for one case's figures."""
    marks = [m for m in judge(figures).values() if m is not None]
    return sum(marks), len(marks)
