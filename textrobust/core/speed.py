"""``torch.compile`` for a run's model (``RunOptions.compile``): a modality-free hook.

The engine's classifier is any callable; the model it runs is found as its ``model``
attribute, or its ``classifier.model`` (the token-level text inputs wrap a classifier).
Compiling changes how the forward pass runs, not what it computes.
"""

from __future__ import annotations

from typing import Any


def compile_classifier(classify: Any) -> bool:
    """Replace the classifier's torch model by ``torch.compile(model)``; ``False`` if it has none."""
    import torch

    for owner in (classify, getattr(classify, "classifier", None)):
        model = getattr(owner, "model", None)
        if isinstance(model, torch.nn.Module):
            if not hasattr(model, "_orig_mod"):  # not compiled yet
                owner.model = torch.compile(model, dynamic=True)
            return True
    return False
