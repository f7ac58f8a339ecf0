"""Robustness score: clean vs perturbed accuracy and, optionally, the RPR robust ratio.

Load it offline with ``evaluate.load(textrobust.metrics.robustness_score_path())``.
"""

import datasets
import evaluate

from textrobust.core.report import rpr_stats
from textrobust.core.stats import paired_delta, rate

_DESCRIPTION = """Accuracy on clean inputs, accuracy on perturbed inputs, and their paired difference
(delta = clean - perturbed) with a Tango score 95% interval; with `first_flips` and `max_steps`,
also the RPR robust ratio (Ilie et al. 2020) with a Clopper-Pearson 95% interval."""

_KWARGS = """
Args:
    predictions: predicted labels on the clean inputs.
    references: true labels.
    perturbed_predictions: predicted labels on one perturbed copy of each input.
    first_flips (optional): per example, the first misclassified draw (0 = clean mistake, None = robust).
    max_steps (optional): draws per example in the RPR search (needed with first_flips).
Returns:
    accuracy, accuracy_ci95, perturbed_accuracy, perturbed_accuracy_ci95, delta, delta_ci95, n
    and, with first_flips, robust_ratio, robust_ratio_ci95, robust_ratio_clean_correct, mean_first_flip.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class RobustnessScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Ilie, Popescu & Stefanescu (2020). Robustness as Inherent Property of Datapoints.",
            inputs_description=_KWARGS,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("int64"),
                    "references": datasets.Value("int64"),
                    "perturbed_predictions": datasets.Value("int64"),
                }
            ),
        )

    def _compute(self, predictions, references, perturbed_predictions, first_flips=None, max_steps=None):
        clean = [p == r for p, r in zip(predictions, references)]
        perturbed = [p == r for p, r in zip(perturbed_predictions, references)]
        acc, pacc, delta = (
            rate(sum(clean), len(clean)),
            rate(sum(perturbed), len(perturbed)),
            paired_delta(clean, perturbed),
        )
        out = {
            "n": len(clean),
            "accuracy": acc.value,
            "accuracy_ci95": list(acc.ci) if acc.ci else None,
            "perturbed_accuracy": pacc.value,
            "perturbed_accuracy_ci95": list(pacc.ci) if pacc.ci else None,
            "delta": delta.value,
            "delta_ci95": list(delta.ci) if delta.ci else None,
        }
        if first_flips is not None:
            if max_steps is None:
                raise ValueError("max_steps is needed with first_flips")
            s = rpr_stats(first_flips, references, int(max_steps))
            out.update(
                robust_ratio=s.robust.value,
                robust_ratio_ci95=list(s.robust.ci) if s.robust.ci else None,
                robust_ratio_clean_correct=s.robust_clean_correct.value,
                mean_first_flip=s.mean_first_flip,
            )
        return out
