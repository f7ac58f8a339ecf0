""":func:`textrobust.certify`: certified Levenshtein radii of a Hugging Face text classifier smoothed by
randomized deletion; the CLI's ``certify`` calls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textrobust.certification.certificate import CertifySettings, check_sampling_options
from textrobust.certification.deletion import join_tokens, join_words, tail_deletion
from textrobust.certification.job import CertifyJob
from textrobust.certification.outputs import write_certify_outputs
from textrobust.certification.reference import CertEdJob
from textrobust.certification.report import CertifyReport, build_certify_report
from textrobust.certification.theorem import radius_cap
from textrobust.core.driver import Plan, RunResult, execute
from textrobust.core.engine import Engine
from textrobust.core.jsonable import attributes
from textrobust.core.options import DataOptions, RunOptions, split_options
from textrobust.errors import UserError
from textrobust.evaluation import TEXT_ALIASES, checked_classifier
from textrobust.text.data import TextExamples, text_examples
from textrobust.text.model import TextClassifier
from textrobust.workflow.html import with_html_report

LEVELS = ("word", "token")
PROCEDURES = {"fast": CertifyJob, "cert-ed": CertEdJob}
DEFAULT_MAX_ENUMERATE = 256


def check_options(p_del: float, alpha: float, n0: int, n: int, level: str, procedure: str, max_enumerate: int) -> None:
    """Raise :class:`UserError` for an out-of-range option, naming the option and the valid range."""
    if not 0 < p_del < 1:
        raise UserError(f"--p-del must be in (0, 1), got {p_del}")
    check_sampling_options(alpha, n0, n, procedure, list(PROCEDURES))
    if level not in LEVELS:
        raise UserError(f"--level must be one of {', '.join(LEVELS)}, got {level!r}")
    if max_enumerate < 0:
        raise UserError(f"--max-enumerate must be at least 0, got {max_enumerate}")


def certify(
    model: Any = "bert-base",
    tokenizer: Any = None,
    dataset: Any = "sst2",
    p_del: float = 0.9,
    *,
    n0: int = 1000,
    n: int = 4000,
    alpha: float = 0.05,
    exact: bool = True,
    level: str = "word",
    procedure: str = "fast",
    max_enumerate: int = DEFAULT_MAX_ENUMERATE,
    seed: int = 0,
    data: DataOptions | None = None,
    run: RunOptions | None = None,
    **options: Any,
) -> CertifyReport:
    """Certify a text classifier smoothed by randomized deletion on a labelled dataset.

    The smoothed classifier deletes each word (``level="word"``) or tokenizer token
    (``level="token"``) independently with probability ``p_del``. For every example the result is
    its smoothed prediction (or an abstention) and a Levenshtein radius within which no edit can
    change it, holding with probability at least ``1 - alpha``
    (:mod:`textrobust.certification.theorem`).

    ``procedure="fast"`` (default) is :class:`~textrobust.certification.job.CertifyJob`: exact
    enumeration of up to ``max_enumerate`` kept-subsets per example (``exact=False``: none),
    deduplicated model calls and sequential stopping within ``n0 + n`` draws.
    ``procedure="cert-ed"`` is CERT-ED's reference procedure: ``n0`` selection draws and ``n``
    estimation draws, each classified. ``model``, ``dataset``, ``data``, ``run`` and the option
    keywords are as in :func:`textrobust.evaluate`; results do not depend on ``batch_size``, the
    device or the number of processes. With ``output_dir``, per-example results stream to
    ``examples.jsonl`` (``resume`` continues a stopped run) and report.json and
    certified_accuracy.png are written.
    """
    data, run = split_options(options, data, run, aliases=TEXT_ALIASES, function="certify()")
    chosen = CertifyOptions(p_del, alpha, n0, n, exact, level, procedure, max_enumerate, seed)

    def prepare(group: Any) -> Plan:
        check_options(p_del, alpha, n0, n, level, procedure, max_enumerate)
        inputs = text_examples(dataset, data, seed)
        classifier = checked_classifier(model, tokenizer, inputs, device=group.device_for(run.device), dtype=run.dtype)
        if len(classifier.label_map) < 2:
            raise UserError(f"certification needs at least 2 classes; the model has {len(classifier.label_map)}")
        return certify_plan(classifier, inputs, data, run.batch_size, chosen)

    def build_report(result: RunResult) -> CertifyReport:
        inputs, classifier = result.plan.context
        return build_certify_report(
            result.records,
            cap=radius_cap(p_del),
            model=classifier.name,
            dataset=inputs.name,
            split=inputs.split,
            **attributes(chosen, "procedure", "level", "p_del", "alpha", "n0", "n", "seed"),
            **result.report_fields(),
        )

    return execute(prepare, build_report, run, write_outputs=with_html_report(write_certify_outputs))


@dataclass(frozen=True)
class CertifyOptions:
    """The certification settings of :func:`certify`, checked by :func:`check_options`."""

    p_del: float
    alpha: float
    n0: int
    n: int
    exact: bool
    level: str
    procedure: str
    max_enumerate: int
    seed: int


def certify_plan(
    classifier: TextClassifier, inputs: TextExamples, data: DataOptions, batch_size: int, o: CertifyOptions
) -> Plan:
    """The driver's plan: one certification job per example (fast or CERT-ED's procedure)."""
    join = join_words if o.level == "word" else join_tokens
    settings = CertifySettings(
        p_del=o.p_del,
        alpha=o.alpha,
        n0=o.n0,
        n=o.n,
        num_classes=len(classifier.label_map),
        seed=o.seed,
        draw=tail_deletion(o.p_del, o.level, join),
        join=join,
        max_enumerate=o.max_enumerate if o.exact else 0,
    )
    units_of, classify = _level(o.level, classifier)
    run_settings = {
        "task": "certify",
        "procedure": o.procedure,
        "model": classifier.name,
        "dataset": inputs.name,
        "config": data.config,
        "split": inputs.split,
        "text_column": inputs.text_column,
        "label_column": inputs.label_column,
        "limit": data.limit,
        "shuffle": data.shuffle,
        "data_fingerprint": inputs.fingerprint,
        "p_del": o.p_del,
        "alpha": o.alpha,
        "n0": o.n0,
        "n": o.n,
        "exact": o.exact,
        "level": o.level,
        "seed": o.seed,
        **(settings.schedule_settings() if o.procedure == "fast" else {}),
    }
    dedup = o.procedure == "fast"
    engine = Engine(classify, batch_size=batch_size, size=classifier.size, key=(lambda x: x) if dedup else None)
    job_type = PROCEDURES[o.procedure]

    def make_job(item: tuple[int, str, int]) -> Any:
        index, text, label = item
        units = units_of(text)
        clean = text if o.level == "word" else tuple(units)
        return job_type(index, clean, units, label, settings)

    return Plan(
        settings=run_settings,
        items=list(zip(inputs.ids, inputs.texts, inputs.labels)),
        index_of=lambda item: item[0],
        make_job=make_job,
        to_record=lambda job: job.record(),
        engine=engine,
        description="certify",
        context=(inputs, classifier),
    )


def _level(level: str, classifier: Any) -> tuple[Callable[[str], list], Callable]:
    """How to split a text into deletable elements, and the engine classifier for the joined result."""
    if level == "word":
        return str.split, classifier
    tokenizer = classifier.tokenizer

    def tokens(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    from textrobust.text.tokens import TokenInputs

    return tokens, TokenInputs(classifier).classify_ids  # padded in numpy, as classify_token_ids
