"""Perturbation specs, the registry that text and vision both add to, and the
:class:`Perturbation` object the engine calls.

A spec is a string ``NAME`` or ``NAME:key=value,...`` (``delete:p=0.1``). Parsing checks the
name, the keys and each value's range, and fills in defaults, so that two spellings of the
same perturbation get the same :attr:`Spec.canonical` form, which is also what seeds its
random streams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from textrobust.core.random import generator
from textrobust.errors import UserError

Number = float | int


@dataclass(frozen=True)
class Param:
    """One numeric parameter of a perturbation: its type, default and allowed range."""

    name: str
    default: Number | None = None  # None: the key is required
    kind: type = float  # float or int
    low: Number | None = None
    high: Number | None = None
    low_open: bool = False
    high_open: bool = False
    help: str = ""

    def describe_range(self) -> str:
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        kind = "an integer" if self.kind is int else "a number"
        return f"{kind} in {left}{lo}, {hi}{right}"

    def coerce(self, raw: str | Number, where: str) -> Number:
        """The value as this parameter's type, or a :class:`UserError` saying why not."""
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise UserError(f"{self.name} must be {self.describe_range()}, got {raw!r} (in {where!r})") from None
        bad = math.isnan(value) or math.isinf(value)
        if self.kind is int:
            bad = bad or value != int(value)
        if not bad:
            bad = (self.low is not None and (value < self.low or (self.low_open and value == self.low))) or (
                self.high is not None and (value > self.high or (self.high_open and value == self.high))
            )
        if bad:
            raise UserError(f"{self.name} must be {self.describe_range()}, got {raw} (in {where!r})")
        return int(value) if self.kind is int else value


def _fmt(value: Number) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Spec:
    """A parsed, validated perturbation spec with every parameter filled in."""

    name: str
    params: tuple[tuple[str, Number], ...] = ()

    @property
    def canonical(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.params)

    def __getitem__(self, key: str) -> Number:
        return dict(self.params)[key]

    def __str__(self) -> str:
        return self.canonical


@dataclass(eq=False)
class Perturbation:
    """A seeded transform of one input, ready for the engine.

    ``perturb(x, rng)`` maps one input and a ``numpy.random.Generator`` to a perturbed copy
    (never modifying ``x``). ``perturb_batch(xs, keys)``, when given, does the same for many
    inputs at once from their stream keys and must agree with itself whatever the batch
    composition (vision uses it for batched tensor operations).
    """

    spec: Spec
    perturb: Callable[[Any, Any], Any] | None = None
    perturb_batch: Callable[[Sequence[Any], Sequence[int]], Sequence[Any]] | None = None

    def __post_init__(self) -> None:
        if self.perturb is None and self.perturb_batch is None:
            raise TypeError("a Perturbation needs perturb or perturb_batch")

    @property
    def name(self) -> str:
        return self.spec.canonical

    def apply(self, inputs: Sequence[Any], keys: Sequence[int]) -> Sequence[Any]:
        """Perturbed copies of ``inputs``, the i-th drawn from the stream ``keys[i]``."""
        if self.perturb_batch is not None:
            return self.perturb_batch(inputs, keys)
        return [self.perturb(x, generator(key)) for x, key in zip(inputs, keys)]


Builder = Callable[[Spec, Mapping[str, Any]], Perturbation]


@dataclass(frozen=True)
class PerturbationType:
    """A registered kind of perturbation: name, modality, parameters and how to build it."""

    name: str
    modality: str  # "text" or "image"
    params: tuple[Param, ...]
    build: Builder
    summary: str = ""
    needs: tuple[str, ...] = ()  # names of shared resources the builder reads (e.g. "synonyms")
    normalize: Callable[[Spec], Spec] | None = None  # optional: the canonical form of a parsed spec

    def usage(self) -> str:
        keys = ",".join(f"{p.name}={'<' + p.name + '>' if p.default is None else _fmt(p.default)}" for p in self.params)
        return f"{self.name}:{keys}" if keys else self.name


_REGISTRY: dict[str, PerturbationType] = {}


def register(ptype: PerturbationType) -> PerturbationType:
    """Add a perturbation type; a name can be registered once."""
    if ptype.name in _REGISTRY and _REGISTRY[ptype.name] is not ptype:
        raise ValueError(f"perturbation {ptype.name!r} is already registered")
    _REGISTRY[ptype.name] = ptype
    return ptype


