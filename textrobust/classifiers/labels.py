"""Turning whatever a classifier returns into dataset label ids.

A model's outputs come as label ids, label names, or a 2-D array of scores (probabilities or
logits: the highest wins). Ids and score columns are the model's own label ids when its label
names are known (``labels=``, a pipeline's ``id2label``, an estimator's ``classes_``) and are
mapped with today's rules (:func:`textrobust.hf.modeling.label_mapping`: by name when both sides
have names, else by index). A model that does not name its labels answers in dataset ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from textrobust.errors import UserError
from textrobust.hf.modeling import label_mapping

UNPARSEABLE = -1
"""The prediction recorded for an answer that names no label (a remote chat model's free text).
It equals no dataset label, so it is scored as a wrong prediction: on the clean input the example
counts as misclassified (``first_flip`` 0), on a draw it is a flip. Such answers are counted."""

_DEFAULT = re.compile(r"^label_(\d+)$")


@dataclass
class LabelMap:
    """The model's label ids/names -> dataset label ids (see the module docstring)."""

    model_names: list[str] | None
    to_dataset: np.ndarray  # model label id -> dataset label id
    dataset_names: list[str] | None

    @property
    def n_model(self) -> int:
        return len(self.to_dataset)

    def name_to_dataset(self, name: Any) -> int:
        """The dataset id a label name stands for (case-insensitive; ``LABEL_k`` is id ``k``)."""
        key = str(name).strip().lower()
        if self.model_names is not None:
            for i, n in enumerate(self.model_names):
                if n.lower() == key:
                    return int(self.to_dataset[i])
        if self.dataset_names is not None:
            for i, n in enumerate(self.dataset_names):
                if str(n).lower() == key:
                    return i
        hit = _DEFAULT.match(key)
        if hit and int(hit.group(1)) < self.n_model:
            return int(self.to_dataset[int(hit.group(1))])
        known = self.model_names or self.dataset_names or [f"LABEL_{i}" for i in range(self.n_model)]
        raise UserError(
            f"the model answered label {str(name)!r}, which is not one of {list(known)}; pass labels=[...] (--labels) naming its labels"
        )

    def ids_to_dataset(self, ids: Sequence[int]) -> np.ndarray:
        arr = np.asarray(ids, dtype=np.int64)
        bad = arr[(arr < 0) | (arr >= self.n_model)]
        if bad.size:
            raise UserError(
                f"the model predicted label id {int(bad[0])}, but it has {self.n_model} labels (0..{self.n_model - 1})"
            )
        return self.to_dataset[arr]

    def scores_to_dataset(self, scores: Any) -> np.ndarray:
        arr = np.asarray(scores, dtype=np.float64)
        if arr.shape[1] != self.n_model:
            raise UserError(f"the model returned {arr.shape[1]} scores per input, but it has {self.n_model} labels")
        return self.to_dataset[arr.argmax(axis=1)]

    def convert(self, output: Any, n: int) -> np.ndarray:
        """Dataset ids for ``n`` inputs from ids, names or a 2-D score array."""
        if hasattr(output, "detach"):  # a torch tensor: scores stay numbers, ids stay integers
            output = output.detach().cpu()
            output = output.float().numpy() if output.is_floating_point() else output.numpy()
        if isinstance(output, np.ndarray) and output.ndim == 2:
            result = self.scores_to_dataset(output)
        else:
            items = list(output.tolist() if isinstance(output, np.ndarray) else output)
            if items and isinstance(items[0], (list, tuple, np.ndarray)):
                result = self.scores_to_dataset(np.asarray(items, dtype=np.float64))
            elif all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in items):
                result = self.ids_to_dataset(items)
            elif all(isinstance(x, (str, np.str_)) for x in items):
                result = np.array([self.name_to_dataset(x) for x in items], dtype=np.int64)
            else:
                kinds = sorted({type(x).__name__ for x in items})
                raise UserError(
                    f"the model returned {', '.join(kinds)} values; expected label ids, label names or a 2-D array of scores"
                )
        if len(result) != n:
            raise UserError(f"the model returned {len(result)} predictions for {n} inputs")
        return result


def label_map(
    model_names: Sequence[Any] | None, dataset_names: Sequence[str] | None, dataset_labels: Sequence[int] = ()
) -> LabelMap:
    """A :class:`LabelMap`; without ``model_names`` the model's ids are the dataset's."""
    if model_names is None:
        if dataset_names is not None:
            n = len(dataset_names)
        else:
            present = [int(x) for x in dataset_labels]
            n = max(max(present) + 1, 2) if present else 2
        return LabelMap(None, np.arange(n), list(dataset_names) if dataset_names is not None else None)
    names = [str(x) for x in model_names]
    return LabelMap(
        names,
        label_mapping(names, dataset_names, dataset_labels),
        list(dataset_names) if dataset_names is not None else None,
    )
