"""A ``transformers`` text-classification pipeline as an engine classifier.

The pipeline is asked for every label's score (``top_k=None``) with truncation, the whole
engine batch at once; the scores are put in the model's label-id order (``id2label``) and the
highest wins, mapped to the dataset's labels by today's rules.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from textrobust.classifiers.callable import FunctionClassifier
from textrobust.classifiers.labels import label_map
from textrobust.errors import UserError


def is_text_pipeline(obj: Any) -> bool:
    """Whether ``obj`` is a ``transformers`` pipeline (without importing transformers needlessly)."""
    return any(c.__name__ == "Pipeline" and c.__module__.startswith("transformers") for c in type(obj).__mro__)


def pipeline_classifier(
    pipe: Any, *, dataset_label_names: Sequence[str] | None = None, dataset_labels: Sequence[int] = ()
) -> FunctionClassifier:
    """A :class:`FunctionClassifier` for a text-classification pipeline."""
    task = getattr(pipe, "task", "")
    if task not in ("text-classification", "sentiment-analysis", ""):
        raise UserError(f"a {task!r} pipeline cannot be evaluated; pass a text-classification pipeline")
    config = pipe.model.config
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    index = {n: i for i, n in enumerate(names)}

    def scores(texts: list[str]) -> np.ndarray:
        out = pipe(texts, top_k=None, truncation=True, batch_size=max(1, len(texts)))
        rows = np.zeros((len(texts), len(names)))
        for r, row in enumerate(out):
            for item in row:
                rows[r, index[str(item["label"])]] = float(item["score"])
        return rows

    name = getattr(config, "_name_or_path", "") or type(pipe.model).__name__
    return FunctionClassifier(scores, label_map(names, dataset_label_names, dataset_labels), f"pipeline:{name}")
