"""Word-level text perturbations (words = whitespace tokens), registered with the core.

Every function takes the original text and a ``numpy.random.Generator`` and returns the
perturbed text, or the original object itself when nothing changed. Perturbed texts are
re-joined with single spaces.

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

import functools
from typing import Any, Mapping

import numpy as np

from textrobust.core.perturbation import Param, Perturbation, PerturbationType, Spec, register
from textrobust.errors import UserError
from textrobust.text.candidates import CandidateSource, Constraints, candidate_source
from textrobust.text.synonyms import MISSING_HELP, Synonyms
from textrobust.text.words import letters, match_case, split_affixes

# Neighbouring keys on a QWERTY keyboard (same row and the rows above/below).
QWERTY_NEIGHBOURS = {
    "q": "wa",
    "w": "qeas",
    "e": "wrsd",
    "r": "etdf",
    "t": "ryfg",
    "y": "tugh",
    "u": "yihj",
    "i": "uojk",
    "o": "ipkl",
    "p": "ol",
    "a": "qwsz",
    "s": "awedxz",
    "d": "serfcx",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "z": "asx",
    "x": "zsdc",
    "c": "xdfv",
    "v": "cfgb",
    "b": "vghn",
    "n": "bhjm",
    "m": "njk",
}

TYPO_OPERATIONS = ("substitute", "swap", "delete", "insert")


def delete_words(text: str, rng: np.random.Generator, p: float) -> str:
    """Each word deleted independently with probability ``p``."""
    words = text.split()
    if not words:
        return text
    keep = rng.random(len(words)) >= p
    if keep.all():
        return text
    return " ".join(w for w, k in zip(words, keep) if k)


def substitute_synonyms(
    text: str, rng: np.random.Generator, p: float, synonyms: Synonyms, candidates: CandidateSource | None = None
) -> str:
    """Each word with synonyms replaced with probability ``p`` by a uniformly chosen synonym.

    With ``candidates`` (constrained specs), word ``i``'s options are ``candidates(text)[i]``."""
    words = text.split()
    allowed = candidates(text) if candidates is not None else None
    changed = False
    for i, token in enumerate(words):
        pre, core, post = split_affixes(token)
        options = allowed[i] if allowed is not None else (synonyms(core) if core else ())
        if options and rng.random() < p:
            words[i] = pre + match_case(options[int(rng.integers(len(options)))], core) + post
            changed = True
    return " ".join(words) if changed else text


def _typo(core: str, rng: np.random.Generator) -> str:
    op = TYPO_OPERATIONS[int(rng.integers(len(TYPO_OPERATIONS)))]
    n = len(core)
    if op == "swap":
        i = int(rng.integers(n - 1))
        return core[:i] + core[i + 1] + core[i] + core[i + 2 :]
    if op == "delete":
        i = int(rng.integers(n))
        return core[:i] + core[i + 1 :]
    keyed = [i for i, ch in enumerate(core) if ch.lower() in QWERTY_NEIGHBOURS]
    if not keyed:  # no letter on the keyboard map: fall back to a swap
        i = int(rng.integers(n - 1))
        return core[:i] + core[i + 1] + core[i] + core[i + 2 :]
    i = keyed[int(rng.integers(len(keyed)))]
    options = QWERTY_NEIGHBOURS[core[i].lower()]
    new = options[int(rng.integers(len(options)))]
    new = new.upper() if core[i].isupper() else new
    if op == "substitute":
        return core[:i] + new + core[i + 1 :]
    return core[: i + 1] + new + core[i + 1 :]  # insert a neighbour key after the letter


def typos(text: str, rng: np.random.Generator, p: float) -> str:
    """Each word of 3+ letters hit with probability ``p`` by one keyboard-style edit:
    QWERTY-neighbour substitution, adjacent swap, deletion or neighbour insertion."""
    words = text.split()
    changed = False
    for i, token in enumerate(words):
        pre, core, post = split_affixes(token)
        if letters(core) >= 3 and rng.random() < p:
            words[i] = pre + _typo(core, rng) + post
            changed = True
    return " ".join(words) if changed else text


def swap_words(text: str, rng: np.random.Generator, p: float) -> str:
    """Each adjacent pair swapped with probability ``p``, scanning left to right without
    overlap (after a swap the scan moves past both words)."""
    words = text.split()
    changed = False
    i = 0
    while i < len(words) - 1:
        if rng.random() < p:
            words[i], words[i + 1] = words[i + 1], words[i]
            changed = True
            i += 2
        else:
            i += 1
    return " ".join(words) if changed else text


def insert_synonyms(
    text: str, rng: np.random.Generator, p: float, synonyms: Synonyms, candidates: CandidateSource | None = None
) -> str:
    """For each word with synonyms, with probability ``p`` one of them (uniform) is inserted
    at a uniformly random position of the text. ``candidates`` as in :func:`substitute_synonyms`."""
    words = text.split()
    allowed = candidates(text) if candidates is not None else None
    inserts = []
    for i, token in enumerate(words):
        core = split_affixes(token)[1]
        options = allowed[i] if allowed is not None else (synonyms(core) if core else ())
        if options and rng.random() < p:
            inserts.append(options[int(rng.integers(len(options)))])
    if not inserts:
        return text
    for word in inserts:
        words.insert(int(rng.integers(len(words) + 1)), word)
    return " ".join(words)


def _plain(fn):
    def build(spec: Spec, resources: Mapping[str, Any]) -> Perturbation:
        return Perturbation(spec, functools.partial(fn, p=spec["p"]))

    return build


def _with_synonyms(fn):
    def build(spec: Spec, resources: Mapping[str, Any]) -> Perturbation:
        synonyms = resources.get("synonyms")
        if synonyms is None:
            raise UserError(f"{spec.canonical} needs synonyms: {MISSING_HELP}")
        constraints = Constraints.from_spec(spec)
        candidates = candidate_source(synonyms, constraints, resources) if constraints else None
        return Perturbation(spec, functools.partial(fn, p=spec["p"], synonyms=synonyms, candidates=candidates))

    return build


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


for _type in (
    PerturbationType("delete", "text", _p(0.1), _plain(delete_words), "delete each word with probability p"),
    PerturbationType(
        "synonym",
        "text",
        _synonym_params(0.1),
        _with_synonyms(substitute_synonyms),
        "replace each word that has synonyms with probability p (WordNet; constrained, see docs/perturbations-validity.md)",
        needs=("synonyms",),
        normalize=_unconstrained_canonical,
    ),
    PerturbationType(
        "typo", "text", _p(0.05), _plain(typos), "one keyboard typo per word of 3+ letters, probability p"
    ),
    PerturbationType("swap", "text", _p(0.1), _plain(swap_words), "swap each adjacent word pair with probability p"),
    PerturbationType(
        "insert",
        "text",
        _synonym_params(0.1),
        _with_synonyms(insert_synonyms),
        "insert a synonym of each word with probability p at a random position (constrained as synonym)",
        needs=("synonyms",),
        normalize=_unconstrained_canonical,
    ),
):
    register(_type)
