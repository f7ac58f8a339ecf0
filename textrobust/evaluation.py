"""``textrobust.evaluate``: RPR of a Hugging Face text classifier; the CLI's ``eval`` calls it."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import textrobust.text  # noqa: F401  (registers the text perturbations)
from textrobust.core.distributed import ProcessGroup, process_group
from textrobust.core.engine import Engine
from textrobust.core.outputs import write_eval_outputs
from textrobust.core.perturbation import Perturbation, available, build, parse_spec
from textrobust.core.progress import progress_bar
from textrobust.core.report import EvalReport, build_eval_report
from textrobust.core.rpr import RPRJob
from textrobust.core.runner import open_store, run_examples
from textrobust.core.store import ResultStore
from textrobust.errors import UserError
from textrobust.text import synonyms as synonym_sources
from textrobust.text.data import TextExamples, load_text_examples
from textrobust.modeling import is_default_label_names
from textrobust.text.model import TextClassifier, text_classifier
from textrobust.text.validity import text_validity

DEFAULT_PERTURBATIONS = ("delete:p=0.1", "synonym:p=0.1", "typo:p=0.05")


class TextrobustWarning(UserWarning):
    """Something worth one line to the user, that does not stop the run."""


def build_perturbations(
    specs: Sequence[str] | None, modality: str, resources: dict[str, Any], resolve: dict[str, Any]
) -> list[Perturbation]:
    """Parse ``specs`` (or the default suite), fetch the resources they need, and build them.

    ``resolve`` maps a resource name to a zero-argument loader; a resource is loaded only if a
    spec needs it. In the default suite a perturbation whose resource is missing is left out
    with a warning; in an explicit list it is an error.
    """
    explicit = bool(specs)
    parsed = [parse_spec(s, modality) for s in (specs or DEFAULT_PERTURBATIONS)]
    seen: set[str] = set()
    for spec in parsed:
        if spec.canonical in seen:
            raise UserError(f"perturbation {spec.canonical} is given twice")
        seen.add(spec.canonical)
    types = {t.name: t for t in available(modality)}
    out = []
    for spec in parsed:
        for need in types[spec.name].needs:
            if need not in resources and need in resolve:
                resources[need] = resolve[need]()
        if not explicit and any(resources.get(n) is None for n in types[spec.name].needs):
            warnings.warn(f"leaving {spec.canonical} out of the default suite: {synonym_sources.MISSING_HELP}", TextrobustWarning, stacklevel=2)
            continue
        out.append(build(spec, modality, resources))
    return out


def check_run_options(max_steps: int, batch_size: int) -> None:
    """Raise :class:`UserError` unless ``max_steps`` and ``batch_size`` are at least 1."""
    if max_steps < 1:
        raise UserError(f"--max-steps must be at least 1, got {max_steps}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")


def load_eval_inputs(
    dataset: Any, perturbations: Sequence[str] | None, *, synonyms: Any = None, **data_options: Any
) -> tuple[TextExamples, list[Perturbation]]:
    """The labelled texts to evaluate and the built perturbations (see :func:`evaluate`).

    ``data_options`` are those of :func:`~textrobust.text.data.load_text_examples` (``config``,
    ``split``, ``text_column``, ``label_column``, ``limit``, ``shuffle``, ``seed``).
    """
    data = load_text_examples(dataset, **data_options)
    resources: dict[str, Any] = {}
    if synonyms is not None and not isinstance(synonyms, (str, Path)):
        resources["synonyms"] = synonyms
    chosen = build_perturbations(
        perturbations, "text", resources, {"synonyms": lambda: synonym_sources.resolve(synonyms)}
    )
    return data, chosen


def checked_classifier(
    model: Any, tokenizer: Any, data: TextExamples, *, device: str | None = None, dtype: str | None = None
) -> TextClassifier:
    """The engine classifier for ``model``, its labels checked against ``data``'s."""
    classifier = text_classifier(
        model, tokenizer, dataset_label_names=data.label_names, dataset_labels=data.labels,
        device=device, dtype=dtype, dataset_alias=data.alias, dataset_name=data.name,
    )  # fmt: skip
    if data.labels_from_strings and is_default_label_names(classifier.label_names):
        raise UserError(
            f"the label column holds names ({', '.join(data.label_names or [])}) but the model's labels are unnamed "
            "(LABEL_0, ...): use integer labels or a model with id2label names"
        )
    return classifier


