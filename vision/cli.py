"""``textrobust vision`` commands: RPR of image classifiers (``eval``) and the paper's
reproduction (``reproduce``). :mod:`textrobust.cli` registers them; heavy imports (torch)
happen inside the commands."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Callable, Optional

import typer

from textrobust.cli.common import MaxSteps, Seed, draws_option, perturb_option
from textrobust.cli.options import DataGroup, RunGroup, with_options
from textrobust.core.options import DataOptions, RunOptions


def _threads(threads: Optional[int]) -> None:
    from textrobust.errors import UserError

    if threads is None:
        return
    if threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


def image_options(batch_help: str, output_help: str = RunGroup.output_help) -> Callable[[Callable], Callable]:
    """:func:`~textrobust.cli.options.with_options` for an image command: ``--image-column`` and
    no ``--config``; 256 images a model call (``batch_help`` says so), no ``--dtype``, and
    ``output_help`` for ``--output``."""
    return with_options(
        data=DataGroup(column="image", config=False),
        run=RunGroup(batch_size=256, batch_help=batch_help, dtype=False, output_help=output_help),
    )


@image_options("Images per model call (small CNNs run fastest at 128-256 on a CPU: their activations stay in cache).")
def eval_command(
    model: str = typer.Option(
        ...,
        help="A saved vision model directory, a Hugging Face image classifier (directory or Hub id), or a TorchScript file.",
    ),
    dataset: str = typer.Option(
        "mnist", help="Hub id, local directory or data file, MNIST IDX directory, or alias (mnist, cifar10)."
    ),
    perturb: Optional[list[str]] = perturb_option(
        "Image perturbation spec NAME[:key=value,...]; repeat for several "
        "(list them with `textrobust perturbations image`). (default: pixels, gaussian, fog)"
    ),
    max_steps: MaxSteps = 250,
    seed: Seed = 0,
    threads: Optional[int] = typer.Option(None, help="torch CPU threads (default: torch's)."),
    save_flipped: bool = typer.Option(
        True, help="Store each example's first flipping draw as a PNG data URI in examples.jsonl."
    ),
    *,
    data: DataOptions,
    run: RunOptions,
) -> None:
    """Randomized Perturbation Robustness of an image classifier."""
    from textrobust.cli.common import print_eval_summary
    from textrobust.core.distributed import process_group

    _threads(threads)
    from vision.evaluation import evaluate

    report = evaluate(
        model, dataset, perturb or None, max_steps=max_steps, seed=seed, save_flipped=save_flipped, data=data, run=run
    )
    if process_group().is_main:
        print_eval_summary(report, run.output_dir)


@image_options(
    "Images per model call.", "Directory for report.json, report.md, certified_accuracy.png and examples.jsonl."
)
def certify_command(
    model: str = typer.Option(
        ..., help="A saved vision model directory, a Hugging Face image classifier, or a TorchScript file."
    ),
    dataset: str = typer.Option(
        "mnist", help="Hub id, local directory or data file, MNIST IDX directory, or alias (mnist, cifar10)."
    ),
    sigma: float = typer.Option(
        0.25, help="Std of the Gaussian noise, in the data's [0, 1] scale (added before any normalisation)."
    ),
    alpha: float = typer.Option(0.001, help="Each certificate fails with probability at most alpha."),
    n0: int = typer.Option(100, help="Cohen's selection draws (fast: part of the n0 + n budget)."),
    n: int = draws_option(
        100_000, "--estimation-draws", "Cohen's estimation draws (fast: at most n0 + n draws in all)"
    ),
    procedure: str = typer.Option(
        "fast", help="fast (sequential, no selection draws) or cohen (Cohen et al.'s CERTIFY, exactly)."
    ),
    denoiser: Optional[Path] = typer.Option(
        None, help="A saved denoiser (scripts/train_smoothing_models.py) put in front of the classifier."
    ),
    radii: Optional[str] = typer.Option(
        None,
        help="Comma-separated radius grid of the report (default: 0, 0.25, ... up to 1 or to what n draws can certify).",
    ),
    seed: int = typer.Option(0, help="Seed for every noise draw."),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads (default: torch's)."),
    *,
    data: DataOptions,
    run: RunOptions,
) -> None:
    """Certified L2 robustness by Gaussian randomized smoothing (Cohen et al. 2019; denoised smoothing with --denoiser)."""
    from vision.smoothing.cli import run_certify

    _threads(threads)
    run_certify(
        model,
        dataset,
        sigma,
        alpha=alpha,
        n0=n0,
        n=n,
        procedure=procedure,
        denoiser=denoiser,
        radii=radii,
        seed=seed,
        data=data,
        run=run,
    )


def reproduce_command(
    dataset: str = typer.Option("mnist", help="mnist or cifar10."),
    data: Optional[str] = typer.Option(
        None,
        help="Where to read the dataset: a local directory (e.g. ../shared/data/mnist) or an IDX directory (default: the Hub).",
    ),
    max_steps: int = typer.Option(250, help="RPR draws per image (the paper's MAX_STEPS)."),
    per_class: int = typer.Option(1500, help="Robust (and random) training images per class for M_R (and M_rand)."),
    seed: int = typer.Option(0, help="Seed for training, subset choice and every perturbation draw."),
    limit: Optional[int] = typer.Option(
        None, help="Use only the first N training and first N test images (quick runs)."
    ),
    epochs: int = typer.Option(30, help="Most training epochs (early stopping on validation loss)."),
    batch_size: int = typer.Option(256, help="Images per model call during RPR."),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads (default: torch's)."),
    output: Path = typer.Option(
        Path("reproduce-out"), help="Directory for report.json, report.md, figures, models and per-run RPR records."
    ),
    resume: bool = typer.Option(
        False, help="Continue a stopped reproduction in --output (reuses trained models and finished RPR records)."
    ),
    overwrite: bool = typer.Option(False, help="Replace earlier results in --output."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Reproduce the RPR paper: train M, RPR on test and train, retrain on robust images (M_R) and on random ones (M_rand)."""
    _threads(threads)
    from vision.reproduce import reproduce

    command = (
        "textrobust vision reproduce " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("reproduce") + 1 :])
        if "reproduce" in sys.argv
        else None
    )
    report = reproduce(
        dataset,
        data,
        output=output,
        max_steps=max_steps,
        per_class=per_class,
        seed=seed,
        limit=limit,
        epochs=epochs,
        batch_size=batch_size,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        log=lambda message: typer.echo(message, err=True),
        command=command,
    )
    _print_reproduction(report, output)


