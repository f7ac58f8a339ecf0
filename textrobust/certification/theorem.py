"""The RS-Del edit-distance certificate: which radius a pair of class probabilities certifies.

Setting (Huang et al., *RS-Del: Edit Distance Robustness Certificates for Sequence Classifiers
via Randomized Deletion*, NeurIPS 2023; used for text by CERT-ED, Findings of EMNLP 2024).
``Del(x)`` deletes each element (word or token) of the sequence ``x`` independently with
probability ``p_del``; for a base classifier ``f`` the smoothed classifier is
``g(x) = argmax_y mu_y(x)`` with ``mu_y(x) = P[f(Del(x)) = y]``.

**Theorem** (RS-Del's Levenshtein certificate, the case where substitutions, insertions and
deletions are all allowed). If ``x'`` is within Levenshtein distance ``r`` of ``x``, then for
every class ``y``

    |mu_y(x') - mu_y(x)| <= 1 - p_del^r,

so if ``mu_A(x) - mu_y(x) > 2 (1 - p_del^r)`` for every ``y != A``, then ``g(x') = A``. With
``p_A <= mu_A(x)`` and ``p_B >= max_{y != A} mu_y(x)`` the certified radius is the largest
integer ``r >= 0`` with ``p_A - p_B > 2 (1 - p_del^r)``, i.e. (away from equality)

    r = floor( ln((2 + p_B - p_A) / 2) / ln p_del ),

and none (abstain) when ``p_A <= p_B``. Binary with ``p_B = 1 - p_A``:
``r = floor(ln(1.5 - p_A) / ln p_del)``, RS-Del's ``ln(1 + eta - mu) / ln p_del`` at
``eta = 1/2``. As ``p_A - p_B <= 1``, ``r`` never exceeds the cap ``max{r : p_del^r > 1/2}``
(6 at ``p_del`` 0.9, 13 at 0.95, 68 at 0.99).

*Proof sketch.* Align ``x`` and ``x'`` by an optimal edit script and let ``z`` be the common
subsequence left untouched: ``x`` has ``a = #del + #sub <= r`` elements outside ``z`` and ``x'``
has ``b = #ins + #sub <= r``. Given that all ``a`` of them are deleted (probability
``p_del^a``), ``Del(x)`` has the law of ``Del(z)`` (the other deletions are independent), so
``Del(x) = p_del^a Del(z) + (1 - p_del^a) R`` and ``Del(x') = p_del^b Del(z) + (1 - p_del^b) R'``
as mixtures. Both share the mass ``p_del^max(a,b) Del(z)``, so their total variation
distance, and with it every ``|mu_y(x) - mu_y(x')|``, is at most ``1 - p_del^max(a,b) <=
1 - p_del^r``. Then ``mu_A(x') - mu_y(x') >= mu_A(x) - mu_y(x) - 2 (1 - p_del^r) > 0``.

We ask for the strict inequality where the issue's formula writes ``>=``: at equality ``x'``
may tie (``mu_A(x') = mu_B(x')``, e.g. ``p_del`` 0.5, ``x`` = one word, ``x'`` = one
substitution), and a tie is not a certified prediction. For sampled (Clopper-Pearson) bounds the
two differ only on a set of probability zero; for exact probabilities it matters, and
:func:`certified_radius` then compares exactly when given :class:`fractions.Fraction` values.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Union

Number = Union[float, Fraction]


def _holds(p_lower: Number, p_upper: Number, p_del: Number, r: int) -> bool:
    """``p_lower - p_upper > 2 (1 - p_del^r)`` (exact when the arguments are Fractions)."""
    return p_lower - p_upper > 2 * (1 - p_del**r)


def certified_radius(p_lower: Number, p_upper: Number, p_del: Number) -> int | None:
    """The largest ``r >= 0`` with ``p_lower - p_upper > 2 (1 - p_del^r)``; ``None`` to abstain.

    ``p_lower`` bounds the top class's probability from below, ``p_upper`` every other class's
    from above (binary: ``1 - p_lower``). Pass Fractions for an exact comparison.
    """
    if not 0 < p_del < 1:
        raise ValueError(f"p_del must be in (0, 1), got {p_del}")
    if not _holds(p_lower, p_upper, p_del, 0):
        return None
    gap = float(p_lower) - float(p_upper)
    ratio = (2.0 - gap) / 2.0  # in [0.5, 1)
    r = max(0, int(math.floor(math.log(ratio) / math.log(float(p_del))))) if ratio > 0 else 0
    # the closed form may be off by one from rounding; settle it with the exact condition
    while r > 0 and not _holds(p_lower, p_upper, p_del, r):
        r -= 1
    while _holds(p_lower, p_upper, p_del, r + 1):
        r += 1
    return r


def radius_cap(p_del: Number) -> int:
    """The largest radius any input can be certified at: ``max{r : p_del^r > 1/2}``."""
    r = certified_radius(Fraction(1), Fraction(0), Fraction(p_del))
    return 0 if r is None else r


def binary_radius(p_lower: Number, p_del: Number) -> int | None:
    """Binary classes, no separate runner-up bound: ``p_upper = 1 - p_lower``."""
    return certified_radius(p_lower, 1 - p_lower, p_del)
