"""What certifying one example produces, and the settings both procedures share."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from textrobust.certification.theorem import Number, certified_radius
from textrobust.core.engine import Draw, Given, Query
from textrobust.core.perturbation import Perturbation
from textrobust.core.random import draw_key, stream_prefix


@dataclass(frozen=True)
class Certificate:
    """A smoothed prediction (``None``: abstain) with the bounds behind it and its radius."""

    prediction: int | None
    p_lower: float  # lower bound on P[f(Del(x)) = top] (the exact value in exact mode)
    p_upper: float  # upper bound on every other class's probability
    radius: int | None  # certified Levenshtein radius; None when abstaining
    top: int  # the class p_lower is about (the prediction unless abstaining)

    @property
    def margin(self) -> float:
        return self.p_lower - self.p_upper

    def rank(self) -> tuple[int, float]:
        """Orders certificates: larger radius first, then larger margin."""
        return (-1 if self.radius is None else self.radius, self.margin)


def runner_up_bound(lower: Sequence[Number], upper: Sequence[Number], top: int) -> Number:
    """The bound on every class other than ``top``: the largest other upper bound, never above
    ``1 - lower[top]`` (the other classes share what ``top`` leaves)."""
    others = [upper[y] for y in range(len(upper)) if y != top]
    return min(max(others), 1 - lower[top]) if others else 1 - lower[top]


def decide(lower: Sequence[Number], upper: Sequence[Number], p_del: float) -> Certificate:
    """The certificate from per-class bounds: the top class by lower bound (ties: lowest id)
    against :func:`runner_up_bound`; exact comparison when the bounds are Fractions."""
    top = max(range(len(lower)), key=lambda y: (lower[y], -y))
    runner = runner_up_bound(lower, upper, top)
    exact = all(isinstance(v, Fraction) for v in (lower[top], runner))
    radius = certified_radius(lower[top], runner, Fraction(p_del) if exact else p_del)
    return Certificate(None if radius is None else top, float(lower[top]), float(runner), radius, top)


@dataclass(frozen=True, kw_only=True)
class SamplingSettings:
    """What every smoothing certifier's settings hold (deletion here, Gaussian noise in
    :mod:`vision.smoothing`): the sampling and the fast procedure's sequential knobs.

    ``n0``/``n``: the reference procedure's selection and estimation sample sizes (the fast
    procedure treats ``n0 + n`` as its budget of draws); ``draw``: the perturbation the engine
    materialises, each example's draws from the stream of ``seed``. The fast procedure looks after
    ``first_look`` draws, growing by ``look_growth``, each look spending ``look_spend`` times the
    alpha of the one before; ``favour_share`` of a look's alpha goes to the class guessed before
    any draw; ``projection_alpha`` and ``reference_quantile`` shape the stopping rule. None of
    the knobs affects validity.
    """

    alpha: float
    n0: int
    n: int
    num_classes: int
    seed: int
    draw: Perturbation
    first_look: int = 64
    look_growth: int = 2
    look_spend: float = 1.5
    favour_share: float = 0.9
    projection_alpha: float = 0.2
    reference_quantile: float = 0.98


@dataclass(frozen=True, kw_only=True)
class CertifySettings(SamplingSettings):
    """Everything that determines one example's certificate, shared by all its jobs.

    ``p_del``: each element's deletion probability; ``draw`` is the deletion perturbation and
    ``join`` turns kept elements into the classifier's input. The fast procedure's own knobs
    (:mod:`textrobust.certification.job`; defaults tuned in simulation on SST-2 sentences, see the
    README), besides :class:`SamplingSettings`'s: ``max_enumerate`` kept-subsets enumerated
    exactly per example (0: none); ``match_reference`` also shapes the stopping rule; ``favour_share``
    splits a binary look's alpha. None of them affects validity.
    """

    p_del: float
    join: Callable[[Sequence[Any]], Any]
    max_enumerate: int = 256
    match_reference: bool = True

    def schedule_settings(self) -> dict[str, Any]:
        """The knobs, for ``run.json`` (a resumed run must use the same ones)."""
        names = (
            "max_enumerate",
            "first_look",
            "look_growth",
            "look_spend",
            "favour_share",
            "projection_alpha",
            "match_reference",
            "reference_quantile",
        )
        return {name: getattr(self, name) for name in names}


def certificate_record(job: Any, *, exact: bool, samples: int, exact_mass: float) -> dict:
    """One line of ``examples.jsonl``: a finished certification ``job``'s ``example_id``,
    ``label``, ``clean_prediction``, ``certificate`` and ``model_calls``, with ``exact``,
    ``samples`` and ``exact_mass``."""
    assert job.certificate is not None, "record() before the job is done"
    cert: Certificate = job.certificate
    return {
        "index": job.example_id,
        "label": job.label,
        "prediction": cert.prediction,
        "p_lower": cert.p_lower,
        "p_upper_runner_up": cert.p_upper,
        "radius": cert.radius,
        "exact": exact,
        "model_calls": job.model_calls,
        "clean_prediction": job.clean_prediction,
        "samples": samples,
        "exact_mass": exact_mass,
    }


class QueryQueue:
    """A job's queries of its current phase, handed to the engine ``budget`` at a time.

    Chunking keeps engine rounds small whatever the number of draws; it cannot change results,
    because each query is fixed (inputs and draw keys) before it is handed out, and the engine's
    per-job cache deduplicates across rounds.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Any, Query]] = []
        self.asked: list[Any] = []

    def add(self, tag: Any, query: Query) -> None:
        self._pending.append((tag, query))

    def take(self, budget: int) -> list[Query]:
        """The next at most ``max(1, budget)`` queries; their tags go to :attr:`asked`."""
        chunk = self._pending[: max(1, budget)]
        del self._pending[: len(chunk)]
        self.asked = [tag for tag, _ in chunk]
        return [q for _, q in chunk]

    @property
    def empty(self) -> bool:
        return not self._pending


