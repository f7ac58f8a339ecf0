"""Training with deletion noise, for models that will be certified by randomized deletion.

CERT-ED fine-tunes its base classifier on inputs with each word deleted with the same
probability ``p_del`` that certification uses; :class:`DeletionCollator` does this inside a
Hugging Face ``Trainer`` (or any ``DataLoader``), with fresh deletions every time an example
is drawn. Randomness comes from torch's global generator, which the ``Trainer`` seeds and
which differs across ``DataLoader`` workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

LABEL_KEYS = ("labels", "label")


def delete_words_torch(text: str, p_del: float, generator: torch.Generator | None = None) -> str:
    """``text`` with each whitespace word deleted independently with probability ``p_del``."""
    words = text.split()
    if not words or p_del <= 0:
        return text
    keep = torch.rand(len(words), generator=generator) >= p_del
    return " ".join(w for w, k in zip(words, keep.tolist()) if k)


def delete_tokens_torch(
    ids: Sequence[int], p_del: float, special: set[int], generator: torch.Generator | None = None
) -> list[int]:
    """Token ids with each non-special token deleted independently with probability ``p_del``."""
    ids = list(ids)
    if p_del <= 0:
        return ids
    keep = (torch.rand(len(ids), generator=generator) >= p_del).tolist()
    return [t for t, k in zip(ids, keep) if k or t in special]


@dataclass
class DeletionCollator:
    """Collate a batch with random deletion noise, then tokenize/pad it.

    ``level="word"`` (default) needs the raw text under ``text_column`` in each feature (pass
    ``remove_unused_columns=False`` to ``TrainingArguments`` so the ``Trainer`` keeps it);
    ``level="token"`` works on already tokenized ``input_ids`` and never deletes the special
    tokens the tokenizer adds (``[UNK]`` is deleted like any word). Labels (``labels`` or ``label``) are passed through as ``labels``.
    ``p_del = 0`` gives plain dynamic padding.
    """

    tokenizer: Any
    p_del: float = 0.9
    level: str = "word"
    text_column: str = "text"
    max_length: int | None = None
    generator: torch.Generator | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_del < 1.0:
            raise ValueError(f"p_del must be in [0, 1), got {self.p_del}")
        if self.level not in ("word", "token"):
            raise ValueError(f"level must be 'word' or 'token', got {self.level!r}")

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        labels = [next((f[k] for k in LABEL_KEYS if k in f), None) for f in features]
        if self.level == "word":
            if any(self.text_column not in f for f in features):
                raise KeyError(
                    f"DeletionCollator(level='word') needs the raw text in column {self.text_column!r}; "
                    "keep it with TrainingArguments(remove_unused_columns=False)"
                )
            texts = [delete_words_torch(str(f[self.text_column] or ""), self.p_del, self.generator) for f in features]
            batch = self.tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
        else:
            # the tokens the tokenizer adds ([CLS], [SEP], [PAD]) stay; [UNK] stands for a word and
            # is deleted like any other token, as certification at the token level does
            special = set(self.tokenizer.all_special_ids) - {self.tokenizer.unk_token_id}
            rows = [
                {"input_ids": delete_tokens_torch(f["input_ids"], self.p_del, special, self.generator)}
                for f in features
            ]
            batch = self.tokenizer.pad(rows, padding=True, return_tensors="pt")
        batch = dict(batch)
        if all(label is not None for label in labels):
            batch["labels"] = torch.tensor([int(label) for label in labels])
        return batch
