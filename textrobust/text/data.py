"""Labelled texts for evaluation: which column is the text, which the label, which rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textrobust.core.fingerprint import examples_fingerprint
from textrobust.core.options import DataOptions
from textrobust.hf.data import choose_rows

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

    @property
    def fingerprint(self) -> str:
        """What the run's examples are (:func:`~textrobust.core.fingerprint.examples_fingerprint`)."""
        names = None if self.label_names is None else list(self.label_names)
        return examples_fingerprint(self.ids, self.labels, names, (t.encode("utf-8") for t in self.texts))


def text_examples(dataset: Any, data: DataOptions, seed: int) -> TextExamples:
    """Rows of a dataset (name, path, ``Dataset`` or ``DatasetDict``) ready for evaluation: those
    that ``data`` chooses (``input_column`` is the text column), shuffled by ``seed``."""
    chosen = choose_rows(dataset, data, seed, "text", TEXT_COLUMNS, LABEL_COLUMNS)
    texts = ["" if t is None else str(t) for t in chosen.rows[chosen.input_column]]
    split, labels = chosen.split, chosen.labels()
    columns = (chosen.input_column, chosen.label_column)
    return TextExamples(
        chosen.ids, texts, labels.ids, labels.names, labels.from_strings, split.name, split.split, split.alias, *columns
    )


def load_text_examples(dataset: Any, *, seed: int = 0, text_column: str | None = None, **data: Any) -> TextExamples:
    """:func:`text_examples` with the :class:`~textrobust.core.options.DataOptions` fields as
    keywords (``config``, ``split``, ``label_column``, ``limit``, ``shuffle``; ``text_column``
    for ``input_column``)."""
    return text_examples(dataset, DataOptions(input_column=text_column, **data), seed)
