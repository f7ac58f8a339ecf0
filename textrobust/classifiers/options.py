"""What a classifier other than a Hugging Face sequence classifier needs to know, validated once.

:class:`ModelOptions` gathers the settings of the adapters in this package: the label names
(and verbalizers) a model does not state itself, the prompt template of prompted language
models, and how remote endpoints are called (concurrency, timeouts, retries, the API key's
environment variable, the response cache's directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from textrobust.errors import UserError

TEXT_FIELD = "{text}"


@dataclass(frozen=True)
class ModelOptions:
    """Settings for non-Hugging-Face classifiers (see ``docs/models.md``).

    ``labels``: the model's label names in its own order, or ``{name: verbalizer}`` for
    prompted models (verbalizer = the words that stand for the label in the answer; default:
    the name after a space). ``prompt``: a template holding ``{text}``. ``base_url`` (OpenAI
    style, e.g. ``http://host:8000/v1``) and ``api_key_env`` (the NAME of the environment
    variable holding the key: the key itself is never stored). ``cache_dir``: where the
    persistent response cache lives (the run's output directory by default).
    """

    labels: Any = None  # (name, verbalizer) pairs in the model's order once validated
    prompt: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 8
    timeout: float = 30.0
    max_retries: int = 4
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_wait: float = 60.0  # longest single wait, Retry-After included
    inputs_per_request: int = 16  # HF-style endpoints: texts per POST
    max_new_tokens: int = 16  # chat endpoints: answer length
    trust_pickle: bool = False
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.labels is not None and not all(isinstance(p, tuple) and len(p) == 2 for p in self.labels):
            object.__setattr__(self, "labels", parse_labels(self.labels))  # names, "a,b" or {name: verbalizer}
        if self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.timeout <= 0:
            raise UserError(f"the request timeout must be positive, got {self.timeout}")
        if self.max_retries < 0:
            raise UserError(f"max_retries must be at least 0, got {self.max_retries}")
        if self.inputs_per_request < 1:
            raise UserError(f"inputs_per_request must be at least 1, got {self.inputs_per_request}")
        if self.max_new_tokens < 1:
            raise UserError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.prompt is not None and TEXT_FIELD not in self.prompt:
            raise UserError("the prompt template must contain {text} where the input goes")

    @property
    def label_names(self) -> list[str] | None:
        return None if self.labels is None else [n for n, _ in self.labels]

    @property
    def verbalizers(self) -> list[str] | None:
        return None if self.labels is None else [v for _, v in self.labels]

    def with_cache_dir(self, directory: str | os.PathLike | None) -> ModelOptions:
        """These options, with the response cache in ``directory`` unless one is set already."""
        if self.cache_dir is not None or directory is None:
            return self
        return replace(self, cache_dir=str(directory))

    def api_key(self) -> str | None:
        """The API key from the environment (``None`` without ``api_key_env``)."""
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise UserError(f"--api-key-env names {self.api_key_env}, but that environment variable is not set")
        return value


def parse_labels(labels: str | Sequence[str] | Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
    """``(name, verbalizer)`` pairs from ``"neg,pos"``, ``"neg=terrible,pos=great"``, a list of
    names or a ``{name: verbalizer}`` mapping; a bare name's verbalizer is ``" " + name``."""
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = [part for part in labels.split(",")]
    if isinstance(labels, Mapping):
        pairs = [(str(k), str(v)) for k, v in labels.items()]
    else:
        pairs = []
        for item in labels:
            name, sep, verbal = str(item).partition("=")
            pairs.append((name.strip(), verbal if sep else " " + name.strip()))
    if not pairs or any(not n for n, _ in pairs):
        raise UserError(f"--labels needs non-empty label names separated by commas, got {labels!r}")
    names = [n.lower() for n, _ in pairs]
    if len(set(names)) != len(names):
        raise UserError(f"--labels names a label twice: {[n for n, _ in pairs]}")
    if any(not v.strip() for _, v in pairs):
        raise UserError("every label's verbalizer must have at least one visible character")
    return tuple(pairs)


def parse_prompt(prompt: str | os.PathLike | None) -> str | None:
    """The template itself: ``prompt`` is a file holding it, or the template text."""
    if prompt is None:
        return None
    text = str(prompt)
    if TEXT_FIELD not in text and len(text) < 4096:
        path = Path(text).expanduser()
        if path.is_file():
            text = path.read_text(encoding="utf-8")
        elif path.suffix or os.sep in text:
            raise UserError(f"prompt file not found: {text!r} (a prompt template must contain {{text}})")
    if TEXT_FIELD not in text:
        raise UserError("the prompt template must contain {text} where the input goes")
    return text


def fill(template: str, text: str) -> str:
    """``template`` with ``{text}`` replaced by ``text`` (other braces are left alone)."""
    return template.replace(TEXT_FIELD, text)
