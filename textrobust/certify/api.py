"""``textrobust.certify``: certified Levenshtein radii of a Hugging Face text classifier smoothed by
randomized deletion; the CLI's ``certify`` calls it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from textrobust.certify.certificate import CertifySettings
from textrobust.certify.deletion import join_tokens, join_words, tail_deletion
from textrobust.certify.job import CertifyJob
from textrobust.certify.outputs import write_certify_outputs
from textrobust.certify.reference import CertEdJob
from textrobust.certify.report import CertifyReport, build_certify_report
from textrobust.certify.theorem import radius_cap
from textrobust.core.distributed import process_group
from textrobust.core.engine import Engine
from textrobust.core.progress import progress_bar
from textrobust.core.runner import open_store, run_examples
from textrobust.errors import UserError
from textrobust.evaluation import checked_classifier
from textrobust.text.data import TextExamples, load_text_examples
from textrobust.text.model import TextClassifier

LEVELS = ("word", "token")
PROCEDURES = {"fast": CertifyJob, "cert-ed": CertEdJob}
DEFAULT_MAX_ENUMERATE = 256


def check_options(p_del: float, alpha: float, n0: int, n: int, batch_size: int, level: str, procedure: str, max_enumerate: int) -> None:
    """Raise :class:`UserError` for an out-of-range option, naming the option and the valid range."""
    if not 0 < p_del < 1:
        raise UserError(f"--p-del must be in (0, 1), got {p_del}")
    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be in (0, 1), got {alpha}")
    if n0 < 1:
        raise UserError(f"--n0 must be at least 1, got {n0}")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    if level not in LEVELS:
        raise UserError(f"--level must be one of {', '.join(LEVELS)}, got {level!r}")
    if procedure not in PROCEDURES:
        raise UserError(f"--procedure must be one of {', '.join(PROCEDURES)}, got {procedure!r}")
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
    batch_size: int = 64,
    config: str | None = None,
    split: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    shuffle: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> CertifyReport:
    """Certify a text classifier smoothed by randomized deletion on a labelled dataset.

    The smoothed classifier deletes each word (``level="word"``) or tokenizer token
    (``level="token"``) independently with probability ``p_del``. For every example the result is
    its smoothed prediction (or an abstention) and a Levenshtein radius within which no edit can
    change it, holding with probability at least ``1 - alpha``
    (:mod:`textrobust.certify.theorem`).

    ``procedure="fast"`` (default) is :class:`~textrobust.certify.job.CertifyJob`: exact
    enumeration of up to ``max_enumerate`` kept-subsets per example (``exact=False``: none),
    deduplicated model calls and sequential stopping within ``n0 + n`` draws.
    ``procedure="cert-ed"`` is CERT-ED's reference procedure: ``n0`` selection draws and ``n``
    estimation draws, each classified. ``model``, ``dataset`` and the data options are as in
    :func:`textrobust.evaluate`; results do not depend on ``batch_size``, the device or the
    number of processes. With ``output_dir``, per-example results stream to ``examples.jsonl``
    (``resume`` continues a stopped run) and report.json and certified_accuracy.png are written.
    """
    started = time.perf_counter()
    group = process_group()

    def setup() -> tuple[TextExamples, TextClassifier]:
        check_options(p_del, alpha, n0, n, batch_size, level, procedure, max_enumerate)
        data = load_text_examples(
            dataset, config=config, split=split, text_column=text_column, label_column=label_column,
            limit=limit, shuffle=shuffle, seed=seed,
        )  # fmt: skip
        classifier = checked_classifier(model, tokenizer, data, device=group.device_for(device), dtype=dtype)
        if len(classifier.label_map) < 2:
            raise UserError(f"certification needs at least 2 classes; the model has {len(classifier.label_map)}")
        return data, classifier

    # every process sets up, or all stop with the same error (as in ``evaluate``)
    data, classifier = group.first_error(setup)
    join = join_words if level == "word" else join_tokens
    settings = CertifySettings(
        p_del=p_del, alpha=alpha, n0=n0, n=n, num_classes=len(classifier.label_map), seed=seed,
        draw=tail_deletion(p_del, level, join), join=join, max_enumerate=max_enumerate if exact else 0,
    )  # fmt: skip
    units_of, classify = _level(level, classifier)
    run_settings = {
        "task": "certify", "procedure": procedure, "model": classifier.name, "dataset": data.name, "config": config,
        "split": data.split, "text_column": data.text_column, "label_column": data.label_column, "limit": limit,
        "shuffle": shuffle, "p_del": p_del, "alpha": alpha, "n0": n0, "n": n, "exact": exact, "level": level,
        "seed": seed, **(settings.schedule_settings() if procedure == "fast" else {}),
    }  # fmt: skip
    store = open_store(group, output_dir, run_settings, resume=resume, overwrite=overwrite)
    dedup = procedure == "fast"
    engine = Engine(classify, batch_size=batch_size, size=classifier.size, key=(lambda x: x) if dedup else None)
    job_type = PROCEDURES[procedure]

    def make_job(item: tuple[int, str, int]) -> Any:
        index, text, label = item
        units = units_of(text)
        clean = text if level == "word" else tuple(units)
        return job_type(index, clean, units, label, settings)

    items = list(zip(data.ids, data.texts, data.labels))
    try:
        with progress_bar(len(items), "certify", enabled=progress and group.is_main) as advance:
            records, resumed = run_examples(
                items, make_job, engine, index_of=lambda item: item[0], to_record=lambda job: job.record(),
                store=store, group=group, on_progress=advance,
            )  # fmt: skip
        if store is not None:
            store.finish()
    finally:
        if store is not None:
            store.close()
    report = build_certify_report(
        records, cap=radius_cap(p_del), seconds=time.perf_counter() - started, model=classifier.name,
        dataset=data.name, split=data.split, procedure=procedure, level=level, p_del=p_del, alpha=alpha,
        n0=n0, n=n, seed=seed, resumed_examples=resumed, processes=group.world_size,
    )  # fmt: skip
    if output_dir and group.is_main:
        write_certify_outputs(report, output_dir)
    return report


def _level(level: str, classifier: Any) -> tuple[Callable[[str], list], Callable]:
    """How to split a text into deletable elements, and the engine classifier for the joined result."""
    if level == "word":
        return str.split, classifier
    tokenizer = classifier.tokenizer

    def tokens(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    return tokens, classifier.classify_token_ids
