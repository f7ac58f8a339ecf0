"""Word-level text perturbations (words = whitespace tokens), registered with the core.

Draws are word edits (:mod:`textrobust.text.edits`) read from batched counter-based random
streams: a batch of draws needs one vectorised call for its random numbers, and draw ``k`` of
an example still depends only on its stream key. The single-text functions below take a
stream key (``core.random.draw_key``) and return the perturbed text, or the original object
itself when nothing changed. Perturbed texts are re-joined with single spaces.

=========  ===============================================================================
delete     each word deleted independently with probability p (RS-Del / CERT-ED mechanism)
synonym    each word that has synonyms replaced with probability p by a uniformly chosen one
typo       each word of 3+ letters hit with probability p by one character edit
swap       each adjacent word pair swapped with probability p (left to right, no overlap)
insert     for each word with synonyms, with probability p one of its synonyms is inserted
           at a uniformly random position (EDA's random insertion)
=========  ===============================================================================
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from textrobust.core.perturbation import Param, Perturbation, PerturbationType, Spec, register
from textrobust.errors import UserError
from textrobust.text import edits
from textrobust.text.candidates import CandidateSource, Constraints, candidate_source
from textrobust.text.edits import QWERTY_NEIGHBOURS, TYPO_OPERATIONS, Edit, Parsed, edit_batch, render  # noqa: F401
from textrobust.text.synonyms import MISSING_HELP, Synonyms


@dataclass(eq=False)
class TextPerturbation(Perturbation):
    """A word-level text perturbation: ``edit(texts, keys)`` gives each draw's
    ``(parsed text, edit)``; ``apply`` renders them as texts, and the token-level pipeline
    (:mod:`textrobust.text.tokens`) as token ids, from the same edits."""

    edit: Callable[[Sequence[str], Sequence[int]], list[tuple[Parsed, Edit]]] | None = None
    candidates: CandidateSource | None = None  # the constrained candidate source, if any
    built_from: dict[str, str] = field(default_factory=dict)  # resources its draws depend on, by name

    @classmethod
    def from_edit(
        cls,
        spec: Spec,
        rule: edits.EditRule,
        candidates: CandidateSource | None = None,
        built_from: dict[str, str] | None = None,
    ) -> TextPerturbation:
        def edit(texts: Sequence[str], keys: Sequence[int]) -> list[tuple[Parsed, Edit]]:
            return edit_batch(texts, keys, rule)

        def perturb_batch(texts: Sequence[str], keys: Sequence[int]) -> list[str]:
            return [t if e is None else " ".join(e) for t, (_, e) in zip(texts, edit(texts, keys))]

        return cls(spec, perturb_batch=perturb_batch, edit=edit, candidates=candidates, built_from=built_from or {})


def _one(rule: edits.EditRule, text: str, key: int) -> str:
    ((_, edit),) = edit_batch([text], [key], rule)
    return text if edit is None else " ".join(edit)


class _Options:
    """Replacement options per word of a parsed text: ``candidates(text)`` when constrained,
    else every synonym of the word's core; with the mask of words that have any; remembered
    for the last ``cache_size`` texts."""

    def __init__(self, synonyms: Synonyms, candidates: CandidateSource | None, cache_size: int = 4096) -> None:
        self.synonyms, self.candidates, self.cache_size = synonyms, candidates, cache_size
        self._cache: OrderedDict[str, tuple[tuple, np.ndarray]] = OrderedDict()

    def _get(self, parsed: Parsed) -> tuple[tuple, np.ndarray]:
        hit = self._cache.get(parsed.text)
        if hit is not None:
            return hit
        if self.candidates is not None:
            found = tuple(self.candidates(parsed.text))
        else:
            found = tuple(self.synonyms(core) if core else () for _, core, _ in parsed.affixes)
        entry = (found, np.array([bool(o) for o in found], dtype=bool))
        self._cache[parsed.text] = entry
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return entry

    def __call__(self, parsed: Parsed) -> Sequence[Sequence[str]]:
        return self._get(parsed)[0]

    def mask(self, parsed: Parsed) -> np.ndarray:
        return self._get(parsed)[1]


def _options(synonyms: Synonyms, candidates: CandidateSource | None) -> _Options:
    return _Options(synonyms, candidates)


def delete_words(text: str, key: int, p: float) -> str:
    """Each word deleted independently with probability ``p`` (draw from stream ``key``)."""
    return _one(edits.delete_edit(p), text, key)


def substitute_synonyms(
    text: str, key: int, p: float, synonyms: Synonyms, candidates: CandidateSource | None = None
) -> str:
    """Each word with synonyms replaced with probability ``p`` by a uniformly chosen synonym.

    With ``candidates`` (constrained specs), word ``i``'s options are ``candidates(text)[i]``."""
    return _one(edits.synonym_edit(p, _options(synonyms, candidates)), text, key)


