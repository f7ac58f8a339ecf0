"""``textrobust certify``: certified robustness by randomized deletion, with a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from textrobust.cli import app


@app.command("certify")
def certify_command(
    model: str = typer.Option("bert-base", help="Hub id, local directory, or alias (bert-base)."),
    dataset: str = typer.Option("sst2", help="Hub id, local directory or data file, or alias (sst2, ag_news, imdb)."),
    config: Optional[str] = typer.Option(None, help="Dataset configuration (Hub datasets)."),
    split: Optional[str] = typer.Option(None, help="Split to certify [default: validation, else test]."),
    text_column: Optional[str] = typer.Option(None, help="Column holding the text [default: detected]."),
    label_column: Optional[str] = typer.Option(None, help="Column holding the label [default: detected]."),
    limit: Optional[int] = typer.Option(None, help="Certify the first N examples (after --shuffle)."),
    shuffle: bool = typer.Option(False, help="Shuffle (seeded by --seed) before --limit."),
    p_del: float = typer.Option(0.9, help="Probability of deleting each word (or token)."),
    n0: int = typer.Option(1000, help="Selection draws of CERT-ED's procedure (the fast one spends n0 + n at most)."),
    n: int = typer.Option(4000, help="Estimation draws of CERT-ED's procedure."),
    alpha: float = typer.Option(0.05, help="Certificates hold with probability at least 1 - alpha."),
    exact: bool = typer.Option(True, help="Enumerate small strata of kept words exactly (exact certificates for short inputs)."),
    level: str = typer.Option("word", help="Delete words or tokenizer tokens: word | token."),
    procedure: str = typer.Option("fast", help="fast (dedup, exact strata, sequential stopping) or cert-ed (the reference)."),
    max_enumerate: int = typer.Option(256, help="Kept-subsets per example the fast procedure may enumerate."),
    batch_size: int = typer.Option(64, help="Inputs per model call."),
    seed: int = typer.Option(0, help="Seed for every deletion draw."),
    device: Optional[str] = typer.Option(None, help="cpu, cuda, cuda:N or mps [default: auto]."),
    dtype: Optional[str] = typer.Option(None, help="fp32, bf16 or fp16 (bf16/fp16 on GPU)."),
    output: Optional[Path] = typer.Option(None, help="Directory for report.json, certified_accuracy.png and examples.jsonl."),
    resume: bool = typer.Option(False, help="Continue a stopped run in --output."),
    overwrite: bool = typer.Option(False, help="Replace earlier results in --output."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
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
