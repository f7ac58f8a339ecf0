"""``textrobust certify``: certified robustness by randomized deletion, with a summary table."""

from __future__ import annotations

import typer

from textrobust.cli.common import Dataset, Model, draws_option
from textrobust.cli.options import DataGroup, RunGroup, with_options
from textrobust.core.options import DataOptions, RunOptions


@with_options(
    data=DataGroup(), run=RunGroup(output_help="Directory for report.json, certified_accuracy.png and examples.jsonl.")
)
def certify_command(
    model: Model = "bert-base",
    dataset: Dataset = "sst2",
    p_del: float = typer.Option(0.9, help="Probability of deleting each word (or token)."),
    n0: int = typer.Option(1000, help="Selection draws of CERT-ED's procedure (the fast one spends n0 + n at most)."),
    n: int = draws_option(4000, "--n-draws", "Estimation draws of CERT-ED's procedure"),
    alpha: float = typer.Option(0.05, help="Certificates hold with probability at least 1 - alpha."),
    exact: bool = typer.Option(
        True, help="Enumerate small strata of kept words exactly (exact certificates for short inputs)."
    ),
    level: str = typer.Option("word", help="Delete words or tokenizer tokens: word | token."),
    procedure: str = typer.Option(
        "fast", help="fast (dedup, exact strata, sequential stopping) or cert-ed (the reference)."
    ),
    max_enumerate: int = typer.Option(256, help="Kept-subsets per example the fast procedure may enumerate."),
    seed: int = typer.Option(0, help="Seed for every deletion draw."),
    *,
    data: DataOptions,
    run: RunOptions,
) -> None:
    """Certified accuracy under edits (Levenshtein radius) by randomized deletion smoothing."""
    from rich.markup import escape
    from rich.table import Table

    from textrobust.certification.api import certify
    from textrobust.certification.outputs import summary_rows
    from textrobust.cli.common import console_for_tables
    from textrobust.core.distributed import process_group

    report = certify(
        model,
        None,
        dataset,
        p_del,
        n0=n0,
        n=n,
        alpha=alpha,
        exact=exact,
        level=level,
        procedure=procedure,
        max_enumerate=max_enumerate,
        seed=seed,
        data=data,
        run=run,
    )
    if not process_group().is_main:
        return
    console = console_for_tables()
    console.print(
        escape(f"{report.model} on {report.dataset} [{report.split}], n = {report.n_examples}, ")
        + f"p_del = {report.p_del:g}, alpha = {report.alpha:g}, {report.level} level, {report.procedure} procedure"
    )
    table = Table("metric", "value [95% CI]", title="Certified robustness (Levenshtein radius)")
    for row in summary_rows(report):
        table.add_row(*row)
    console.print(table)
    output = run.output_dir
    console.print(
        escape(
            f"{report.model_calls} model calls in {report.seconds:.1f} s; {report.exact_examples} exact certificates"
            + (f"; results in {output}" if output else "")
        )
    )
