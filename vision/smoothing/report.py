"""The report of a Gaussian-smoothing certification run, computed from the per-image records alone
(the lines of ``examples.jsonl``), so a resumed run reports exactly what an uninterrupted one would;
and its files: ``report.json``, ``report.md``, ``certified_accuracy.png``."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textrobust.certification.outputs import certified_rows
from textrobust.certification.report import CertifiedRun, certified_correct
from textrobust.core.outputs import fmt_rate
from textrobust.core.stats import Rate, rate


@dataclass(frozen=True)
class SmoothingReport(CertifiedRun):
    """Certified accuracy of a Gaussian-smoothed image classifier; :meth:`to_json` is ``report.json``."""

    model: str
    denoiser: str | None
    dataset: str
    split: str | None
    procedure: str
    sigma: float
    alpha: float
    n0: int
    n: int
    seed: int
    grid: tuple[float, ...]
    clean_accuracy: Rate
    abstain: Rate
    certified: dict[float, Rate]
    median_radius: float | None
    model_calls: int
    seconds: float
    resumed_examples: int = 0
    processes: int = 1
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        ci = lambda r: list(r.ci) if r.ci else None
        return {
            "task": "vision-certify",
            "model": self.model,
            "denoiser": self.denoiser,
            "dataset": self.dataset,
            "split": self.split,
            "procedure": self.procedure,
            "sigma": self.sigma,
            "alpha": self.alpha,
            "n0": self.n0,
            "n": self.n,
            "seed": self.seed,
            "n_examples": self.n_examples,
            "radius_grid": list(self.grid),
            "clean_accuracy": self.clean_accuracy.value,
            "clean_accuracy_ci95": ci(self.clean_accuracy),
            "abstain_rate": self.abstain.value,
            "abstain_rate_ci95": ci(self.abstain),
            "certified_accuracy": {f"{r:g}": v.value for r, v in self.certified.items()},
            "certified_accuracy_ci95": {f"{r:g}": ci(v) for r, v in self.certified.items()},
            "certified_count": {f"{r:g}": v.k for r, v in self.certified.items()},
            "median_radius": self.median_radius,
            "model_calls": self.model_calls,
            "model_calls_per_example": self.calls_per_example,
            "seconds": self.seconds,
            "resumed_examples": self.resumed_examples,
            "processes": self.processes,
            "settings": self.settings,
        }


def build_smoothing_report(
    records: Sequence[Mapping[str, Any]], *, grid: Sequence[float], seconds: float, **fields: Any
) -> SmoothingReport:
    """The report of ``records``: certified accuracy (with Clopper-Pearson 95% intervals and n) at
    every radius of ``grid``; ``fields`` are the run's settings. The median radius counts wrong
    and abstained images as -1 (so it is at least r exactly when half the images are certified at r)."""
    n = len(records)
    count = lambda pred: sum(1 for r in records if pred(r))
    radii = [r["radius"] if certified_correct(r, 0.0) else -1.0 for r in records]
    return SmoothingReport(
        grid=tuple(grid),
        clean_accuracy=rate(count(lambda r: r["clean_prediction"] == r["label"]), n),
        abstain=rate(count(lambda r: r["prediction"] is None), n),
        certified={g: rate(sum(1 for r in records if certified_correct(r, g)), n) for g in grid},
        median_radius=float(statistics.median(radii)) if radii else None,
        model_calls=sum(int(r["model_calls"]) for r in records),
        seconds=seconds,
        **fields,
    )


def summary_rows(report: SmoothingReport) -> list[tuple[str, str]]:
    """(metric, value) rows for the terminal and report.md."""
    rows = [
        ("images", str(report.n_examples)),
        ("clean accuracy (base classifier)", fmt_rate(report.clean_accuracy.value, report.clean_accuracy.ci)),
        ("abstain rate", fmt_rate(report.abstain.value, report.abstain.ci)),
    ]
    return rows + certified_rows(report, radius="L2 radius", radius_format="g", median_format=".4f", per="image")


def plot_curves(curves: Mapping[str, Mapping[float, Rate]], path: str | Path, *, title: str = "") -> Path:
    """Certified accuracy against the L2 radius, a step curve with 95% intervals per curve."""
    from textrobust.core.plots import plot_certified_accuracy

    return plot_certified_accuracy(curves, path, title=title, xlabel="L2 radius r ([0, 1] pixel scale)")


def write_smoothing_outputs(report: SmoothingReport, directory: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``certified_accuracy.png``; return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.json": out / "report.json", "report.md": out / "report.md"}
    paths["report.json"].write_text(json.dumps(report.to_json(), indent=2) + "\n")
    lines = [
        f"# Gaussian smoothing: {report.model}" + (f" with denoiser {report.denoiser}" if report.denoiser else ""),
        "",
        (
            f"{report.dataset} ({report.split}), sigma = {report.sigma:g}, alpha = {report.alpha:g}, procedure {report.procedure} "
            f"(n0 = {report.n0}, n = {report.n}), seed {report.seed}. Intervals: Clopper-Pearson 95%."
        ),
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary_rows(report)],
        "",
    ]
    paths["report.md"].write_text("\n".join(lines))
    label = f"{report.procedure}, sigma = {report.sigma:g}, alpha = {report.alpha:g}"
    paths["certified_accuracy.png"] = plot_curves(
        {label: report.certified}, out / "certified_accuracy.png", title=f"{report.model} (n = {report.n_examples})"
    )
    return paths
