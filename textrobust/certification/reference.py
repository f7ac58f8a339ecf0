"""CERT-ED's certification procedure (Huang et al., Findings of EMNLP 2024), the reference.

For one input: ``n0`` independent draws of ``Del(x)`` pick the top class ``A`` and the
runner-up ``B`` (most and second-most frequent; binary: ``B`` is the other class); ``n`` fresh
draws give a lower Clopper-Pearson bound on ``P[f = A]`` and an upper one on ``P[f = B]``, each at
``alpha / 2`` (:func:`~textrobust.certification.bounds.pair_bounds`), and the radius follows from
:func:`~textrobust.certification.theorem.certified_radius`. Every draw is classified: run it on an
:class:`~textrobust.core.engine.Engine` with ``key=None`` (no deduplication), as CERT-ED does.

(With more than two classes, bounding only the runner-up chosen on the ``n0`` draws is what
CERT-ED does; the fast procedure bounds every other class instead.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

import numpy as np

from textrobust.certification.bounds import pair_bounds
from textrobust.certification.certificate import Certificate, CertifySettings, SelectThenEstimate, certificate_record
from textrobust.certification.deletion import DeletionSource
from textrobust.certification.theorem import certified_radius


@dataclass
class CertEdJob(SelectThenEstimate):
    """Certify one example with CERT-ED's procedure: ``1 + n0 + n`` inputs classified."""

    example_id: Hashable
    clean: Any
    units: Sequence[Any]
    label: int
    settings: CertifySettings
    model_calls: int = 0
    clean_prediction: int | None = None
    certificate: Certificate | None = None
    source: DeletionSource = field(init=False)

    def __post_init__(self) -> None:
        self.source = DeletionSource(tuple(self.units), 0)
        self.start(self.clean)

    def decide(self, selection: np.ndarray, estimation: np.ndarray) -> Certificate:
        s = self.settings
        order = sorted(range(s.num_classes), key=lambda y: (-selection[y], y))
        top, runner = order[0], order[1]
        p_lower, p_upper = pair_bounds(int(estimation[top]), int(estimation[runner]), s.n, s.alpha)
        radius = certified_radius(p_lower, p_upper, s.p_del)
        return Certificate(None if radius is None else top, p_lower, p_upper, radius, top)

    def record(self) -> dict:
        s = self.settings
        return certificate_record(self, exact=False, samples=s.n0 + s.n, exact_mass=0.0)
