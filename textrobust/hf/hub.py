"""Hub names: aliases for models and datasets, and one-line errors when the Hub is out of reach."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

DATASET_ALIASES: dict[str, tuple[str, str | None]] = {
    "sst2": ("nyu-mll/glue", "sst2"),
    "ag_news": ("fancyzhx/ag_news", None),
    "imdb": ("stanfordnlp/imdb", None),
    "mnist": ("ylecun/mnist", None),
    "cifar10": ("uoft-cs/cifar10", None),
}

# (model alias, dataset alias) -> Hub id of a model fine-tuned on that dataset
MODEL_ALIASES: dict[tuple[str, str], str] = {
    ("bert-base", "sst2"): "textattack/bert-base-uncased-SST-2",
    ("bert-base", "ag_news"): "textattack/bert-base-uncased-ag-news",
    ("bert-base", "imdb"): "textattack/bert-base-uncased-imdb",
}


def offline() -> bool:
    """Whether the Hugging Face Hub is switched off for this process."""
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def unreachable(what: str, name: str, hint: str) -> str:
    """A one-line reason why ``name`` could not be loaded from the Hub."""
    why = (
        "offline (HF_HUB_OFFLINE=1) and not in the local cache"
        if offline()
        else "not found locally and not loadable from the Hub"
    )
    return f"cannot load {what} {name!r}: {why}; {hint}"


DATA_EXTENSIONS = (".csv", ".tsv", ".json", ".jsonl", ".parquet")


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a filesystem path rather than a Hub id."""
    return name.startswith((".", "/", "~")) or name.endswith(DATA_EXTENSIONS) or os.path.exists(name)


@contextlib.contextmanager
def loading_model(name: str, path: str, kind: str) -> Iterator[None]:
    """Load a transformers model inside: logging and progress bars quiet, and a load failure
    a one-line :class:`~textrobust.errors.UserError` (``kind``: "sequence classifier", ...)."""
    from transformers.utils import logging as hf_logging

    from textrobust.errors import UserError

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    except OSError as e:
        if os.path.exists(path):
            raise UserError(f"cannot load model from {name!r}: {str(e).splitlines()[0]}") from None
        raise UserError(unreachable("model", name, "pass a local model directory with --model")) from None
    except ValueError as e:
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise UserError(f"{name!r} is not {article} {kind}: {str(e).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
