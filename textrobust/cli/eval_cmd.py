"""``textrobust eval``: RPR of a Hugging Face text classifier, with a summary table;
``textrobust perturbations``: the registered perturbations."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import typer

from textrobust.classifiers import ModelOptions
from textrobust.cli.common import Dataset, MaxSteps, Seed, perturb_option, print_eval_summary
from textrobust.cli.options import DataGroup, RunGroup, with_options
from textrobust.core.options import DataOptions, RunOptions


@with_options(data=DataGroup(), run=RunGroup(), model=True)
def eval_command(
    model: Optional[list[str]] = typer.Option(
        None,
        "--model",
        help="Hub id, local directory, alias (default: bert-base), http(s)://... (HF-style endpoint), "
        "openai:<model> (with --base-url), sklearn:<file.skops>, python:<module>:<function>; see docs/models.md. "
        "Repeat to evaluate several on the same draws into OUTPUT/<model> and compare them (B - A, first model = A) "
        "into OUTPUT.",
    ),
    dataset: Dataset = "sst2",
    perturb: Optional[list[str]] = perturb_option(
        "Perturbation spec NAME[:key=value,...]; repeat for several. (default: delete:p=0.1, synonym:p=0.1, typo:p=0.05)"
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
    model_options: ModelOptions,
) -> None:
    """Randomized Perturbation Robustness of a text classifier."""
    from textrobust.classifiers.report import summary_line
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
            model_options=model_options,
            data=data,
            run=dataclasses.replace(run, output_dir=output),
        )
        if process_group().is_main:
            print_eval_summary(report, output)
            if summary_line(report):
                typer.echo(summary_line(report))

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
