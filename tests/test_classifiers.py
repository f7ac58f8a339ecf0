"""Classifiers of any kind through textrobust.evaluate and the CLI: scikit-learn pipelines,
plain callables, transformers pipelines, python:<module>:<function>, prompted causal LMs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import eval_argv, torchrun_command

import textrobust
from textrobust.classifiers import ModelOptions
from textrobust.classifiers.labels import label_map
from textrobust.classifiers.options import parse_labels, parse_prompt
from textrobust.classifiers.prompted import prompted_classifier
from textrobust.classifiers.resolve import resolve_classifier
from textrobust.cli import main
from textrobust.errors import TextrobustWarning, UserError
from textrobust.text.data import load_text_examples

SPECS = ["delete:p=0.1", "typo:p=0.05"]


@pytest.fixture(scope="module")
def sst2(shared) -> str:
    return str(shared / "data/sst2")


@pytest.fixture(scope="module")
def minilm_dir(shared):
    return shared / "models/minilm-l6-sst2"


@pytest.fixture(scope="module")
def tfidf(sst2):
    """TF-IDF + logistic regression trained here on 4000 SST-2 training sentences; its classes
    are label NAMES in an order unlike the dataset's (POSITIVE < negative), to exercise the mapping."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = load_text_examples(sst2, split="train", limit=4000, shuffle=True, seed=0)
    names = np.array(["negative", "POSITIVE"])[train.labels]
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2), LogisticRegression(max_iter=500)).fit(
        train.texts, names
    )


def first_flips(report) -> list:
    return [(r["index"], r["clean_prediction"], r["first_flip"]) for r in report.records]


def test_sklearn_pipeline_through_the_api_and_the_cli_with_skops(tfidf, sst2, tmp_path, capsys):
    import joblib
    import skops.io as sio

    assert list(tfidf.classes_) == ["POSITIVE", "negative"]
    report = textrobust.evaluate(tfidf, dataset=sst2, perturbations=SPECS, max_steps=15, limit=10)
    data = load_text_examples(sst2, limit=10)
    said = tfidf.predict(data.texts)
    assert [r["clean_prediction"] for r in report.records] == [1 if s == "POSITIVE" else 0 for s in said]
    assert report.clean_accuracy.k >= 6  # a real (if weak) sentiment model
    assert report.model == "sklearn:Pipeline"

    path = tmp_path / "tfidf.skops"
    sio.dump(tfidf, path)
    out = tmp_path / "out"
    code = main(eval_argv(f"sklearn:{path}", sst2, out, SPECS, limit=10, max_steps=15))
    assert code == 0, capsys.readouterr().err
    cli = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert [(r["index"], r["clean_prediction"], r["first_flip"]) for r in cli] == first_flips(report)
    assert json.loads((out / "run.json").read_text())["model"] == f"sklearn:{path}"

    pickled = tmp_path / "tfidf.joblib"
    joblib.dump(tfidf, pickled)
    args = [
        "eval",
        "--model",
        f"sklearn:{pickled}",
        "--dataset",
        sst2,
        "--limit",
        "3",
        "--max-steps",
        "2",
        "--no-progress",
        "--perturb",
        SPECS[0],
    ]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "runs arbitrary code" in err[0] and "--trust-pickle" in err[0]
    assert main(args + ["--trust-pickle"]) == 0


class SetFitStyle:
    """What a SetFit model offers (setfit.SetFitModel): ``predict`` answers a tensor of label ids,
    or label names when it has ``labels``; ``predict_proba`` a tensor; no ``classes_``."""

    def __init__(self, inner, labels=None) -> None:
        self.inner, self.labels = inner, labels

    def predict(self, texts):
        import torch

        ids = torch.tensor([1 if said == "POSITIVE" else 0 for said in self.inner.predict(texts)])
        return [self.labels[i] for i in ids.tolist()] if self.labels else ids

    def predict_proba(self, texts):
        import torch

        return torch.tensor(self.inner.predict_proba(texts)[:, ::-1].copy())


