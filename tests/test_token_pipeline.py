"""Token-level text draws: the assembled ids equal the tokenizer's ids of the rebuilt text,
for WordPiece (the shared models), a byte-level BPE and a SentencePiece-style Unigram built
offline here; a tokenizer that fails the self-check falls back to strings with one warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from textrobust.core.perturbation import build
from textrobust.core.random import draw_key, stream_prefix, uniforms, uniforms_ragged
from textrobust.text.synonyms import from_file
from textrobust.text.tokens import TokenDraw, TokenInputs, WordPieces, check_tokenizer, token_pipeline

SPECS = ["delete:p=0.3", "swap:p=0.3", "typo:p=0.3", "synonym:p=0.5,constrained=0", "insert:p=0.3,constrained=0"]


def test_ragged_uniforms_are_the_same_streams_as_uniforms():
    keys = [draw_key(stream_prefix(0, i, "x"), k) for i in range(5) for k in (1, 2)]
    counts = [0, 3, 17, 1, 40, 2, 0, 9, 5, 11]
    flat, offsets = uniforms_ragged(keys, counts)
    assert len(flat) == sum(counts)
    for key, count, off in zip(keys, counts, offsets):
        if count:
            assert np.array_equal(flat[off : off + count], uniforms([key], count)[0])
    # a key's numbers do not depend on the keys computed with it
    alone, _ = uniforms_ragged(keys[4:5], counts[4:5])
    assert np.array_equal(alone, flat[offsets[4] : offsets[4] + counts[4]])


@pytest.fixture(scope="module")
def synonyms(shared):
    return from_file(shared / "data/wordnet/oewn_synonyms.json")


@pytest.fixture(scope="module")
def texts(shared):
    import datasets

    sst2 = datasets.load_dataset(str(shared / "data/sst2"))
    ag = datasets.load_dataset(str(shared / "data/ag_news"))
    return list(sst2["validation"]["sentence"]) + list(ag["test"]["text"][:150])


@pytest.fixture(scope="module")
def wordpiece(shared):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(shared / "models/minilm-l6-sst2"))


def _train(kind: str, corpus: list[str]):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    if kind == "bpe":  # GPT-2 / RoBERTa style: byte-level, the space belongs to the next word's first token
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=800, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    elif kind == "unigram":  # SentencePiece style: Metaspace, "▁" marks a word start
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=800, special_tokens=specials, unk_token="<unk>")
    else:  # chunks of 3 characters across spaces: word-by-word assembly cannot be exact
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(".{1,3}"), behavior="isolated")
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        model_max_length=512,
    )


class _Classifier:
    """What TokenInputs needs of a TextClassifier (no model: ids are compared, not classified)."""

    def __init__(self, tokenizer, max_length=512):
        self.tokenizer, self.max_length = tokenizer, max_length

    def predict_encoded(self, encoded):
        return np.zeros(len(encoded["input_ids"]), dtype=np.int64)


def _check_equivalence(tokenizer, texts, synonyms, draws=2, max_length=512):
    """Every draw's assembled ids equal the tokenizer's ids of its rebuilt text, which is the
    string perturbation's text; and assembled batches equal the tokenizer's padded batches."""
    assert check_tokenizer(tokenizer) is None
    inputs = TokenInputs(_Classifier(tokenizer, max_length))
    pieces = inputs.pieces
    checked = 0
    for spec in SPECS:
        p = build(spec, "text", {"synonyms": synonyms})
        for k in range(1, draws + 1):
            keys = [draw_key(stream_prefix(0, i, p.spec.canonical), k) for i in range(len(texts))]
            got = pieces.draws(p, texts, keys)
            strings = p.apply(texts, keys)
            assert [d.text for d in got] == list(strings)
            expected = tokenizer(list(strings), add_special_tokens=False)["input_ids"]
            for d, ids in zip(got, expected):
                assert isinstance(d, TokenDraw)
                assert np.frombuffer(d.ids, dtype=np.int32).tolist() == ids
            checked += len(got)
            # assembled batches (special tokens, truncation, padding) as the tokenizer makes them
            for start in range(0, len(got), 97):
                chunk = got[start : start + 97]
                mine = inputs.assemble([d.ids for d in chunk])
                ref = tokenizer(
                    [d.text for d in chunk], padding=True, truncation=True, max_length=max_length, return_tensors="np"
                )
                for name in mine:
                    assert np.array_equal(mine[name], ref[name]), (spec, name)
    assert pieces.fallback_examples == 0
    return checked


def test_wordpiece_assembly_equals_tokenizer(wordpiece, texts, synonyms):
    assert _check_equivalence(wordpiece, texts, synonyms) == len(texts) * len(SPECS) * 2


def test_truncation_matches_the_tokenizer(wordpiece, texts, synonyms):
    _check_equivalence(wordpiece, texts[:200] + texts[-50:], synonyms, draws=1, max_length=12)


def test_plain_words_skip_the_pipeline_only_where_it_gives_the_same_ids(wordpiece, texts):
    """A BERT WordPiece tokenizer's plain ASCII words come straight from its model (same ids as
    the whole pipeline, for every word of the shared texts and for typo-like and long words);
    a tokenizer with an added plain-word token, or a BPE one, keeps the pipeline."""
    import random
    import string

    from textrobust.text.tokens import _wordpiece_words

    pieces = WordPieces(wordpiece)
    backend = pieces._ensure_backend()
    word_ids, plain = pieces._word_ids, pieces._plain
    assert word_ids is not None
    rng = random.Random(0)
    words = {w for t in texts for w in t.split() if plain(w)}
    words |= {
        "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(1, 14)))
        for _ in range(3000)
    }
    words |= {"Q" * 99, "q" * 100, "q" * 101, "Unaffable", "EMBEDDINGS"}
    words = sorted(w for w in words if plain(w))
    expected = backend.encode_batch(words, add_special_tokens=False)
    assert [word_ids(w) for w in words] == [e.ids for e in expected]
    # through learn(): the cache holds the pipeline's ids, first and later alike
    pieces.learn(set(words[:500]), set(words[:500]))
    for w, e in zip(words[:500], expected[:500]):
        assert np.frombuffer(pieces.first[w], dtype=np.int32).tolist() == e.ids
        assert pieces.later[w] == pieces.first[w]

    from transformers import AutoTokenizer

    added = AutoTokenizer.from_pretrained(wordpiece.name_or_path)
    added.add_tokens(["qzxv"])  # the pipeline keeps an added word whole; the model alone would split it
    assert _wordpiece_words(WordPieces(added)._ensure_backend()) is None
    assert _wordpiece_words(WordPieces(_train("bpe", texts[:200]))._ensure_backend()) is None
    assert plain("don't") and not plain("café") and not plain("a\tb")
    # added tokens stay whole in the pipeline: such words keep it, and learn() gets them right
    assert not plain("[CLS]") and not plain("x[mask]y")
    special = ["[CLS]", "x[MASK]y", "[SEP]."]
    pieces.learn(set(special), set())
    for w, e in zip(special, backend.encode_batch(special, add_special_tokens=False)):
        assert np.frombuffer(pieces.first[w], dtype=np.int32).tolist() == e.ids


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_bpe_and_unigram_assembly_equals_tokenizer(kind, texts, synonyms):
    tokenizer = _train(kind, texts)
    pieces = WordPieces(tokenizer)
    pieces.learn({"movie"}, {"movie"})
    if kind == "bpe":  # the leading space is part of a later word's first token
        assert pieces.first["movie"] != pieces.later["movie"]
    _check_equivalence(tokenizer, texts, synonyms, draws=1)


def test_a_tokenizer_that_is_not_word_by_word_falls_back_to_strings_with_one_warning(texts):
    tokenizer = _train("chunks", texts)
    assert check_tokenizer(tokenizer) is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert token_pipeline(_Classifier(tokenizer)) is None
    assert len(caught) == 1 and "tokenizing every draw as a string" in str(caught[0].message)


def test_an_example_that_is_not_exact_is_tokenized_as_a_string(wordpiece, synonyms):
    pieces = WordPieces(wordpiece)
    pieces.later["movie"] = pieces.encode(["film"])[0]  # poison the cache: "movie" would be wrong
    text = "a good movie"
    src = pieces.source(text)
    assert not src.exact and pieces.fallback_examples == 1
    p = build("delete:p=0.5", "text")
    keys = [draw_key(stream_prefix(0, 0, p.spec.canonical), k) for k in range(1, 30)]
    for d in pieces.draws(p, [text] * len(keys), keys):
        assert np.frombuffer(d.ids, dtype=np.int32).tolist() == wordpiece(d.text, add_special_tokens=False)["input_ids"]


def test_token_level_and_string_level_runs_agree(shared, synonyms):
    """The same eval plan, token level or strings: identical records (flipped texts included)."""
    from textrobust.core.driver import execute
    from textrobust.core.options import DataOptions, RunOptions
    from textrobust.evaluation import eval_plan, text_perturbations
    from textrobust.text.data import load_text_examples
    from textrobust.text.model import text_classifier

    data = load_text_examples(str(shared / "data/sst2"), limit=12)
    clf = text_classifier(str(shared / "models/minilm-l6-sst2"), dataset_label_names=data.label_names, device="cpu")
    perturbations = text_perturbations(["delete:p=0.3", "typo:p=0.3", "synonym:p=0.5,constrained=0"], synonyms)
    records = []
    for token_level in (True, False):
        plan = eval_plan(
            clf, data, perturbations, DataOptions(), max_steps=30, seed=0, batch_size=16, token_level=token_level
        )
        records.append(execute(lambda group, plan=plan: plan, lambda result: result.records, RunOptions(batch_size=16)))
    assert records[0] == records[1]
    assert any(t for r in records[0] for t in r["flipped_text"].values())  # some flips, stored as text
    assert all(isinstance(t, str) for r in records[0] for t in r["flipped_text"].values() if t is not None)


def test_certify_token_level_batches_equal_classify_token_ids(shared, texts):
    """``certify --level token`` classifies id sequences through TokenInputs: same labels as
    the tokenizer-padded ``classify_token_ids``, on a real model."""
    from textrobust.text.model import text_classifier

    clf = text_classifier(str(shared / "models/minilm-l6-sst2"), device="cpu")
    inputs = TokenInputs(clf)
    seqs = [clf.tokenizer(t, add_special_tokens=False)["input_ids"][:: 1 + i % 3] for i, t in enumerate(texts[:40])]
    assert np.array_equal(inputs.classify_ids(seqs), clf.classify_token_ids(seqs))
