"""Aggregates of a certification run and the typed report ``certify`` returns and writes.

Computed from the per-example records alone (the lines of ``examples.jsonl``), so a resumed run
reports exactly what an uninterrupted one would.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from textrobust.core.stats import Rate, rate


def certified_correct(record: Mapping[str, Any], r: float) -> bool:
    """Whether the example is predicted correctly with a certified radius (Levenshtein, or L2 for
    images) of at least ``r``."""
    return record["prediction"] is not None and record["prediction"] == record["label"] and record["radius"] >= r


def median_radius(records: Sequence[Mapping[str, Any]]) -> float | None:
    """Median certified radius, counting wrong and abstained predictions as ``-1`` (CERT-ED's
    convention), so it is at least ``r`` exactly when half the examples are certified at ``r``."""
    if not records:
        return None
    return float(statistics.median(r["radius"] if certified_correct(r, 0) else -1 for r in records))


class CertifiedRun:
    """What every certification report (a dataclass with these fields) holds and derives: clean
    accuracy over all examples, certified accuracy per radius, the median radius, model calls."""

    clean_accuracy: Rate
    certified: Mapping[Any, Rate]
    median_radius: float | None
    model_calls: int

    @property
    def n_examples(self) -> int:
        return self.clean_accuracy.n

    @property
    def calls_per_example(self) -> float | None:
        return self.model_calls / self.n_examples if self.n_examples else None


@dataclass(frozen=True)
class CertifyReport(CertifiedRun):
    """Certified accuracy of a smoothed classifier; :meth:`to_json` is ``report.json``."""

    model: str
    dataset: str
    split: str | None
    procedure: str
    level: str
    p_del: float
    alpha: float
    n0: int
    n: int
    seed: int
    cap: int
    clean_accuracy: Rate
    smoothed_accuracy: Rate
    abstain: Rate
    certified: dict[int, Rate]
    median_radius: float | None
    exact_examples: int
    model_calls: int
    seconds: float
    resumed_examples: int = 0
    processes: int = 1  # processes the examples were split over

    def to_json(self) -> dict:
        ci = lambda r: list(r.ci) if r.ci else None  # noqa: E731
        return {
            "p_del": self.p_del,
            "alpha": self.alpha,
            "n0": self.n0,
            "n": self.n,
            "n_examples": self.n_examples,
            "clean_accuracy": self.clean_accuracy.value,
            "smoothed_accuracy": self.smoothed_accuracy.value,
            "abstain_rate": self.abstain.value,
            "certified_accuracy": {str(r): v.value for r, v in self.certified.items()},
            "median_radius": self.median_radius,
            "model_calls": self.model_calls,
            "seconds": self.seconds,
            "model": self.model,
            "dataset": self.dataset,
            "split": self.split,
            "procedure": self.procedure,
            "level": self.level,
            "seed": self.seed,
            "radius_cap": self.cap,
            "model_calls_per_example": self.calls_per_example,
            "exact_examples": self.exact_examples,
            "resumed_examples": self.resumed_examples,
            "processes": self.processes,
            "clean_accuracy_ci95": ci(self.clean_accuracy),
            "smoothed_accuracy_ci95": ci(self.smoothed_accuracy),
            "abstain_rate_ci95": ci(self.abstain),
            "certified_accuracy_ci95": {str(r): ci(v) for r, v in self.certified.items()},
        }


def build_certify_report(
    records: Sequence[Mapping[str, Any]], *, cap: int, seconds: float, **fields: Any
) -> CertifyReport:
    """The report of ``records``; ``fields`` are the run's settings (model, dataset, p_del, ...).
    Certified accuracy is given for every radius ``0..cap``."""
    n = len(records)
    count = lambda pred: sum(1 for r in records if pred(r))  # noqa: E731
    return CertifyReport(
        cap=cap,
        clean_accuracy=rate(count(lambda r: r["clean_prediction"] == r["label"]), n),
        smoothed_accuracy=rate(count(lambda r: certified_correct(r, 0)), n),
        abstain=rate(count(lambda r: r["prediction"] is None), n),
        certified={k: rate(count(lambda r, k=k: certified_correct(r, k)), n) for k in range(cap + 1)},
        median_radius=median_radius(records),
        exact_examples=count(lambda r: r["exact"]),
        model_calls=sum(int(r["model_calls"]) for r in records),
        seconds=seconds,
        **fields,
    )
