"""``textrobust.evaluate``: RPR of a Hugging Face text classifier; the CLI's ``eval`` and the
Trainer callback run it through the shared driver (:func:`textrobust.core.driver.execute`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import textrobust.text  # noqa: F401  (registers the text perturbations)
from textrobust.classifiers import ModelOptions, resolve_classifier
from textrobust.classifiers import model_options as merged_model_options
from textrobust.classifiers import report as remote_report
from textrobust.core.driver import Plan, RunResult, execute
from textrobust.core.engine import Engine
from textrobust.core.options import DataOptions, RunOptions, split_options
from textrobust.core.outputs import write_eval_outputs
from textrobust.core.perturbation import Perturbation, build_perturbations
from textrobust.core.report import EvalReport
from textrobust.core.rpr import check_max_steps, rpr_plan, rpr_report
from textrobust.errors import TextrobustWarning, UserError
from textrobust.hf.modeling import is_default_label_names
from textrobust.text import synonyms as synonym_sources
from textrobust.text.data import TextExamples, text_examples
from textrobust.text.model import TextClassifier, text_classifier
from textrobust.text.tokens import text_of, token_perturbation, token_pipeline
from textrobust.text.validity import text_validity
from textrobust.workflow.html import with_html_report

__all__ = ["evaluate", "DEFAULT_PERTURBATIONS", "TextrobustWarning"]

DEFAULT_PERTURBATIONS = ("delete:p=0.1", "synonym:p=0.1", "typo:p=0.05")
#: The text API's name for :attr:`DataOptions.input_column`.
TEXT_ALIASES = {"text_column": "input_column"}


def text_perturbations(specs: Sequence[str] | None, synonyms: Any = None) -> list[Perturbation]:
    """The text perturbations ``specs`` name (default: :data:`DEFAULT_PERTURBATIONS`), built.

    ``synonyms`` is a :class:`~textrobust.text.synonyms.Synonyms`, a path to a JSON file, or
    ``None`` (``$TEXTROBUST_SYNONYMS``, else NLTK's WordNet); it is loaded only if a spec needs it.
    """
    resources: dict[str, Any] = {}
    if synonyms is not None and not isinstance(synonyms, (str, Path)):
        resources["synonyms"] = synonyms
    return build_perturbations(
        specs,
        "text",
        default=DEFAULT_PERTURBATIONS,
        resources=resources,
        resolve={"synonyms": lambda: synonym_sources.resolve(synonyms)},
        missing_hint={"synonyms": synonym_sources.MISSING_HELP},
    )


def load_eval_inputs(
    dataset: Any, perturbations: Sequence[str] | None, data: DataOptions, *, seed: int, synonyms: Any = None
) -> tuple[TextExamples, list[Perturbation]]:
    """The labelled texts to evaluate and the built perturbations (see :func:`evaluate`)."""
    return text_examples(dataset, data, seed), text_perturbations(perturbations, synonyms)


def checked_classifier(
    model: Any,
    tokenizer: Any,
    data: TextExamples,
    *,
    device: str | None = None,
    dtype: str | None = None,
    options: ModelOptions | None = None,
) -> TextClassifier:
    """The engine classifier for ``model``, its labels checked against ``data``'s.

    Anything but a Hugging Face sequence classifier (a callable, pipeline, estimator, prompted
    causal LM, endpoint) gets its adapter from :func:`~textrobust.classifiers.resolve_classifier`."""
    labels = {"dataset_label_names": data.label_names, "dataset_labels": data.labels}
    adapter = resolve_classifier(model, tokenizer, device=device, dtype=dtype, options=options, **labels)
    if adapter is not None:
        return adapter
    classifier = text_classifier(
        model, tokenizer, device=device, dtype=dtype, dataset_alias=data.alias, dataset_name=data.name, **labels
    )
    if data.labels_from_strings and is_default_label_names(classifier.label_names):
        raise UserError(
            f"the label column holds names ({', '.join(data.label_names or [])}) but the model's labels are unnamed "
            "(LABEL_0, ...): use integer labels or a model with id2label names"
        )
    return classifier


def eval_plan(
    classifier: TextClassifier,
    data: TextExamples,
    perturbations: Sequence[Perturbation],
    options: DataOptions,
    *,
    max_steps: int,
    seed: int,
    batch_size: int,
    token_level: bool = True,
) -> Plan:
    """The driver's plan for RPR of ``classifier`` on ``data`` (distinct inputs classified once).

    ``token_level`` (default): draws are assembled as token ids when the tokenizer passes the
    self-check of :mod:`textrobust.text.tokens` (same results as tokenizing each draw's text)."""
    settings = {
        "task": "eval",
        "model": classifier.name,
        "dataset": data.name,
        "config": options.config,
        "split": data.split,
        "text_column": data.text_column,
        "label_column": data.label_column,
        "limit": options.limit,
        "shuffle": options.shuffle,
        "data_fingerprint": data.fingerprint,
        "perturbations": [p.spec.canonical for p in perturbations],
        "max_steps": max_steps,
        "seed": seed,
        **getattr(classifier, "run_settings", {}),
    }
    built_from = {p.spec.canonical: p.built_from for p in perturbations if getattr(p, "built_from", None)}
    if built_from:  # the synonym table, and the sense table, tagger and encoder of constrained specs
        settings["resources"] = built_from
    # token level when the tokenizer allows it (textrobust.text.tokens): same draws, no tokenizer call per draw
    tokens = token_pipeline(classifier) if token_level else None
    if tokens is not None:
        engine = Engine(tokens, batch_size=batch_size, size=tokens.size, key=tokens.key)
        drawn = [token_perturbation(p, tokens.pieces) for p in perturbations]
    else:
        engine = Engine(classifier, batch_size=batch_size, size=classifier.size, key=lambda text: text)
        drawn = list(perturbations)
    return rpr_plan(
        settings,
        data.ids,
        data.texts.__getitem__,
        data.labels,
        drawn,
        max_steps=max_steps,
        seed=seed,
        engine=engine,
        flipped_field="flipped_text",
        encode=text_of,
        context=(data, classifier, perturbations),
    )


def eval_report(result: RunResult) -> EvalReport:
    """The report of a text RPR run made by :func:`eval_plan`."""
    data, classifier, _ = result.plan.context
    report = rpr_report(
        result,
        model=classifier.name,
        dataset=data.name,
        split=data.split,
        label_names=data.label_names or None,
        extra={"processes": result.processes},
    )
    remote_report.add_to_report(report, classifier, result.group)
    return report


def write_eval_files(report: EvalReport, directory: Path) -> dict[str, Path]:
    """report.json, report.md (with the remote-call section, if any) and the figures."""
    paths = write_eval_outputs(report, directory)
    remote_report.append_markdown(report, directory)
    return paths


def evaluate(
    model: Any = "bert-base",
    tokenizer: Any = None,
    dataset: Any = "sst2",
    perturbations: Sequence[str] | None = None,
    *,
    max_steps: int = 250,
    seed: int = 0,
    synonyms: Any = None,
    labels: Any = None,
    prompt: str | Path | None = None,
    model_options: ModelOptions | None = None,
    data: DataOptions | None = None,
    run: RunOptions | None = None,
    **options: Any,
) -> EvalReport:
    """Randomized Perturbation Robustness of a text classifier on a labelled dataset.

    ``model`` is a model object (with ``tokenizer``), a local directory, a Hub id or an alias
    (``bert-base``), or any other classifier (see ``docs/models.md``): a function of a list of
    texts, a ``transformers`` pipeline, a scikit-learn estimator, a causal LM with ``prompt``
    (a template with ``{text}``, or a file holding one), or an endpoint (``http(s)://...``,
    ``openai:<model>`` with ``model_options.base_url``); ``labels`` names the model's labels
    (``{name: verbalizer}`` for prompted models). ``dataset`` is a ``datasets.Dataset``/
    ``DatasetDict``, a local directory or data file, a Hub id or an alias (``sst2``,
    ``ag_news``, ``imdb``). ``perturbations``
    are spec strings (default: ``delete:p=0.1``, ``synonym:p=0.1``, ``typo:p=0.05``).
    ``synonyms`` is a path to a ``{lemma: [synonyms]}`` JSON file or a
    :class:`~textrobust.text.synonyms.Synonyms`; by default ``$TEXTROBUST_SYNONYMS`` or NLTK's
    WordNet.

    ``data`` (:class:`~textrobust.core.options.DataOptions`: ``config``, ``split``, columns,
    ``limit``, ``shuffle``) and ``run`` (:class:`~textrobust.core.options.RunOptions`:
    ``batch_size``, ``device``, ``dtype``, ``output_dir``, ``resume``, ``overwrite``,
    ``progress``) may also be given field by field as keywords (``limit=100``,
    ``text_column="review"``, ``output_dir="out"``). With ``output_dir``, per-example results
    stream to ``examples.jsonl`` (``resume`` continues a stopped run) and report.json,
    report.md and figures are written at the end.

    Results depend only on the data, the model, the perturbations, ``max_steps`` and ``seed``:
    not on ``batch_size``, the device or the number of processes.
    """
    data, run = split_options(options, data, run, aliases=TEXT_ALIASES, function="evaluate()")

    def prepare(group: Any) -> Plan:
        check_max_steps(max_steps)
        inputs, chosen = load_eval_inputs(dataset, perturbations, data, seed=seed, synonyms=synonyms)
        model_settings = merged_model_options(labels, prompt, model_options, run.output_dir)
        classifier = checked_classifier(
            model, tokenizer, inputs, device=group.device_for(run.device), dtype=run.dtype, options=model_settings
        )
        return eval_plan(classifier, inputs, chosen, data, max_steps=max_steps, seed=seed, batch_size=run.batch_size)

    def report_with_validity(result: RunResult) -> EvalReport:
        report = eval_report(result)
        if result.group.is_main:  # validity evidence (docs/perturbations-validity.md): the main process writes it
            inputs, _, chosen = result.plan.context
            report.source_texts = dict(zip(inputs.ids, inputs.texts))
            report.extra["validity"] = text_validity(report.source_texts, report.records, chosen, seed)
        return report

    return execute(prepare, report_with_validity, run, write_outputs=with_html_report(write_eval_files))
