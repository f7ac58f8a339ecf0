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

from dataclasses import dataclass

import numpy as np

from textrobust.certification.certificate import SelectThenEstimate
from textrobust.core.stats import clopper_pearson_lower
from vision.smoothing.record import ImageJob, SmoothedCertificate
from vision.smoothing.theorem import gaussian_radius


@dataclass
class CohenJob(ImageJob, SelectThenEstimate):
    """Certify one image with Cohen et al.'s CERTIFY: ``1 + n0 + n`` inputs classified."""

    def __post_init__(self) -> None:
        self.start(self.source)

    def decide(self, selection: np.ndarray, estimation: np.ndarray) -> SmoothedCertificate:
        s = self.settings
        top = int(np.argmax(selection))  # first maximum: the lowest class id on ties
        p_lower = clopper_pearson_lower(int(estimation[top]), s.n, s.alpha)
        radius = gaussian_radius(p_lower, s.sigma)
        return SmoothedCertificate(None if radius is None else top, top, p_lower, radius, s.n0 + s.n)
