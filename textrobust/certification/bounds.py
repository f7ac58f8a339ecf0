"""Confidence bounds for certification: Clopper-Pearson, Bonferroni, and a look schedule.

All bounds are exact one-sided Clopper-Pearson bounds
(:func:`textrobust.core.stats.clopper_pearson_lower` / ``_upper``). Two ways to spend ``alpha``:

* CERT-ED (:func:`pair_bounds`): the top class ``A`` and runner-up ``B`` are chosen on separate
  samples, so only two bounds are needed, a lower one on ``P[f = A]`` and an upper one on
  ``P[f = B]``, each at ``alpha / 2`` (Bonferroni: the pair holds with probability
  ``>= 1 - alpha``).
* Simultaneous (:func:`simultaneous_bounds`): lower and upper bounds for *every* class from the
  same counts, all holding together with probability ``>= 1 - alpha``, so the top class may be
  chosen after looking at the counts (no selection samples). Binary: the lower bound of one class
  is one minus the upper bound of the other, so two bounds, at ``alpha / 2`` each or split
  ``share : 1 - share`` in favour of a class fixed *before* the counts are seen; ``K > 2``
  classes: ``2K`` bounds at ``alpha / (2K)``.

:class:`LookSchedule` splits ``alpha`` over the sample sizes at which a sequential procedure may
look at its counts and stop (Bonferroni over looks: if each look's bounds hold with probability
``1 - alpha_j`` and ``sum alpha_j <= alpha``, all looks' bounds hold together with probability
``>= 1 - alpha``, whatever rule decides when to stop and whichever look is reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from scipy import stats

from textrobust.core.stats import clopper_pearson_lower, clopper_pearson_upper


def simultaneous_bounds(
    counts: Sequence[float],
    alpha: float,
    *,
    n: float | None = None,
    lower: Callable[[float, float, float], float] = clopper_pearson_lower,
    upper: Callable[[float, float, float], float] = clopper_pearson_upper,
    favour: int | None = None,
    share: float = 0.5,
) -> tuple[list[float], list[float]]:
    """``(lower, upper)``: per-class bounds on multinomial probabilities from ``counts`` (out of
    ``n``, default their sum) that all hold together with probability at least ``1 - alpha``.

    ``lower``/``upper`` are the one-sided bound functions (exact Clopper-Pearson by default; the
    real-count versions below serve projections). Binary only: ``favour`` (a class chosen
    without looking at ``counts``) gets ``share`` of ``alpha`` for its lower bound."""
    total = sum(counts) if n is None else n
    k = len(counts)
    if k == 2:
        shares = [0.5, 0.5] if favour is None else [share if y == favour else 1 - share for y in range(2)]
        lo = [lower(c, total, alpha * w) for c, w in zip(counts, shares)]
        return lo, [1.0 - lo[1], 1.0 - lo[0]]
    each = alpha / (2 * k)
    return [lower(c, total, each) for c in counts], [upper(c, total, each) for c in counts]


def pair_bounds(count_a: int, count_b: int, n: int, alpha: float) -> tuple[float, float]:
    """CERT-ED's Bonferroni pair: lower bound on ``P[A]`` and upper bound on ``P[B]``,
    each at ``alpha / 2``."""
    return clopper_pearson_lower(count_a, n, alpha / 2), clopper_pearson_upper(count_b, n, alpha / 2)


def cp_lower_real(k: float, n: float, alpha: float) -> float:
    """Clopper-Pearson lower bound for a real-valued count (for projections, not certificates)."""
    return 0.0 if k <= 0 else float(stats.beta.ppf(alpha, k, n - k + 1))


def cp_upper_real(k: float, n: float, alpha: float) -> float:
    """Clopper-Pearson upper bound for a real-valued count (for projections, not certificates)."""
    return 1.0 if k >= n else float(stats.beta.ppf(1 - alpha, k + 1, n - k))


@dataclass(frozen=True)
class LookSchedule:
    """Sample sizes ``sizes[j]`` at which to look, and the ``alphas[j]`` each look may spend."""

    sizes: tuple[int, ...]
    alphas: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.alphas) or not self.sizes:
            raise ValueError("a look schedule needs one alpha per look")
        if any(b <= a for a, b in zip(self.sizes, self.sizes[1:])) or self.sizes[0] < 1:
            raise ValueError("look sizes must be positive and increasing")


def look_schedule(n_max: int, alpha: float, first: int = 64, growth: int = 4, spend: float = 2.0) -> LookSchedule:
    """Looks at ``first, first * growth, ...`` (while below ``n_max / 2``) and at ``n_max``.

    Each look may spend twice the alpha of the one before, so the last look keeps about half
    of ``alpha``: early looks are cheap to pass for inputs far from any decision threshold, and
    inputs that need every sample lose little to the earlier looks.
    """
    sizes = []
    m = max(1, first)
    while m < n_max / 2:
        sizes.append(m)
        m *= growth
    sizes.append(n_max)
    weights = [spend**j for j in range(len(sizes))]
    total = sum(weights)
    return LookSchedule(tuple(sizes), tuple(alpha * w / total for w in weights))