def test_setfit_style_models_tensors_of_ids_or_label_names(tfidf, sst2):
    kw = dict(dataset=sst2, perturbations=SPECS, max_steps=15, limit=10)
    reference = textrobust.evaluate(tfidf, **kw)
    assert first_flips(textrobust.evaluate(SetFitStyle(tfidf), **kw)) == first_flips(reference)
    named = SetFitStyle(tfidf, labels=["NEGATIVE", "Positive"])  # names matched to the dataset's
    assert first_flips(textrobust.evaluate(named, **kw)) == first_flips(reference)
    m = label_map(None, ["negative", "positive"])
    import torch

    assert m.convert(torch.tensor([1, 0, 1]), 3).tolist() == [1, 0, 1]  # an id tensor stays ids
    assert m.convert(torch.tensor([[0.2, 0.8]], dtype=torch.bfloat16), 1).tolist() == [1]


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return AutoModelForSequenceClassification.from_pretrained(minilm_dir).eval(), AutoTokenizer.from_pretrained(
        minilm_dir
    )


@pytest.fixture(scope="module")
def hf_reference(minilm_dir, sst2):
    return textrobust.evaluate(str(minilm_dir), dataset=sst2, perturbations=SPECS, max_steps=15, limit=8)


def test_a_plain_callable_equals_the_hugging_face_path(minilm, hf_reference, sst2, torch_single_thread):
    import torch

    model, tokenizer = minilm

    def logits(texts: list[str]):
        with torch.inference_mode():
            return model(**tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")).logits

    def names(texts: list[str]) -> list[str]:
        return [["NEGATIVE", "positive"][i] for i in logits(texts).argmax(-1).tolist()]

    kw = dict(dataset=sst2, perturbations=SPECS, max_steps=15, limit=8)
    by_scores = textrobust.evaluate(logits, labels=["negative", "positive"], **kw)
    assert first_flips(by_scores) == first_flips(hf_reference)
    assert by_scores.model.endswith("logits") and by_scores.n_examples == 8
    assert first_flips(textrobust.evaluate(names, **kw)) == first_flips(hf_reference)  # names matched to the dataset's
    ids = textrobust.evaluate(lambda texts: logits(texts).argmax(-1).tolist(), **kw)  # ids are dataset ids
    assert first_flips(ids) == first_flips(hf_reference)
    flipped = textrobust.evaluate(logits, labels=["positive", "negative"], **kw)  # a model whose label order differs
    assert [r["clean_prediction"] for r in flipped.records] == [1 - r["clean_prediction"] for r in hf_reference.records]


def test_a_transformers_pipeline_equals_the_hugging_face_path(minilm, hf_reference, sst2, torch_single_thread):
    from transformers import pipeline

    model, tokenizer = minilm
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    report = textrobust.evaluate(pipe, dataset=sst2, perturbations=SPECS, max_steps=15, limit=8)
    assert first_flips(report) == first_flips(hf_reference)
    assert report.model.startswith("pipeline:")


def test_python_module_function_from_the_cli(sst2, tmp_path, monkeypatch, capsys):
    (tmp_path / "keyword_clf.py").write_text(
        "GOOD = {'good', 'great', 'best', 'fun', 'charming', 'beautiful', 'moving'}\n"
        "def predict(texts):\n"
        "    return ['positive' if GOOD & set(t.lower().split()) else 'negative' for t in texts]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    code = main(eval_argv("python:keyword_clf:predict", sst2, out, SPECS[:1], limit=8, max_steps=10))
    assert code == 0, capsys.readouterr().err
    import keyword_clf

    data = load_text_examples(sst2, limit=8)
    expected = [1 if p == "positive" else 0 for p in keyword_clf.predict(data.texts)]
    got = [json.loads(line)["clean_prediction"] for line in (out / "examples.jsonl").read_text().splitlines()]
    assert got == expected and 0 in got and 1 in got
    assert (
        main(["eval", "--model", "python:no_such_module_xyz:f", "--dataset", sst2, "--limit", "2", "--no-progress"])
        == 2
    )
    assert "cannot import module 'no_such_module_xyz'" in capsys.readouterr().err


def test_label_rules_and_bad_outputs_are_one_line_errors(sst2):
    m = label_map(None, ["negative", "positive"])
    assert m.convert(["Positive", "NEGATIVE", "LABEL_1"], 3).tolist() == [1, 0, 1]
    assert m.convert(np.array([[0.1, 0.9], [2.0, -1.0]]), 2).tolist() == [1, 0]
    with pytest.raises(UserError, match="not one of"):
        m.convert(["neutral"], 1)
    with pytest.raises(UserError, match="3 scores per input"):
        m.convert(np.zeros((2, 3)), 2)
    with pytest.raises(UserError, match="2 predictions for 3 inputs"):
        m.convert([0, 1], 3)
    with pytest.raises(UserError, match="label id 5"):
        m.convert([5], 1)
    with pytest.raises(UserError, match="do not match"):
        label_map(["good", "bad"], ["negative", "positive"])
    assert parse_labels("neg=terrible,pos") == (("neg", "terrible"), ("pos", " pos"))
    assert parse_labels({"negative": " bad"}) == (("negative", " bad"),)
    with pytest.raises(UserError, match="twice"):
        parse_labels("a,A")
    with pytest.raises(UserError, match=r"\{text\}"):
        parse_prompt("Classify this review")
    with pytest.raises(UserError, match="cannot evaluate a int"):
        textrobust.evaluate(42, dataset=sst2, limit=2, perturbations=SPECS[:1], max_steps=2)


@pytest.fixture(scope="module")
def tiny_lm(minilm_dir):
    """A tiny random GPT-2 over the shared model's real WordPiece tokenizer (built offline)."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=2)
    return GPT2LMHeadModel(config).eval(), tokenizer


PROMPT = "Review: {text}\nSentiment:"
VERBAL = {"negative": " bad movie", "positive": " good"}  # verbalizers of different token lengths


def hand_logprob(model, tokenizer, text: str, verbalizer: str) -> float:
    """sum_j log p(v_j | prompt, v_<j), from one unpadded forward pass of that sequence alone."""
    import torch

    prompt = tokenizer(PROMPT.replace("{text}", text), add_special_tokens=False)["input_ids"]
    verbal = tokenizer(verbalizer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + verbal])
    with torch.no_grad():
        logp = model(ids).logits[0].double().log_softmax(-1)
    return sum(float(logp[len(prompt) + j - 1, tok]) for j, tok in enumerate(verbal))


def test_prompted_causal_lm_scores_match_a_hand_computation(tiny_lm, sst2, tmp_path, torch_single_thread):
    model, tokenizer = tiny_lm
    data = load_text_examples(sst2, limit=6)
    clf = prompted_classifier(model, tokenizer, PROMPT, tuple(VERBAL.items()), dataset_label_names=data.label_names)
    assert [len(v) for v in clf.verbalizers] == [2, 1]
    batched = clf.scores(data.texts)  # one left-padded forward pass for 6 texts x 2 labels
    hand = np.array([[hand_logprob(model, tokenizer, t, v) for v in VERBAL.values()] for t in data.texts])
    np.testing.assert_allclose(batched, hand, rtol=1e-4, atol=1e-4)
    assert clf(data.texts).tolist() == hand.argmax(axis=1).tolist() == [int(clf([t])[0]) for t in data.texts]

    out = tmp_path / "out"
    report = textrobust.evaluate(
        model, tokenizer, sst2, SPECS, prompt=PROMPT, labels=VERBAL, max_steps=5, limit=6, output_dir=out
    )
    assert [r["clean_prediction"] for r in report.records] == hand.argmax(axis=1).tolist()
    assert report.model.startswith("prompted:") and report.n_examples == 6
    run = json.loads((out / "run.json").read_text())
    assert run["prompt"] == PROMPT and run["labels"] == [list(p) for p in VERBAL.items()]
    with pytest.raises(UserError, match="prompt template"):
        textrobust.evaluate(model, tokenizer, sst2, SPECS, max_steps=2, limit=2)


def test_prompted_causal_lm_from_a_directory_via_the_cli(tiny_lm, sst2, tmp_path, capsys):
    model, tokenizer = tiny_lm
    model.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    (tmp_path / "prompt.txt").write_text(PROMPT)
    out = tmp_path / "out"
    prompt = ["--prompt", str(tmp_path / "prompt.txt"), "--labels", "negative= bad movie,positive= good"]
    code = main(eval_argv(tmp_path / "lm", sst2, out, SPECS[:1], limit=4, max_steps=3, extra=prompt))
    assert code == 0, capsys.readouterr().err
    data = load_text_examples(sst2, limit=4)
    hand = [int(np.argmax([hand_logprob(model, tokenizer, t, v) for v in VERBAL.values()])) for t in data.texts]
    assert [json.loads(line)["clean_prediction"] for line in (out / "examples.jsonl").read_text().splitlines()] == hand


def test_a_prompt_leaves_a_sequence_classifier_its_own_head_in_a_mixed_comparison(
    tiny_lm, minilm_dir, minilm, sst2, tmp_path, capsys
):
    """``eval --model CLASSIFIER --model CAUSAL_LM --prompt ...``: the prompt is for the causal LM;
    the sequence classifier (its config declares ...ForSequenceClassification) is evaluated with
    its own head, as alone (loading it as a causal LM would put a random LM head on it), and the
    ignored settings are named in a warning. The same for a classifier object."""
    model, tokenizer = tiny_lm
    model.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    prompt = ["--prompt", PROMPT, "--labels", "negative= bad movie,positive= good"]
    mixed, alone = tmp_path / "mixed", tmp_path / "alone"
    both = ["--model", str(tmp_path / "lm"), *prompt]
    assert main(eval_argv(minilm_dir, sst2, mixed, SPECS[:1], limit=4, max_steps=3, extra=both)) == 0
    err = capsys.readouterr().err
    assert "--prompt (prompt=) is ignored: a Hugging Face sequence classifier" in err
    assert main(eval_argv(minilm_dir, sst2, alone, SPECS[:1], limit=4, max_steps=3)) == 0
    a, b = (json.loads((mixed / name / "run.json").read_text())["model"] for name in ("minilm-l6-sst2", "lm"))
    assert a == str(minilm_dir) and b == f"prompted:{tmp_path / 'lm'}"
    assert (mixed / "minilm-l6-sst2" / "examples.jsonl").read_bytes() == (alone / "examples.jsonl").read_bytes()
    names = {"dataset_label_names": ["negative", "positive"]}
    with pytest.warns(TextrobustWarning, match=r"--prompt \(prompt=\) is ignored: a Hugging Face sequence"):
        assert resolve_classifier(minilm[0], minilm[1], options=ModelOptions(prompt=PROMPT), **names) is None


def test_settings_a_model_kind_does_not_use_are_ignored_with_a_warning(minilm_dir, recwarn):
    names = {"dataset_label_names": ["negative", "positive"]}
    o = ModelOptions(labels="negative,positive", prompt="{text}", trust_pickle=True)
    with pytest.warns(TextrobustWarning) as caught:
        clf = resolve_classifier(lambda texts: [0] * len(texts), None, options=o, **names)
    said = sorted(str(w.message) for w in caught)
    assert said == [
        "--prompt (prompt=) is ignored: a function does not use it",
        "--trust-pickle is ignored: a function does not use it",
    ]
    assert clf.labels.model_names == ["negative", "positive"]  # --labels is used
    with pytest.warns(TextrobustWarning, match=r"--labels \(labels=\) is ignored: a Hugging Face sequence classifier"):
        assert resolve_classifier(str(minilm_dir), None, options=ModelOptions(labels="a,b"), **names) is None
    recwarn.clear()
    resolve_classifier(str(minilm_dir), None, options=ModelOptions(), **names)
    assert not [w for w in recwarn if issubclass(w.category, TextrobustWarning)]


def test_prompted_causal_lm_under_torchrun_equals_one_process(tiny_lm, sst2, tmp_path):
    """Two CPU processes (torchrun, gloo) split the examples of a prompted causal LM's run; the
    main process writes the same examples.jsonl as one process."""
    import os
    import subprocess

    from conftest import ROOT

    model, tokenizer = tiny_lm
    model.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    prompt = ["--prompt", PROMPT, "--labels", "negative= bad movie,positive= good"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(eval_argv(tmp_path / "lm", sst2, one, SPECS, limit=6, max_steps=8, extra=prompt)) == 0
    command = torchrun_command(2)
    args = eval_argv(tmp_path / "lm", sst2, two, SPECS, limit=6, max_steps=8, extra=prompt)
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [*command, "-m", "textrobust", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (two / "examples.jsonl").read_bytes() == (one / "examples.jsonl").read_bytes()
    report = json.loads((two / "report.json").read_text())
    assert report["processes"] == 2 and report["model"].startswith("prompted:")
