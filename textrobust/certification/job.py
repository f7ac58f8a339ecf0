"""The fast certification procedure for one example, as an engine job.

Same guarantee as CERT-ED's procedure (:mod:`textrobust.certification.reference`): with probability at
least ``1 - alpha`` over the deletion draws, the reported bounds hold, so the reported radius is
certified (:mod:`textrobust.certification.theorem`). It needs far fewer model calls because:

1. **Deduplication.** The engine classifies identical deleted inputs of an example once (by
   input key) and hands the prediction to every draw that produced it. The classifier is a
   deterministic function, so this changes the number of model calls, never a count.
2. **Exact strata.** The strata ``K = k`` kept elements with ``k <= k*`` are enumerated
   (:mod:`textrobust.certification.deletion`), where ``k*`` is the largest depth whose subsets number at
   most ``max_enumerate``. Their contribution ``E_y = sum_{k<=k*} w_k q_{k,y}`` is exact. When
   ``k* = L`` every subset is enumerated: the probabilities are exact, no sampling, no alpha
   spent (``exact: true``), compared with exact rational arithmetic.
3. **Stratification.** Otherwise ``P[f = y] = E_y + M q_y`` with ``M = P[K > k*]`` known and
   ``q_y = P[f(Del(x)) = y | K > k*]`` estimated from draws of ``Del`` conditioned on
   ``K > k*``. Bounds ``l_y <= q_y <= u_y`` give ``E_y + M l_y <= P[f = y] <= E_y + M u_y``:
   only the tail carries sampling error, and its slack is scaled by ``M`` (about 0.3 for a
   19-word sentence at ``p_del`` 0.9, where ``K <= 2`` holds 70% of the mass).
4. **No selection draws.** Bounds for every class hold together
   (:func:`~textrobust.certification.bounds.simultaneous_bounds`), so the top class is chosen on the
   same draws that bound it, and CERT-ED's ``n0`` selection draws join the budget: at most
   ``n0 + n`` tail draws. With two classes the look's alpha is split between the two lower
   bounds ``favour_share : 1 - favour_share`` in favour of the class guessed *before any draw*
   (the larger of ``E_y + M [y = f(x)]``): a split fixed in advance keeps the union bound exact.
5. **Sequential stopping.** The counts are examined at the sizes of a fixed
   :class:`~textrobust.certification.bounds.LookSchedule`, plus a free look with no draws where the
   tail is bounded by ``[0, 1]``; each look spends its share ``alpha_j`` of ``alpha``
   (Bonferroni over looks). All looks' bounds hold together with probability ``>= 1 - alpha``,
   so *any* stopping rule is valid and the best look may be reported. The rule aims at what the
   report measures, certified accuracy: the example's contribution is its radius when the
   prediction is the label, else -1. We stop once that is at the radius cap, or once an
   optimistic projection (the tail counts at their ``projection_alpha`` extremes in favour of
   the label, scaled to the last look) says that our last look would not raise it or, with
   ``match_reference``, that CERT-ED's ``n`` draws would not certify more even when they come
   out lucky (at their ``reference_quantile`` in favour of the label). So an example whose
   smoothed prediction is plainly wrong stops early, and its reported radius is valid but not
   refined.

Draw ``i`` of an example is seeded by ``(seed, example id, spec, i)``, and the queries depend
only on earlier predictions, so certificates and per-example model calls do not depend on the
batch size, the example order or the number of processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Hashable, Sequence

import numpy as np
from scipy import stats

from textrobust.certification.bounds import (
    LookSchedule,
    cp_lower_real,
    cp_upper_real,
    look_schedule,
    simultaneous_bounds,
)
from textrobust.certification.certificate import (
    Certificate,
    CertifySettings,
    QueryQueue,
    certificate_record,
    decide,
    runner_up_bound,
)
from textrobust.certification.deletion import DeletionSource, enumeration_depth, kept_subsets
from textrobust.certification.theorem import certified_radius, radius_cap
from textrobust.core.engine import Draw, Given, Query
from textrobust.core.random import draw_key, stream_prefix

_CLEAN, _STRATUM, _TAIL = 0, 1, 2


@dataclass
class CertifyJob:
    """Certify one example with the fast procedure (see the module docstring)."""

    example_id: Hashable
    clean: Any  # the unperturbed input, classified for clean accuracy
    units: Sequence[Any]  # the elements Del deletes (words or token ids)
    label: int
    settings: CertifySettings
    model_calls: int = 0  # counted by the engine: this job's inputs that reached the model
    clean_prediction: int | None = None
    certificate: Certificate | None = None
    samples: int = 0
    source: DeletionSource = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.units = tuple(self.units)
        length = len(self.units)
        self.depth = min(enumeration_depth(length, s.max_enumerate), length)
        self.exact = self.depth >= length
        self.source = DeletionSource(self.units, self.depth + 1)
        p = Fraction(s.p_del)
        self._mass = [(1 - p) ** k * p ** (length - k) for k in range(self.depth + 1)]  # per subset
        self._exact_part = [Fraction(0)] * s.num_classes
        self.enumerated_mass = sum((math.comb(length, k) * m for k, m in enumerate(self._mass)), Fraction(0))
        self.tail_mass = 1 - self.enumerated_mass
        self._tail_counts = np.zeros(s.num_classes, dtype=np.int64)
        self.schedule: LookSchedule = look_schedule(s.n0 + s.n, s.alpha, s.first_look, s.look_growth, s.look_spend)
        self._look = 0  # looks done: 0 = none yet; j = schedule.sizes[j - 1] draws seen
        self._cap = radius_cap(s.p_del)
        prefix = f"{s.draw.spec.canonical}|kept>={self.source.min_kept}"
        self._prefix = stream_prefix(s.seed, self.example_id, prefix)
        self._queue = QueryQueue()
        self._favour: int | None = None
        self._started = False
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def queries(self, budget: int) -> list[Query]:
        if self._queue.empty and not self._started:
            self._started = True
            self._queue.add((_CLEAN, 0), Given(self.clean))
            join = self.settings.join
            for k, kept in kept_subsets(len(self.units), self.depth):
                self._queue.add((_STRATUM, k), Given(join([self.units[i] for i in kept])))
        elif self._queue.empty:
            for i in range(self.samples + 1, self.schedule.sizes[self._look - 1] + 1):
                self._queue.add((_TAIL, i), Draw(self.settings.draw, draw_key(self._prefix, i)))
        return self._queue.take(budget)

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        for (kind, k), pred in zip(self._queue.asked, predictions):
            pred = int(pred)
            if kind == _CLEAN:
                self.clean_prediction = pred
            elif kind == _STRATUM:
                self._exact_part[pred] += self._mass[k]
            else:
                self._tail_counts[pred] += 1
                self.samples += 1
        if self._queue.empty:  # the phase is complete: look at the counts
            self._evaluate()

    # -- looks ---------------------------------------------------------------------------

    def _bounds(self, lower_tail: Sequence[Any], upper_tail: Sequence[Any]) -> tuple[list, list]:
        m = (
            self.tail_mass
            if all(isinstance(v, Fraction) for v in (*lower_tail, *upper_tail))
            else float(self.tail_mass)
        )
        e = self._exact_part if isinstance(m, Fraction) else [float(v) for v in self._exact_part]
        return [a + m * b for a, b in zip(e, lower_tail)], [a + m * b for a, b in zip(e, upper_tail)]

    def _evaluate(self) -> None:
        """Bounds at the look just completed; keep the best certificate; decide whether to go on."""
        s = self.settings
        k = s.num_classes
        if self._look == 0:  # free look: tail bounded by [0, 1], exact arithmetic, no alpha
            lower, upper = self._bounds([Fraction(0)] * k, [Fraction(1)] * k)
            guess = [
                float(e) + float(self.tail_mass) * (y == self.clean_prediction) for y, e in enumerate(self._exact_part)
            ]
            self._favour = int(np.argmax(guess))
        else:
            lo, up = simultaneous_bounds(
                self._tail_counts.tolist(),
                self.schedule.alphas[self._look - 1],
                favour=self._favour,
                share=s.favour_share,
            )
            lower, upper = self._bounds(lo, up)
        cert = decide(lower, upper, s.p_del)
        if self.certificate is None or cert.rank() > self.certificate.rank():
            self.certificate = cert
        finished = self.exact or self._look == len(self.schedule.sizes)
        if not finished:
            best = self._certified_correct(self.certificate)
            finished = best >= self._cap or self._projected_radius(self.label) <= best
        if finished:
            self._done = True
        else:
            self._look += 1

    def _certified_correct(self, cert: Certificate) -> int:
        """What the example adds to the certified-accuracy curve: its radius if the prediction is
        the label, else ``-1``."""
        return cert.radius if cert.radius is not None and cert.prediction == self.label else -1

    def _projected_radius(self, target: int) -> int:
        """The radius ``target`` would plausibly get with the whole budget (``-1``: none).

        A stopping heuristic only (it never enters a bound): the tail counts are set to their
        ``projection_alpha`` extremes in favour of ``target`` and scaled to the last look; the
        answer is the smaller of the radius that look would give and, with ``match_reference``,
        the radius CERT-ED's ``n`` draws would give at those probabilities when the draws come
        out at their ``reference_quantile`` in favour of ``target`` (a lucky run of CERT-ED, so
        that stopping rarely leaves us below it).
        """
        s = self.settings
        m = int(self._tail_counts.sum())
        n_final, alpha_final = self.schedule.sizes[-1], self.schedule.alphas[-1]
        q = [
            cp_upper_real(c, m, s.projection_alpha) if y == target else cp_lower_real(c, m, s.projection_alpha)
            for y, c in enumerate(self._tail_counts.tolist())
        ]
        lo, up = simultaneous_bounds(
            [v * n_final for v in q],
            alpha_final,
            lower=cp_lower_real,
            upper=cp_upper_real,
            n=n_final,
            favour=self._favour,
            share=s.favour_share,
        )
        lower, upper = self._bounds(lo, up)
        radius = certified_radius(lower[target], runner_up_bound(lower, upper, target), s.p_del)
        if s.match_reference:
            probs = [float(e) + float(self.tail_mass) * v for e, v in zip(self._exact_part, q)]
            # CERT-ED's n draws coming out at their reference_quantile in favour of target
            z = float(stats.norm.ppf(s.reference_quantile))
            probs = [
                min(1.0, max(0.0, v + (z if y == target else -z) * math.sqrt(v * (1 - v) / s.n)))
                for y, v in enumerate(probs)
            ]
            lower = [cp_lower_real(v * s.n, s.n, s.alpha / 2) for v in probs]
            upper = [cp_upper_real(v * s.n, s.n, s.alpha / 2) for v in probs]
            ref = certified_radius(lower[target], runner_up_bound(lower, upper, target), s.p_del)
            radius = None if ref is None or radius is None else min(radius, ref)
        return -1 if radius is None else radius

    def record(self) -> dict:
        return certificate_record(self, exact=self.exact, samples=self.samples, exact_mass=float(self.enumerated_mass))
