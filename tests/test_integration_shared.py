"""One integration test on the real fine-tuned model from ../shared."""

import json

from textrobust.cli import main


def test_shared_model_clean_accuracy_matches_its_readme(shared, tmp_path, monkeypatch):
    # models/README.md: minilm-l6-sst2 has SST-2 validation accuracy 0.8922 (on all 872 sentences)
    # no sentence encoder: the report's similarities are left out (encoding every draw of 872
    # sentences would dominate the test); unconstrained synonyms need none
    monkeypatch.setenv("TEXTROBUST_ENCODER", str(shared / "no-such-encoder"))
    code = main(
        [
            "eval",
            "--model",
            str(shared / "models/minilm-l6-sst2"),
            "--dataset",
            str(shared / "data/sst2"),
            "--perturb",
            "delete:p=0.1",
            "--perturb",
            "synonym:p=0.2,constrained=0",
            "--max-steps",
            "1",
            "--batch-size",
            "128",
            "--synonyms",
            str(shared / "data/wordnet/oewn_synonyms.json"),
            "--output",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_examples"] == 872 and report["split"] == "validation"
    assert round(report["clean_accuracy"], 4) == 0.8922
    for p in report["perturbations"]:
        assert 0.5 < p["accuracy"] <= report["clean_accuracy"] + 0.05
        lo, hi = p["delta_ci95"]
        assert lo <= p["delta"] <= hi
    # draws that delete nothing (or replace nothing) reuse the clean forward pass
    assert report["model_calls"] < 872 * 3
    assert report["validity"]["similarity_unavailable"]  # said, not silently missing
