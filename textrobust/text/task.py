"""A labelled text dataset and a classifier checked against its labels: what ``evaluate`` and
``certify`` both start from."""

from __future__ import annotations

from typing import Any

from textrobust.core.distributed import ProcessGroup
from textrobust.errors import UserError
from textrobust.text.data import TextExamples, load_text_examples
from textrobust.text.model import TextClassifier, is_default_label_names, text_classifier


def load_text_task(
    model: Any,
    tokenizer: Any,
    dataset: Any,
    *,
    group: ProcessGroup,
    config: str | None = None,
    split: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    device: str | None = None,
    dtype: str | None = None,
) -> tuple[TextExamples, TextClassifier]:
    """The chosen rows and the classifier whose predictions are mapped to their label ids.

    Under a launcher the model goes to this process's device unless ``device`` says otherwise.
    Label names read from a string column need a model with named labels.
    """
    data = load_text_examples(
        dataset, config=config, split=split, text_column=text_column, label_column=label_column,
        limit=limit, shuffle=shuffle, seed=seed,
    )  # fmt: skip
    classifier = text_classifier(
        model, tokenizer, dataset_label_names=data.label_names, dataset_labels=data.labels,
        device=device or (str(group.device) if group.distributed else None), dtype=dtype, dataset_alias=data.alias,
    )  # fmt: skip
    if data.labels_from_strings and is_default_label_names(classifier.label_names):
        raise UserError(
            f"the label column holds names ({', '.join(data.label_names or [])}) but the model's labels are unnamed "
            "(LABEL_0, ...): use integer labels or a model with id2label names"
        )
    return data, classifier
