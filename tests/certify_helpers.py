"""Helpers for the certification tests: run certify jobs through the engine on plain-Python
classifiers, and compute smoothed classifiers exactly by enumerating deletion masks."""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from textrobust.certification.certificate import CertifySettings
from textrobust.certification.deletion import join_words, tail_deletion
from textrobust.certification.job import CertifyJob
from textrobust.certification.reference import CertEdJob
from textrobust.core.engine import Engine


def settings(
    p_del: float, *, alpha: float = 0.05, n0: int = 100, n: int = 400, num_classes: int = 2, seed: int = 0, **kw
) -> CertifySettings:
    return CertifySettings(
        p_del=p_del,
        alpha=alpha,
        n0=n0,
        n=n,
        num_classes=num_classes,
        seed=seed,
        draw=tail_deletion(p_del, "word", join_words),
        join=join_words,
        **kw,
    )


def certify_texts(
    classify: Callable[[Sequence[str]], Sequence[int]],
    texts: Sequence[str],
    labels: Sequence[int],
    cfg: CertifySettings,
    *,
    reference: bool = False,
    batch_size: int = 64,
) -> list[dict]:
    """Records of certifying ``texts`` (ids 0..n-1) with the fast or the reference procedure."""
    job = CertEdJob if reference else CertifyJob
    engine = Engine(classify, batch_size=batch_size, size=len, key=None if reference else (lambda x: x))
    records: list[dict] = []
    jobs = [job(i, text, text.split(), label, cfg) for i, (text, label) in enumerate(zip(texts, labels))]
    engine.run(jobs, on_done=lambda j: records.append(j.record()))
    return sorted(records, key=lambda r: r["index"])


_MASKS: dict[int, np.ndarray] = {}


def masks(length: int) -> np.ndarray:
    """Every keep-mask over ``length`` elements, one per row (``2^length`` rows, bool)."""
    if length not in _MASKS:
        _MASKS[length] = np.array(list(itertools.product([False, True], repeat=length)), dtype=bool).reshape(-1, length)
    return _MASKS[length]


def mask_probabilities(length: int, p_del: float) -> np.ndarray:
    """``P[keep-mask]`` of each row of :func:`masks` under deletion with ``p_del``."""
    kept = masks(length).sum(axis=1)
    return (1 - p_del) ** kept * p_del ** (length - kept)
