"""What certifying one example produces, and the settings both procedures share."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Hashable, Sequence

from textrobust.certification.theorem import Number, certified_radius
from textrobust.core.engine import Query
from textrobust.core.perturbation import Perturbation


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


@dataclass(frozen=True)
class CertifySettings:
    """Everything that determines one example's certificate, shared by all its jobs.

    ``n0``/``n``: CERT-ED's selection and estimation sample sizes (the fast procedure treats
    ``n0 + n`` as its budget of draws). ``draw``: the deletion perturbation the engine
    materialises; ``join`` turns kept elements into the classifier's input.

    The fast procedure's knobs (:mod:`textrobust.certification.job`; defaults tuned in simulation on
    SST-2 sentences, see the README): ``max_enumerate`` kept-subsets enumerated exactly per
    example (0: none); looks after ``first_look`` draws, growing by ``look_growth``, each look
    spending ``look_spend`` times the alpha of the one before; ``favour_share`` of a binary
    look's alpha goes to the class guessed before any draw; ``projection_alpha``,
    ``match_reference`` and ``reference_quantile`` shape the stopping rule. None of them affects validity.
    """

    p_del: float
    alpha: float
    n0: int
    n: int
    num_classes: int
    seed: int
    draw: Perturbation
    join: Callable[[Sequence[Any]], Any]
    max_enumerate: int = 256
    first_look: int = 64
    look_growth: int = 2
    look_spend: float = 1.5
    favour_share: float = 0.9
    projection_alpha: float = 0.2
    match_reference: bool = True
    reference_quantile: float = 0.98

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


def certificate_record(
    index: Hashable,
    label: int,
    clean_prediction: int | None,
    cert: Certificate,
    *,
    exact: bool,
    model_calls: int,
    samples: int,
    exact_mass: float,
) -> dict:
    """One line of ``examples.jsonl``."""
    return {
        "index": index,
        "label": label,
        "prediction": cert.prediction,
        "p_lower": cert.p_lower,
        "p_upper_runner_up": cert.p_upper,
        "radius": cert.radius,
        "exact": exact,
        "model_calls": model_calls,
        "clean_prediction": clean_prediction,
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
