"""A prompted causal language model as a zero-shot classifier.

Each text is put into a prompt template (``{text}``); each label has a *verbalizer*, the
words that stand for it (default: the label name after a space). The prediction is the label
whose verbalizer tokens have the highest total log-probability after the prompt:

    score(label) = sum_j log p(v_j | prompt, v_1 .. v_{j-1})

A batch of ``n`` texts and ``L`` labels is ``n * L`` rows "prompt + verbalizer", LEFT-padded
so that every row ends with its verbalizer, with position ids counted from each row's first
real token, run in ONE forward pass that keeps only the last ``max verbalizer length + 1``
positions' logits. Prompts longer than the model takes are cut from the left (the template's
end, which asks the question, is kept; a BOS token stays first).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from textrobust.classifiers.labels import LabelMap, label_map
from textrobust.classifiers.options import fill
from textrobust.errors import UserError


def is_causal_lm(model: Any) -> bool:
    """Whether ``model`` is a transformers causal language model (``...ForCausalLM``, ``...LMHeadModel``)."""
    return any(type(model).__name__.endswith(s) for s in ("ForCausalLM", "LMHeadModel"))


@dataclass
class PromptedLM:
    """Engine classifier: verbalizer log-probabilities of a causal LM after a prompt."""

    model: Any
    tokenizer: Any
    device: Any
    template: str
    verbalizers: list[list[int]]  # token ids of each model label's verbalizer
    labels: LabelMap
    max_length: int
    name: str
    verbalizer_text: list[str] | None = None

    @property
    def label_names(self) -> list[str]:
        return list(self.labels.model_names or [])

    @property
    def run_settings(self) -> dict:
        """What, besides the name, determines the predictions (for ``run.json``)."""
        return {
            "model_kind": "prompted",
            "prompt": self.template,
            "labels": [[n, v] for n, v in zip(self.label_names, self.verbalizer_text or [])],
        }

    def prompt_ids(self, text: str) -> list[int]:
        """Token ids of the filled prompt, BOS first when the tokenizer has one, cut to fit."""
        ids = list(self.tokenizer(fill(self.template, text), add_special_tokens=False)["input_ids"])
        bos = getattr(self.tokenizer, "bos_token_id", None)
        head = [bos] if bos is not None else []
        room = self.max_length - max(len(v) for v in self.verbalizers) - len(head)
        return head + ids[max(0, len(ids) - room) :]

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), n_labels)`` total log-probabilities of each verbalizer (float64)."""
        import torch

        rows: list[list[int]] = []
        spans: list[int] = []
        for text in texts:
            prompt = self.prompt_ids(text)
            for v in self.verbalizers:
                rows.append(prompt + v)
                spans.append(len(v))
        width = max(len(r) for r in rows)
        keep = max(spans) + 1
        pad = self.tokenizer.pad_token_id
        pad = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        ids = torch.full((len(rows), width), int(pad), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, width - len(row) :] = torch.tensor(row)
            mask[r, width - len(row) :] = 1
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                inputs = {
                    "input_ids": ids.to(self.device),
                    "attention_mask": mask.to(self.device),
                    "position_ids": positions.to(self.device),
                }
                try:
                    logits = self.model(**inputs, logits_to_keep=keep).logits
                except TypeError:  # a model without logits_to_keep
                    logits = self.model(**inputs).logits
                logits = logits[:, -keep:, :].float().log_softmax(dim=-1).cpu()
        finally:
            self.model.train(was_training)
        out = np.zeros(len(rows))
        for r, row in enumerate(rows):
            n = spans[r]
            # token row[-n + j] sits at kept position keep - n + j; its logits are one step before
            positions_kept = torch.arange(keep - n - 1, keep - 1)
            targets = torch.tensor(row[len(row) - n :])
            out[r] = float(logits[r, positions_kept, targets].double().sum())
        return out.reshape(len(texts), len(self.verbalizers))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Dataset label ids for ``texts`` (ties go to the first label)."""
        return self.labels.scores_to_dataset(self.scores(list(texts)))

    @staticmethod
    def size(text: str) -> int:
        """Sort key for batching: texts of similar length share a batch."""
        return len(text)


def verbalizer_ids(tokenizer: Any, verbalizers: Sequence[str]) -> list[list[int]]:
    """Token ids of each verbalizer (no special tokens); each must be non-empty and distinct."""
    out = [list(tokenizer(v, add_special_tokens=False)["input_ids"]) for v in verbalizers]
    for v, ids in zip(verbalizers, out):
        if not ids:
            raise UserError(f"the verbalizer {v!r} has no tokens")
    if len({tuple(x) for x in out}) != len(out):
        raise UserError(f"two verbalizers have the same tokens: {list(verbalizers)}")
    return out


def load_causal_lm(name: str, device: Any, dtype: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a causal LM from a local directory or a Hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from textrobust.hf.hub import loading_model, looks_like_path

    path = os.path.expanduser(name)
    if looks_like_path(name) and not os.path.exists(path):
        raise UserError(f"model path not found: {name!r}")
    with loading_model(name, path, "causal language model"):
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    model.to(device).eval()
    return model, tokenizer


def prompted_classifier(
    model: Any,
    tokenizer: Any,
    template: str | None,
    labels: Sequence[tuple[str, str]] | None,
    *,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
    device: str | None = None,
    dtype: str | None = None,
) -> PromptedLM:
    """A :class:`PromptedLM` from a causal LM object or name; ``labels`` are ``(name, verbalizer)``
    pairs (default: the dataset's label names, each after a space)."""
    from textrobust.hf.modeling import resolve_device, resolve_dtype

    if template is None:
        raise UserError("a causal language model needs a prompt template with {text} (prompt=..., --prompt)")
    if labels is None:
        if dataset_label_names is None:
            raise UserError("the dataset's labels have no names: pass labels=[...] (--labels) with a name per label id")
        labels = [(str(n), " " + str(n)) for n in dataset_label_names]
    if isinstance(model, (str, os.PathLike)):
        dev = resolve_device(device)
        name = str(model)
        model, loaded_tokenizer = load_causal_lm(name, dev, resolve_dtype(dtype, dev))
        tokenizer = tokenizer or loaded_tokenizer
    else:
        if tokenizer is None:
            raise UserError("a tokenizer is needed with a causal language model object")
        name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        dev = resolve_device(device) if device else next(model.parameters()).device
        if device:
            model.to(dev)
        if dtype is not None:
            model.to(resolve_dtype(dtype, dev))
    limits = [getattr(model.config, k, None) for k in ("max_position_embeddings", "n_positions")]
    limits += [getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
    names = [n for n, _ in labels]
    return PromptedLM(
        model,
        tokenizer,
        dev,
        template,
        verbalizer_ids(tokenizer, [v for _, v in labels]),
        label_map(names, dataset_label_names, dataset_labels),
        min(limits) if limits else 1024,
        f"prompted:{name}",
        [v for _, v in labels],
    )
