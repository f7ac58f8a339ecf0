"""Files of a certification run: ``report.json``, ``certified_accuracy.png`` and the summary rows
that the terminal table and the README show."""

from __future__ import annotations

import json
from pathlib import Path

from textrobust.certification.report import CertifiedRun, CertifyReport
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
    return rows + certified_rows(report, radius="radius", radius_format="", median_format="g", per="example")


def certified_rows(
    report: CertifiedRun, *, radius: str, radius_format: str, median_format: str, per: str
) -> list[tuple[str, str]]:
    """The rows every certification summary ends with: certified accuracy at each radius of
    ``report.certified`` (``certified accuracy, {radius} >= r``, ``r`` in ``radius_format``), the
    median radius (in ``median_format``) and the model calls per ``per`` (example, image)."""
    rows = [
        (f"certified accuracy, {radius} >= {format(r, radius_format)}", fmt_rate(v.value, v.ci))
        for r, v in report.certified.items()
    ]
    median = report.median_radius
    rows.append(("median radius", "n/a" if median is None else format(median, median_format)))
    calls = report.calls_per_example
    rows.append((f"model calls per {per}", "n/a" if calls is None else f"{calls:.1f}"))
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
    return paths