def typos(text: str, key: int, p: float) -> str:
    """Each word of 3+ letters hit with probability ``p`` by one keyboard-style edit:
    QWERTY-neighbour substitution, adjacent swap, deletion or neighbour insertion."""
    return _one(edits.typo_edit(p), text, key)


def swap_words(text: str, key: int, p: float) -> str:
    """Each adjacent pair swapped with probability ``p``, scanning left to right without
    overlap (after a swap the scan moves past both words)."""
    return _one(edits.swap_edit(p), text, key)


def insert_synonyms(
    text: str, key: int, p: float, synonyms: Synonyms, candidates: CandidateSource | None = None
) -> str:
    """For each word with synonyms, with probability ``p`` one of them (uniform) is inserted
    at a uniformly random position of the text. ``candidates`` as in :func:`substitute_synonyms`."""
    return _one(edits.insert_edit(p, _options(synonyms, candidates)), text, key)


def _plain(make):
    def build(spec: Spec, resources: Mapping[str, Any]) -> Perturbation:
        return TextPerturbation.from_edit(spec, make(spec["p"]))

    return build


def _with_synonyms(make):
    def build(spec: Spec, resources: Mapping[str, Any]) -> Perturbation:
        synonyms = resources.get("synonyms")
        if synonyms is None:
            raise UserError(f"{spec.canonical} needs synonyms: {MISSING_HELP}")
        constraints = Constraints.from_spec(spec)
        candidates = candidate_source(synonyms, constraints, resources) if constraints else None
        built_from = {"synonyms": _identity(synonyms)}
        if candidates is not None:
            for name in ("tagger", "senses", "encoder"):  # those the constraints use
                resource = getattr(candidates, name)
                if resource is not None:
                    built_from[name] = _identity(resource)
        rule = make(spec["p"], _options(synonyms, candidates))
        return TextPerturbation.from_edit(spec, rule, candidates, built_from)

    return build


def _identity(resource: Any) -> str:
    """What ``run.json`` records of a resource the draws are built from: its ``identity`` (a
    content hash or a version), else its ``name`` or ``source``, else its type."""
    for attribute in ("identity", "name", "source"):
        value = getattr(resource, attribute, None)
        if value:
            return str(value)
    return type(resource).__name__


def _p(default: float) -> tuple[Param, ...]:
    return (Param("p", default, float, 0.0, 1.0, help="probability per word"),)


def _synonym_params(default: float) -> tuple[Param, ...]:
    """``p`` and the constraint keys of :mod:`textrobust.text.candidates`."""
    d = Constraints()
    return _p(default) + (
        Param(
            "constrained",
            1,
            int,
            0,
            1,
            help="1: apply the constraints below; 0: every WordNet synonym (the old behaviour)",
        ),
        Param("pos", int(d.pos), int, 0, 1, help="only senses of the word's part of speech in the sentence"),
        Param("senses", d.senses, int, 0, None, help="only the word's first K (SemCor-tagged) senses; 0 = all"),
        Param("sim", d.sim, float, 0.0, 1.0, help="min cosine similarity of the window with one substitution"),
        Param("window", d.window, int, 0, None, help="words either side for sim; 0 = whole text"),
        Param("multiword", int(d.multiword), int, 0, 1, help="1: allow replacements of several words"),
        Param("rare", int(d.rare), int, 0, 1, help="1: allow rare replacements (outside the encoder vocabulary)"),
    )


def _unconstrained_canonical(spec: Spec) -> Spec:
    """``constrained=0`` specs keep only ``p`` and ``constrained`` (the other keys do nothing)."""
    if dict(spec.params).get("constrained", 1):
        return spec
    return Spec(spec.name, tuple((k, v) for k, v in spec.params if k in ("p", "constrained")))


def _synonym_type(name: str, edit: Callable, description: str) -> PerturbationType:
    """A text perturbation drawing on the synonym source: ``p`` (default 0.1) and the constraint
    keys, ``constrained=0`` specs normalised by :func:`_unconstrained_canonical`."""
    return PerturbationType(
        name,
        "text",
        _synonym_params(0.1),
        _with_synonyms(edit),
        description,
        needs=("synonyms",),
        normalize=_unconstrained_canonical,
    )


for _type in (
    PerturbationType("delete", "text", _p(0.1), _plain(edits.delete_edit), "delete each word with probability p"),
    _synonym_type(
        "synonym",
        edits.synonym_edit,
        "replace each word that has synonyms with probability p (WordNet; constrained, see docs/perturbations-validity.md)",
    ),
    PerturbationType(
        "typo", "text", _p(0.05), _plain(edits.typo_edit), "one keyboard typo per word of 3+ letters, probability p"
    ),
    PerturbationType(
        "swap", "text", _p(0.1), _plain(edits.swap_edit), "swap each adjacent word pair with probability p"
    ),
    _synonym_type(
        "insert",
        edits.insert_edit,
        "insert a synonym of each word with probability p at a random position (constrained as synonym)",
    ),
):
    register(_type)
