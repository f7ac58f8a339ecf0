"""Robustness metrics while a Hugging Face ``Trainer`` trains: :class:`RobustnessCallback`.

::

    from textrobust.callbacks import RobustnessCallback

    args = TrainingArguments(..., eval_strategy="steps", eval_steps=100, save_steps=100,
                             load_best_model_at_end=True,
                             metric_for_best_model="eval_robust/delete:p=0.1/robust_ratio")
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=tokenized_eval,
                      processing_class=tokenizer)
    RobustnessCallback(raw_eval, perturbations=["delete:p=0.1"], max_steps=50, limit=200).attach(trainer)
    trainer.train()

How the metrics get everywhere. ``Trainer.evaluate`` logs its own metrics, then calls every
callback's ``on_evaluate`` with the very ``metrics`` dict it returns to the training loop,
where ``metric_for_best_model`` is looked up (``Trainer._determine_best_metric``; also the
``ReduceLROnPlateau`` step). The callback runs the RPR engine and

* adds its metrics to that dict, so ``metric_for_best_model``, ``load_best_model_at_end``,
  ``EarlyStoppingCallback`` and the dict ``trainer.evaluate()`` returns all see them
  (``trainer.log`` alone would not: the log entry is a copy made before ``on_evaluate``);
* logs them with ``trainer.log``, so they land in ``trainer.state.log_history`` and every
  reporter (TensorBoard, Weights & Biases, ...) gets them through ``on_log``.

Callbacks are not given the trainer, and ``trainer.log`` needs it: :meth:`attach` adds the
callback to the trainer, remembers the trainer, and puts the callback first, so callbacks that
read the metrics in their own ``on_evaluate`` (early stopping) run after it. A callback passed
through ``Trainer(callbacks=[...])`` and never attached still feeds ``metric_for_best_model``
but warns once that reporters will not see its metrics.

Under distributed training (``accelerate launch``/``torchrun``) every process runs the
callback: the examples are split across processes and gathered (the same
:func:`~textrobust.core.runner.run_examples` as ``textrobust eval``), every process gets the
same numbers, and reporters write them once (they log on the main process only). The draws
are seeded by ``seed``, not by the training step, so the same inputs are perturbed the same way
at every evaluation: changes in the curves come from the model, not from new noise.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

from transformers import TrainerCallback

from textrobust.core.driver import execute
from textrobust.core.options import DataOptions, RunOptions
from textrobust.core.report import EvalReport
from textrobust.errors import TextrobustWarning, UserError
from textrobust.core.rpr import check_max_steps
from textrobust.evaluation import checked_classifier, eval_plan, eval_report, load_eval_inputs

PREFIX = "eval_robust"


def robust_metrics(report: EvalReport, prefix: str = PREFIX) -> dict[str, float]:
    """Scalar metrics of an RPR report, named ``<prefix>/<spec>/<metric>``.

    Per perturbation: ``accuracy`` (on draw 1), ``delta`` (clean minus perturbed accuracy),
    ``robust_ratio`` and its 95% interval (``robust_ratio_ci95_low``/``_high``); overall:
    ``clean_accuracy``, ``n_examples``, ``model_calls``, ``seconds``. Values that do not exist
    (no examples) are left out rather than logged as NaN.
    """
    out: dict[str, float] = {
        f"{prefix}/clean_accuracy": report.clean_accuracy.value,
        f"{prefix}/n_examples": float(report.n_examples),
        f"{prefix}/model_calls": float(report.model_calls),
        f"{prefix}/seconds": float(report.seconds),
    }
    for p in report.perturbations:
        robust = p.rpr.robust
        out[f"{prefix}/{p.spec}/accuracy"] = p.accuracy.value
        out[f"{prefix}/{p.spec}/delta"] = p.delta.value
        out[f"{prefix}/{p.spec}/robust_ratio"] = robust.value
        if robust.ci is not None:
            out[f"{prefix}/{p.spec}/robust_ratio_ci95_low"] = robust.ci[0]
            out[f"{prefix}/{p.spec}/robust_ratio_ci95_high"] = robust.ci[1]
    return {k: float(v) for k, v in out.items() if v is not None}


def certify_metrics(report: Mapping[str, Any], prefix: str = PREFIX) -> dict[str, float]:
    """Scalar metrics of a certification report (the JSON of ``textrobust certify``).

    Named ``<prefix>/certify:p_del=<p>/certified_accuracy@<r>`` for each radius r, plus
    ``smoothed_accuracy``, ``abstain_rate``, ``median_radius`` (wrong or abstained predictions
    count as -1) and ``model_calls`` under the same ``certify:p_del=<p>`` group.
    """
    group = f"{prefix}/certify:p_del={report['p_del']:g}"
    out: dict[str, float] = {}
    for radius, value in sorted(report.get("certified_accuracy", {}).items(), key=lambda kv: int(kv[0])):
        out[f"{group}/certified_accuracy@{int(radius)}"] = value
    for name in ("smoothed_accuracy", "abstain_rate", "median_radius", "model_calls"):
        if report.get(name) is not None:
            out[f"{group}/{name}"] = report[name]
    return {k: float(v) for k, v in out.items() if v is not None}


#: The ``certify=`` options, with the types they take; the model, the data options (``split``,
#: ``limit``, ...) and the seed are the callback's, and nothing is written to disk.
CERTIFY_OPTIONS: dict[str, tuple[type, ...]] = {
    "p_del": (int, float),
    "n0": (int,),
    "n": (int,),
    "alpha": (int, float),
    "exact": (bool,),
    "level": (str,),
    "procedure": (str,),
    "max_enumerate": (int,),
    "batch_size": (int,),
}


def certify_options(certify: Any, batch_size: int) -> dict[str, Any]:
    """``certify=`` checked and completed with ``textrobust.certify``'s defaults (and the
    callback's ``batch_size``); a :class:`UserError` names a wrong option before training starts."""
    import inspect

    from textrobust.certification.api import certify as certify_api
    from textrobust.certification.api import check_options

    if not isinstance(certify, Mapping) or "p_del" not in certify:
        raise UserError('certify= takes a dict of certify options with at least "p_del", e.g. {"p_del": 0.9}')
    unknown = sorted(set(certify) - set(CERTIFY_OPTIONS))
    if unknown:
        raise UserError(
            f"certify= does not take {', '.join(map(repr, unknown))}; it takes {', '.join(CERTIFY_OPTIONS)}"
        )
    for name, value in certify.items():
        types = CERTIFY_OPTIONS[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise UserError(f"certify {name} must be of type {' or '.join(t.__name__ for t in types)}, got {value!r}")
    defaults = {k: v.default for k, v in inspect.signature(certify_api).parameters.items() if k in CERTIFY_OPTIONS}
    options = {**defaults, "batch_size": batch_size, **certify}
    if not 0.0 < options["p_del"] < 1.0:
        raise UserError(f"certify p_del must be in (0, 1), got {options['p_del']!r}")
    RunOptions(batch_size=options["batch_size"])  # checks it
    check_options(**{k: options[k] for k in ("p_del", "alpha", "n0", "n", "level", "procedure", "max_enumerate")})
    return options


def _first(*values: Any) -> Any:
    """The first of ``values`` that is not ``None`` (models and tokenizers have no useful truth value)."""
    return next((v for v in values if v is not None), None)


def _fingerprint(model: Any) -> tuple[float, ...]:
    """A cheap identity of the model's weights: each parameter's sum and position-weighted sum."""
    import torch

    out: list[float] = []
    with torch.no_grad():
        for p in model.parameters():
            flat = p.detach().flatten().float()
            # irregular weights in [0.5, 1.5) (golden-ratio sequence), so symmetric edits still show
            weights = torch.arange(flat.numel(), device=flat.device, dtype=torch.float64).mul_(0.6180339887498949)
            weights = weights.frac_().add_(0.5).float()
            out += [float(flat.sum()), float(torch.dot(flat, weights))]
    return tuple(out)


def _text_tokenizer(processing_class: Any) -> Any:
    """The tokenizer inside a processing class (a tokenizer, or a processor holding one)."""
    return _first(getattr(processing_class, "tokenizer", None), processing_class)


class RobustnessCallback(TrainerCallback):
    """Run RPR (and, with ``certify``, certification) on ``eval_dataset`` at every evaluation.

    ``eval_dataset`` holds raw text and labels (a ``datasets.Dataset``/``DatasetDict``, a path
    or a Hub name, as for :func:`textrobust.evaluate`; columns are detected or given with
    ``text_column``/``label_column``), not the tokenized set the ``Trainer`` evaluates on.
    ``perturbations`` are spec strings (default: ``delete:p=0.1``), ``max_steps`` the draws
    per example, ``limit`` the first N examples (after ``shuffle``, seeded by ``seed``).
    ``certify`` is ``None`` or options of ``textrobust.certify`` (``{"p_del": 0.9, "n0": ...,
    "n": ..., "alpha": ...}``, see :data:`CERTIFY_OPTIONS`): certification runs on the same
    examples with the same seed, adding ``eval_robust/certify:p_del=<p>/certified_accuracy@<r>``
    and more (:func:`certify_metrics`).

    Metrics are named ``eval_robust/<spec>/accuracy``, ``.../delta``, ``.../robust_ratio``
    (see :func:`robust_metrics` and :func:`certify_metrics`). The model comes from the
    trainer (``model``) with its ``processing_class`` (or ``tokenizer``); it is evaluated
    where it is, in eval mode, and put back in train mode while the trainer is training
    (otherwise back in the mode it was in).
    """

    def __init__(
        self,
        eval_dataset: Any,
        perturbations: Sequence[str] = ("delete:p=0.1",),
        *,
        max_steps: int = 50,
        limit: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        batch_size: int = 64,
        certify: Mapping[str, Any] | None = None,
        text_column: str | None = None,
        label_column: str | None = None,
        split: str | None = None,
        synonyms: Any = None,
        prefix: str = PREFIX,
    ) -> None:
        check_max_steps(max_steps)
        self.data = DataOptions(
            split=split, input_column=text_column, label_column=label_column, limit=limit, shuffle=shuffle
        )
        self.run = RunOptions(batch_size=batch_size)
        if isinstance(perturbations, str):
            perturbations = [perturbations]
        # checked now, not after the first training steps
        self.certify = None if certify is None else certify_options(certify, batch_size)
        self.eval_dataset = eval_dataset
        self.perturbations = list(perturbations)
        self.max_steps = max_steps
        self.seed = seed
        self.synonyms = synonyms
        self.prefix = prefix
        self.trainer: Any = None
        self.last_report: EvalReport | None = None
        self.last_certify_report: Any = None  # a CertifyReport, with certify=
        self._inputs: tuple[Any, Any] | None = None  # (TextExamples, perturbations), loaded once
        self._last: tuple[tuple, dict[str, float]] | None = None  # ((global step, weights), metrics)
        self._warned = False

    def attach(self, trainer: Any) -> "RobustnessCallback":
        """Add this callback to ``trainer`` (first in line) and log through it; returns ``self``."""
        callbacks = trainer.callback_handler.callbacks
        if self not in callbacks:
            trainer.add_callback(self)
        callbacks.remove(self)
        callbacks.insert(0, self)
        self.trainer = trainer
        return self

    def on_evaluate(self, args, state, control, metrics: dict | None = None, **kwargs):  # noqa: ANN001
        model = _first(kwargs.get("model"), getattr(self.trainer, "model", None))
        processing_class = _first(
            kwargs.get("processing_class"),
            kwargs.get("tokenizer"),
            getattr(self.trainer, "processing_class", None),
            getattr(self.trainer, "tokenizer", None),
        )
        if model is None or processing_class is None:
            raise UserError("RobustnessCallback needs the trainer's model and its processing_class (tokenizer)")
        # Trainer.evaluate with several eval sets calls on_evaluate once per set: the same step and
        # the same weights give the same metrics, so run once (but again after, say, the best
        # checkpoint was loaded at the same step)
        key = (state.global_step, _fingerprint(model))
        if self._last is not None and self._last[0] == key:
            robust, fresh = self._last[1], False
        else:
            training = bool(getattr(self.trainer, "is_in_train", False))
            robust, fresh = self.evaluate_model(model, _text_tokenizer(processing_class), training=training), True
            self._last = (key, robust)
        if metrics is not None:
            metrics.update(robust)
        if not fresh:
            return
        if self.trainer is not None:
            self.trainer.log(dict(robust))
        elif not self._warned:
            self._warned = True
            warnings.warn(
                "RobustnessCallback was not attached: its metrics feed metric_for_best_model but reach no reporter; "
                "use RobustnessCallback(...).attach(trainer)",
                TextrobustWarning,
                stacklevel=2,
            )

    def evaluate_model(self, model: Any, tokenizer: Any, *, training: bool = False) -> dict[str, float]:
        """The metrics for ``model`` now (on every process, the same); also kept as ``last_report``.

        The model runs in eval mode and is left in train mode if ``training`` or if it was in
        train mode before, else in eval mode.
        """
        was_training = model.training

        def prepare(group: Any) -> Any:
            if self._inputs is None:
                self._inputs = load_eval_inputs(
                    self.eval_dataset, self.perturbations, self.data, seed=self.seed, synonyms=self.synonyms
                )
            data, chosen = self._inputs
            classifier = checked_classifier(model, tokenizer, data)
            return eval_plan(
                classifier,
                data,
                chosen,
                self.data,
                max_steps=self.max_steps,
                seed=self.seed,
                batch_size=self.run.batch_size,
            )

        try:
            report = execute(prepare, eval_report, self.run)
            metrics = robust_metrics(report, self.prefix)
            certified = self._run_certify(model, tokenizer) if self.certify is not None else None
            if certified is not None:
                metrics.update(certify_metrics(certified.to_json(), self.prefix))
        finally:
            model.train(training or was_training)
        self.last_report, self.last_certify_report = report, certified
        return metrics

    def _run_certify(self, model: Any, tokenizer: Any) -> Any:
        """``textrobust.certify`` on the same examples with the ``certify`` options, on every
        process (examples split and gathered), the model left on its device, nothing written."""
        from textrobust.certification.api import certify

        assert self.certify is not None
        device = str(next(model.parameters()).device)  # where it is (certify would move it to the process's device)
        return certify(
            model, tokenizer, self.eval_dataset, seed=self.seed, data=self.data, device=device, **self.certify
        )
