"""``vision.evaluate``: RPR of an image classifier; the CLI's ``vision eval`` calls it.

The image twin of :func:`textrobust.evaluate`, on the same pieces: the perturbation registry,
:class:`~textrobust.core.engine.Engine`, :class:`~textrobust.core.rpr.RPRJob`,
:func:`~textrobust.core.runner.run_examples`, :class:`~textrobust.core.store.ResultStore` and
:func:`~textrobust.core.report.build_eval_report`. :func:`run_rpr` is the one RPR loop of the
vision side (``evaluate`` and the paper reproduction both call it).

Images have no dedup key (two random draws of an image are almost never equal, and hashing
them costs more than classifying them) and one size (no sorting). The engine keeps fewer
jobs in flight than for text (``max_active``) so each job asks for several draws per round:
a tiny CNN classifies an image in tens of microseconds, the same order as the Python
bookkeeping of one job round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import vision.perturbations  # noqa: F401  (registers the image perturbations)
from textrobust.core.distributed import process_group
from textrobust.core.engine import Engine, EngineStats
from textrobust.core.outputs import write_eval_outputs
from textrobust.core.perturbation import Perturbation
from textrobust.core.progress import progress_bar
from textrobust.core.report import EvalReport, build_eval_report
from textrobust.core.rpr import RPRJob
from textrobust.core.runner import open_store, run_examples
from textrobust.core.store import ResultStore
from vision.batch import png_data_uri
from vision.data import ImageExamples, load_image_examples
from vision.models import ImageClassifier, image_classifier

DEFAULT_PERTURBATIONS = ("pixels", "gaussian", "fog")
DRAWS_PER_ROUND = 8  # per job and engine round; see the module docstring


@dataclass
class RPRRun:
    """The per-example records of one RPR run and what it cost."""

    records: list[dict]
    resumed: int
    stats: EngineStats
    seconds: float


def image_engine(classifier: Callable, batch_size: int) -> Engine:
    """The engine for images: no dedup key, no sorting, ``DRAWS_PER_ROUND`` draws per job."""
    round_size = max(8 * batch_size, 256)
    return Engine(classifier, batch_size=batch_size, round_size=round_size, max_active=max(1, round_size // DRAWS_PER_ROUND))


def run_rpr(
    classifier: Callable,
    examples: ImageExamples,
    perturbations: Sequence[Perturbation],
    *,
    max_steps: int,
    seed: int,
    batch_size: int = 256,
    store: ResultStore | None = None,
    progress: bool = False,
    description: str = "RPR",
    encode: Callable[[Any], Any] | None = png_data_uri,
) -> RPRRun:
    """RPR of every example under every perturbation, through the engine (records in example
    order). ``encode`` turns a flipped input into its JSON form (``None``: store null)."""
    started = time.perf_counter()
    group = process_group()
    engine = image_engine(classifier, batch_size)
    positions = range(len(examples))
    to_json = encode if encode is not None else (lambda x: None)
    with progress_bar(len(examples), description, enabled=progress and group.is_main) as advance:
        records, resumed = run_examples(
            positions,
            lambda i: RPRJob(examples.ids[i], examples.image(i), examples.labels[i], perturbations, max_steps, seed),
            engine,
            index_of=lambda i: examples.ids[i],
            to_record=lambda job: job.record(to_json, flipped_field="flipped_image"),
            store=store,
            group=group,
            on_progress=advance,
        )
    stats = engine.stats
    stats.model_calls = sum(group.gather(stats.model_calls))
    return RPRRun(records, resumed, stats, time.perf_counter() - started)


def evaluate(
    model: Any,
    dataset: Any = "mnist",
    perturbations: Sequence[str] | None = None,
    *,
    max_steps: int = 250,
    seed: int = 0,
    batch_size: int = 256,
    split: str | None = None,
    image_column: str | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    device: str | None = None,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    save_flipped: bool = True,
) -> EvalReport:
    """Randomized Perturbation Robustness of an image classifier on a labelled dataset.

    ``model`` is a torch ``nn.Module`` (logits out, [0, 1] images in), a directory saved by
    :func:`vision.models.save_model`, a Hugging Face image classifier (directory or Hub id)
    or a TorchScript file. ``dataset`` is a name or alias (``mnist``, ``cifar10``), a local
    directory or data file, a directory of MNIST IDX files, or a ``datasets.Dataset``.
    ``perturbations`` are image specs (default: ``pixels``, ``gaussian``, ``fog``).
    With ``output_dir``: ``examples.jsonl`` streams per-example results (``flipped_image`` is
    the first flipping draw as a PNG data URI, or null; ``save_flipped=False`` stores null),
    ``resume`` continues a stopped run, and report.json, report.md and figures are written.

    Results depend only on the data, the model, the perturbations, ``max_steps`` and ``seed``.
    """
    from textrobust.evaluation import build_perturbations, check_run_options

    started = time.perf_counter()
    group = process_group()

    def setup() -> tuple[ImageExamples, list[Perturbation], ImageClassifier]:
        check_run_options(max_steps, batch_size)
        data = load_image_examples(
            dataset, split=split, image_column=image_column, label_column=label_column, limit=limit, shuffle=shuffle, seed=seed
        )
        chosen = build_perturbations(list(perturbations or DEFAULT_PERTURBATIONS), "image", {}, {})
        classifier = image_classifier(
            model, image_shape=data.shape, dataset_label_names=data.label_names, dataset_labels=data.labels,
            device=group.device_for(device),
        )  # fmt: skip
        return data, chosen, classifier

    # as in the text ``evaluate``: every process sets up, or all stop with the same error
    data, chosen, classifier = group.first_error(setup)
    specs = [p.spec.canonical for p in chosen]
    settings = {
        "task": "vision-eval", "model": classifier.name, "dataset": data.name, "split": data.split, "limit": limit,
        "shuffle": shuffle, "perturbations": specs, "max_steps": max_steps, "seed": seed,
    }  # fmt: skip
    store = open_store(group, output_dir, settings, resume=resume, overwrite=overwrite)
    try:
        run = run_rpr(
            classifier, data, chosen, max_steps=max_steps, seed=seed, batch_size=batch_size, store=store,
            progress=progress, encode=png_data_uri if save_flipped else None,
        )  # fmt: skip
        if store is not None:
            store.finish()
    finally:
        if store is not None:
            store.close()
    report = build_eval_report(
        run.records, specs, max_steps, model=classifier.name, dataset=data.name, split=data.split, seed=seed,
        model_calls=run.stats.model_calls, seconds=time.perf_counter() - started, label_names=data.label_names or None,
        resumed_examples=run.resumed, extra={"image_shape": list(data.shape), "processes": group.world_size},
    )  # fmt: skip
    if output_dir and group.is_main:
        write_eval_outputs(report, output_dir)
    return report

