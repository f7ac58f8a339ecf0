"""Aggregates of RPR runs and the typed report that ``eval`` returns and writes.

Everything here is computed from per-example records (the lines of ``examples.jsonl``), so a
resumed run reports exactly what an uninterrupted one would.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from textrobust.core.jsonable import attributes
from textrobust.core.stats import PairedDelta, Rate, paired_delta, rate


@dataclass(frozen=True)
class RPRStats:
    """RPR aggregates of one perturbation over a set of examples.

    ``survival[s-1]`` is the fraction of examples not flipped after ``s`` draws (clean
    mistakes count as flipped at step 0), so ``survival[-1]`` is the robust ratio.
    ``mean_first_flip`` / ``median_first_flip`` are over the ``n_flipped`` examples that
    were classified right and then flipped.
    """

    max_steps: int
    robust: Rate
    robust_clean_correct: Rate
    mean_first_flip: float | None
    median_first_flip: float | None
    n_flipped: int
    survival: list[float]
    per_class: dict[str, Rate]

    def to_json(self) -> dict:
        return {
            "max_steps": self.max_steps,
            "n": self.robust.n,
            **_rate_fields("robust_ratio", self.robust),
            **_rate_fields("robust_ratio_clean_correct", self.robust_clean_correct),
            "n_clean_correct": self.robust_clean_correct.n,
            "mean_first_flip": self.mean_first_flip,
            "median_first_flip": self.median_first_flip,
            "n_flipped": self.n_flipped,
            "survival": self.survival,
            "per_class": {name: r.value for name, r in self.per_class.items()},
            "per_class_n": {name: r.n for name, r in self.per_class.items()},
            "per_class_ci95": {name: _ci(r) for name, r in self.per_class.items()},
        }


def _ci(r: Rate) -> list[float] | None:
    return list(r.ci) if r.ci is not None else None


def _rate_fields(name: str, r: Rate) -> dict[str, Any]:
    """``name`` (the rate's value) and ``name_ci95``, as ``report.json`` gives a rate."""
    return {name: r.value, f"{name}_ci95": _ci(r)}


def find_spec(results: Sequence[Any], spec: str) -> Any:
    """The one of ``results`` (per-perturbation results, each with a ``spec``) for ``spec``;
    :class:`KeyError` when there is none."""
    for result in results:
        if result.spec == spec:
            return result
    raise KeyError(spec)


def rpr_stats(
    first_flips: Sequence[int | None], labels: Sequence[int], max_steps: int, label_names: Sequence[str] | None = None
) -> RPRStats:
    """RPR aggregates from per-example ``first_flip`` values (see :mod:`textrobust.core.rpr`)."""
    n = len(first_flips)
    robust_mask = np.array([f is None for f in first_flips], dtype=bool)
    # a robust example survives every step: code it as max_steps + 1
    steps = np.array([max_steps + 1 if f is None else int(f) for f in first_flips], dtype=np.int64)
    clean_right = steps > 0
    flipped = [int(f) for f in first_flips if f is not None and f > 0]
    # survival[s-1] = #(steps > s) / n for s = 1..max_steps
    counts = np.bincount(np.minimum(steps, max_steps + 1), minlength=max_steps + 2)
    alive_after = n - np.cumsum(counts)[1 : max_steps + 1]
    survival = (alive_after / n).tolist() if n else [0.0] * max_steps
    per_class: dict[str, Rate] = {}
    labels_arr = np.asarray(labels, dtype=np.int64)
    for c in sorted(set(labels_arr.tolist())):
        mask = labels_arr == c
        name = label_names[c] if label_names is not None and 0 <= c < len(label_names) else str(c)
        per_class[name] = rate(int(robust_mask[mask].sum()), int(mask.sum()))
    return RPRStats(
        max_steps=max_steps,
        robust=rate(int(robust_mask.sum()), n),
        robust_clean_correct=rate(int(robust_mask.sum()), int(clean_right.sum())),
        mean_first_flip=float(np.mean(flipped)) if flipped else None,
        median_first_flip=float(statistics.median(flipped)) if flipped else None,
        n_flipped=len(flipped),
        survival=survival,
        per_class=per_class,
    )


@dataclass(frozen=True)
class PerturbationResult:
    """Perturbed accuracy (on draw 1), its paired delta to clean accuracy, and RPR."""

    spec: str
    accuracy: Rate
    delta: PairedDelta
    rpr: RPRStats

    def to_json(self) -> dict:
        return {
            "spec": self.spec,
            "n": self.accuracy.n,
            **_rate_fields("accuracy", self.accuracy),
            "delta": self.delta.value,
            "delta_ci95": list(self.delta.ci) if self.delta.ci else None,
            "rpr": self.rpr.to_json(),
        }


@dataclass
class EvalReport:
    """The result of an RPR evaluation; ``to_json()`` is what ``report.json`` holds."""

    model: str
    dataset: str
    split: str | None
    seed: int
    max_steps: int
    n_examples: int
    clean_accuracy: Rate
    perturbations: list[PerturbationResult]
    model_calls: int
    seconds: float
    label_names: list[str] | None = None
    resumed_examples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list, repr=False)  # per example, as in examples.jsonl
    # the original inputs by example index, where the run has them at hand (for the word diffs of
    # report.html, which otherwise reads the dataset again); never written to report.json
    source_texts: dict | None = field(default=None, repr=False, compare=False)

    def fragile(self, spec: str, count: int = 10) -> list[dict]:
        """The ``count`` clean-right examples that flipped soonest under ``spec``."""
        flipped = [r for r in self.records if (r["first_flip"].get(spec) or 0) > 0]
        return sorted(flipped, key=lambda r: r["first_flip"][spec])[:count]

    def __getitem__(self, spec: str) -> PerturbationResult:
        return find_spec(self.perturbations, spec)

    def to_json(self) -> dict:
        return {
            **attributes(self, "model", "dataset", "split", "seed", "max_steps", "n_examples"),
            "label_names": self.label_names,  # label id i is label_names[i] (null: the data names none)
            **_rate_fields("clean_accuracy", self.clean_accuracy),
            "perturbations": [p.to_json() for p in self.perturbations],
            "model_calls": self.model_calls,
            "seconds": self.seconds,
            "resumed_examples": self.resumed_examples,
            **self.extra,
        }


