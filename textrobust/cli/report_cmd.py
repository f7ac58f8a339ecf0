"""``textrobust report RUN``: (re)build the self-contained report.html of a finished run."""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    run: Path = typer.Argument(..., help="Output directory of a finished eval, vision eval or certify run."),
) -> None:
    """Write report.html (one file, no network: inline CSS/JS, base64 figures) into the run directory."""
    from textrobust.workflow.html import write_report_html

    typer.echo(f"wrote {write_report_html(run)}")
