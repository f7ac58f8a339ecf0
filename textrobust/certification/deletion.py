"""The randomized-deletion distribution, split into strata by the number of kept elements.

``Del(x)`` keeps each of the ``L`` elements of ``x`` independently with probability
``1 - p_del``. The number kept, ``K``, is Binomial(L, 1 - p_del), and *given* ``K = k`` the
kept set is uniform over the ``C(L, k)`` subsets of size ``k``. So

    P[f(Del(x)) = y] = sum_k  w_k * q_{k,y},   w_k = C(L, k) (1 - p_del)^k p_del^(L - k),

where ``q_{k,y}`` is the fraction of size-``k`` subsets that ``f`` classifies as ``y``. The
small strata (few kept elements: few subsets, and most of the mass when ``p_del`` is high) can
be enumerated, making their part of the sum exact; :class:`TailDeletion` samples the rest,
``Del(x)`` conditioned on ``K > k*``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from textrobust.core.perturbation import Perturbation, Spec


def stratum_weights(length: int, p_del: float) -> list[Fraction]:
    """``w_k = P[K = k]`` for ``k = 0..length``, exactly (``p_del`` taken as the float it is)."""
    p = Fraction(p_del)
    return [math.comb(length, k) * (1 - p) ** k * p ** (length - k) for k in range(length + 1)]


def enumeration_depth(length: int, max_enumerate: int) -> int:
    """The largest ``k*`` whose strata ``K <= k*`` hold at most ``max_enumerate`` subsets
    (``-1``: none). ``k* >= length`` means every subset is enumerated: exact mode."""
    total, depth = 0, -1
    for k in range(length + 1):
        total += math.comb(length, k)
        if total > max_enumerate:
            break
        depth = k
    return depth


def kept_subsets(length: int, depth: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    """``(k, kept positions)`` for every subset of ``range(length)`` with ``k <= depth`` elements."""
    for k in range(min(depth, length) + 1):
        for kept in itertools.combinations(range(length), k):
            yield k, kept


def join_words(units: Sequence[str]) -> str:
    """Kept words as the text the classifier sees."""
    return " ".join(units)


def join_tokens(units: Sequence[int]) -> tuple[int, ...]:
    """Kept token ids as the (hashable) sequence the classifier sees."""
    return tuple(units)


@dataclass(frozen=True)
class DeletionSource:
    """What a tail draw perturbs: the elements of one input and the smallest kept count."""

    units: tuple
    min_kept: int = 0  # draws are Del(x) conditioned on K >= min_kept (0: unconditioned)


@functools.lru_cache(maxsize=4096)
def _truncated_cdf(length: int, min_kept: int, p_del: float) -> np.ndarray:
    """Cumulative P[K <= k | K >= min_kept] for k = min_kept..length (float64)."""
    from scipy import stats

    pmf = stats.binom.pmf(np.arange(min_kept, length + 1), length, 1.0 - p_del)
    cdf = np.cumsum(pmf)
    return cdf / cdf[-1]


def sample_kept(length: int, min_kept: int, p_del: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted kept positions of one draw of ``Del`` on ``length`` elements, given ``K >= min_kept``.

    Unconditioned (``min_kept == 0``): an independent coin per element, the mechanism itself.
    Conditioned: ``K`` from the truncated binomial by inversion, then a uniform ``K``-subset,
    which has the same law as ``Del`` conditioned on ``K >= min_kept``.
    """
    if min_kept <= 0:
        return np.flatnonzero(rng.random(length) >= p_del)
    cdf = _truncated_cdf(length, min_kept, p_del)
    k = min_kept + min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)
    return np.sort(rng.choice(length, size=k, replace=False))


def tail_deletion(p_del: float, level: str, join: Callable[[Sequence[Any]], Any]) -> Perturbation:
    """The engine perturbation that draws ``join(kept elements)`` from a :class:`DeletionSource`.

    Its spec (``rsdel-word:p=0.9``) seeds the draws' streams; it is not in the user-facing
    perturbation registry.
    """

    def perturb(source: DeletionSource, rng: np.random.Generator) -> Any:
        units = source.units
        kept = sample_kept(len(units), source.min_kept, p_del, rng)
        return join([units[i] for i in kept])

    return Perturbation(Spec(f"rsdel-{level}", (("p", p_del),)), perturb)
