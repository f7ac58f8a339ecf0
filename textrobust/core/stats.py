"""Intervals for the rates the reports give. Every rate carries its sample size.

* :func:`rate` — a proportion with its exact (Clopper-Pearson) two-sided interval.
* :func:`paired_delta` — the difference of two accuracies measured on the same examples,
  with Tango's score interval for paired proportions (Tango 1998, Stat. Med. 17:891-908):
  it accounts for the pairing, stays inside [-1, 1], and unlike the Wald or Newcombe
  hybrid intervals never collapses to a point when no pair is discordant.
* :func:`clopper_pearson_lower` / :func:`clopper_pearson_upper` — one-sided exact bounds,
  for certificates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import optimize, stats


@dataclass(frozen=True)
class Rate:
    """``k`` successes out of ``n`` with a two-sided interval at ``level``."""

    k: int
    n: int
    value: float | None
    ci: tuple[float, float] | None
    level: float = 0.95

    def to_json(self) -> dict:
        return {"value": self.value, "k": self.k, "n": self.n, "ci95": list(self.ci) if self.ci else None}


def rate(k: int, n: int, level: float = 0.95) -> Rate:
    """A proportion ``k/n`` with its Clopper-Pearson interval (``None`` values when n = 0)."""
    if n == 0:
        return Rate(k, n, None, None, level)
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Rate(k, n, k / n, (float(ci.low), float(ci.high)), level)


def clopper_pearson_lower(k: int, n: int, alpha: float) -> float:
    """One-sided lower bound on a binomial p from k of n, holding with probability 1 - alpha."""
    if k <= 0:
        return 0.0
    return float(stats.beta.ppf(alpha, k, n - k + 1))


def clopper_pearson_upper(k: int, n: int, alpha: float) -> float:
    """One-sided upper bound on a binomial p from k of n, holding with probability 1 - alpha."""
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(1 - alpha, k + 1, n - k))


@dataclass(frozen=True)
class PairedDelta:
    """``first - second`` accuracy on the same ``n`` examples, with its interval."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    only_first: int  # examples right in the first condition, wrong in the second
    only_second: int

    def to_json(self, value: str = "value", first: str = "only_first", second: str = "only_second") -> dict:
        """The difference under the key ``value``, its interval, ``n`` and the discordant counts
        under the keys ``first`` and ``second``."""
        return {
            value: self.value,
            "ci95": list(self.ci) if self.ci else None,
            "n": self.n,
            first: self.only_first,
            second: self.only_second,
        }


def _tango_statistic(b: int, c: int, n: int, delta: float) -> float:
    """Tango's score statistic for H0: p(first) - p(second) = delta.

    ``b``/``c`` are the discordant counts (right only in the first / only in the second).
    Under the constraint p_b - p_c = delta the restricted MLE of p_c solves
    2n q^2 + W q - c delta (1 - delta) = 0 with W = -b - c + (2n - b + c) delta, and
    Var(b - c) = n (2 q + delta (1 - delta)).
    """
    w = -b - c + (2 * n - b + c) * delta
    q = (-w + math.sqrt(max(0.0, w * w + 8 * n * c * delta * (1 - delta)))) / (4 * n)
    var = n * (2 * q + delta * (1 - delta))
    diff = b - c - n * delta
    if var <= 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def paired_delta(first: Sequence[bool], second: Sequence[bool], level: float = 0.95) -> PairedDelta:
    """Difference of two paired accuracies with Tango's score interval."""
    if len(first) != len(second):
        raise ValueError("paired outcomes must have the same length")
    n = len(first)
    b = sum(1 for x, y in zip(first, second) if x and not y)
    c = sum(1 for x, y in zip(first, second) if not x and y)
    if n == 0:
        return PairedDelta(None, None, 0, 0, 0)
    delta = (b - c) / n
    z = float(stats.norm.ppf(0.5 + level / 2))
    eps = 1e-12

    def bound(end: float, target: float) -> float:
        # the statistic decreases in delta: find where it crosses `target` between delta and end
        f = lambda d: _tango_statistic(b, c, n, d) - target  # noqa: E731
        if f(end) * f(delta) > 0 or f(end) == 0:
            return end
        return float(optimize.brentq(f, min(delta, end), max(delta, end), xtol=1e-12))

    lo = bound(-1 + eps, z) if delta > -1 else -1.0
    hi = bound(1 - eps, -z) if delta < 1 else 1.0
    return PairedDelta(delta, (max(-1.0, lo), min(1.0, hi)), n, b, c)
