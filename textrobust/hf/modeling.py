"""What every classifier adapter needs, whatever its inputs (text, images): the device and
dtype to run on, and the mapping of the model's label ids to the dataset's."""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from textrobust.errors import UserError

_DEFAULT_LABEL = re.compile(r"^LABEL_\d+$")
DTYPES = {
    "fp32": "float32",
    "float32": "float32",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
}


def resolve_device(device: str | None = None) -> "Any":
    """``torch.device``: the one asked for, else cuda > mps > cpu."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device {device!r}; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} asked for, but CUDA is not available here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError(f"device {device!r} asked for, but MPS is not available here")
    return dev


def resolve_dtype(dtype: str | None, device: Any) -> Any:
    """``torch.dtype`` for ``--dtype`` (fp32 default; bf16/fp16 are for GPUs)."""
    import torch

    if dtype in (None, ""):
        return torch.float32
    name = DTYPES.get(str(dtype).lower())
    if name is None:
        raise UserError(f"unknown dtype {dtype!r}; use fp32, bf16 or fp16")
    if name != "float32" and device.type == "cpu":
        raise UserError(f"--dtype {dtype} needs a GPU; on the CPU use fp32")
    return getattr(torch, name)


def is_default_label_names(names: Sequence[str]) -> bool:
    """Whether ``names`` are the placeholder names ``LABEL_0..n`` that carry no meaning."""
    return all(_DEFAULT_LABEL.match(str(n)) for n in names)


def label_mapping(
    model_names: Sequence[str], dataset_names: Sequence[str] | None, dataset_labels: Sequence[int] = ()
) -> np.ndarray:
    """For each model label id, the dataset label id it means.

    By name (case-insensitive) when both sides have real names; by index when either has
    none. A different label count, or a name one side lacks, is a :class:`UserError`.
    """
    n_model = len(model_names)
    if dataset_names is not None and len(dataset_names) != n_model:
        raise UserError(
            f"label mismatch: the model has {n_model} labels ({', '.join(map(str, model_names))}) "
            f"but the dataset has {len(dataset_names)} ({', '.join(map(str, dataset_names))})"
        )
    present = sorted(set(int(x) for x in dataset_labels))
    if present and (present[0] < 0 or present[-1] >= n_model):
        raise UserError(
            f"label mismatch: the dataset has label ids {present[:10]} but the model has {n_model} labels (0..{n_model - 1})"
        )
    if dataset_names is None or is_default_label_names(model_names) or is_default_label_names(dataset_names):
        return np.arange(n_model)
    by_name = {str(n).lower(): i for i, n in enumerate(dataset_names)}
    missing = [n for n in model_names if str(n).lower() not in by_name]
    if missing:
        raise UserError(
            f"label mismatch: model labels {list(model_names)} do not match dataset labels {list(dataset_names)}"
        )
    return np.array([by_name[str(n).lower()] for n in model_names])
