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

from textrobust.certification.certificate import SelectionEstimation
from textrobust.core.engine import Query
from textrobust.core.random import stream_prefix
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
        prefix = stream_prefix(s.seed, self.example_id, s.draw.spec.canonical)
        self._samples = SelectionEstimation(self.source, s.draw, prefix, s.n0, s.n, s.num_classes)

    @property
    def done(self) -> bool:
        return self.certificate is not None

    def queries(self, budget: int) -> list[Query]:
        return self._samples.queries(budget)

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        s = self.settings
        if not self._samples.receive(predictions):
            return
        self.clean_prediction = self._samples.clean_prediction
        selection, estimation = self._samples.counts
        top = int(np.argmax(selection))  # first maximum: the lowest class id on ties
        p_lower = clopper_pearson_lower(int(estimation[top]), s.n, s.alpha)
        radius = gaussian_radius(p_lower, s.sigma)
        self.certificate = SmoothedCertificate(None if radius is None else top, top, p_lower, radius, s.n0 + s.n)

    def record(self) -> dict:
        assert self.certificate is not None, "record() before the job is done"
        return smoothing_record(
            self.example_id, self.label, self.clean_prediction, self.certificate, model_calls=self.model_calls
        )
