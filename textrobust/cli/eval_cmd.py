"""``textrobust eval``: RPR of a Hugging Face text classifier, with a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

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
    print_eval_summary,
)


AnyModel = Annotated[str, typer.Option(
    "--model", help="Hub id, local directory, alias (bert-base), http(s)://... (HF-style endpoint), openai:<model> "
    "(with --base-url), sklearn:<file.skops>, python:<module>:<function>; see docs/models.md.",
)]  # fmt: skip


@app.command("eval")
def eval_command(
    model: AnyModel = "bert-base",
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
    labels: Optional[str] = typer.Option(None, help="The model's label names in its order, a,b,... (name=verbalizer for prompted models)."),
    prompt: Optional[str] = typer.Option(None, help="Prompt template with {text} (or a file holding it): a causal LM or openai: model."),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible API base URL for openai:<model>, e.g. http://localhost:8000/v1."),
    api_key_env: Optional[str] = typer.Option(None, help="NAME of the environment variable holding the endpoint's API key."),
    concurrency: int = typer.Option(8, help="Endpoints: requests in flight at once."),
    timeout: float = typer.Option(30.0, help="Endpoints: seconds to wait for an answer before retrying."),
    max_retries: int = typer.Option(4, help="Endpoints: retries of a request (429, 5xx, timeouts), with exponential backoff."),
    trust_pickle: bool = typer.Option(False, help="Allow sklearn: pickle/joblib files (loading one runs code)."),
) -> None:
    """Randomized Perturbation Robustness of a text classifier."""
    from textrobust.classifiers import ModelOptions
    from textrobust.classifiers.report import summary_line
    from textrobust.core.distributed import process_group
    from textrobust.evaluation import evaluate

    options = ModelOptions(
        base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, timeout=timeout, max_retries=max_retries,
        trust_pickle=trust_pickle,
    )  # fmt: skip

    report = evaluate(
        model, None, dataset, perturb or None, max_steps=max_steps, seed=seed, batch_size=batch_size, config=config,
        split=split, text_column=text_column, label_column=label_column, limit=limit, shuffle=shuffle,
        synonyms=str(synonyms) if synonyms else None, device=device, dtype=dtype, output_dir=output,
        resume=resume, overwrite=overwrite, progress=progress, labels=labels, prompt=prompt, model_options=options,
    )  # fmt: skip
    if process_group().is_main:
        print_eval_summary(report, output)
        if summary_line(report):
            typer.echo(summary_line(report))


@app.command("perturbations")
def perturbations_command(modality: str = typer.Argument("text", help="text or image")) -> None:
    """List the registered perturbations and their parameters."""
    import textrobust.text  # noqa: F401
    from textrobust.core.perturbation import describe

    if modality == "image":
        import vision  # noqa: F401
    typer.echo(describe(modality))
