"""Intervals for the rates the reports give. Every rate carries its sample size.

* :func:`rate` — a proportion with its exact (Clopper-Pearson) two-sided interval.
* :func:`paired_delta` — the difference of two accuracies measured on the same examples,
  with Newcombe's hybrid score interval for paired proportions (Newcombe 1998, method 10),
  which accounts for the pairing and stays inside [-1, 1] even at 0 or n.
* :func:`clopper_pearson_lower` / :func:`clopper_pearson_upper` — one-sided exact bounds,
  for certificates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats


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


def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class PairedDelta:
    """``first - second`` accuracy on the same ``n`` examples, with its interval."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    only_first: int  # examples right in the first condition, wrong in the second
    only_second: int


def paired_delta(first: Sequence[bool], second: Sequence[bool], level: float = 0.95) -> PairedDelta:
    """Difference of two paired accuracies with Newcombe's method-10 interval."""
    if len(first) != len(second):
        raise ValueError("paired outcomes must have the same length")
    n = len(first)
    a = sum(1 for x, y in zip(first, second) if x and y)
    b = sum(1 for x, y in zip(first, second) if x and not y)
    c = sum(1 for x, y in zip(first, second) if not x and y)
    d = n - a - b - c
    if n == 0:
        return PairedDelta(None, None, 0, 0, 0)
    p1, p2 = (a + b) / n, (a + c) / n
    delta = p1 - p2
    l1, u1 = _wilson(a + b, n, level)
    l2, u2 = _wilson(a + c, n, level)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0 if denom == 0 else (a * d - b * c) / math.sqrt(denom)
    lo = delta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    hi = delta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return PairedDelta(delta, (max(-1.0, lo), min(1.0, hi)), n, b, c)
