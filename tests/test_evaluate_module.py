"""The robustness score as an offline `evaluate` module."""

import evaluate
import pytest

from textrobust.core.stats import paired_delta
from textrobust.metrics import robustness_score_path


def test_evaluate_loads_the_module_offline_and_computes_the_delta():
    metric = evaluate.load(robustness_score_path())
    refs = [1, 0, 1, 1, 0, 1, 0, 0]
    clean = [1, 0, 1, 1, 0, 0, 0, 0]
    pert = [1, 1, 0, 1, 0, 0, 0, 1]
    out = metric.compute(predictions=clean, references=refs, perturbed_predictions=pert)
    assert out["n"] == 8 and out["accuracy"] == 7 / 8 and out["perturbed_accuracy"] == 4 / 8
    assert out["delta"] == pytest.approx(3 / 8)
    expected = paired_delta([c == r for c, r in zip(clean, refs)], [p == r for p, r in zip(pert, refs)])
    assert out["delta_ci95"] == pytest.approx(list(expected.ci))


def test_evaluate_module_adds_rpr_with_first_flips():
    metric = evaluate.load(robustness_score_path())
    out = metric.compute(
        predictions=[1, 0, 1],
        references=[1, 0, 0],
        perturbed_predictions=[1, 0, 1],
        first_flips=[None, 3, 0],
        max_steps=10,
    )
    assert out["robust_ratio"] == pytest.approx(1 / 3) and out["robust_ratio_clean_correct"] == 0.5
    assert out["mean_first_flip"] == 3
