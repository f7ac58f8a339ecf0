"""Writing an :class:`~textrobust.core.report.EvalReport`: report.json, report.md, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

from textrobust.core.plots import plot_per_class, plot_survival
from textrobust.core.report import EvalReport
from textrobust.core.stats import Rate
from textrobust.core.validity_markdown import validity_markdown


def fmt_rate(value: float | None, ci: tuple[float, float] | list[float] | None, digits: int = 4) -> str:
    """``0.8922 [0.8700, 0.9115]`` (display only; the JSON keeps full precision)."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return text + (f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else "")


def fmt_signed(value: float | None, ci, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" + (f" [{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]" if ci else "")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: ``header``, the separator, one line per row."""
    row = lambda cells: "| " + " | ".join(cells) + " |"
    return [row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)]


def summary_rows(report: EvalReport) -> list[list[str]]:
    """One row per perturbation: spec, accuracy, delta, robust ratio, robust | clean-right, mean first flip."""
    rows = []
    for p in report.perturbations:
        r = p.rpr
        rows.append(
            [
                p.spec,
                fmt_rate(p.accuracy.value, p.accuracy.ci),
                fmt_signed(p.delta.value, p.delta.ci),
                fmt_rate(r.robust.value, r.robust.ci),
                fmt_rate(r.robust_clean_correct.value, r.robust_clean_correct.ci),
                "n/a" if r.mean_first_flip is None else f"{r.mean_first_flip:.2f} (n={r.n_flipped})",
            ]
        )
    return rows


SUMMARY_HEADER = [
    "perturbation",
    "accuracy [95% CI]",
    "delta = clean - perturbed",
    "robust ratio",
    "robust (clean right)",
    "mean first flip",
]


def to_markdown(report: EvalReport, figures: dict[str, str]) -> str:
    """A human-readable report with the summary table, per-class table and figures."""
    lines = [
        f"# Robustness report: {report.model}",
        "",
        f"- dataset: `{report.dataset}` split `{report.split}`, n = {report.n_examples}",
        f"- seed {report.seed}, max_steps {report.max_steps}, model calls {report.model_calls}, {report.seconds:.1f} s"
        + (f" ({report.resumed_examples} examples resumed from an earlier run)" if report.resumed_examples else ""),
        f"- clean accuracy: {fmt_rate(report.clean_accuracy.value, report.clean_accuracy.ci)} "
        f"({report.clean_accuracy.k}/{report.clean_accuracy.n})",
        "",
        "Perturbed accuracy is measured on each example's first draw; delta is clean minus perturbed accuracy "
        "with a paired (Tango score) 95% interval; robust ratio is the fraction of examples that no draw flipped "
        "(clean mistakes count as not robust), with Clopper-Pearson 95% intervals.",
        "",
        *markdown_table(SUMMARY_HEADER, summary_rows(report)),
    ]
    if report.perturbations:
        classes = list(report.perturbations[0].rpr.per_class)
        lines += [
            "",
            "## Robust ratio per class",
            "",
            "| perturbation | " + " | ".join(classes) + " |",
            "|---|" + "---|" * len(classes),
        ]
        for p in report.perturbations:
            cells = [f"{fmt_rate(r.value, r.ci, 3)} (n={r.n})" for r in p.rpr.per_class.values()]
            lines.append(f"| {p.spec} | " + " | ".join(cells) + " |")
    if report.extra.get("validity"):
        lines += validity_markdown(report.extra["validity"])
    for title, name in figures.items():
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    return "\n".join(lines) + "\n"


def write_eval_outputs(report: EvalReport, directory: str | Path) -> dict[str, Path]:
    """Write report.json, report.md, survival.png and per_class.png; return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.json": out / "report.json"}
    paths["report.json"].write_text(json.dumps(report.to_json(), indent=2) + "\n")
    figures = {}
    if report.perturbations:
        curves = {p.spec: p.rpr.survival for p in report.perturbations}
        paths["survival.png"] = plot_survival(
            curves, out / "survival.png", title="RPR survival", n=report.n_examples, clean=report.clean_accuracy.value
        )
        groups: dict[str, dict[str, Rate]] = {p.spec: p.rpr.per_class for p in report.perturbations}
        paths["per_class.png"] = plot_per_class(groups, out / "per_class.png", title="Robust ratio per class")
        figures = {"Survival curves": "survival.png", "Robust ratio per class": "per_class.png"}
    paths["report.md"] = out / "report.md"
    paths["report.md"].write_text(to_markdown(report, figures))
    return paths
