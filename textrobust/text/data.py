"""Labelled texts for evaluation: which column is the text, which the label, which rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textrobust.core.options import DataOptions
from textrobust.hf.data import pick_column, read_chosen_labels, resolve_split, select_rows

TEXT_COLUMNS = ("sentence", "text", "content", "review", "document", "sentence1", "question", "tweet")
LABEL_COLUMNS = ("label", "labels", "class", "target", "category", "sentiment")


@dataclass
class TextExamples:
    """The rows to evaluate: original row ids, texts, label ids and label names."""

    ids: list[int]
    texts: list[str]
    labels: list[int]
    label_names: list[str] | None
    labels_from_strings: bool
    name: str
    split: str | None
    alias: str | None
    text_column: str
    label_column: str

    def __len__(self) -> int:
        return len(self.ids)


def load_text_examples(
    dataset: Any,
    *,
    config: str | None = None,
    split: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> TextExamples:
    """Rows of a dataset (name, path, ``Dataset`` or ``DatasetDict``) ready for evaluation."""
    chosen = resolve_split(dataset, config, split)
    ds = chosen.dataset
    text_col = pick_column(ds, text_column, TEXT_COLUMNS, "text", "--text-column")
    label_col = pick_column(ds, label_column, LABEL_COLUMNS, "label", "--label-column")
    rows = select_rows(len(ds), limit=limit, shuffle=shuffle, seed=seed)
    picked = ds.select(rows) if len(rows) != len(ds) or shuffle else ds
    texts = ["" if t is None else str(t) for t in picked[text_col]]
    labels = read_chosen_labels(ds, picked, label_col)
    return TextExamples(
        ids=rows,
        texts=texts,
        labels=labels.ids,
        label_names=labels.names,
        labels_from_strings=labels.from_strings,
        name=chosen.name,
        split=chosen.split,
        alias=chosen.alias,
        text_column=text_col,
        label_column=label_col,
    )


def text_examples(dataset: Any, data: DataOptions, seed: int) -> TextExamples:
    """:func:`load_text_examples` with the run's :class:`~textrobust.core.options.DataOptions`
    (``input_column`` is the text column) and seed (for ``shuffle``)."""
    return load_text_examples(
        dataset,
        config=data.config,
        split=data.split,
        text_column=data.input_column,
        label_column=data.label_column,
        limit=data.limit,
        shuffle=data.shuffle,
        seed=seed,
    )
