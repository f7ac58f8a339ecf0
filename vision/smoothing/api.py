"""``vision.certify``: certified L2 radii of an image classifier smoothed by Gaussian noise
(randomized smoothing, Cohen et al. 2019; with ``denoiser``, denoised smoothing, Salman et al. 2020).
The CLI's ``vision certify`` calls it. Same run sequence as :func:`vision.evaluate`: every process
sets up (:meth:`~textrobust.core.distributed.ProcessGroup.first_error`), :func:`open_store`,
:func:`run_examples` on the :class:`~textrobust.core.engine.Engine`."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textrobust.core.distributed import process_group
from textrobust.core.engine import Engine
from textrobust.core.progress import progress_bar
from textrobust.core.runner import open_store, run_examples
from textrobust.errors import UserError
from vision.batch import stack_images
from vision.data import ImageExamples, load_image_examples
from vision.models import ImageClassifier, image_classifier
from vision.smoothing.cohen import CohenJob
from vision.smoothing.denoiser import load_denoiser
from vision.smoothing.job import SmoothingJob
from vision.smoothing.noise import SmoothingSettings, gaussian_draws
from vision.smoothing.report import (
    SmoothingReport,
    build_smoothing_report,
    write_smoothing_outputs,
)
from vision.smoothing.theorem import default_grid

PROCEDURES = {"fast": SmoothingJob, "cohen": CohenJob}


@dataclass
class BaseClassifier:
    """The base classifier ``f`` the noise is smoothed over: the (optional) denoiser, then the
    image classifier (whose own preprocessing, e.g. normalisation, comes after the noise)."""

    classifier: ImageClassifier
    denoiser: torch.nn.Module | None = None

    def __call__(self, images: Sequence[Any]) -> np.ndarray:
        x = stack_images(images)
        if self.denoiser is not None:
            with torch.inference_mode():
                x = self.denoiser(x.to(self.classifier.device))
        return self.classifier.label_map[self.classifier.logits(x).argmax(dim=-1).cpu().numpy()]


def check_options(sigma: float, alpha: float, n0: int, n: int, batch_size: int, procedure: str, radii: Sequence[float] | None) -> None:
    """Raise :class:`UserError` for an out-of-range option, naming it and the valid range."""
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise UserError(f"--sigma must be a positive number, got {sigma}")
    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be in (0, 1), got {alpha}")
    if n0 < 1:
        raise UserError(f"--n0 must be at least 1, got {n0}")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    if procedure not in PROCEDURES:
        raise UserError(f"--procedure must be one of {', '.join(PROCEDURES)}, got {procedure!r}")
    if radii is not None and (not radii or any(not math.isfinite(r) or r < 0 for r in radii) or list(radii) != sorted(set(radii))):
        raise UserError(f"--radii must be distinct non-negative numbers in increasing order, got {list(radii)}")


def smoothing_engine(classify: Any, batch_size: int) -> Engine:
    """Images have no dedup key (two noisy draws are never equal); jobs ask for whole looks."""
    round_size = max(8 * batch_size, 1024)
    return Engine(classify, batch_size=batch_size, round_size=round_size, max_active=max(1, round_size // 64))


def certify(
    model: Any,
    dataset: Any = "mnist",
    sigma: float = 0.25,
    *,
    alpha: float = 0.001,
    n0: int = 100,
    n: int = 100_000,
    procedure: str = "fast",
    denoiser: str | Path | torch.nn.Module | None = None,
    radii: Sequence[float] | None = None,
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
) -> SmoothingReport:
    """Certify an image classifier smoothed by ``N(0, sigma^2 I)`` noise on a labelled dataset.

    Per image: the smoothed prediction (``None``: abstain), the lower bound ``p_lower`` on its
    probability under noise, the certified L2 radius ``sigma Phi^-1(p_lower)`` (in the [0, 1] pixel
    scale; it holds with probability at least ``1 - alpha``, :mod:`vision.smoothing.theorem`) and
    the model calls. ``procedure="cohen"`` is Cohen et al.'s CERTIFY (``n0`` selection, ``n``
    estimation draws); ``"fast"`` (default) needs no selection draws and stops early within
    ``n0 + n`` draws (:mod:`vision.smoothing.job`). ``denoiser``: a :func:`save_denoiser` directory
    or module put in front of the classifier. ``radii``: the report's grid (default
    :func:`~vision.smoothing.theorem.default_grid`; the fast procedure's stopping aims at it).
    ``model``, ``dataset`` and the data options are as in :func:`vision.evaluate`. Results depend
    only on data, model(s), the settings and ``seed``, not on ``batch_size``, device or process
    count. With ``output_dir``: ``examples.jsonl`` streams (``resume`` continues), and report.json,
    report.md and certified_accuracy.png are written.
    """
    started = time.perf_counter()
    group = process_group()

    def setup() -> tuple[ImageExamples, BaseClassifier, dict | None]:
        check_options(sigma, alpha, n0, n, batch_size, procedure, radii)
        data = load_image_examples(dataset, split=split, image_column=image_column, label_column=label_column, limit=limit, shuffle=shuffle, seed=seed)
        classifier = image_classifier(model, image_shape=data.shape, dataset_label_names=data.label_names, dataset_labels=data.labels, device=group.device_for(device))
        if len(classifier.label_map) < 2:
            raise UserError(f"certification needs at least 2 classes; the model has {len(classifier.label_map)}")
        module, meta = (None, None)
        if isinstance(denoiser, torch.nn.Module):
            module, meta = denoiser.eval(), {"name": type(denoiser).__name__}
        elif denoiser is not None:
            module, meta = load_denoiser(denoiser)
            meta = {"name": str(denoiser), **meta}
        if module is not None:
            module = module.to(classifier.device)
            try:
                with torch.inference_mode():
                    module(torch.zeros((1, *data.shape), device=classifier.device))
            except RuntimeError as e:
                raise UserError(f"the denoiser cannot take images of shape {data.shape}: {str(e).splitlines()[0]}") from None
        return data, BaseClassifier(classifier, module), meta

    data, base, denoiser_meta = group.first_error(setup)
    grid = tuple(float(r) for r in radii) if radii is not None else default_grid(sigma, n, alpha)
    settings = SmoothingSettings(
        sigma=float(sigma), alpha=alpha, n0=n0, n=n, num_classes=len(base.classifier.label_map), seed=seed,
        draw=gaussian_draws(sigma), grid=grid,
    )  # fmt: skip
    denoiser_name = denoiser_meta["name"] if denoiser_meta else None
    run_settings = {
        "task": "vision-certify", "procedure": procedure, "model": base.classifier.name, "denoiser": denoiser_name,
        "dataset": data.name, "split": data.split, "limit": limit, "shuffle": shuffle, "sigma": float(sigma),
        "alpha": alpha, "n0": n0, "n": n, "seed": seed, "radius_grid": list(grid),
        **(settings.schedule_settings() if procedure == "fast" else {}),
    }  # fmt: skip
    store = open_store(group, output_dir, run_settings, resume=resume, overwrite=overwrite)
    engine = smoothing_engine(base, batch_size)
    job_type = PROCEDURES[procedure]
    try:
        with progress_bar(len(data), f"certify ({procedure})", enabled=progress and group.is_main) as advance:
            records, resumed = run_examples(
                range(len(data)), lambda i: job_type(data.ids[i], data.image(i), data.labels[i], settings), engine,
                index_of=lambda i: data.ids[i], to_record=lambda job: job.record(), store=store, group=group,
                on_progress=advance,
            )  # fmt: skip
        if store is not None:
            store.finish()
    finally:
        if store is not None:
            store.close()
    report = build_smoothing_report(
        records, grid=grid, seconds=time.perf_counter() - started, model=base.classifier.name, denoiser=denoiser_name,
        dataset=data.name, split=data.split, procedure=procedure, sigma=float(sigma), alpha=alpha, n0=n0, n=n, seed=seed,
        resumed_examples=resumed, processes=group.world_size,
        settings={k: v for k, v in run_settings.items() if k not in ("task", "model", "dataset", "split", "procedure")},
    )  # fmt: skip
    if output_dir and group.is_main:
        write_smoothing_outputs(report, output_dir)
    return report
