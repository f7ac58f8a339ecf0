"""A sentence encoder for similarities between texts (offline-friendly).

``sentence-transformers/all-MiniLM-L6-v2`` through ``transformers.AutoModel``: mean pooling over
the last hidden state, then L2 normalisation, so that a dot product is a cosine similarity.
Where it comes from: an explicit name or directory, else ``$TEXTROBUST_ENCODER``, else the Hub id
(which needs a cache or network; offline, a miss is one :class:`UserError` line).
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Sequence

import numpy as np

from textrobust.core.fingerprint import short_id
from textrobust.errors import UserError

ENV_VAR = "TEXTROBUST_ENCODER"
DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


class SentenceEncoder:
    """Unit-length embeddings of texts; ``calls`` counts forward passes (batches), ``texts`` inputs."""

    def __init__(self, name_or_path: str, batch_size: int = 128, max_length: int = 128) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            # float32 whatever the checkpoint stores: a float16 copy (such as the shared one, whose
            # config names no dtype) would otherwise compute in float16, several times slower on
            # a CPU and less exact; similarities are always computed on the CPU, in float32
            self.model = AutoModel.from_pretrained(name_or_path, dtype=torch.float32).eval()
        except OSError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(
                f"sentence encoder {name_or_path!r} could not be loaded ({first}); "
                f"set {ENV_VAR} to a local copy of {DEFAULT_ENCODER}"
            ) from None
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        self.name = name_or_path
        self.batch_size = batch_size
        self.max_length = max_length
        self.calls = 0
        self.texts = 0
        self._torch = torch

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """``len(texts) x dim`` float32 array of L2-normalised mean-pooled embeddings, row ``i``
        for ``texts[i]``. Texts go to the model in batches of similar length (longest first,
        padded to their batch's longest; ties in text order), so a text's row depends only on the
        texts asked, not on their order."""
        torch = self._torch
        texts = list(texts)
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        if not texts:
            return out
        lengths = [len(ids) for ids in self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], texts[i]))
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            chunk = [texts[i] for i in rows]
            enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).float().numpy()
            self.calls += 1
            self.texts += len(chunk)
        return out

    @functools.cached_property
    def identity(self) -> str:
        """The weights' sha256 (first 16 hex digits) over every parameter and buffer by name:
        the same encoder wherever it was loaded from. Recorded in ``run.json``."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return short_id(digest.hexdigest())

    def in_vocabulary(self, word: str) -> bool:
        """Whether ``word`` is one whole piece of the encoder's (frequency-built) vocabulary."""
        pieces = self.tokenizer.tokenize(word)
        return len(pieces) == 1 and pieces[0] != self.tokenizer.unk_token


def encoder_location(name: str | None = None) -> str:
    """The encoder to load: ``name``, else ``$TEXTROBUST_ENCODER``, else the Hub id."""
    return name or os.environ.get(ENV_VAR) or DEFAULT_ENCODER


def load_encoder(name: str | None = None) -> SentenceEncoder:
    """The (process-wide, cached) encoder at :func:`encoder_location` ``(name)``: the location is
    resolved on every call, so a changed ``$TEXTROBUST_ENCODER`` is honoured."""
    return _load_encoder_at(encoder_location(name))


@functools.lru_cache(maxsize=4)
def _load_encoder_at(location: str) -> SentenceEncoder:
    return SentenceEncoder(location)


def cosine(a: Sequence[str], b: Sequence[str], encoder: SentenceEncoder) -> np.ndarray:
    """Cosine similarity of ``a[i]`` and ``b[i]`` for each ``i`` (one encoder pass over the
    distinct texts of both)."""
    if not a:
        return np.zeros(0)
    unique = list(dict.fromkeys([*a, *b]))
    row = {t: k for k, t in enumerate(unique)}
    emb = encoder(unique)
    return np.einsum("ij,ij->i", emb[[row[t] for t in a]], emb[[row[t] for t in b]]).astype(np.float64)
