"""Turn whatever ``model=`` is into an engine classifier.

Strings: ``http(s)://...`` (a Hugging Face-style endpoint), ``openai:<model>`` (chat
completions at ``base_url``), ``sklearn:<file>`` (skops; pickle/joblib with ``trust_pickle``),
``python:<module>:<function>``; any other string is a Hugging Face model directory, Hub id or
alias: a sequence classifier, or a causal LM when a ``prompt`` is given. Objects: a
``transformers`` pipeline, a causal LM (with a prompt), a scikit-learn-style estimator, or any
callable of a list of texts. Hugging Face sequence classifiers (objects and names) are left to
:func:`textrobust.text.model.text_classifier` (``resolve_classifier`` returns ``None``).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import Any, Mapping, Sequence

from textrobust.classifiers.callable import callable_classifier
from textrobust.classifiers.http import chat_endpoint_classifier, hf_endpoint_classifier
from textrobust.classifiers.options import ModelOptions, parse_labels, parse_prompt
from textrobust.classifiers.pipeline import is_text_pipeline, pipeline_classifier
from textrobust.classifiers.prompted import is_causal_lm, prompted_classifier
from textrobust.classifiers.sklearn import is_estimator, load_estimator, sklearn_classifier
from textrobust.errors import TextrobustWarning, UserError

#: The settings of :class:`ModelOptions` a kind may leave unused, with their CLI flags.
FLAGS = {
    "labels": "--labels (labels=)",
    "prompt": "--prompt (prompt=)",
    "base_url": "--base-url",
    "api_key_env": "--api-key-env",
    "trust_pickle": "--trust-pickle",
}


def model_options(
    labels: str | Sequence[str] | Mapping[str, str] | None = None,
    prompt: str | os.PathLike | None = None,
    options: ModelOptions | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ModelOptions:
    """``options`` (or the defaults) with ``labels`` and ``prompt`` parsed in, and the response
    cache in ``cache_dir`` unless the options name one."""
    from dataclasses import replace

    base = options or ModelOptions()
    changes: dict[str, Any] = {}
    if labels is not None:
        changes["labels"] = parse_labels(labels)
    if prompt is not None:
        changes["prompt"] = parse_prompt(prompt)
    return replace(base, **changes).with_cache_dir(cache_dir)


def import_function(spec: str) -> Any:
    """The object ``module:attr.path`` names; the current directory is importable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UserError(f"python:<module>:<function> expected, got python:{spec}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(f"cannot import module {module_name!r}: {e}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError(f"module {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserError(f"python:{spec} is not callable")
    return obj


def is_hf_sequence_model(model: Any) -> bool:
    """A transformers model object (left to the Hugging Face path unless it is a causal LM)."""
    return hasattr(model, "config") and callable(getattr(model, "parameters", None))


def is_sequence_classifier(architecture: str) -> bool:
    """Whether a transformers class name is a sequence classifier (``...ForSequenceClassification``)."""
    return architecture.endswith("ForSequenceClassification")


def is_sequence_classifier_checkpoint(name: str) -> bool:
    """Whether the checkpoint ``name`` (a directory, or a Hub id already in the local cache) declares
    a sequence-classifier architecture in its config: such a model keeps its own head even when
    a prompt is given (loading it as a causal LM would put a random language-model head on it).
    ``False`` when its config cannot be read locally (the causal-LM loader then says why)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(os.path.expanduser(name), local_files_only=True)
    except (OSError, ValueError):
        return False
    return any(is_sequence_classifier(a) for a in getattr(config, "architectures", None) or ())


def resolve_classifier(
    model: Any,
    tokenizer: Any,
    *,
    dataset_label_names: Sequence[str] | None,
    dataset_labels: Sequence[int] = (),
    device: str | None = None,
    dtype: str | None = None,
    options: ModelOptions | None = None,
) -> Any:
    """The engine classifier for ``model`` (see the module docstring), or ``None`` for a Hugging
    Face sequence classifier. The classifier has ``__call__(texts) -> dataset ids``, ``size``,
    ``name`` and ``label_names``; remote ones also ``usage()``."""
    o = options or ModelOptions()
    labelled = {"dataset_label_names": dataset_label_names, "dataset_labels": dataset_labels}
    if isinstance(model, (str, os.PathLike)):
        s = str(model)
        if s.startswith(("http://", "https://")):
            unused(o, "an HF-style endpoint", "labels", "api_key_env")
            o.api_key()  # a missing key variable is an error now, not at the first request
            return hf_endpoint_classifier(s, o, **labelled)
        if s.startswith("openai:"):
            unused(o, "an openai: model", "labels", "prompt", "base_url", "api_key_env")
            o.api_key()
            if not s[len("openai:") :]:
                raise UserError("openai:<model> needs the model's name, e.g. openai:llama-3.1-8b")
            return chat_endpoint_classifier(s[len("openai:") :], o, **labelled)
        if s.startswith("sklearn:"):
            unused(o, "a scikit-learn model", "trust_pickle")
            estimator = load_estimator(s[len("sklearn:") :], trust_pickle=o.trust_pickle)
            return sklearn_classifier(estimator, name=s, **labelled)
        if s.startswith("python:"):
            unused(o, "a python: function", "labels")
            return callable_classifier(
                import_function(s[len("python:") :]), model_labels=o.label_names, name=s, **labelled
            )
        if o.prompt is not None and not is_sequence_classifier_checkpoint(s):
            unused(o, "a prompted causal LM", "labels", "prompt")
            return prompted_classifier(s, tokenizer, o.prompt, o.labels, device=device, dtype=dtype, **labelled)
        unused(o, "a Hugging Face sequence classifier (it names its labels in config.id2label)")
        return None
    if is_text_pipeline(model):
        unused(o, "a transformers pipeline (it names its labels in config.id2label)")
        return pipeline_classifier(model, **labelled)
    if is_causal_lm(model) or (
        o.prompt is not None and is_hf_sequence_model(model) and not is_sequence_classifier(type(model).__name__)
    ):
        unused(o, "a prompted causal LM", "labels", "prompt")
        return prompted_classifier(model, tokenizer, o.prompt, o.labels, device=device, dtype=dtype, **labelled)
    if is_hf_sequence_model(model):
        unused(o, "a Hugging Face sequence classifier (it names its labels in config.id2label)")
        return None
    if is_estimator(model):
        unused(o, "a scikit-learn estimator (its classes_ name its labels)")
        return sklearn_classifier(model, **labelled)
    if callable(model):
        unused(o, "a function", "labels")
        return callable_classifier(model, model_labels=o.label_names, **labelled)
    raise UserError(
        f"cannot evaluate a {type(model).__name__}: pass a Hugging Face model or name, a pipeline, a scikit-learn "
        "estimator, a function of a list of texts, or an endpoint (http(s)://..., openai:<model>)"
    )


def unused(options: ModelOptions, kind: str, *used: str) -> None:
    """Warn (once per setting) that ``options`` set something ``kind`` does not use: it is
    ignored, not silently. (A warning, not an error: ``eval --model A --model B`` gives every
    model the same settings.)"""
    for name, flag in FLAGS.items():
        if name not in used and getattr(options, name) not in (None, False):
            warnings.warn(f"{flag} is ignored: {kind} does not use it", TextrobustWarning, stacklevel=3)
