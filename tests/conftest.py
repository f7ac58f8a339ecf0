"""Shared test fixtures: where ../shared is, and tiny randomly initialised BERT classifiers."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests run tiny models, for which a second intra-op thread only adds synchronisation cost
# (and stalls badly when the machine is busy). Subprocesses inherit this too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
TINY_VOCAB = """[PAD] [UNK] [CLS] [SEP] [MASK] . , ! ? ' s the a an and or but not no very
good great bad awful movie film plot actor story fun funny dull boring best worst is was it this
that of to in on with for love hate like fine nice poor sad happy""".split()


def shared_dir() -> Path:
    """The read-only shared files: $TEXTROBUST_SHARED, else ../shared beside the repository."""
    return Path(os.environ.get("TEXTROBUST_SHARED", ROOT.parent / "shared")).resolve()


SHARED_ENCODER = shared_dir() / "models/all-minilm-l6-v2"


def make_tiny_encoder(directory: Path, seed: int = 0) -> Path:
    """A 1-layer, hidden-32 random BERT with the shared MiniLM encoder's tokenizer, saved to ``directory``.

    Constrained synonym specs and every text report's similarities go through a sentence encoder;
    this one has MiniLM's vocabulary (so vocabulary checks behave as with the real one) at a
    fraction of its cost, with arbitrary (seeded) similarities. Tests about what the similarities
    mean use :data:`SHARED_ENCODER`."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(SHARED_ENCODER / name, directory / name)
    size = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=30522, **size), add_pooling_layer=False).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session", autouse=True)
