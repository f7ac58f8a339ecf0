"""``vision.certify``: certified L2 radii of an image classifier smoothed by Gaussian noise
(randomized smoothing, Cohen et al. 2019; with ``denoiser``, denoised smoothing, Salman et al. 2020).
The CLI's ``vision certify`` calls it; it runs through the shared driver
(:func:`textrobust.core.driver.execute`) like every other entry point."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textrobust.certification.certificate import check_sampling_options
from textrobust.core.driver import Plan, RunResult, execute
from textrobust.core.engine import Engine
from textrobust.core.options import DataOptions, RunOptions, split_options
from textrobust.errors import UserError
from vision.batch import stack_images
from vision.data import image_examples
from vision.evaluation import IMAGE_ALIASES, IMAGE_RUN_DEFAULTS
from vision.models import ImageClassifier, image_classifier
from vision.smoothing.cohen import CohenJob
from vision.smoothing.denoiser import load_denoiser
from vision.smoothing.job import SmoothingJob
from vision.smoothing.noise import SmoothingSettings, gaussian_draws
from vision.smoothing.report import SmoothingReport, build_smoothing_report, write_smoothing_outputs
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


def check_options(sigma: float, alpha: float, n0: int, n: int, procedure: str, radii: Sequence[float] | None) -> None:
    """Raise :class:`UserError` for an out-of-range option, naming it and the valid range."""
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise UserError(f"--sigma must be a positive number, got {sigma}")
    check_sampling_options(alpha, n0, n, procedure, list(PROCEDURES))
    if radii is not None and (
        not radii or any(not math.isfinite(r) or r < 0 for r in radii) or list(radii) != sorted(set(radii))
    ):
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
    data: DataOptions | None = None,
    run: RunOptions | None = None,
    **options: Any,
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
    ``model``, ``dataset``, ``data``/``run`` and the option keywords are as in
    :func:`vision.evaluate`. Results depend only on data, model(s), the settings and ``seed``, not
    on ``batch_size``, device or process count. With ``output_dir``: ``examples.jsonl`` streams
    (``resume`` continues), and report.json, report.md and certified_accuracy.png are written.
    """
    data, run = split_options(
        options, data, run, aliases=IMAGE_ALIASES, run_defaults=IMAGE_RUN_DEFAULTS, function="vision.certify()"
    )
    sampling = {"sigma": float(sigma), "alpha": alpha, "n0": n0, "n": n, "seed": seed}  # settings, run.json, report

    def prepare(group: Any) -> Plan:
        check_options(sigma, alpha, n0, n, procedure, radii)
        examples = image_examples(dataset, data, seed)
        classifier = image_classifier(
            model,
            image_shape=examples.shape,
            dataset_label_names=examples.label_names,
            dataset_labels=examples.labels,
            device=group.device_for(run.device),
        )
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
                    module(torch.zeros((1, *examples.shape), device=classifier.device))
            except RuntimeError as e:
                raise UserError(
                    f"the denoiser cannot take images of shape {examples.shape}: {str(e).splitlines()[0]}"
                ) from None
        base = BaseClassifier(classifier, module)
        grid = tuple(float(r) for r in radii) if radii is not None else default_grid(sigma, n, alpha)
        settings = SmoothingSettings(
            **sampling, num_classes=len(classifier.label_map), draw=gaussian_draws(sigma), grid=grid
        )
        run_settings = {
            "task": "vision-certify",
            "procedure": procedure,
            "model": classifier.name,
            "denoiser": meta["name"] if meta else None,
            "dataset": examples.name,
            "split": examples.split,
            "limit": data.limit,
            "shuffle": data.shuffle,
            **sampling,
            "radius_grid": list(grid),
            **(settings.schedule_settings() if procedure == "fast" else {}),
        }
        job_type = PROCEDURES[procedure]
        return Plan(
            settings=run_settings,
            items=range(len(examples)),
            index_of=lambda i: examples.ids[i],
            make_job=lambda i: job_type(examples.ids[i], examples.image(i), examples.labels[i], settings),
            to_record=lambda job: job.record(),
            engine=smoothing_engine(base, run.batch_size),
            description=f"certify ({procedure})",
            context=(examples, classifier, grid),
        )

    def build_report(result: RunResult) -> SmoothingReport:
        examples, classifier, grid = result.plan.context
        settings = result.plan.settings
        return build_smoothing_report(
            result.records,
            grid=grid,
            model=classifier.name,
            denoiser=settings["denoiser"],
            dataset=examples.name,
            split=examples.split,
            procedure=procedure,
            **sampling,
            **result.report_fields(),
            settings={k: v for k, v in settings.items() if k not in ("task", "model", "dataset", "split", "procedure")},
        )

    return execute(prepare, build_report, run, write_outputs=write_smoothing_outputs)
