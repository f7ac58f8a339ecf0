"""Shared test fixtures: where ../shared is, and tiny randomly initialised BERT classifiers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
TINY_VOCAB = """[PAD] [UNK] [CLS] [SEP] [MASK] . , ! ? ' s the a an and or but not no very
good great bad awful movie film plot actor story fun funny dull boring best worst is was it this
that of to in on with for love hate like fine nice poor sad happy""".split()


def shared_dir() -> Path:
    """The read-only shared files: $TEXTROBUST_SHARED, else ../shared beside the repository."""
    return Path(os.environ.get("TEXTROBUST_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    assert path.is_dir(), f"shared files not found at {path}; set TEXTROBUST_SHARED"
    return path


def make_tiny_classifier(directory: Path, num_labels: int = 2, id2label: dict[int, str] | None = None, seed: int = 0) -> Path:
    """Save a tiny random BERT sequence classifier with a word-level vocabulary to ``directory``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=64)
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    config = BertConfig(
        vocab_size=len(TINY_VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
        id2label=labels, label2id={v: k for k, v in labels.items()},
    )  # fmt: skip
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    # sharpen the random classifier so predictions depend strongly on the words
    with torch.no_grad():
        model.classifier.weight.mul_(50.0)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny 2-label BERT classifier (LABEL_0, LABEL_1) saved on disk."""
    return make_tiny_classifier(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A small csv of sentences over the tiny vocabulary with 0/1 labels."""
    import random

    rng = random.Random(0)
    words = TINY_VOCAB[5:]
    path = tmp_path_factory.mktemp("tiny-data") / "reviews.csv"
    lines = ["text,label"]
    for i in range(120):
        n = rng.randint(1, 14)
        lines.append(" ".join(rng.choice(words) for _ in range(n)).replace(",", "") + f",{rng.randint(0, 1)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def torch_single_thread():
    """One torch thread for the test: tiny models gain nothing from more, and on a busy
    machine OpenMP threads that wait for each other slow them down many times over."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
