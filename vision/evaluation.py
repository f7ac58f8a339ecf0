"""``vision.evaluate``: RPR of an image classifier; the CLI's ``vision eval`` calls it.

The image twin of :func:`textrobust.evaluate`, on the same pieces: the perturbation registry,
:class:`~textrobust.core.engine.Engine`, :class:`~textrobust.core.rpr.RPRJob`,
:func:`~textrobust.core.driver.execute` and :func:`~textrobust.core.rpr.rpr_plan`.
:func:`image_rpr_plan` is the plan of every image RPR run (``evaluate`` and the paper
reproduction both use it).

Images have no dedup key (two random draws of an image are almost never equal, and hashing
them costs more than classifying them) and one size (no sorting). The engine keeps fewer
jobs in flight than for text (``max_active``) so each job asks for several draws per round:
a tiny CNN classifies an image in tens of microseconds, the same order as the Python
bookkeeping of one job round.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import vision.perturbations  # noqa: F401  (registers the image perturbations)
from textrobust.core.driver import Plan, RunResult, execute
from textrobust.core.engine import Engine
from textrobust.core.options import DataOptions, RunOptions, split_options
from textrobust.core.outputs import write_eval_outputs
from textrobust.core.perturbation import Perturbation, build_perturbations
from textrobust.core.report import EvalReport
from textrobust.core.rpr import check_max_steps, rpr_plan, rpr_report
from textrobust.errors import UserError
from textrobust.workflow.html import with_html_report
from vision.batch import png_data_uri
from vision.data import ImageExamples, image_examples
from vision.models import ImageClassifier, image_classifier

DEFAULT_PERTURBATIONS = ("pixels", "gaussian", "fog")
DRAWS_PER_ROUND = 8  # per job and engine round; see the module docstring
#: The vision API's name for :attr:`DataOptions.input_column`, and its own run defaults.
IMAGE_ALIASES = {"image_column": "input_column"}
IMAGE_RUN_DEFAULTS = {"batch_size": 256}


def image_engine(classifier: Callable, batch_size: int) -> Engine:
    """The engine for images: no dedup key, no sorting, ``DRAWS_PER_ROUND`` draws per job."""
    round_size = max(8 * batch_size, 256)
    return Engine(
        classifier, batch_size=batch_size, round_size=round_size, max_active=max(1, round_size // DRAWS_PER_ROUND)
    )


def image_rpr_plan(
    settings: dict[str, Any],
    classifier: Callable,
    examples: ImageExamples,
    perturbations: Sequence[Perturbation],
    *,
    max_steps: int,
    seed: int,
    batch_size: int,
    encode: Callable[[Any], Any] | None = png_data_uri,
    description: str = "RPR",
) -> Plan:
    """The driver's plan for RPR of every image under every perturbation. ``encode`` turns a
    flipped image into its JSON form (``None``: store null)."""
    return rpr_plan(
        settings,
        examples.ids,
        examples.image,
        examples.labels,
        perturbations,
        max_steps=max_steps,
        seed=seed,
        engine=image_engine(classifier, batch_size),
        flipped_field="flipped_image",
        encode=encode if encode is not None else (lambda x: None),
        description=description,
        context=(examples, classifier),
    )


def evaluate(
    model: Any,
    dataset: Any = "mnist",
    perturbations: Sequence[str] | None = None,
    *,
    max_steps: int = 250,
    seed: int = 0,
    save_flipped: bool = True,
    data: DataOptions | None = None,
    run: RunOptions | None = None,
    **options: Any,
) -> EvalReport:
    """Randomized Perturbation Robustness of an image classifier on a labelled dataset.

    ``model`` is a torch ``nn.Module`` (logits out, [0, 1] images in), a directory saved by
    :func:`vision.models.save_model`, a Hugging Face image classifier (directory or Hub id)
    or a TorchScript file. ``dataset`` is a name or alias (``mnist``, ``cifar10``), a local
    directory or data file, a directory of MNIST IDX files, or a ``datasets.Dataset``.
    ``perturbations`` are image specs (default: ``pixels``, ``gaussian``, ``fog``).
    ``data``/``run`` and the option keywords are as in :func:`textrobust.evaluate`
    (``image_column`` names the image column; ``batch_size`` defaults to 256 here).
    With ``output_dir``: ``examples.jsonl`` streams per-example results (``flipped_image`` is
    the first flipping draw as a PNG data URI, or null; ``save_flipped=False`` stores null),
    ``resume`` continues a stopped run, and report.json, report.md and figures are written.

    Results depend only on the data, the model, the perturbations, ``max_steps`` and ``seed``.
    """
    data, run = split_options(
        options, data, run, aliases=IMAGE_ALIASES, run_defaults=IMAGE_RUN_DEFAULTS, function="vision.evaluate()"
    )
    if run.dtype is not None:
        raise UserError("vision evaluation takes no dtype")

    def prepare(group: Any) -> Plan:
        check_max_steps(max_steps)
        examples = image_examples(dataset, data, seed)
        chosen = build_perturbations(perturbations, "image", default=DEFAULT_PERTURBATIONS)
        classifier: ImageClassifier = image_classifier(
            model,
            image_shape=examples.shape,
            dataset_label_names=examples.label_names,
            dataset_labels=examples.labels,
            device=group.device_for(run.device),
        )
        settings = {
            "task": "vision-eval",
            "model": classifier.name,
            "dataset": examples.name,
            "split": examples.split,
            "limit": data.limit,
            "shuffle": data.shuffle,
            "data_fingerprint": examples.fingerprint,
            "perturbations": [p.spec.canonical for p in chosen],
            "max_steps": max_steps,
            "seed": seed,
        }
        return image_rpr_plan(
            settings,
            classifier,
            examples,
            chosen,
            max_steps=max_steps,
            seed=seed,
            batch_size=run.batch_size,
            encode=png_data_uri if save_flipped else None,
        )

    def build_report(result: RunResult) -> EvalReport:
        examples, classifier = result.plan.context
        return rpr_report(
            result,
            model=classifier.name,
            dataset=examples.name,
            split=examples.split,
            label_names=examples.label_names or None,
            extra={"image_shape": list(examples.shape), "processes": result.processes},
        )

    return execute(prepare, build_report, run, write_outputs=with_html_report(write_eval_outputs))
