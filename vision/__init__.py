"""Vision mode: RPR of image classifiers on the shared core (``textrobust.core``).

* :mod:`vision.perturbations` registers the ``image`` perturbations (``pixels``, the paper's;
  noise, blur, brightness, contrast; ``fog``, ``snow``, ``rain``, ``frost``), batched torch
  operations seeded per draw like the text ones;
* :mod:`vision.data` loads labelled images (Hub names, local directories, data files, raw
  MNIST IDX files); :mod:`vision.models` turns a torch ``nn.Module`` or a Hugging Face image
  classifier into an engine classifier and defines the paper's CNN;
* :func:`vision.evaluate` is the image twin of :func:`textrobust.evaluate`;
  :mod:`vision.reproduce` reproduces the RPR paper's MNIST experiment (and CIFAR-10).

Importing :mod:`vision` registers the image perturbations without importing torch (the
operations in :mod:`vision.ops` load it on first use).
"""

from __future__ import annotations

from typing import Any

import vision.perturbations  # noqa: F401  (registers the image perturbations)

__all__ = ["evaluate", "certify"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from vision.evaluation import evaluate

        return evaluate
    if name == "certify":  # Gaussian randomized smoothing (vision.smoothing)
        from vision.smoothing.api import certify

        return certify
    raise AttributeError(f"module 'vision' has no attribute {name!r}")
