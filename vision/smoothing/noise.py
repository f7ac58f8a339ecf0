"""The smoothing noise as an engine perturbation, and the settings both procedures share.

A draw is ``x + sigma * z`` with ``z`` standard normal per value, *unclipped* (Cohen et al.'s
``batch + randn_like(batch) * sigma``), read from the draw's own counter-based stream
(:func:`textrobust.core.random.normals`): draw ``k`` of image ``i`` depends only on
``(seed, image id, spec, k)``, never on the batch it is computed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from textrobust.core.perturbation import Perturbation, Spec
from textrobust.core.random import normals

SPEC_NAME = "smoothing-gaussian"


def gaussian_draws(sigma: float) -> Perturbation:
    """The perturbation ``x -> x + N(0, sigma^2 I)`` (no clipping), batched over draws."""
    from vision.batch import ImageRows, stack_images

    def perturb_batch(images: Sequence[Any], keys: Sequence[int]) -> ImageRows:
        x = stack_images(images)
        z = torch.from_numpy(np.ascontiguousarray(normals(list(keys), x[0].numel()), dtype=np.float32)).view_as(x)
        return ImageRows(x + sigma * z)

    return Perturbation(Spec(SPEC_NAME, (("sigma", float(sigma)),)), perturb_batch=perturb_batch)


@dataclass(frozen=True)
class SmoothingSettings:
    """What determines one image's certificate.

    ``n0``/``n``: CERTIFY's selection and estimation draws (the fast procedure's budget is
    ``n0 + n`` draws). ``grid``: the report's radii, which the fast procedure's stopping rule
    aims at. The fast procedure's knobs (none affects validity): looks after ``first_look`` draws
    growing by ``look_growth``, each spending ``look_spend`` times the alpha of the one before;
    ``favour_share`` of a look's alpha goes to the lower bound of the class the clean image gets
    (chosen before any draw), the rest is split evenly over the other classes;
    ``projection_alpha`` and ``reference_quantile`` shape the stopping rule.
    """

    sigma: float
    alpha: float
    n0: int
    n: int
    num_classes: int
    seed: int
    draw: Perturbation
    grid: tuple[float, ...]
    first_look: int = 64
    look_growth: int = 2
    look_spend: float = 1.5
    favour_share: float = 0.9
    projection_alpha: float = 0.2
    reference_quantile: float = 0.98

    def schedule_settings(self) -> dict[str, Any]:
        """The fast procedure's knobs, for ``run.json`` (a resumed run must use the same ones)."""
        names = ("first_look", "look_growth", "look_spend", "favour_share", "projection_alpha", "reference_quantile")
        return {name: getattr(self, name) for name in names}
