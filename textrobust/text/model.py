"""A Hugging Face sequence classifier as an engine classifier: texts in, dataset labels out.

Batches are tokenized together and padded to their own longest text, truncated to the
model's maximum length, and run under ``torch.inference_mode``; predictions are mapped from
the model's label ids to the dataset's (see :func:`~textrobust.hf.modeling.label_mapping`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from textrobust.errors import UserError
from textrobust.hf.hub import MODEL_ALIASES, loading_model, looks_like_path
from textrobust.hf.modeling import label_mapping, resolve_device, resolve_dtype


def resolve_model_name(model: str, dataset: str | None, dataset_name: str | None = None) -> str:
    """A Hub id or path for ``model``, expanding aliases such as ``bert-base`` for a dataset alias."""
    aliases = {a for a, _ in MODEL_ALIASES}
    if model in aliases and not os.path.exists(model):
        hit = MODEL_ALIASES.get((model, dataset or ""))
        if hit is None:
            known = ", ".join(d for a, d in MODEL_ALIASES if a == model)
            raise UserError(
                f"model alias {model!r} picks a checkpoint for the dataset aliases {known}; "
                f"with dataset {dataset_name or dataset!r} pass a Hub id or a model directory with --model"
            )
        return hit
    return model


@dataclass
class TextClassifier:
    """Callable engine classifier around a ``PreTrainedModel`` and its tokenizer."""

    model: Any
    tokenizer: Any
    device: Any
    max_length: int
    label_map: np.ndarray  # model label id -> dataset label id
    name: str = ""

    @property
    def label_names(self) -> list[str]:
        config = self.model.config
        return [str(config.id2label[i]) for i in range(config.num_labels)]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Dataset label ids predicted for ``texts`` (one forward pass, padded to the longest)."""
        encoded = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return self.predict_encoded(encoded)

    def classify_token_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Dataset label ids for token-id sequences without special tokens: the tokenizer's
        special tokens are put around each, which is truncated to fit, and the batch is padded."""
        prefix, suffix = special_affixes(self.tokenizer)
        room = max(0, self.max_length - len(prefix) - len(suffix))
        rows = [prefix + list(s)[:room] + suffix for s in sequences]
        encoded = self.tokenizer.pad({"input_ids": rows}, padding=True, return_tensors="pt")
        return self.predict_encoded(encoded)

    def predict_encoded(self, encoded: Any) -> np.ndarray:
        """Dataset label ids for a tokenized, padded batch (a mapping of tensors)."""
        import torch

        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                logits = self.model(**encoded).logits
        finally:
            self.model.train(was_training)
        return self.label_map[logits.argmax(dim=-1).cpu().numpy()]

    @staticmethod
    def size(text: str) -> int:
        """Sort key for batching: texts of similar length share a batch."""
        return len(text)


def special_affixes(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a single sequence's tokens
    (BERT: ``[CLS]`` / ``[SEP]``), found by encoding a probe with and without them."""
    probe = "a"
    bare = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(probe)["input_ids"])
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    return [], []


def load_model(name: str, device: Any, dtype: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a local directory or a Hub id, ready for inference."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if looks_like_path(name) and not os.path.exists(os.path.expanduser(name)):
        raise UserError(f"model path not found: {name!r}")
    path = os.path.expanduser(name)
    if os.path.exists(path) and not os.path.isfile(os.path.join(path, "config.json")):
        raise UserError(f"{name!r} is not a Hugging Face model directory (no config.json)")
    with loading_model(name, path, "sequence classifier"):
        tokenizer = AutoTokenizer.from_pretrained(path)
        try:  # PyTorch's fused attention where transformers offers it for this architecture
            model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
        except (ValueError, ImportError):
            model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype)
    model.to(device).eval()
    return model, tokenizer


def model_max_length(model: Any, tokenizer: Any) -> int:
    """The longest input the model takes, in tokens."""
    limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
    return min(limits) if limits else 512


def text_classifier(
    model: Any,
    tokenizer: Any = None,
    *,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
    device: str | None = None,
    dtype: str | None = None,
    dataset_alias: str | None = None,
    dataset_name: str | None = None,
) -> TextClassifier:
    """A :class:`TextClassifier` from a model object or name, checked against the dataset's labels."""
    if isinstance(model, (str, os.PathLike)):
        dev = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, dev)
        name = resolve_model_name(str(model), dataset_alias, dataset_name)
        loaded, loaded_tokenizer = load_model(name, dev, torch_dtype)
        tokenizer = tokenizer or loaded_tokenizer
        model = loaded
    else:
        name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        if tokenizer is None:
            raise UserError("a tokenizer is needed with a model object")
        # a model object stays where it is unless a device or dtype is asked for
        dev = resolve_device(device) if device else next(model.parameters()).device
        if device:
            model.to(dev)
        if dtype is not None:
            model.to(resolve_dtype(dtype, dev))
    config = model.config
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    mapping = label_mapping(names, dataset_label_names, dataset_labels)
    return TextClassifier(model, tokenizer, dev, model_max_length(model, tokenizer), mapping, str(name))
