"""``textrobust compare RUN_A RUN_B``: the paired comparison of two finished runs on the same draws."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def print_comparison(comparison, written: Path | None) -> None:
    """The comparison as a rich table with the verdicts, on stdout."""
    from rich.markup import escape
    from rich.table import Table

    from textrobust.cli.common import console_for_tables
    from textrobust.core.outputs import fmt_rate, fmt_signed
    from textrobust.workflow.compare_text import HEADER, table_rows, verdicts

    c = comparison
    console = console_for_tables()
    console.print(
        escape(
            f"A = {c.model_a}\nB = {c.model_b}\nn = {c.n} examples, same draws (seed {c.settings.get('seed')}, max_steps {c.settings.get('max_steps')})"
        )
    )
    console.print(
        f"clean accuracy: A {fmt_rate(c.clean_a.value, c.clean_a.ci)}, B {fmt_rate(c.clean_b.value, c.clean_b.ci)}, "
        f"B - A {fmt_signed(c.clean.value, c.clean.ci)}"
    )
    table = Table(*HEADER, title="B - A, paired on the same perturbed inputs (95% intervals)")
    for row in table_rows(c):
        table.add_row(*row)
    console.print(table)
    for line in verdicts(c):
        console.print(escape(line))
    for p in c.perturbations:
        if p.became_fragile:
            n = len(p.became_fragile)
            console.print(escape(f"{p.spec}: {n} example{'s' if n != 1 else ''} robust under A became fragile under B"))
    if written:
        console.print(escape(f"compare.json, compare.md and compare.png in {written}"))


def compare_command(
    run_a: Path = typer.Argument(..., help="Output directory of the reference run (A)."),
    run_b: Path = typer.Argument(..., help="Output directory of the run compared with it (B)."),
    output: Optional[Path] = typer.Option(None, help="Directory for compare.json, compare.md and compare.png."),
    examples: int = typer.Option(
        20, help="Fragile examples per perturbation shown in compare.md (all are in compare.json)."
    ),
) -> None:
    """Compare two runs with the same data, perturbations, seed and max_steps, example by example (B - A)."""
    from textrobust.workflow.compare import compare_runs, write_comparison
    from textrobust.workflow.runs import load_run

    comparison = compare_runs(load_run(run_a), load_run(run_b))
    if output:
        write_comparison(comparison, output, examples=examples)
    print_comparison(comparison, output)
