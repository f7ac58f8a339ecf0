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

from textrobust.certification.certificate import SamplingSettings
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


@dataclass(frozen=True, kw_only=True)
class SmoothingSettings(SamplingSettings):
    """What determines one image's certificate: :class:`SamplingSettings` for noise of std
    ``sigma``, and ``grid``, the report's radii, which the fast procedure's stopping rule aims at.
    ``favour_share`` goes to the lower bound of the class the clean image gets (chosen before any
    draw), the rest of a look's alpha is split evenly over the other classes.
    """

    sigma: float
    grid: tuple[float, ...]

    def schedule_settings(self) -> dict[str, Any]:
        """The fast procedure's knobs, for ``run.json`` (a resumed run must use the same ones)."""
        names = ("first_look", "look_growth", "look_spend", "favour_share", "projection_alpha", "reference_quantile")
        return {name: getattr(self, name) for name in names}