def _print_reproduction(report: dict, output: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    from textrobust.cli.common import console_for_tables
    from textrobust.core.outputs import fmt_rate

    console = console_for_tables()
    paper = report.get("paper") or {}
    table = Table(
        "model",
        "test accuracy",
        "test robust ratio",
        "train robust ratio",
        "paper: accuracy / robust",
        title=f"RPR reproduction: {report['dataset']} ({report['perturbation']}, {report['max_steps']} steps)",
    )
    for name in ("M", "M_R", "M_rand"):
        ours = report["ours"][name]
        p = paper.get(name) or {}
        table.add_row(
            name,
            fmt_rate(ours["test_accuracy"], ours["test_accuracy_ci95"]),
            fmt_rate(ours["test_robust_ratio"], ours["test_robust_ratio_ci95"]),
            fmt_rate(ours.get("train_robust_ratio"), ours.get("train_robust_ratio_ci95")),
            f"{p['test_accuracy']:.4f} / {p['test_robust_ratio']:.4f}" if p else "n/a",
        )
    console.print(table)
    from vision.report import verdict

    console.print(
        escape(
            verdict(report["comparison"]["test_robust_ratio"]["M_R_minus_M_rand"], "M_R", "M_rand", "test robust ratio")
        )
    )
    console.print(escape(f"{report['timings_seconds']['total']:.0f} s; results in {output}"))
