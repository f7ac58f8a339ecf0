"""The Python API: model and dataset objects in, a typed report out."""

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