def run_rpr(
    classifier: TextClassifier,
    data: TextExamples,
    perturbations: Sequence[Perturbation],
    *,
    max_steps: int,
    seed: int,
    batch_size: int,
    group: ProcessGroup,
    store: ResultStore | None = None,
    progress: bool = False,
    started: float | None = None,
) -> EvalReport:
    """RPR of every example of ``data``, spread over ``group``'s processes; the same report on each.

    ``store`` (main process only) gets the records as they finish and is finished (sorted)
    at the end. ``started`` is the ``time.perf_counter()`` the report's ``seconds`` count from.
    """
    started = time.perf_counter() if started is None else started
    engine = Engine(classifier, batch_size=batch_size, size=classifier.size, key=lambda text: text)
    items = list(zip(data.ids, data.texts, data.labels))
    with progress_bar(len(items), "RPR", enabled=progress and group.is_main) as advance:
        records, resumed = run_examples(
            items,
            lambda item: RPRJob(item[0], item[1], item[2], perturbations, max_steps, seed),
            engine,
            index_of=lambda item: item[0],
            to_record=lambda job: job.record(),
            store=store,
            group=group,
            on_progress=advance,
        )
    if store is not None:
        store.finish()
    calls = sum(group.gather(engine.stats.model_calls))
    return build_eval_report(
        records, [p.spec.canonical for p in perturbations], max_steps, model=classifier.name, dataset=data.name,
        split=data.split, seed=seed, model_calls=calls, seconds=time.perf_counter() - started,
        label_names=data.label_names or None, resumed_examples=resumed, extra={"processes": group.world_size},
    )  # fmt: skip


def evaluate(
    model: Any = "bert-base",
    tokenizer: Any = None,
    dataset: Any = "sst2",
    perturbations: Sequence[str] | None = None,
    *,
    max_steps: int = 250,
    seed: int = 0,
    batch_size: int = 64,
    config: str | None = None,
    split: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    synonyms: Any = None,
    device: str | None = None,
    dtype: str | None = None,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> EvalReport:
    """Randomized Perturbation Robustness of a text classifier on a labelled dataset.

    ``model`` is a model object (with ``tokenizer``), a local directory, a Hub id or an alias
    (``bert-base``); ``dataset`` is a ``datasets.Dataset``/``DatasetDict``, a local directory
    or data file, a Hub id or an alias (``sst2``, ``ag_news``, ``imdb``). ``perturbations``
    are spec strings (default: ``delete:p=0.1``, ``synonym:p=0.1``, ``typo:p=0.05``).
    ``synonyms`` is a path to a ``{lemma: [synonyms]}`` JSON file or a
    :class:`~textrobust.text.synonyms.Synonyms`; by default ``$TEXTROBUST_SYNONYMS`` or NLTK's
    WordNet. With ``output_dir``, per-example results stream to ``examples.jsonl`` (``resume``
    continues a stopped run) and report.json, report.md and figures are written at the end.

    Results depend only on the data, the model, the perturbations, ``max_steps`` and ``seed``:
    not on ``batch_size``, the device or the number of processes.
    """
    started = time.perf_counter()
    group = process_group()

    def setup() -> tuple[TextExamples, list[Perturbation], TextClassifier]:
        check_run_options(max_steps, batch_size)
        data, chosen = load_eval_inputs(
            dataset, perturbations, config=config, split=split, text_column=text_column, label_column=label_column,
            limit=limit, shuffle=shuffle, seed=seed, synonyms=synonyms,
        )  # fmt: skip
        classifier = checked_classifier(model, tokenizer, data, device=group.device_for(device), dtype=dtype)
        return data, chosen, classifier

    # every process sets up, or all stop with the same error; then the main process alone opens
    # the output directory, and the others stop with it if that fails
    data, chosen, classifier = group.first_error(setup)
    settings = {
        "task": "eval", "model": classifier.name, "dataset": data.name, "config": config, "split": data.split,
        "text_column": data.text_column, "label_column": data.label_column, "limit": limit, "shuffle": shuffle,
        "perturbations": [p.spec.canonical for p in chosen], "max_steps": max_steps, "seed": seed,
    }  # fmt: skip
    store = open_store(group, output_dir, settings, resume=resume, overwrite=overwrite)
    try:
        report = run_rpr(
            classifier, data, chosen, max_steps=max_steps, seed=seed, batch_size=batch_size, group=group,
            store=store, progress=progress, started=started,
        )  # fmt: skip
    finally:
        if store is not None:
            store.close()
    if group.is_main:  # validity evidence (docs/perturbations-validity.md): the main process alone writes it
        report.extra["validity"] = text_validity(dict(zip(data.ids, data.texts)), report.records, chosen, seed)
    if output_dir and group.is_main:
        write_eval_outputs(report, output_dir)
    return report
