"""The fast Gaussian-smoothing certification of one image, as an engine job.

**What is certified** (Cohen, Rosenfeld & Kolter 2019, Theorem 1; :mod:`vision.smoothing.theorem`):
for *any* base classifier ``f`` and isotropic Gaussian noise ``e ~ N(0, sigma^2 I)`` added to the
image in its [0, 1] scale before any normalisation, if ``P[f(x + e) = c_A] >= p_A_lower > 1/2`` then
the smoothed classifier ``g`` predicts ``c_A`` everywhere within L2 distance
``sigma Phi^-1(p_A_lower)`` of ``x``. Here ``p_A_lower`` holds with probability at least ``1 - alpha``
over the noise draws, so the certificate does too.

**How** (the ideas of :mod:`textrobust.certification.job`, for continuous noise):

1. **No selection draws.** Before any draw the clean image is classified; that class ``c_0`` is the
   *favoured* class. At a look with ``m`` draws and counts ``k_c``, every class gets a one-sided
   Clopper-Pearson lower bound, ``c_0`` at ``favour_share * alpha_j`` and each other class at
   ``(1 - favour_share) * alpha_j / (K - 1)``. The shares are fixed before the counts are seen, so
   by Bonferroni all ``K`` bounds hold together with probability ``>= 1 - alpha_j``, and the class
   with the largest lower bound may be chosen after looking (Cohen's ``n0`` draws join the budget:
   at most ``n0 + n`` draws).
2. **Sequential looks.** The counts are examined after the sizes of a fixed
   :class:`~textrobust.certification.bounds.LookSchedule` (``first_look``, growing by ``look_growth``, up to
   ``n0 + n``); look ``j`` spends ``alpha_j`` with ``sum_j alpha_j = alpha`` (Bonferroni over looks).
   All looks' bounds hold together with probability ``>= 1 - alpha``, so *any* stopping rule is valid
   and the best look (largest radius) is reported.
3. **Stopping on the report's grid.** What an image adds to the certified-accuracy curve is its
   *bucket*: the largest grid radius its certified radius reaches when the prediction is the label,
   else ``-1``. We stop once an optimistic projection says more draws would not raise the bucket:
   the label's probability at the upper end of a ``projection_alpha`` interval, scaled to the last
   look, and Cohen's ``n`` estimation draws at that probability coming out lucky (at their
   ``reference_quantile``), whichever certifies less. So images whose smoothed prediction is plainly
   wrong, or that cannot pass ``p_A_lower > 1/2``, stop after the first look, and images far from
   a grid radius stop as soon as they pass the last radius they can reach. The projection is a
   heuristic that decides when to stop; it never enters a bound.

Draw ``k`` of an image comes from the stream ``(seed, image id, spec, k)`` and the queries depend only
on earlier predictions, so certificates and model calls do not depend on batch size, example order
or the number of processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from textrobust.certification.bounds import LookSchedule, cp_lower_real, cp_upper_real, look_schedule
from textrobust.core.engine import Draws, Given, Query
from textrobust.core.random import draw_keys, stream_prefix
from textrobust.core.stats import clopper_pearson_lower
from vision.smoothing.record import ImageJob, SmoothedCertificate
from vision.smoothing.theorem import bucket, gaussian_radius


def class_shares(num_classes: int, favour: int, favour_share: float) -> list[float]:
    """The fraction of a look's alpha each class's lower bound spends (they sum to 1)."""
    if num_classes == 1:
        return [1.0]
    rest = (1.0 - favour_share) / (num_classes - 1)
    return [favour_share if c == favour else rest for c in range(num_classes)]


def simultaneous_lower(counts: Sequence[int], m: int, alpha: float, shares: Sequence[float]) -> list[float]:
    """Per-class Clopper-Pearson lower bounds from ``counts`` of ``m`` draws, class ``c`` at level
    ``alpha * shares[c]``: all hold together with probability ``>= 1 - alpha`` (Bonferroni)."""
    return [clopper_pearson_lower(int(k), m, alpha * w) for k, w in zip(counts, shares)]


@dataclass
class SmoothingJob(ImageJob):
    """Certify one image with the fast procedure (see the module docstring)."""

    samples: int = 0

    def __post_init__(self) -> None:
        s = self.settings
        self.schedule: LookSchedule = look_schedule(s.n0 + s.n, s.alpha, s.first_look, s.look_growth, s.look_spend)
        self._prefix = stream_prefix(s.seed, self.example_id, s.draw.spec.canonical)
        self._counts = np.zeros(s.num_classes, dtype=np.int64)
        self._asked = 0  # what the last queries asked for: -1 the clean image, else that many draws
        self._shares: list[float] = []
        self._look = -1  # -1: the clean image; j >= 0: schedule.sizes[j] draws
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def queries(self, budget: int) -> list[Query]:
        # the clean image, then the draws of the current look, ``budget`` at a time, as one
        # Draws block (the same keys and order as one Draw per draw, without an object each)
        if self._look < 0:
            self._asked = -1
            return [Given(self.source)]
        start = self.samples + 1
        stop = min(self.schedule.sizes[self._look], start + max(1, budget) - 1) + 1
        self._asked = max(0, stop - start)
        if not self._asked:
            return []
        return [Draws(self.settings.draw, draw_keys(self._prefix, start, stop))]

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        if self._asked < 0:
            self.clean_prediction = int(predictions[0])
        elif self._asked:
            np.add.at(self._counts, np.asarray(predictions, dtype=np.int64)[: self._asked], 1)
            self.samples += self._asked
        if self._asked < 0 or self.samples >= self.schedule.sizes[self._look]:
            self._evaluate()
        self._asked = 0

    def _evaluate(self) -> None:
        s = self.settings
        if self._look < 0:  # the favoured class is fixed before any draw
            self._shares = class_shares(s.num_classes, int(self.clean_prediction or 0), s.favour_share)
            self._look = 0
            return
        alpha_j = self.schedule.alphas[self._look]
        lower = simultaneous_lower(self._counts, self.samples, alpha_j, self._shares)
        top = max(range(s.num_classes), key=lambda c: (lower[c], -c))
        radius = gaussian_radius(lower[top], s.sigma)
        cert = SmoothedCertificate(None if radius is None else top, top, lower[top], radius, self.samples)
        if self.certificate is None or cert.rank() > self.certificate.rank():
            self.certificate = cert
        else:  # keep the best look's certificate, with the draws spent so far
            c = self.certificate
            self.certificate = SmoothedCertificate(c.prediction, c.top, c.p_lower, c.radius, self.samples)
        last = self._look == len(self.schedule.sizes) - 1
        if last or self._projected_bucket() <= self._bucket():
            self._done = True
        else:
            self._look += 1

    def _bucket(self) -> int:
        """The image's contribution to the certified-accuracy curve so far (grid index, -1: none)."""
        c = self.certificate
        return bucket(c.radius, self.settings.grid) if c is not None and c.prediction == self.label else -1

    def _projected_bucket(self) -> int:
        """The bucket the label could plausibly reach with the whole budget (a stopping heuristic
        only): the label's probability at its ``projection_alpha`` upper bound, as the last look
        would bound it and as Cohen's ``n`` draws would at their lucky ``reference_quantile``."""
        s = self.settings
        m = self.samples
        q = cp_upper_real(float(self._counts[self.label]), m, s.projection_alpha)
        n_last, alpha_last = self.schedule.sizes[-1], self.schedule.alphas[-1]
        final = gaussian_radius(cp_lower_real(q * n_last, n_last, alpha_last * self._shares[self.label]), s.sigma)
        z = float(stats.norm.ppf(s.reference_quantile))
        lucky = min(1.0, q + z * math.sqrt(q * (1 - q) / s.n))
        reference = gaussian_radius(cp_lower_real(lucky * s.n, s.n, s.alpha), s.sigma)
        if final is None or reference is None:
            return -1
        return bucket(min(final, reference), s.grid)
