"""``textrobust eval``: RPR of a Hugging Face text classifier, with a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

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
    Overwrite,
    Progress,
    Resume,
    Shuffle,
    Split,
    TextColumn,
    print_eval_summary,
)


@app.command("eval")
def eval_command(
    model: Optional[List[str]] = typer.Option(
        None, "--model", help="Hub id, local directory, or alias (default: bert-base). Repeat to evaluate several on the "
        "same draws into OUTPUT/<model> and compare them (B - A, first model = A) into OUTPUT.",
    ),
    dataset: Dataset = "sst2",
    config: Config = None,
    split: Split = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    limit: Limit = None,
    shuffle: Shuffle = False,
    perturb: Optional[List[str]] = typer.Option(
        None, "--perturb", help="Perturbation spec NAME[:key=value,...]; repeat for several. "
        "(default: delete:p=0.1, synonym:p=0.1, typo:p=0.05)",
    ),
    max_steps: int = typer.Option(250, help="Draws per example and perturbation (the paper's MAX_STEPS)."),
    batch_size: BatchSize = 64,
    seed: int = typer.Option(0, help="Seed for every perturbation draw."),
    device: Device = None,
    dtype: Dtype = None,
    synonyms: Optional[Path] = typer.Option(None, help="JSON object mapping each lemma to a list of synonyms (default: $TEXTROBUST_SYNONYMS, else NLTK WordNet)."),
    output: Optional[Path] = typer.Option(None, help="Directory for report.json, report.md, figures and examples.jsonl."),
    resume: Resume = False,
    overwrite: Overwrite = False,
    progress: Progress = True,
) -> None:
    """Randomized Perturbation Robustness of a text classifier."""
    from textrobust.core.distributed import process_group
    from textrobust.evaluation import evaluate

    def run_one(model: str, output: Optional[Path]) -> None:
        report = evaluate(
            model, None, dataset, perturb or None, max_steps=max_steps, seed=seed, batch_size=batch_size, config=config,
            split=split, text_column=text_column, label_column=label_column, limit=limit, shuffle=shuffle,
            synonyms=str(synonyms) if synonyms else None, device=device, dtype=dtype, output_dir=output,
            resume=resume, overwrite=overwrite, progress=progress,
        )  # fmt: skip
        if process_group().is_main:
            print_eval_summary(report, output)

    if model and len(model) > 1:
        from textrobust.workflow.multi import eval_models

        eval_models(model, output, run_one, is_main=process_group().is_main)
    else:
        run_one(model[0] if model else "bert-base", output)


@app.command("perturbations")
def perturbations_command(modality: str = typer.Argument("text", help="text or image")) -> None:
    """List the registered perturbations and their parameters."""
    import textrobust.text  # noqa: F401
    from textrobust.core.perturbation import describe

    if modality == "image":
        import vision  # noqa: F401
    typer.echo(describe(modality))