class SelectionEstimation:
    """The samples of a select-then-estimate certificate (CERT-ED's procedure, Cohen et al.'s
    CERTIFY): the clean input, then draws ``1..n0`` (selection) and ``n0+1..n0+n`` (estimation)
    of one stream, handed out ``budget`` at a time. :meth:`receive` counts the predictions per
    stage and says when every sample is in; the two stages are independent samples."""

    def __init__(self, clean: Any, draw: Any, prefix: bytes, n0: int, n: int, num_classes: int) -> None:
        self.clean_prediction: int | None = None
        self.counts = np.zeros((2, num_classes), dtype=np.int64)  # selection, estimation
        self._sample = (clean, draw, prefix)
        self._n0, self._n = n0, n
        self._queue: QueryQueue | None = None

    def queries(self, budget: int) -> list[Query]:
        if self._queue is None:  # the queries are made when the job starts, not when it is created
            clean, draw, prefix = self._sample
            self._queue = QueryQueue()
            self._queue.add(0, Given(clean))
            for i in range(1, self._n0 + self._n + 1):
                self._queue.add(i, Draw(draw, draw_key(prefix, i)))
        return self._queue.take(budget)

    def receive(self, predictions: Sequence[int]) -> bool:
        """Count the answers to the last :meth:`queries`; whether all samples are answered."""
        assert self._queue is not None, "receive() before queries()"
        for i, pred in zip(self._queue.asked, predictions):
            if i == 0:
                self.clean_prediction = int(pred)
            else:
                self.counts[0 if i <= self._n0 else 1, int(pred)] += 1
        return self._queue.empty


class SelectThenEstimate:
    """The engine-job methods of a select-then-estimate procedure (CERT-ED's, Cohen et al.'s
    CERTIFY) over :class:`SelectionEstimation`, for a dataclass with the fields ``example_id``,
    ``settings`` (:class:`SamplingSettings`), ``clean_prediction`` and ``certificate``: it calls :meth:`start` with its clean input when made, and its
    :meth:`decide` turns the two stages' counts into the certificate once every sample is in."""

    example_id: Hashable
    settings: SamplingSettings
    clean_prediction: int | None
    certificate: Any

    def start(self, clean: Any) -> None:
        """Plan the samples of ``clean``: draws of the example's own stream."""
        s = self.settings
        prefix = stream_prefix(s.seed, self.example_id, s.draw.spec.canonical)
        self._samples = SelectionEstimation(clean, s.draw, prefix, s.n0, s.n, s.num_classes)

    @property
    def done(self) -> bool:
        return self.certificate is not None

    def queries(self, budget: int) -> list[Query]:
        return self._samples.queries(budget)

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        if not self._samples.receive(predictions):
            return
        self.clean_prediction = self._samples.clean_prediction
        selection, estimation = self._samples.counts
        self.certificate = self.decide(selection, estimation)

    def decide(self, selection: np.ndarray, estimation: np.ndarray) -> Any:
        """The certificate from the per-class counts of the selection and estimation draws."""
        raise NotImplementedError


def check_sampling_options(alpha: float, n0: int, n: int, procedure: str, procedures: Sequence[str]) -> None:
    """Raise :class:`~textrobust.errors.UserError` unless ``alpha`` is in (0, 1), ``n0`` and ``n``
    are at least 1 and ``procedure`` is one of ``procedures`` (the options every certifier takes)."""
    from textrobust.errors import UserError

    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be in (0, 1), got {alpha}")
    if n0 < 1:
        raise UserError(f"--n0 must be at least 1, got {n0}")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if procedure not in procedures:
        raise UserError(f"--procedure must be one of {', '.join(procedures)}, got {procedure!r}")