def available(modality: str) -> list[PerturbationType]:
    """The registered perturbation types of one modality, by name."""
    return sorted((t for t in _REGISTRY.values() if t.modality == modality), key=lambda t: t.name)


def _names(modality: str) -> str:
    return ", ".join(t.name for t in available(modality)) or "(none registered)"


def parse_spec(text: str, modality: str) -> Spec:
    """Parse and validate ``NAME`` or ``NAME:key=value,...`` for one modality."""
    raw = str(text).strip()
    name, sep, rest = raw.partition(":")
    name = name.strip().lower()
    if not name:
        raise UserError(f"empty perturbation spec {text!r}; expected NAME or NAME:key=value,...")
    ptype = _REGISTRY.get(name)
    if ptype is None or ptype.modality != modality:
        other = f" ({name!r} is an {ptype.modality} perturbation)" if ptype is not None else ""
        raise UserError(f"unknown {modality} perturbation {name!r}{other}; valid: {_names(modality)}")
    allowed = {p.name: p for p in ptype.params}
    given: dict[str, Number] = {}
    if sep and rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip().lower()
            if not eq or not key or not value.strip():
                raise UserError(
                    f"bad perturbation spec {raw!r}: expected key=value, got {item.strip()!r}; usage: {ptype.usage()}"
                )
            if key not in allowed:
                valid = ", ".join(allowed) or "none"
                raise UserError(f"unknown key {key!r} for perturbation {name!r}; valid keys: {valid}")
            if key in given:
                raise UserError(f"key {key!r} given twice in {raw!r}")
            given[key] = allowed[key].coerce(value.strip(), raw)
    params = []
    for p in ptype.params:
        if p.name in given:
            params.append((p.name, given[p.name]))
        elif p.default is None:
            raise UserError(f"perturbation {name!r} needs {p.name}=...; usage: {ptype.usage()}")
        else:
            params.append((p.name, p.kind(p.default)))
    spec = Spec(name, tuple(params))
    return ptype.normalize(spec) if ptype.normalize is not None else spec


def build(spec: str | Spec, modality: str, resources: Mapping[str, Any] | None = None) -> Perturbation:
    """A ready :class:`Perturbation` from a spec string (or parsed spec) and shared resources."""
    parsed = spec if isinstance(spec, Spec) else parse_spec(spec, modality)
    return _REGISTRY[parsed.name].build(parsed, resources or {})


def describe(modality: str) -> str:
    """One line per registered perturbation of a modality: usage and summary."""
    return "\n".join(f"{t.usage():<32} {t.summary}" for t in available(modality))


def build_perturbations(
    specs: Sequence[str] | None,
    modality: str,
    *,
    default: Sequence[str],
    resources: dict[str, Any] | None = None,
    resolve: Mapping[str, Callable[[], Any]] | None = None,
    missing_hint: Mapping[str, str] | None = None,
) -> list[Perturbation]:
    """The perturbations ``specs`` name (or the ``default`` suite), built with their resources.

    ``resolve`` maps a resource name to a zero-argument loader, called only if a spec needs
    that resource and ``resources`` lacks it (loaded resources are added to ``resources``).
    A resource that loads as ``None`` is missing: in the default suite the perturbation that
    needs it is left out with a :class:`~textrobust.errors.TextrobustWarning` (ending with the
    modality's ``missing_hint`` for that resource); in an explicit list ``build`` raises.
    A spec given twice is a :class:`UserError`.
    """
    import warnings

    from textrobust.errors import TextrobustWarning

    resources = {} if resources is None else resources
    resolve = resolve or {}
    explicit = bool(specs)
    parsed = [parse_spec(s, modality) for s in (specs or default)]
    seen: set[str] = set()
    for spec in parsed:
        if spec.canonical in seen:
            raise UserError(f"perturbation {spec.canonical} is given twice")
        seen.add(spec.canonical)
    out = []
    for spec in parsed:
        needs = _REGISTRY[spec.name].needs
        for need in needs:
            if need not in resources and need in resolve:
                resources[need] = resolve[need]()
        missing = [n for n in needs if resources.get(n) is None]
        if missing and not explicit:
            hint = (missing_hint or {}).get(missing[0], f"{missing[0]} not available")
            warnings.warn(f"leaving {spec.canonical} out of the default suite: {hint}", TextrobustWarning, stacklevel=3)
            continue
        out.append(build(spec, modality, resources))
    return out
