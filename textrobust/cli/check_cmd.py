"""``textrobust check RUN --require EXPR ...``: CI gates decided on 95% intervals (exit 0 pass, 1 fail)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def check_command(
    run: Path = typer.Argument(..., help="Output directory of the run to gate."),
    require: Optional[list[str]] = typer.Option(
        None,
        "--require",
        help="Gate '[SPEC] METRIC OP THRESHOLD', e.g. 'delete:p=0.1 robust_ratio >= 0.5'; repeat for several. "
        "Metrics: clean_accuracy; per spec: accuracy, delta, robust_ratio, robust_ratio_clean_correct; with --baseline: "
        "clean_accuracy_change, SPEC accuracy_change, SPEC robust_ratio_change; certify runs: clean_accuracy, smoothed_accuracy, "
        "abstain_rate, certified_accuracy@R.",
    ),
    baseline: Optional[Path] = typer.Option(
        None, help="A run of the reference model on the same data, specs, seed and max_steps."
    ),
    max_regression: Optional[float] = typer.Option(
        None,
        help="With --baseline: gate clean accuracy, and each perturbation's accuracy and robust ratio, on change >= -X.",
    ),
    lenient: bool = typer.Option(
        False,
        help="Fail a gate only if its whole 95% interval violates it (default: pass only if the whole interval satisfies it).",
    ),
    junit: Optional[Path] = typer.Option(None, help="Write a JUnit XML report (one testcase per gate) here."),
) -> None:
    """Pass/fail gates on a run, decided on 95% intervals: exit 0 when all pass, 1 when any fails, 2 on bad input."""
    from rich.markup import escape
    from rich.table import Table

    from textrobust.cli.common import console_for_tables
    from textrobust.workflow.gates import run_gates, write_junit
    from textrobust.workflow.runs import load_run

    results = run_gates(
        load_run(run),
        require or [],
        baseline=load_run(baseline) if baseline else None,
        max_regression=max_regression,
        lenient=lenient,
    )
    console = console_for_tables()
    table = Table("gate", "value [95% CI] (n)", "rule", "result", title=escape(f"Gates on {run}"))
    for r in results:
        shown = "n/a" if r.ci is None else f"{r.value:.4f} [{r.ci[0]:.4f}, {r.ci[1]:.4f}] (n={r.n})"
        table.add_row(escape(r.gate.expr), shown, r.rule, "[green]PASS[/]" if r.passed else "[red]FAIL[/]")
    console.print(table)
    for r in results:
        if not r.passed:
            console.print(escape("FAIL " + r.message))
    if junit:
        write_junit(results, junit)
    failed = sum(not r.passed for r in results)
    console.print(
        f"{len(results) - failed} of {len(results)} gates passed" + (escape(f"; JUnit XML in {junit}") if junit else "")
    )
    if failed:
        raise typer.Exit(1)
