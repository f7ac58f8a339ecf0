"""Certified L2 robustness of image classifiers by Gaussian randomized smoothing.

* :mod:`vision.smoothing.theorem` — Cohen et al.'s Theorem 1, the radius and the report's grid;
* :mod:`vision.smoothing.noise` — the noise as an engine perturbation, and the shared settings;
* :mod:`vision.smoothing.cohen` — Cohen et al.'s CERTIFY, the reference procedure;
* :mod:`vision.smoothing.job` — the fast procedure (no selection draws, sequential looks,
  stopping on the report's radius grid);
* :mod:`vision.smoothing.denoiser` — a DnCNN-style denoiser for denoised smoothing (Salman et al.);
* :mod:`vision.smoothing.api` — :func:`certify` (``vision.certify``), :mod:`vision.smoothing.report`
  its report and files.
"""

from __future__ import annotations

from typing import Any

__all__ = ["certify"]


def __getattr__(name: str) -> Any:
    if name == "certify":
        from vision.smoothing.api import certify

        return certify
    raise AttributeError(f"module 'vision.smoothing' has no attribute {name!r}")
