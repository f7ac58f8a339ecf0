"""``textrobust certify`` end to end on the tiny model, the Python API, resume and bad inputs."""

from __future__ import annotations

import json

import pytest

import textrobust
from textrobust.cli import main

SMALL = ["--n0", "60", "--n", "240", "--no-progress"]
RECORD_KEYS = {"index", "label", "prediction", "p_lower", "p_upper_runner_up", "radius", "exact", "model_calls"}
REPORT_KEYS = {
    "p_del",
    "alpha",
    "n0",
    "n",
    "n_examples",
    "clean_accuracy",
    "smoothed_accuracy",
    "abstain_rate",
    "certified_accuracy",
    "median_radius",
    "model_calls",
    "seconds",
}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_writes_report_examples_and_plot(tiny_model, tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "certify",
            "--model",
            str(tiny_model),
            "--dataset",
            str(tiny_dataset),
            "--limit",
            "10",
            "--output",
            str(out),
            *SMALL,
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["n_examples"] == 10 and report["p_del"] == 0.9 and report["n0"] == 60 and report["n"] == 240
    assert list(report["certified_accuracy"]) == [str(r) for r in range(7)]  # 0..cap at p_del 0.9
    values = list(report["certified_accuracy"].values())
    assert values == sorted(values, reverse=True) and values[0] == report["smoothed_accuracy"]
    records = lines(out / "examples.jsonl")
    assert [r["index"] for r in records] == list(range(10))
    assert all(RECORD_KEYS <= set(r) for r in records)
    assert report["model_calls"] == sum(r["model_calls"] for r in records)
    for r in records:
        assert (r["prediction"] is None) == (r["radius"] is None)
        assert r["p_lower"] > r["p_upper_runner_up"] or r["prediction"] is None
        assert r["model_calls"] <= 1 + 256 + 300  # clean + enumeration budget + n0 + n draws
    assert any(r["exact"] for r in records) and (out / "certified_accuracy.png").stat().st_size > 1000
    shown = capsys.readouterr().out
    assert (
        "certified accuracy, radius >= 6" in shown and "median radius" in shown and "model calls per example" in shown
    )


def test_api_results_do_not_depend_on_batch_size_and_resume_loses_nothing(tiny_model, tiny_dataset, tmp_path):
    kwargs = dict(n0=60, n=240, limit=8)
    full = textrobust.certify(
        str(tiny_model), None, str(tiny_dataset), 0.9, batch_size=1, output_dir=tmp_path / "a", **kwargs
    )
    assert isinstance(full, textrobust.CertifyReport)
    expected = lines(tmp_path / "a" / "examples.jsonl")
    textrobust.certify(
        str(tiny_model), None, str(tiny_dataset), 0.9, batch_size=64, output_dir=tmp_path / "b", **kwargs
    )
    assert lines(tmp_path / "b" / "examples.jsonl") == expected
    # a run killed after three examples, mid-line
    killed = tmp_path / "b" / "examples.jsonl"
    text = killed.read_text().splitlines(keepends=True)
    killed.write_text("".join(text[:3]) + text[3][:20])
    resumed = textrobust.certify(
        str(tiny_model), None, str(tiny_dataset), 0.9, output_dir=tmp_path / "b", resume=True, **kwargs
    )
    assert lines(killed) == expected
    assert resumed.resumed_examples == 3
    assert resumed.to_json()["certified_accuracy"] == full.to_json()["certified_accuracy"]
    assert resumed.model_calls == full.model_calls
    with pytest.raises(textrobust.UserError, match="settings differ"):
        textrobust.certify(
            str(tiny_model), None, str(tiny_dataset), 0.8, output_dir=tmp_path / "b", resume=True, **kwargs
        )


def test_api_with_model_objects_token_level_and_reference(tiny_model, tiny_dataset):
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    data = datasets.load_dataset("csv", data_files=str(tiny_dataset))["train"].select(range(5))
    tokens = textrobust.certify(model, tokenizer, data, p_del=0.8, n0=40, n=160, level="token")
    assert tokens.level == "token" and tokens.n_examples == 5 and len(tokens.certified) == 4  # cap 3 at 0.8
    ref = textrobust.certify(model, tokenizer, data, p_del=0.8, n0=40, n=160, procedure="cert-ed")
    assert ref.model_calls == 5 * (1 + 40 + 160)
    fast = textrobust.certify(model, tokenizer, data, p_del=0.8, n0=40, n=160)
    assert fast.model_calls < ref.model_calls
    assert fast.clean_accuracy.value == ref.clean_accuracy.value


def test_token_ids_classify_like_the_text(shared):
    """--level token feeds token ids with the tokenizer's special tokens around them: the whole
    sequence must get the model's prediction for the text itself."""
    from textrobust.text.model import text_classifier

    clf = text_classifier(str(shared / "models" / "minilm-l6-sst2-del90"))
    texts = [
        "a gorgeous , witty , seductive movie .",
        "the plot is nothing but boilerplate clichés",
        "it 's a charming and often affecting journey .",
    ]
    ids = [clf.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert list(clf.classify_token_ids(ids)) == list(clf(texts))
    assert list(clf(texts)) == [1, 0, 1]
