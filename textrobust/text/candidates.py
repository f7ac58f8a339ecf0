"""Constrained replacement candidates for ``synonym`` and ``insert``: computed once per example.

For a text, :class:`CandidateSource` gives, for each whitespace word, the tuple of replacement
words that pass every enabled constraint (affixes handled as by the perturbations: the core of
``"(great!)"`` is ``great``). The perturbations only draw from these tuples; the constraints are
deterministic functions of the text (no random numbers), so results stay reproducible.

Constraints, in order (each a key of the ``synonym``/``insert`` spec):

``pos=1``        keep synonyms from senses of the word's part of speech in this sentence
                 (spaCy tagger, :mod:`textrobust.text.tagger`); a word tagged as anything else
                 (proper noun, function word, ...) or missing from the sense table gets none.
``senses=K``     keep only the word's first ``K`` senses in WordNet's order (most frequent first),
                 and of those only senses that SemCor ever tagged (except the first); 0 = all.
``multiword=0``  drop replacements of several words (``with child``).
``rare=0``       drop rare replacements: those that are not one whole piece of the encoder's
                 ~30k-entry WordPiece vocabulary (``enceinte``, ``awe-inspiring``), and capitalised
                 ones (proper-noun senses such as ``Heron``).
``sim=S``        keep a substitution only if the window of ``window`` words either side of the word,
                 with that one substitution, has cosine similarity >= ``S`` to the original window
                 under the sentence encoder (:mod:`textrobust.text.encoder`); ``window=0`` = the
                 whole text. All of an example's substitutions go through the encoder in one pass.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from textrobust.text.synonyms import Synonyms
from textrobust.text.words import match_case, split_affixes

Candidates = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Constraints:
    """The constraint settings of one spec (see the module docstring)."""

    pos: bool = True
    senses: int = 3
    sim: float = 0.8
    window: int = 3
    multiword: bool = False
    rare: bool = False

    @classmethod
    def from_spec(cls, spec: Any) -> "Constraints | None":
        """The constraints of a parsed ``synonym``/``insert`` spec, ``None`` if ``constrained=0``."""
        params = dict(spec.params)
        if not params.get("constrained", 0):
            return None
        return cls(
            pos=bool(params["pos"]),
            senses=int(params["senses"]),
            sim=float(params["sim"]),
            window=int(params["window"]),
            multiword=bool(params["multiword"]),
            rare=bool(params["rare"]),
        )

    @property
    def needs_encoder(self) -> bool:
        return self.sim > 0 or not self.rare

    @property
    def needs_senses(self) -> bool:
        return self.pos or self.senses > 0


class CandidateSource:
    """``source(text)``: allowed replacements per whitespace word of ``text`` (see module doc).

    Results are cached per text (least recently used, ``cache_size`` texts), so an example's
    draws reuse one computation; ``computed`` counts the texts actually computed.
    """

    def __init__(
        self,
        synonyms: Synonyms,
        constraints: Constraints,
        *,
        senses: Any = None,
        tagger: Any = None,
        encoder: Any = None,
        cache_size: int = 8192,
    ) -> None:
        self.synonyms = synonyms
        self.constraints = constraints
        self.senses = senses
        self.tagger = tagger
        self.encoder = encoder
        self.cache_size = cache_size
        self.computed = 0
        self._cache: OrderedDict[str, Candidates] = OrderedDict()

    def __call__(self, text: str) -> Candidates:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        result = self.compute(text)
        self._cache[text] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def compute(self, text: str) -> Candidates:
        """The candidates of ``text``, computed afresh (no cache)."""
        self.computed += 1
        c = self.constraints
        words = text.split()
        if not words:
            return ()
        tags = self.tagger(text) if c.pos else (None,) * len(words)
        options: list[list[str]] = []
        for word, tag in zip(words, tags):
            core = split_affixes(word)[1]
            base = self.synonyms(core) if core else ()
            if base and c.needs_senses:
                allowed = self._sense_lemmas(core.lower(), tag)
                base = tuple(s for s in base if s.lower() in allowed)
            if not c.multiword:
                base = tuple(s for s in base if " " not in s.strip())
            if not c.rare:
                base = tuple(s for s in base if s.islower() and self.encoder.in_vocabulary(s))
            options.append(list(base))
        if c.sim > 0:
            options = self._similar(words, options)
        return tuple(tuple(o) for o in options)

    def _sense_lemmas(self, word: str, tag: str | None) -> set[str]:
        c = self.constraints
        if c.pos and tag is None:
            return set()
        parts = [tag] if c.pos else self.senses.parts_of_speech(word)
        allowed: set[str] = set()
        for part in parts:
            for rank, sense in enumerate(self.senses.senses(word, part)):
                if c.senses and (rank >= c.senses or (rank > 0 and sense.count == 0)):
                    break
                allowed.update(l.lower() for l in sense.lemmas)
        return allowed

    def _window(self, words: list[str], i: int, replacement: str | None) -> str:
        w = self.constraints.window
        lo, hi = (0, len(words)) if w == 0 else (max(0, i - w), min(len(words), i + w + 1))
        part = list(words[lo:hi])
        if replacement is not None:
            pre, core, post = split_affixes(words[i])
            part[i - lo] = pre + match_case(replacement, core) + post
        return " ".join(part)

    def _similar(self, words: list[str], options: list[list[str]]) -> list[list[str]]:
        pairs = [(i, s) for i, opts in enumerate(options) for s in opts]
        if not pairs:
            return options
        positions = sorted({i for i, _ in pairs})
        texts = [self._window(words, i, None) for i in positions] + [self._window(words, i, s) for i, s in pairs]
        emb = self.encoder(texts)  # one pass over the example's substitutions
        row = {i: k for k, i in enumerate(positions)}
        sims = np.einsum("ij,ij->i", emb[[row[i] for i, _ in pairs]], emb[len(positions) :])
        kept: list[list[str]] = [[] for _ in options]
        for (i, s), sim in zip(pairs, sims):
            if sim >= self.constraints.sim:
                kept[i].append(s)
        return kept


_SOURCES: dict[tuple, CandidateSource] = {}


def candidate_source(synonyms: Synonyms, constraints: Constraints, resources: Mapping[str, Any]) -> CandidateSource:
    """The shared :class:`CandidateSource` for these synonyms and constraints, loading the tagger,
    sense table and encoder the constraints need (from ``resources`` if given there: keys
    ``tagger``, ``senses``, ``encoder``; else the defaults). ``synonym`` and ``insert`` specs
    with the same constraints share one source, so each example is computed once."""
    from textrobust.text.encoder import load_encoder
    from textrobust.text.senses import load_senses
    from textrobust.text.tagger import load_tagger

    tagger = (resources.get("tagger") or load_tagger()) if constraints.pos else None
    senses = (resources.get("senses") or load_senses()) if constraints.needs_senses else None
    encoder = (resources.get("encoder") or load_encoder()) if constraints.needs_encoder else None
    key = (id(synonyms), constraints, id(tagger), id(senses), id(encoder))
    if key not in _SOURCES:
        if len(_SOURCES) >= 16:
            _SOURCES.clear()
        _SOURCES[key] = CandidateSource(synonyms, constraints, senses=senses, tagger=tagger, encoder=encoder)
    return _SOURCES[key]
