"""``textrobust certify``: certified robustness by randomized deletion, with a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from textrobust.cli import app
from textrobust.cli.common import (
    BatchSize,
    Config,
    Dataset,
    Device,
    Dtype,
    LabelColumn,
    Limit,
    Model,
    Overwrite,
    Progress,
    Resume,
    Shuffle,
    Split,
    TextColumn,
)


@app.command("certify")
def certify_command(
    model: Model = "bert-base",
    dataset: Dataset = "sst2",
    config: Config = None,
    split: Split = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    limit: Limit = None,
    shuffle: Shuffle = False,
    p_del: float = typer.Option(0.9, help="Probability of deleting each word (or token)."),
    n0: int = typer.Option(1000, help="Selection draws of CERT-ED's procedure (the fast one spends n0 + n at most)."),
    n: int = typer.Option(
        4000, "--n", "--n-draws",
        help="Estimation draws of CERT-ED's procedure (--n-draws: the same, for torchrun, whose parser takes --n for an abbreviation of its own options).",
    ),
    alpha: float = typer.Option(0.05, help="Certificates hold with probability at least 1 - alpha."),
    exact: bool = typer.Option(True, help="Enumerate small strata of kept words exactly (exact certificates for short inputs)."),
    level: str = typer.Option("word", help="Delete words or tokenizer tokens: word | token."),
    procedure: str = typer.Option("fast", help="fast (dedup, exact strata, sequential stopping) or cert-ed (the reference)."),
    max_enumerate: int = typer.Option(256, help="Kept-subsets per example the fast procedure may enumerate."),
    batch_size: BatchSize = 64,
    seed: int = typer.Option(0, help="Seed for every deletion draw."),
    device: Device = None,
    dtype: Dtype = None,
    output: Optional[Path] = typer.Option(None, help="Directory for report.json, certified_accuracy.png and examples.jsonl."),
    resume: Resume = False,
    overwrite: Overwrite = False,
    progress: Progress = True,
) -> None:
    """Certified accuracy under edits (Levenshtein radius) by randomized deletion smoothing."""
    from rich.markup import escape
    from rich.table import Table

    from textrobust.certify.api import certify
    from textrobust.certify.outputs import summary_rows
    from textrobust.cli.common import console_for_tables
    from textrobust.core.distributed import process_group

    report = certify(
        model, None, dataset, p_del, n0=n0, n=n, alpha=alpha, exact=exact, level=level, procedure=procedure,
        max_enumerate=max_enumerate, seed=seed, batch_size=batch_size, config=config, split=split,
        text_column=text_column, label_column=label_column, limit=limit, shuffle=shuffle, device=device,
        dtype=dtype, output_dir=output, resume=resume, overwrite=overwrite, progress=progress,
    )  # fmt: skip
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
    console.print(
        escape(
            f"{report.model_calls} model calls in {report.seconds:.1f} s; {report.exact_examples} exact certificates"
            + (f"; results in {output}" if output else "")
        )
    )
