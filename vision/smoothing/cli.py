"""The body of ``textrobust vision certify`` (the option list lives in :mod:`vision.cli`)."""

from __future__ import annotations

from typing import Any

from textrobust.errors import UserError


def parse_radii(text: str | None) -> list[float] | None:
    """``"0,0.25,0.5"`` -> ``[0.0, 0.25, 0.5]``; a :class:`UserError` for anything else."""
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--radii must be comma-separated numbers, got {text!r}") from None


def run_certify(model: str, dataset: str, sigma: float, *, radii: str | None, run: Any, **options: Any) -> None:
    """Certify, then print the summary table (main process only)."""
    from rich.markup import escape
    from rich.table import Table

    from textrobust.cli.common import console_for_tables
    from textrobust.core.distributed import process_group
    from vision.smoothing.api import certify
    from vision.smoothing.report import summary_rows

    report = certify(model, dataset, sigma, radii=parse_radii(radii), run=run, **options)
    output = run.output_dir
    if not process_group().is_main:
        return
    console = console_for_tables()
    title = f"Gaussian smoothing ({report.procedure}): {report.model}" + (
        f" + {report.denoiser}" if report.denoiser else ""
    )
    table = Table("metric", "value", title=escape(f"{title}, sigma = {report.sigma:g}, alpha = {report.alpha:g}"))
    for metric, value in summary_rows(report):
        table.add_row(escape(metric), escape(value))
    console.print(table)
    console.print(escape(f"{report.seconds:.1f} s" + (f"; results in {output}" if output else "")))
