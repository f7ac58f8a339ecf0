"""Labelled texts for evaluation: which column is the text, which the label, which rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textrobust.data import Split, load_split, pick_column, read_labels, select_rows
from textrobust.errors import UserError

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
    import datasets

    if isinstance(dataset, str):
        chosen = load_split(dataset, config, split)
    elif isinstance(dataset, datasets.DatasetDict):
        name = split or next((s for s in ("validation", "test") if s in dataset), None)
        if name is None or name not in dataset:
            raise UserError(f"choose a split: {', '.join(dataset.keys())}")
        chosen = Split(dataset[name], "DatasetDict", name, None)
    elif isinstance(dataset, datasets.Dataset):
        chosen = Split(dataset, dataset.info.dataset_name or "Dataset", split or (str(dataset.split) if dataset.split else None), None)
    else:
        raise UserError(f"dataset must be a name, a path or a datasets.Dataset, got {type(dataset).__name__}")
    ds = chosen.dataset
    text_col = pick_column(ds, text_column, TEXT_COLUMNS, "text", "--text-column")
    label_col = pick_column(ds, label_column, LABEL_COLUMNS, "label", "--label-column")
    rows = select_rows(len(ds), limit=limit, shuffle=shuffle, seed=seed)
    picked = ds.select(rows) if len(rows) != len(ds) or shuffle else ds
    texts = ["" if t is None else str(t) for t in picked[text_col]]
    labels = read_labels(picked, label_col)
    if labels.from_strings:
        # the names must be complete: read them over the whole split, not just the chosen rows
        every = read_labels(ds, label_col)
        index = {n: i for i, n in enumerate(every.names or [])}
        labels.ids = [index[labels.names[i]] for i in labels.ids]
        labels.names = every.names
    return TextExamples(
        ids=rows, texts=texts, labels=labels.ids, label_names=labels.names, labels_from_strings=labels.from_strings,
        name=chosen.name, split=chosen.split, alias=chosen.alias, text_column=text_col, label_column=label_col,
    )  # fmt: skip
