"""The Python API: model and dataset objects in, a typed report out."""

import json

import datasets
import pytest

import textrobust


def test_evaluate_with_objects_returns_a_typed_report(tiny_model):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    model.train()  # the API must leave a model object as it found it
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    data = datasets.Dataset.from_dict(
        {
            "text": ["good movie", "bad plot", "very fun film", "awful boring story", "the best actor"],
            "label": [1, 0, 1, 0, 1],
        }
    )
    report = textrobust.evaluate(
        model, tokenizer, data, ["delete:p=0.5", "swap:p=0.5"], max_steps=8, seed=3, batch_size=2
    )
    assert isinstance(report, textrobust.EvalReport)
    assert report.n_examples == 5 and [p.spec for p in report.perturbations] == ["delete:p=0.5", "swap:p=0.5"]
    assert report["delete:p=0.5"].rpr.max_steps == 8
    j = report.to_json()
    assert j["perturbations"][1]["spec"] == "swap:p=0.5" and len(j["perturbations"][0]["rpr"]["survival"]) == 8
    assert model.training
    again = textrobust.evaluate(
        model, tokenizer, data, ["delete:p=0.5", "swap:p=0.5"], max_steps=8, seed=3, batch_size=5
    )
    assert again.to_json()["perturbations"] == j["perturbations"]


def test_api_raises_user_errors():
    with pytest.raises(textrobust.UserError, match="max-steps"):
        textrobust.evaluate("x", dataset="y", max_steps=0)


def test_report_html_of_an_in_memory_dataset_shows_word_diffs_without_reading_it_again(
    keyword_model, tmp_path, recwarn
):
    """An eval of a ``Dataset`` object writes report.html with word diffs against the original
    texts it had at hand (nothing on disk or the Hub names that data, so reading it again could
    only fail or find another dataset); the report rebuilt later from the directory says it
    cannot show them."""
    from textrobust.cli import main

    texts = ["good fun movie", "bad dull plot", "a great film", "awful boring story", "nice happy actor"]
    data = datasets.Dataset.from_dict({"text": texts, "label": [1, 0, 1, 0, 1]})
    out = tmp_path / "out"
    report = textrobust.evaluate(
        str(keyword_model), dataset=data, perturbations=["delete:p=0.5"], max_steps=10, output_dir=out
    )
    assert not [w for w in recwarn if "original texts unavailable" in str(w.message)]
    assert report.to_json() == json.loads((out / "report.json").read_text())  # source_texts are not written
    page = (out / "report.html").read_text()
    flipped = [r for r in report.records if r["first_flip"]["delete:p=0.5"]]
    assert flipped and "<del>" in page and "could not be read again" not in page
    assert main(["report", str(out)]) == 0  # from the directory alone: the data cannot be read again
    assert "could not be read again" in (out / "report.html").read_text()