def sentence_encoder(tmp_path_factory) -> str:
    """The encoder of this test session: ``$TEXTROBUST_ENCODER`` when set, else a tiny one
    (:func:`make_tiny_encoder`); subprocesses inherit it through the environment."""
    if "TEXTROBUST_ENCODER" not in os.environ:
        os.environ["TEXTROBUST_ENCODER"] = str(make_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder")))
    return os.environ["TEXTROBUST_ENCODER"]


@pytest.fixture
def real_encoder(monkeypatch) -> Path:
    """The shared MiniLM sentence encoder for this test (for what its similarities mean)."""
    monkeypatch.setenv("TEXTROBUST_ENCODER", str(SHARED_ENCODER))
    return SHARED_ENCODER


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (other test runs on this machine may hold the default)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_command(nproc: int = 2) -> list[str]:
    """The launcher prefix for ``nproc`` processes under torchrun, on a free port."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(nproc),
        "--master_port",
        str(free_port()),
    ]


def eval_argv(model, dataset, out, specs, *, limit, max_steps, extra=()) -> list[str]:
    """The arguments of a small ``textrobust eval`` run (no progress bar) of ``specs`` into ``out``."""
    run = f"--limit {limit} --max-steps {max_steps} --output {out} --no-progress".split()
    return [
        "eval",
        "--model",
        str(model),
        "--dataset",
        str(dataset),
        *run,
        *[a for s in specs for a in ("--perturb", s)],
        *extra,
    ]


def tiny_trainer(model, tokenizer, train, evaluation, output_dir, callbacks=(), **arguments):
    """A CPU ``transformers.Trainer`` of a few steps for callback tests: batches of 8, evaluation
    and logging every 2 steps, no reporters or progress bars, seed 0; ``arguments`` add to or
    replace these ``TrainingArguments``."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    defaults = {"per_device_train_batch_size": 8, "eval_strategy": "steps", "eval_steps": 2, "logging_steps": 2}
    quiet = {"report_to": "none", "use_cpu": True, "disable_tqdm": True, "seed": 0}
    args = TrainingArguments(output_dir=str(output_dir), **{**defaults, **quiet, **arguments})
    collator = DataCollatorWithPadding(tokenizer)
    return Trainer(model, args, collator, train, evaluation, processing_class=tokenizer, callbacks=list(callbacks))


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    assert path.is_dir(), f"shared files not found at {path}; set TEXTROBUST_SHARED"
    return path


def make_tiny_classifier(
    directory: Path, num_labels: int = 2, id2label: dict[int, str] | None = None, seed: int = 0
) -> Path:
    """Save a tiny random BERT sequence classifier with a word-level vocabulary to ``directory``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True, model_max_length=64)
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    config = BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    # A random BERT gives nearly the same logits for every input. Sharpen the classifier and
    # centre each logit on its median over sample sentences, so predictions depend on the words.
    import random

    rng = random.Random(seed)
    sample = [" ".join(rng.choice(TINY_VOCAB[5:]) for _ in range(rng.randint(1, 14))) for _ in range(200)]
    with torch.no_grad():
        model.classifier.weight.mul_(50.0)
        model.classifier.bias.zero_()
        logits = model(**tokenizer(sample, padding=True, return_tensors="pt")).logits
        model.classifier.bias.sub_(logits.median(dim=0).values)
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
    for _ in range(120):
        n = rng.randint(1, 14)
        lines.append(" ".join(rng.choice(words) for _ in range(n)).replace(",", "") + f",{rng.randint(0, 1)}")
    path.write_text("\n".join(lines) + "\n")
    return path


POSITIVE_WORDS = ("good", "great", "fun", "funny", "best", "love", "like", "fine", "nice", "happy")
NEGATIVE_WORDS = ("bad", "awful", "dull", "boring", "worst", "hate", "poor", "sad")


def make_keyword_classifier(directory: Path) -> Path:
    """A tiny BERT (as :func:`make_tiny_classifier`) whose weights are set by hand to a keyword vote.

    It predicts 1 when the text has more of ``POSITIVE_WORDS`` than of ``NEGATIVE_WORDS``,
    else 0, so its predictions vary with the text and deleting or misspelling a word can flip
    them (random tiny BERTs predict one class for every input). Embedding dims 0/1 carry a
    word's polarity, attention is uniform (zero queries and keys) with identity values, so the
    [CLS] vector gets the mean polarity; the feed-forward blocks and later attention add nothing.
    """
    import torch
    from transformers import BertForSequenceClassification

    make_tiny_classifier(directory)
    model = BertForSequenceClassification.from_pretrained(directory)
    hidden = model.config.hidden_size
    pattern = torch.tensor([(-1.0) ** i for i in range(hidden)])
    pattern[:2] = 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        emb = model.bert.embeddings
        emb.word_embeddings.weight.copy_(pattern.expand_as(emb.word_embeddings.weight))
        for word in POSITIVE_WORDS + NEGATIVE_WORDS:
            sign = 1.0 if word in POSITIVE_WORDS else -1.0
            emb.word_embeddings.weight[TINY_VOCAB.index(word), :2] = torch.tensor([sign, -sign]) * 4.0
        emb.LayerNorm.weight.fill_(1.0)
        eye = torch.eye(hidden)
        for i, layer in enumerate(model.bert.encoder.layer):
            if i == 0:  # uniform attention, identity values: every position gets the mean vector
                layer.attention.self.value.weight.copy_(eye)
                layer.attention.output.dense.weight.copy_(eye)
            layer.attention.output.LayerNorm.weight.fill_(1.0)
            layer.output.LayerNorm.weight.fill_(1.0)
        model.bert.pooler.dense.weight.copy_(eye)
        model.classifier.weight[0, :2] = torch.tensor([-20.0, 20.0])
        model.classifier.weight[1, :2] = torch.tensor([20.0, -20.0])
        model.classifier.bias.copy_(torch.tensor([1e-3, 0.0]))  # a tie votes 0
    model.save_pretrained(directory)
    return directory


def keyword_vote(text: str, ties_to: int = 0) -> int:
    """What :func:`make_keyword_classifier`'s model predicts for ``text`` (a tie votes ``ties_to``)."""
    import re

    words = re.findall(r"\w+", text.lower())
    margin = sum(w in POSITIVE_WORDS for w in words) - sum(w in NEGATIVE_WORDS for w in words)
    return ties_to if margin == 0 else int(margin > 0)


@pytest.fixture(scope="session")
def keyword_model(tmp_path_factory) -> Path:
    """A tiny BERT that predicts by keyword vote (see :func:`make_keyword_classifier`)."""
    return make_keyword_classifier(tmp_path_factory.mktemp("keyword-bert"))


@pytest.fixture
def torch_single_thread():
    """One torch thread for the test: tiny models gain nothing from more, and on a busy
    machine OpenMP threads that wait for each other slow them down many times over."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
