"""Shared pieces of the CLI commands: the model, dataset, steps and seed options, and the summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from textrobust.core.outputs import SUMMARY_HEADER, fmt_rate, summary_rows
from textrobust.core.report import EvalReport

# Options that several commands take (the data and run options are in textrobust.cli.options).
Model = Annotated[str, typer.Option(help="Hub id, local directory, or alias (bert-base).")]
Dataset = Annotated[str, typer.Option(help="Hub id, local directory or data file, or alias (sst2, ag_news, imdb).")]
MaxSteps = Annotated[int, typer.Option(help="Draws per example and perturbation (the paper's MAX_STEPS).")]
Seed = Annotated[int, typer.Option(help="Seed for every perturbation draw.")]


def perturb_option(help: str) -> Any:
    """The ``--perturb`` option: perturbation specs, repeated for several (``None`` when not given)."""
    return typer.Option(None, "--perturb", help=help)


def draws_option(default: int, alias: str, help: str) -> Any:
    """The ``--n`` option (estimation draws), also spelled ``alias``: under torchrun, whose parser
    takes ``--n`` for an abbreviation of its own options."""
    torchrun = f"{alias} is the same, for torchrun, whose parser takes --n for an abbreviation of its own options"
    return typer.Option(default, "--n", alias, help=f"{help}; {torchrun}.")


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
    console.print(
        escape(
            f"{report.model_calls} model calls in {report.seconds:.1f} s" + (f"; results in {output}" if output else "")
        )
    )
