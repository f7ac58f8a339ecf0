"""The Gaussian randomized-smoothing certificate (Cohen, Rosenfeld & Kolter, ICML 2019, Theorem 1).

**Theorem.** Let ``f: R^d -> Y`` be *any* (deterministic, measurable) classifier, ``sigma > 0``, and
``g(x) = argmax_c P[f(x + e) = c]`` with ``e ~ N(0, sigma^2 I_d)`` (isotropic Gaussian noise in the
same coordinates as ``x``). Suppose ``c_A`` in ``Y`` and ``p_A_lower, p_B_upper`` in [0, 1] satisfy

    P[f(x + e) = c_A] >= p_A_lower >= p_B_upper >= max_{c != c_A} P[f(x + e) = c].

Then ``g(x + delta) = c_A`` for every ``||delta||_2 < R = sigma/2 (Phi^-1(p_A_lower) - Phi^-1(p_B_upper))``.
With ``p_B_upper = 1 - p_A_lower`` (what CERTIFY uses) this is ``R = sigma Phi^-1(p_A_lower)``, positive
exactly when ``p_A_lower > 1/2``.

**Conditions as this package meets them.** ``x`` is the image in the data's scale, float values in
[0, 1] (:meth:`vision.data.ImageExamples.image`), and the noise is added to it *before* anything else
the base classifier does: normalisation, resizing (Hugging Face preprocessors run inside
:meth:`vision.models.ImageClassifier.logits`) and a denoiser are all part of ``f``. The noise is not
clipped (clipping would also just be part of ``f``). So the radius is an L2 radius in [0, 1] pixel
units (an MNIST image has 784 values; CIFAR-10 3072). ``p_A_lower`` comes from Monte Carlo draws, so
the certificate holds with probability at least ``1 - alpha`` over the draws (the lower bound holds
with that probability; both procedures guarantee it, see :mod:`vision.smoothing.cohen` and
:mod:`vision.smoothing.job`). Floating-point noise sampling makes this a statement about the sampled
float distribution, as in every implementation of the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import norm


def gaussian_radius(p_lower: float, sigma: float) -> float | None:
    """``sigma * Phi^-1(p_lower)`` when ``p_lower > 1/2``, else ``None`` (abstain)."""
    if not p_lower > 0.5:
        return None
    return float(sigma * norm.ppf(p_lower))


def radius_cap(sigma: float, draws: int, alpha: float) -> float:
    """The largest radius ``draws`` estimation draws can certify at level ``alpha``: every draw
    agrees, so the Clopper-Pearson lower bound is ``alpha ** (1 / draws)``."""
    return float(sigma * norm.ppf(alpha ** (1.0 / draws)))


def default_grid(sigma: float, n: int, alpha: float, step: float = 0.25) -> tuple[float, ...]:
    """Radii ``0, 0.25, 0.5, ...``: at least up to 1.0, and up to the largest multiple of ``step``
    that ``n`` draws at ``alpha`` can certify (:func:`radius_cap`)."""
    top = max(1.0, math.floor(radius_cap(sigma, n, alpha) / step) * step)
    return tuple(round(k * step, 10) for k in range(round(top / step) + 1))


def bucket(radius: float | None, grid: Sequence[float]) -> int:
    """Index of the largest grid radius ``<= radius`` (``-1``: abstain or below the grid)."""
    if radius is None:
        return -1
    return max((i for i, r in enumerate(grid) if radius >= r), default=-1)
