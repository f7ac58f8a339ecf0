"""Files of a certification run: ``report.json``, ``certified_accuracy.png`` and the summary rows
that the terminal table and the README show."""

from __future__ import annotations

import json
from pathlib import Path

from textrobust.certify.report import CertifyReport
from textrobust.core.outputs import fmt_rate
from textrobust.core.plots import plot_certified_accuracy


def summary_rows(report: CertifyReport) -> list[tuple[str, str]]:
    """(metric, value) rows: accuracies with 95% intervals, certified accuracy per radius,
    median radius and model calls per example."""
    rows = [
        ("clean accuracy", fmt_rate(report.clean_accuracy.value, report.clean_accuracy.ci)),
        ("smoothed accuracy", fmt_rate(report.smoothed_accuracy.value, report.smoothed_accuracy.ci)),
        ("abstain rate", fmt_rate(report.abstain.value, report.abstain.ci)),
    ]
    rows += [(f"certified accuracy, radius >= {r}", fmt_rate(v.value, v.ci)) for r, v in report.certified.items()]
    rows.append(("median radius", "n/a" if report.median_radius is None else f"{report.median_radius:g}"))
    calls = report.calls_per_example
    rows.append(("model calls per example", "n/a" if calls is None else f"{calls:.1f}"))
    return rows


def write_certify_outputs(report: CertifyReport, directory: str | Path) -> dict[str, Path]:
    """Write ``report.json`` and ``certified_accuracy.png``; return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report.json": out / "report.json"}
    paths["report.json"].write_text(json.dumps(report.to_json(), indent=2) + "\n")
    label = f"{report.procedure}, p_del = {report.p_del:g}, alpha = {report.alpha:g}"
    paths["certified_accuracy.png"] = plot_certified_accuracy(
        {label: report.certified}, out / "certified_accuracy.png", title=f"{report.model} (n = {report.n_examples})"
    )
    if (out / "run.json").exists():  # a run directory: also the self-contained HTML report
        from textrobust.workflow.html import write_report_html

        paths["report.html"] = write_report_html(out)
    return paths
