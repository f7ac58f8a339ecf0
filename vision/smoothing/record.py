"""What certifying one image produces: the certificate and its line of ``examples.jsonl``."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vision.smoothing.noise import SmoothingSettings


@dataclass(frozen=True)
class SmoothedCertificate:
    """A smoothed prediction (``None``: abstain), the lower bound behind it and its L2 radius."""

    prediction: int | None
    top: int  # the class p_lower bounds (the prediction unless abstaining)
    p_lower: float
    radius: float | None  # certified L2 radius; None when abstaining
    samples: int  # noisy draws classified

    def rank(self) -> tuple[float, float]:
        """Orders certificates: larger radius first, then larger lower bound."""
        return (-1.0 if self.radius is None else self.radius, self.p_lower)


def smoothing_record(
    index: Hashable, label: int, clean_prediction: int | None, cert: SmoothedCertificate, *, model_calls: int
) -> dict:
    """One line of ``examples.jsonl`` (full float precision)."""
    return {
        "index": index,
        "label": label,
        "prediction": cert.prediction,
        "top": cert.top,
        "p_lower": cert.p_lower,
        "radius": cert.radius,
        "clean_prediction": clean_prediction,
        "samples": cert.samples,
        "model_calls": model_calls,
    }


@dataclass
class ImageJob:
    """What every certification job of one image holds (the procedures add their own state) and
    its line of ``examples.jsonl`` once the certificate is made."""

    example_id: Hashable
    source: Any  # the clean image (C, H, W) in [0, 1]; Draw queries perturb it
    label: int
    settings: SmoothingSettings
    model_calls: int = 0
    clean_prediction: int | None = None
    certificate: SmoothedCertificate | None = None

    def record(self) -> dict:
        assert self.certificate is not None, "record() before the job is done"
        return smoothing_record(
            self.example_id, self.label, self.clean_prediction, self.certificate, model_calls=self.model_calls
        )
