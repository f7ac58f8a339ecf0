"""Any Python function of a batch of texts as an engine classifier.

``fn(texts: list[str])`` returns one of: label ids, label names, or a 2-D array of scores
(probabilities or logits, one row per text; the highest wins). See :mod:`.labels` for how
they become dataset label ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from textrobust.classifiers.labels import LabelMap, label_map


@dataclass
class FunctionClassifier:
    """Engine classifier around ``fn``: texts in, dataset label ids out."""

    fn: Callable[[list[str]], Any]
    labels: LabelMap
    name: str

    @property
    def label_names(self) -> list[str]:
        return list(self.labels.model_names or self.labels.dataset_names or [])

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Dataset label ids for ``texts``, one call of ``fn`` for the whole batch."""
        texts = list(texts)
        return self.labels.convert(self.fn(texts), len(texts))

    @staticmethod
    def size(text: str) -> int:
        """Sort key for batching: texts of similar length share a batch."""
        return len(text)


def function_name(fn: Any) -> str:
    """``module.qualname`` of a function or callable object, for reports."""
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    module = getattr(target, "__module__", None)
    qual = getattr(target, "__qualname__", type(fn).__name__)
    return f"{module}.{qual}" if module and module != "builtins" else str(qual)


def callable_classifier(
    fn: Callable[[list[str]], Any],
    *,
    model_labels: Sequence[str] | None = None,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
    name: str | None = None,
) -> FunctionClassifier:
    """A :class:`FunctionClassifier`; ``model_labels`` name ``fn``'s label ids / score columns
    (without them, its ids are dataset label ids and its names are matched to the dataset's)."""
    return FunctionClassifier(
        fn, label_map(model_labels, dataset_label_names, dataset_labels), name or function_name(fn)
    )
