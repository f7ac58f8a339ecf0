"""Randomized Perturbation Robustness (Ilie, Popescu & Stefanescu, 2020) of one example.

For a labelled input ``(x, y)`` and a perturbation ``R``, draws ``1..max_steps`` are
independent perturbations ``R(x)`` of the ORIGINAL input. The outcome is ``first_flip``:

* ``0`` when the clean input ``x`` is already misclassified;
* ``k`` (1-based) for the first draw the model does not classify as ``y``;
* ``None`` when every draw is classified as ``y``: the example is *robust*.

:class:`RPRJob` computes it for several perturbations of one example at once, as an engine
job: it asks for the clean input and draw 1 of every perturbation first (draw 1 also gives
the perturbed accuracy), then, while the clean prediction is right, further draws in order,
and stops a perturbation at its first flip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Hashable, Mapping, Sequence

from textrobust.core.engine import Draws, Engine, Given, Query
from textrobust.core.perturbation import Perturbation
from textrobust.core.random import draw_keys, stream_prefix

if TYPE_CHECKING:
    from textrobust.core.driver import Plan, RunResult
    from textrobust.core.report import EvalReport


@dataclass
class RPRJob:
    """The RPR search of one example under several perturbations (an engine job)."""

    example_id: Hashable
    source: Any
    label: int
    perturbations: Sequence[Perturbation]
    max_steps: int
    seed: int
    clean_prediction: int | None = None
    first_flip: list[int | None] = field(init=False)
    flipped_input: list[Any] = field(init=False)
    draw1_prediction: list[int | None] = field(init=False)

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        n = len(self.perturbations)
        self.first_flip = [None] * n
        self.flipped_input = [None] * n
        self.draw1_prediction = [None] * n
        self._finished = [False] * n
        self._next = [1] * n  # next draw index to ask for, per perturbation
        self._prefix = [stream_prefix(self.seed, self.example_id, p.spec.canonical) for p in self.perturbations]
        self._asked: list[tuple[int, int, int]] = []  # (perturbation or -1 for clean, first draw, count)

    @property
    def done(self) -> bool:
        return all(self._finished)

    def queries(self, budget: int) -> list[Query]:
        asked: list[tuple[int, int, int]] = []
        out: list[Query] = []
        if self.clean_prediction is None:
            asked.append((-1, 0, 1))
            out.append(Given(self.source))
        open_ = [j for j, f in enumerate(self._finished) if not f]
        clean_right = self.clean_prediction == self.label
        per = max(1, math.ceil(budget / max(1, len(open_)))) if clean_right else 1
        for j in open_:
            start = self._next[j]
            if not clean_right and start > 1:
                continue  # only draw 1 is needed until the clean prediction is known right
            stop = min(self.max_steps, start + per - 1)
            asked.append((j, start, stop + 1 - start))
            out.append(Draws(self.perturbations[j], draw_keys(self._prefix[j], start, stop + 1)))
        self._asked = asked
        return out

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        # the answers come in blocks, as asked: (perturbation index or -1 for clean, first draw, count)
        if self._asked and self._asked[0][0] == -1:
            self.clean_prediction = int(predictions[0])
        label, pos = self.label, 0
        for j, start, count in self._asked:
            block = list(predictions[pos : pos + count])
            first = pos
            pos += count
            if j == -1 or self._finished[j]:
                continue
            if start == 1:
                self.draw1_prediction[j] = int(block[0])
            if self.clean_prediction != label:
                if self.draw1_prediction[j] is not None:
                    self.first_flip[j] = 0
                    self._finished[j] = True
                continue
            if block.count(label) == count:
                last = start + count - 1
                self._next[j] = last + 1
                if last >= self.max_steps:
                    self._finished[j] = True
                continue
            # draws of one perturbation arrive in increasing k: the first other label is the first flip
            i = next(i for i, pred in enumerate(block) if pred != label)
            self.first_flip[j] = start + i
            self.flipped_input[j] = inputs[first + i]
            self._finished[j] = True
        self._asked = []

    def record(self, encode: Callable[[Any], Any] = lambda x: x, flipped_field: str = "flipped_input") -> dict:
        """The JSON-ready outcome. ``encode`` turns a flipped input into something JSON holds;
        it is stored under ``flipped_field``."""
        specs = [p.spec.canonical for p in self.perturbations]
        return {
            "index": self.example_id,
            "label": self.label,
            "clean_prediction": self.clean_prediction,
            "first_flip": dict(zip(specs, self.first_flip)),
            flipped_field: {s: (None if x is None else encode(x)) for s, x in zip(specs, self.flipped_input)},
            "draw1_prediction": dict(zip(specs, self.draw1_prediction)),
        }


def check_max_steps(max_steps: int) -> None:
    """Raise :class:`~textrobust.errors.UserError` unless ``max_steps`` is at least 1."""
    from textrobust.errors import UserError

    if max_steps < 1:
        raise UserError(f"--max-steps must be at least 1, got {max_steps}")


def rpr_plan(
    settings: dict[str, Any],
    ids: Sequence[Hashable],
    inputs: Callable[[int], Any],
    labels: Sequence[int],
    perturbations: Sequence[Perturbation],
    *,
    max_steps: int,
    seed: int,
    engine: Engine,
    flipped_field: str,
    encode: Callable[[Any], Any] = lambda x: x,
    description: str = "RPR",
    context: Any = None,
) -> Plan:
    """The driver's plan for RPR of every example under every perturbation.

    Example ``i`` (a position) has id ``ids[i]``, input ``inputs(i)`` (called when its job
    starts) and label ``labels[i]``; its record stores each first flipping input, made JSON by
    ``encode``, under ``flipped_field``.
    """
    from textrobust.core.driver import Plan

    return Plan(
        settings=settings,
        items=range(len(ids)),
        index_of=lambda i: ids[i],
        make_job=lambda i: RPRJob(ids[i], inputs(i), labels[i], perturbations, max_steps, seed),
        to_record=lambda job: job.record(encode, flipped_field=flipped_field),
        engine=engine,
        description=description,
        context=context,
    )


def rpr_report(
    result: RunResult,
    *,
    model: str,
    dataset: str,
    split: str | None,
    label_names: Sequence[str] | None,
    extra: Mapping[str, Any] | None = None,
) -> EvalReport:
    """The RPR report of a finished run (specs, ``max_steps`` and ``seed`` from its settings)."""
    from textrobust.core.report import build_eval_report

    settings = result.plan.settings
    return build_eval_report(
        result.records,
        settings["perturbations"],
        settings["max_steps"],
        model=model,
        dataset=dataset,
        split=split,
        seed=settings["seed"],
        model_calls=result.model_calls,
        seconds=result.seconds,
        label_names=label_names,
        resumed_examples=result.resumed,
        extra=extra,
    )
