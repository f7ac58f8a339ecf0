"""Shared pieces of the CLI commands: the data, model and run options, and the summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from textrobust.core.outputs import SUMMARY_HEADER, fmt_rate, summary_rows
from textrobust.core.report import EvalReport

# Options every command over a labelled text dataset takes (use as ``model: Model = "bert-base"``).
Model = Annotated[str, typer.Option(help="Hub id, local directory, or alias (bert-base).")]
Dataset = Annotated[str, typer.Option(help="Hub id, local directory or data file, or alias (sst2, ag_news, imdb).")]
Config = Annotated[Optional[str], typer.Option(help="Dataset configuration (Hub datasets).")]
Split = Annotated[Optional[str], typer.Option(help="Split to use (default: validation, else test).")]
TextColumn = Annotated[Optional[str], typer.Option(help="Column holding the text (default: detected).")]
LabelColumn = Annotated[Optional[str], typer.Option(help="Column holding the label (default: detected).")]
Limit = Annotated[Optional[int], typer.Option(help="Use the first N examples (after --shuffle).")]
Shuffle = Annotated[bool, typer.Option(help="Shuffle (seeded by --seed) before --limit.")]
BatchSize = Annotated[int, typer.Option(help="Inputs per model call.")]
Device = Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:N or mps (default: auto).")]
Dtype = Annotated[Optional[str], typer.Option(help="fp32, bf16 or fp16 (bf16/fp16 on GPU).")]
Resume = Annotated[bool, typer.Option(help="Continue a stopped run in --output.")]
Overwrite = Annotated[bool, typer.Option(help="Replace earlier results in --output.")]
Progress = Annotated[bool, typer.Option(help="Show a progress bar.")]


def console_for_tables() -> Console:
    """A stdout console; when stdout is not a terminal, wide enough that tables do not wrap."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def print_eval_summary(report: EvalReport, output: Path | None) -> None:
    """Clean accuracy and one row per perturbation, as a rich table on stdout."""
    console = console_for_tables()
    c = report.clean_accuracy
    console.print(
        escape(f"{report.model} on {report.dataset} [{report.split}], n = {report.n_examples}, ")
        + f"max_steps = {report.max_steps}, seed = {report.seed}"
    )
    console.print(f"clean accuracy: {fmt_rate(c.value, c.ci)} ({c.k}/{c.n})")
    table = Table(*SUMMARY_HEADER, title="Robustness (95% intervals)")
    for row in summary_rows(report):
        table.add_row(*row)
    console.print(table)
    console.print(escape(f"{report.model_calls} model calls in {report.seconds:.1f} s" + (f"; results in {output}" if output else "")))
