"""Cohen et al.'s CERTIFY (``locuslab/smoothing``, ``code/core.py``), the reference, as an engine job.

For one image ``x``: ``n0`` noisy draws ``x + N(0, sigma^2 I)`` are classified and the most frequent
class ``c_A`` is chosen (ties: the lowest class id, as ``numpy.argmax``); ``n`` *fresh* draws are
classified and ``n_A`` counts ``c_A``; ``p_A_lower`` is the one-sided Clopper-Pearson lower bound at
level ``alpha`` (their ``proportion_confint(n_A, n, alpha=2 * alpha, method="beta")[0]``). If
``p_A_lower <= 1/2`` the answer is ABSTAIN, else ``c_A`` with L2 radius ``sigma Phi^-1(p_A_lower)``
(:mod:`vision.smoothing.theorem`). With probability at least ``1 - alpha`` the bound holds, so the
radius is certified. (Cohen's code abstains when ``p_A_lower < 1/2`` and reports radius 0 at exactly
1/2; the theorem certifies nothing there, so we abstain; Clopper-Pearson bounds essentially never
equal 1/2.)

Defaults as the paper: ``n0 = 100``, ``n = 100000``, ``alpha = 0.001``. Draws ``1..n0`` and
``n0+1..n0+n`` of the image's stream are the two independent samples. The clean image is also
classified once (for the report's clean accuracy): ``1 + n0 + n`` model calls per image.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textrobust.certification.certificate import QueryQueue
from textrobust.core.engine import Draw, Given, Query
from textrobust.core.random import draw_key, stream_prefix
from textrobust.core.stats import clopper_pearson_lower
from vision.smoothing.noise import SmoothingSettings
from vision.smoothing.record import SmoothedCertificate, smoothing_record
from vision.smoothing.theorem import gaussian_radius


@dataclass
class CohenJob:
    """Certify one image with Cohen et al.'s CERTIFY: ``1 + n0 + n`` inputs classified."""

    example_id: Hashable
    source: Any  # the clean image (C, H, W) in [0, 1]; Draw queries perturb it
    label: int
    settings: SmoothingSettings
    model_calls: int = 0
    clean_prediction: int | None = None
    certificate: SmoothedCertificate | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self._prefix = stream_prefix(s.seed, self.example_id, s.draw.spec.canonical)
        self._counts = np.zeros((2, s.num_classes), dtype=np.int64)  # selection, estimation
        self._queue = QueryQueue()
        self._started = False

    @property
    def done(self) -> bool:
        return self.certificate is not None

    def queries(self, budget: int) -> list[Query]:
        s = self.settings
        if not self._started:
            self._started = True
            self._queue.add(0, Given(self.source))
            for i in range(1, s.n0 + s.n + 1):
                self._queue.add(i, Draw(s.draw, draw_key(self._prefix, i)))
        return self._queue.take(budget)

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        s = self.settings
        for i, pred in zip(self._queue.asked, predictions):
            if i == 0:
                self.clean_prediction = int(pred)
            else:
                self._counts[0 if i <= s.n0 else 1, int(pred)] += 1
        if not self._queue.empty:
            return
        selection, estimation = self._counts
        top = int(np.argmax(selection))  # first maximum: the lowest class id on ties
        p_lower = clopper_pearson_lower(int(estimation[top]), s.n, s.alpha)
        radius = gaussian_radius(p_lower, s.sigma)
        self.certificate = SmoothedCertificate(None if radius is None else top, top, p_lower, radius, s.n0 + s.n)

    def record(self) -> dict:
        assert self.certificate is not None, "record() before the job is done"
        return smoothing_record(
            self.example_id, self.label, self.clean_prediction, self.certificate, model_calls=self.model_calls
        )
