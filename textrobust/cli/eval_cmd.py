"""``textrobust eval``: RPR of a Hugging Face text classifier, with a summary table;
``textrobust perturbations``: the registered perturbations."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import typer

from textrobust.cli.common import Dataset, MaxSteps, Seed, print_eval_summary
from textrobust.cli.options import DataGroup, RunGroup, with_options
from textrobust.core.options import DataOptions, RunOptions


@with_options(data=DataGroup(), run=RunGroup())
def eval_command(
    model: Optional[List[str]] = typer.Option(
        None,
        "--model",
        help="Hub id, local directory, or alias (default: bert-base). Repeat to evaluate several on the "
        "same draws into OUTPUT/<model> and compare them (B - A, first model = A) into OUTPUT.",
    ),
    dataset: Dataset = "sst2",
    perturb: Optional[List[str]] = typer.Option(
        None,
        "--perturb",
        help="Perturbation spec NAME[:key=value,...]; repeat for several. "
        "(default: delete:p=0.1, synonym:p=0.1, typo:p=0.05)",
    ),
    max_steps: MaxSteps = 250,
    seed: Seed = 0,
    synonyms: Optional[Path] = typer.Option(
        None,
        help="JSON object mapping each lemma to a list of synonyms (default: $TEXTROBUST_SYNONYMS, else NLTK WordNet).",
    ),
    *,
    data: DataOptions,
    run: RunOptions,
) -> None:
    """Randomized Perturbation Robustness of a text classifier."""
    from textrobust.core.distributed import process_group
    from textrobust.evaluation import evaluate

    def run_one(model: str, output: Optional[Path]) -> None:
        report = evaluate(
            model,
            None,
            dataset,
            perturb or None,
            max_steps=max_steps,
            seed=seed,
            synonyms=str(synonyms) if synonyms else None,
            data=data,
            run=dataclasses.replace(run, output_dir=output),
        )
        if process_group().is_main:
            print_eval_summary(report, output)

    if model and len(model) > 1:
        from textrobust.workflow.multi import eval_models

        eval_models(model, run.output_dir, run_one, is_main=process_group().is_main)
    else:
        run_one(model[0] if model else "bert-base", run.output_dir)


def perturbations_command(modality: str = typer.Argument("text", help="text or image")) -> None:
    """List the registered perturbations and their parameters."""
    import textrobust.text  # noqa: F401
    from textrobust.core.perturbation import describe

    if modality == "image":
        import vision  # noqa: F401
    typer.echo(describe(modality))