def build_eval_report(
    records: Sequence[Mapping[str, Any]],
    specs: Sequence[str],
    max_steps: int,
    *,
    model: str,
    dataset: str,
    split: str | None,
    seed: int,
    model_calls: int,
    seconds: float,
    label_names: Sequence[str] | None = None,
    resumed_examples: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> EvalReport:
    """The report of a run from its per-example records (see ``RPRJob.record``)."""
    labels = [int(r["label"]) for r in records]
    clean_ok = [r["clean_prediction"] == r["label"] for r in records]
    results = []
    for spec in specs:
        draw1_ok = [r["draw1_prediction"][spec] == r["label"] for r in records]
        results.append(
            PerturbationResult(
                spec=spec,
                accuracy=rate(sum(draw1_ok), len(records)),
                delta=paired_delta(clean_ok, draw1_ok),
                rpr=rpr_stats([r["first_flip"][spec] for r in records], labels, max_steps, label_names),
            )
        )
    return EvalReport(
        model=model,
        dataset=dataset,
        split=split,
        seed=seed,
        max_steps=max_steps,
        n_examples=len(records),
        clean_accuracy=rate(sum(clean_ok), len(records)),
        perturbations=results,
        model_calls=model_calls,
        seconds=seconds,
        label_names=list(label_names) if label_names is not None else None,
        resumed_examples=resumed_examples,
        extra=dict(extra or {}),
        records=list(records),
    )
